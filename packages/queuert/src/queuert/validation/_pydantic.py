"""The pydantic adapter's implementation; the public name is `queuert.validation.pydantic.pydantic_job_types`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

try:
    import pydantic
except ImportError as error:  # pragma: no cover - exercised by the install-hint test
    raise ImportError("queuert.validation.pydantic needs pydantic v2: pip install 'queuert[pydantic]'") from error

if not pydantic.VERSION.startswith("2."):  # pragma: no cover - the extra requires v2
    raise ImportError(
        f"queuert.validation.pydantic needs pydantic v2, found {pydantic.VERSION}: pip install 'queuert[pydantic]'"
    )

from ._schema_registry import Codec, build_job_types

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._entities import JsonValue
    from .._job_types import JobType, JobTypes

__all__ = ("pydantic_job_types",)


def _codec(annotation: object) -> Codec:
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(cast("Any", annotation))

    def encode(value: object) -> object:
        return adapter.dump_python(value, mode="json")

    def decode(stored: JsonValue) -> object:
        # JSON-mode validation: strict models still accept the JSON forms (ISO dates, ...).
        return adapter.validate_json(json.dumps(stored))

    return Codec(check=adapter.validate_python, encode=encode, decode=decode)


def pydantic_job_types(*job_types: JobType[Any, Any], external: JobTypes | Sequence[JobTypes] = ()) -> JobTypes:
    """Build a registry that validates each job type's input and output with pydantic.

    The input and output schemas are the type arguments of each definition
    (`JobType[Input, Output]`); continue-only types (`NoOutput`) have no output schema.
    Continuation targets and blocker chains are checked against the declared references
    and, by their input, against the target's input schema.

    Args:
        *job_types: The `JobType`/`EntryJobType` definitions this slice owns, subscripted
            with their input and output types.
        external: Slices whose entry types this slice's blocker references may name.

    Raises:
        JobTypeDefinitionError: a definition lacks type arguments, pydantic cannot build a
            schema for one, or the definitions break a registry rule.
    """
    return build_job_types("pydantic", _codec, job_types, external)
