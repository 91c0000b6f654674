from importlib import metadata, resources

import queuert_redis


def test_public_names_are_a_tuple() -> None:
    assert isinstance(queuert_redis.__all__, tuple)
    assert all(hasattr(queuert_redis, name) for name in queuert_redis.__all__)


def test_ships_py_typed_marker() -> None:
    assert resources.files(queuert_redis).joinpath("py.typed").is_file()


def test_requires_core_at_the_same_version() -> None:
    version = metadata.version("queuert-redis")
    assert f"queuert=={version}" in (metadata.requires("queuert-redis") or [])
