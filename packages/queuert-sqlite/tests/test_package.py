from importlib import metadata, resources

import queuert_sqlite


def test_public_names_are_a_tuple() -> None:
    assert isinstance(queuert_sqlite.__all__, tuple)
    assert all(hasattr(queuert_sqlite, name) for name in queuert_sqlite.__all__)


def test_ships_py_typed_marker() -> None:
    assert resources.files(queuert_sqlite).joinpath("py.typed").is_file()


def test_requires_core_at_the_same_version() -> None:
    version = metadata.version("queuert-sqlite")
    assert f"queuert=={version}" in (metadata.requires("queuert-sqlite") or [])
