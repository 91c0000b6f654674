"""The JSON-compatibility check applied to every value a registry hands back for storage.

Inputs and outputs are stored as JSON and read back with `json.loads`. A value only survives
that round trip unchanged if it is built from `None`, `bool`, `int`, finite `float`, `str`,
`list` and `dict` with string keys. Anything else either fails at insert time deep inside a
driver (`datetime`, `Decimal`, dataclasses) or, worse, is silently changed (tuples come back
as lists, integer keys as strings, NaN is rejected by PostgreSQL's `jsonb`). Checking up
front turns both into a clear error that names the offending path.
"""

from __future__ import annotations

import math
import re

__all__ = ("JsonCompatibilityError", "check_json_compatible", "format_json_path")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class JsonCompatibilityError(ValueError):
    """A value is not JSON-native, so it would not survive being stored and read back."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        """Where the offending value sits, e.g. `$.items[2].at` (`$` is the value itself)."""
        self.reason = reason
        """Why the value at `path` is rejected."""

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.reason))


def format_json_path(parent: str, key: str | int) -> str:
    """Append a dict key or a list index to a JSONPath-like `parent` path."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{parent}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{escaped}"]'


def check_json_compatible(value: object) -> None:
    """Raise `JsonCompatibilityError` for the first part of `value` that is not JSON-native.

    Subclasses of `str`, `int` and `float` (string and integer enums, for example) are
    accepted: they serialise to their plain value and compare equal to it when read back.

    Raises:
        JsonCompatibilityError: naming the first offending path in depth-first order.
    """
    try:
        if _is_plain_json(value, set()):
            return
        # Something is wrong: walk again, this time building paths, to name it.
        _check(value, "$", set())
    except RecursionError:
        raise JsonCompatibilityError("$", "the value is nested too deeply to store as JSON") from None


def _is_plain_json(value: object, ancestors: set[int]) -> bool:
    """The check of `_check` without building a path per item (the common, valid case)."""
    if value is None or isinstance(value, bool | str | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | dict):
        marker = id(value)
        if marker in ancestors:
            return False
        ancestors.add(marker)
        if isinstance(value, list):
            ok = all(_is_plain_json(item, ancestors) for item in value)
        else:
            ok = all(isinstance(key, str) and _is_plain_json(item, ancestors) for key, item in value.items())
        ancestors.discard(marker)
        return ok
    return False


def _check(value: object, path: str, ancestors: set[int]) -> None:
    if value is None or isinstance(value, bool | str | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JsonCompatibilityError(path, f"float {value!r} is not valid JSON (only finite numbers are)")
        return
    if isinstance(value, tuple):
        raise JsonCompatibilityError(path, "tuple is not JSON-native (it would be read back as a list); use a list")
    if isinstance(value, list | dict):
        marker = id(value)
        if marker in ancestors:
            raise JsonCompatibilityError(path, f"{type(value).__name__} contains itself (circular reference)")
        ancestors.add(marker)
        try:
            if isinstance(value, list):
                for index, item in enumerate(value):
                    _check(item, format_json_path(path, index), ancestors)
            else:
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise JsonCompatibilityError(
                            path,
                            f"dict key {key!r} ({type(key).__name__}) is not a string "
                            "(JSON object keys are strings, so it would be read back changed)",
                        )
                    _check(item, format_json_path(path, key), ancestors)
        finally:
            ancestors.discard(marker)
        return
    raise JsonCompatibilityError(path, f"{type(value).__name__} is not JSON-serializable")
