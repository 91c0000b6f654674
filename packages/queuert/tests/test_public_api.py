"""Each public module's `__all__` lists exactly its public names, and every name resolves."""

from __future__ import annotations

import importlib
import types

import pytest

PUBLIC_MODULES = [
    "queuert",
    "queuert.adapters",
    "queuert.errors",
    "queuert.conformance",
    "queuert.conformance.pytest",
    "queuert.validation.pydantic",
    "queuert.validation.msgspec",
]


def _public_names(module: types.ModuleType) -> set[str]:
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if name in {"annotations", "TYPE_CHECKING"}:
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_lists_every_public_name_and_nothing_else(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = set(module.__all__)
    assert len(exported) == len(module.__all__), "duplicates in __all__"
    missing = {name for name in exported if not hasattr(module, name)}
    assert not missing, f"{module_name}.__all__ names that do not exist: {sorted(missing)}"
    typing_helpers = {"Any", "Literal", "NoReturn", "Mapping", "Sequence", "dataclass"}
    unlisted = _public_names(module) - exported - typing_helpers
    assert not unlisted, f"{module_name} has public names missing from __all__: {sorted(unlisted)}"


def test_errors_are_reexported_from_the_root() -> None:
    import queuert
    import queuert.errors

    for name in queuert.errors.__all__:
        if name == "JobTypeValidationErrorCode":
            continue
        assert getattr(queuert, name) is getattr(queuert.errors, name), name
