from importlib import metadata, resources

import queuert_postgres


def test_public_names_are_a_tuple() -> None:
    assert isinstance(queuert_postgres.__all__, tuple)
    assert all(hasattr(queuert_postgres, name) for name in queuert_postgres.__all__)


def test_ships_py_typed_marker() -> None:
    assert resources.files(queuert_postgres).joinpath("py.typed").is_file()


def test_requires_core_at_the_same_version() -> None:
    version = metadata.version("queuert-postgres")
    assert f"queuert=={version}" in (metadata.requires("queuert-postgres") or [])
