from importlib import metadata, resources

import queuert_nats


def test_public_names_are_a_tuple() -> None:
    assert isinstance(queuert_nats.__all__, tuple)
    assert all(hasattr(queuert_nats, name) for name in queuert_nats.__all__)


def test_ships_py_typed_marker() -> None:
    assert resources.files(queuert_nats).joinpath("py.typed").is_file()


def test_requires_core_at_the_same_version() -> None:
    version = metadata.version("queuert-nats")
    assert f"queuert=={version}" in (metadata.requires("queuert-nats") or [])
