"""Checks on the workspace layout that keep the packages releasable together."""

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = {
    "queuert": "queuert",
    "queuert-postgres": "queuert_postgres",
    "queuert-sqlite": "queuert_sqlite",
    "queuert-redis": "queuert_redis",
    "queuert-nats": "queuert_nats",
    "queuert-dashboard": "queuert_dashboard",
    "queuert-otel": "queuert_otel",
}
ADAPTERS = sorted(set(MEMBERS) - {"queuert"})


def _project(dist: str) -> dict[str, Any]:
    with (ROOT / "packages" / dist / "pyproject.toml").open("rb") as f:
        project: dict[str, Any] = tomllib.load(f)["project"]
    return project


def _core_version() -> str:
    version = _project("queuert")["version"]
    assert isinstance(version, str)
    return version


def test_members_are_exactly_the_known_packages() -> None:
    found = {p.parent.name for p in (ROOT / "packages").glob("*/pyproject.toml")}
    assert found == set(MEMBERS)


def test_every_member_shares_one_version() -> None:
    versions = {dist: _project(dist)["version"] for dist in MEMBERS}
    assert set(versions.values()) == {_core_version()}, versions


@pytest.mark.parametrize("dist", ADAPTERS)
def test_adapter_pins_core_to_the_shared_version(dist: str) -> None:
    deps: list[str] = _project(dist)["dependencies"]
    core = [d for d in deps if re.match(r"queuert\s*(\[|[=<>!~;]|$)", d)]
    assert core == [f"queuert=={_core_version()}"]


def test_core_has_no_runtime_dependencies() -> None:
    assert _project("queuert").get("dependencies", []) == []


@pytest.mark.parametrize(("dist", "import_name"), sorted(MEMBERS.items()))
def test_member_is_a_typed_src_layout_wheel(dist: str, import_name: str) -> None:
    package_dir = ROOT / "packages" / dist
    with (package_dir / "pyproject.toml").open("rb") as f:
        config = tomllib.load(f)
    assert config["build-system"]["build-backend"] == "hatchling.build"
    assert config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [f"src/{import_name}"]
    assert (package_dir / "src" / import_name / "py.typed").is_file()
    assert (package_dir / "README.md").is_file()


def test_root_sources_every_member_from_the_workspace() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        sources = tomllib.load(f)["tool"]["uv"]["sources"]
    assert sources == {dist: {"workspace": True} for dist in MEMBERS}
