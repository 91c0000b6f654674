"""What the pydantic and msgspec adapters share: a `create_job_types` registry driven by per-type codecs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._job_types import JobType, JobTypes, ResolvedRef, create_job_types
from ..errors import JobTypeDefinitionError, JobTypeValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .._entities import JsonValue

__all__ = ("Codec", "build_job_types")


@dataclass(frozen=True, slots=True)
class Codec:
    """How the values of one Python type are checked, stored as JSON and read back."""

    check: Callable[[object], object]
    """Validate a value (a raw input, or a value already of the type); return the validated value."""
    encode: Callable[[object], object]
    """Turn a validated value into its JSON-compatible form."""
    decode: Callable[[JsonValue], object]
    """Turn the stored JSON back into a value of the type."""

    def parse(self, value: object) -> object:
        return self.encode(self.check(value))


@dataclass(frozen=True, slots=True)
class _TypeCodecs:
    input: Codec
    output: Codec | None
    """`None` for a type that declares `NoOutput`: its jobs always continue."""


class _SchemaHooks:
    """The `create_job_types` hooks for job types whose type arguments are the schemas.

    Names, entry points, continuation targets and blocker slots are checked by the registry
    from the definitions themselves; these hooks add the value checks: inputs, outputs, and
    the inputs of continuation targets and blocker chains.
    """

    def __init__(self, codecs: dict[str, _TypeCodecs], external: Sequence[JobTypes]) -> None:
        self._codecs = codecs
        self._external = tuple(external)

    def _of(self, type_name: str) -> _TypeCodecs:
        codecs = self._codecs.get(type_name)
        if codecs is None:
            raise LookupError(f"unknown job type {type_name!r} (known: {', '.join(sorted(self._codecs))})")
        return codecs

    def get_type_names(self) -> Sequence[str]:
        return tuple(self._codecs)

    def validate_entry(self, type_name: str, /) -> None:
        self._of(type_name)

    def parse_input(self, type_name: str, input: object, /) -> object:
        return self._of(type_name).input.parse(input)

    def parse_output(self, type_name: str, output: object, /) -> object:
        codec = self._of(type_name).output
        if codec is None:
            raise ValueError(f"job type {type_name!r} has no output schema (NoOutput): its jobs always continue")
        return codec.parse(output)

    def validate_continue_with(self, type_name: str, target: ResolvedRef, /) -> None:
        self._of(type_name)
        codecs = self._codecs.get(target.type_name)
        # A target this slice does not define is rejected by the registry's definition check.
        if codecs is not None:
            codecs.input.check(target.input)

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef], /) -> None:
        self._of(type_name)
        for index, blocker in enumerate(blockers):
            self._check_blocker(index, blocker)

    def _check_blocker(self, index: int, blocker: ResolvedRef) -> None:
        codecs = self._codecs.get(blocker.type_name)
        if codecs is not None:
            codecs.input.check(blocker.input)
            return
        for registry in self._external:
            if blocker.type_name in registry.get_type_names():
                try:
                    registry.parse_input(blocker.type_name, blocker.input)
                except JobTypeValidationError as error:
                    # Re-raised as a plain error so the registry reports it as invalid_blockers.
                    raise ValueError(f"blocker {index} ({blocker.type_name!r}): {error}") from error
                return

    def decode_input(self, type_name: str, stored: JsonValue, /) -> object:
        return self._of(type_name).input.decode(stored)

    def decode_output(self, type_name: str, stored: JsonValue, /) -> object:
        codec = self._of(type_name).output
        if codec is None or stored is None:
            return stored
        return codec.decode(stored)


def build_job_types(
    library: str,
    make_codec: Callable[[object], Codec],
    job_types: Sequence[JobType[Any, Any]],
    external: JobTypes | Sequence[JobTypes],
) -> JobTypes:
    """Build the registry, with one codec per input and output type argument.

    Raises:
        JobTypeDefinitionError: a job type lacks type arguments, the library cannot handle
            one of them, or the definitions break a registry rule.
    """
    codecs: dict[str, _TypeCodecs] = {}
    for job_type in job_types:
        if not isinstance(job_type, JobType):
            raise JobTypeDefinitionError(f"{library}_job_types() takes JobType definitions, got {job_type!r}")
        input_type, has_output = job_type.input_type, job_type.has_output
        if input_type is None or has_output is None:
            raise JobTypeDefinitionError(
                f"{library}_job_types(): job type {job_type.name!r} has no input and output type arguments; "
                f"declare it as JobType[Input, Output]({job_type.name!r}, ...) so they can be validated"
            )
        codecs[job_type.name] = _TypeCodecs(
            input=_codec(library, make_codec, job_type, "input", input_type),
            output=_codec(library, make_codec, job_type, "output", job_type.output_type) if has_output else None,
        )
    externals = [external] if isinstance(external, JobTypes) else list(external)
    return create_job_types(_SchemaHooks(codecs, externals), types=job_types, external=externals)


def _codec(
    library: str, make_codec: Callable[[object], Codec], job_type: JobType[Any, Any], role: str, annotation: object
) -> Codec:
    try:
        return make_codec(annotation)
    except Exception as error:
        raise JobTypeDefinitionError(
            f"{library}_job_types(): {library} cannot validate the {role} type {annotation!r} "
            f"of job type {job_type.name!r}: {error}"
        ) from error
