from importlib import metadata, resources

import queuert_otel


def test_public_names_are_a_tuple() -> None:
    assert isinstance(queuert_otel.__all__, tuple)
    assert all(hasattr(queuert_otel, name) for name in queuert_otel.__all__)


def test_ships_py_typed_marker() -> None:
    assert resources.files(queuert_otel).joinpath("py.typed").is_file()


def test_requires_core_at_the_same_version() -> None:
    version = metadata.version("queuert-otel")
    assert f"queuert=={version}" in (metadata.requires("queuert-otel") or [])
