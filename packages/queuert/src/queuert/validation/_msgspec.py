"""The msgspec adapter's implementation; the public name is `queuert.validation.msgspec.msgspec_job_types`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

try:
    import msgspec
    import msgspec.inspect
except ImportError as error:  # pragma: no cover - exercised by the install-hint test
    raise ImportError("queuert.validation.msgspec needs msgspec: pip install 'queuert[msgspec]'") from error

from ._schema_registry import Codec, build_job_types

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._entities import JsonValue
    from .._job_types import JobType, JobTypes

__all__ = ("msgspec_job_types",)

_encoder = msgspec.json.Encoder()


def _reject_custom_types(info: object, seen: set[int]) -> None:
    """Raise for any part of the type that msgspec could only decode with a `dec_hook`."""
    if id(info) in seen:
        return
    seen.add(id(info))
    if isinstance(info, msgspec.inspect.CustomType):
        raise TypeError(f"msgspec cannot decode {info.cls!r} from JSON without a dec_hook")
    if isinstance(info, tuple):
        for item in info:
            _reject_custom_types(item, seen)
    elif isinstance(info, msgspec.inspect.Type | msgspec.inspect.Field):
        for name in type(info).__struct_fields__:
            _reject_custom_types(getattr(info, name), seen)


def _codec(annotation: object) -> Codec:
    # Checked up front so that a type msgspec cannot decode fails when the registry is built.
    _reject_custom_types(msgspec.inspect.type_info(cast("Any", annotation)), set())
    decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(annotation)

    def check(value: object) -> object:
        return msgspec.convert(value, annotation)

    def encode(value: object) -> object:
        # Through JSON rather than to_builtins, which keeps tuples (stored JSON has lists).
        return msgspec.json.decode(_encoder.encode(value))

    def decode(stored: JsonValue) -> object:
        return decoder.decode(_encoder.encode(stored))

    return Codec(check=check, encode=encode, decode=decode)


def msgspec_job_types(*job_types: JobType[Any, Any], external: JobTypes | Sequence[JobTypes] = ()) -> JobTypes:
    """Build a registry that validates each job type's input and output with msgspec.

    The input and output schemas are the type arguments of each definition
    (`JobType[Input, Output]`); continue-only types (`NoOutput`) have no output schema.
    Continuation targets and blocker chains are checked against the declared references
    and, by their input, against the target's input schema.

    Args:
        *job_types: The `JobType`/`EntryJobType` definitions this slice owns, subscripted
            with their input and output types.
        external: Slices whose entry types this slice's blocker references may name.

    Raises:
        JobTypeDefinitionError: a definition lacks type arguments, msgspec does not support
            one, or the definitions break a registry rule.
    """
    return build_job_types("msgspec", _codec, job_types, external)
