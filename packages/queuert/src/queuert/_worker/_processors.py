"""Processors: which handler runs each job type, grouped in slices with their middleware and settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._job_types import JobType, type_name_of
from ..errors import DuplicateJobTypeError, UnknownJobTypeError
from ._config import DEFAULT_BACKOFF, DEFAULT_LEASE, BackoffConfig, LeaseConfig, WorkerDefaults
from ._middleware import AttemptMiddleware

if TYPE_CHECKING:
    from .._client import Client
    from .._job_types import JobTypes
    from ._context import AttemptHandler

__all__ = (
    "Processor",
    "ProcessorBase",
    "Processors",
    "ResolvedProcessor",
    "check_required_middleware",
    "create_processors",
    "merge_processors",
)

TxCtxT = TypeVar("TxCtxT")
InT = TypeVar("InT")
OutT = TypeVar("OutT")


class ProcessorBase(Generic[TxCtxT]):
    """What every `Processor` is, whatever its input and output types (used where several are listed)."""

    __slots__ = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Processor(ProcessorBase[TxCtxT], Generic[TxCtxT, InT, OutT]):
    """Binds an attempt handler to a job type.

    `Processor(job_type=fetch, attempt_handler=handle_fetch)` lets the type checker match the
    handler's `AttemptContext[Tx, In, Out]` against `fetch`'s input and output types.
    """

    attempt_handler: AttemptHandler[TxCtxT, InT, OutT]
    """The handler run for each attempt at a job of this type."""
    job_type: JobType[InT, OutT] | str | None = None
    """The job type (or its name). May be left out when processors are given as a mapping keyed by name."""
    backoff_config: BackoffConfig | None = None
    """Retry backoff for this type; falls back to the slice's, then the worker's defaults, then the library's."""
    lease_config: LeaseConfig | None = None
    """Lease of staged attempts for this type; resolved like `backoff_config`."""


@dataclass(frozen=True, slots=True)
class ResolvedProcessor:
    """One processor as a slice stores it: with the slice's middleware and settings applied."""

    type_name: str
    handler: AttemptHandler[Any, Any, Any]
    middleware: tuple[AttemptMiddleware[Any], ...]
    backoff_config: BackoffConfig | None
    lease_config: LeaseConfig | None

    def with_defaults(self, defaults: WorkerDefaults | None) -> ResolvedProcessor:
        """Fill the settings still unset from the worker defaults, then the library defaults."""
        backoff = self.backoff_config or (defaults.backoff_config if defaults else None) or DEFAULT_BACKOFF
        lease = self.lease_config or (defaults.lease_config if defaults else None) or DEFAULT_LEASE
        return ResolvedProcessor(self.type_name, self.handler, self.middleware, backoff, lease)


class Processors(Generic[TxCtxT]):
    """A slice of processors, made by `create_processors`; pass one or several to a worker."""

    __slots__ = ("_entries", "_registry")

    def __init__(self, entries: Mapping[str, ResolvedProcessor], registry: JobTypes | None = None) -> None:
        self._entries = dict(entries)
        self._registry = registry

    @property
    def type_names(self) -> tuple[str, ...]:
        """The job type names this slice handles."""
        return tuple(self._entries)

    def get(self, type_name: str) -> ResolvedProcessor | None:
        """The processor for `type_name`, if this slice has one."""
        return self._entries.get(type_name)

    def items(self) -> list[tuple[str, ResolvedProcessor]]:
        """Every `(type name, processor)` pair."""
        return list(self._entries.items())

    def __repr__(self) -> str:
        return f"Processors({list(self._entries)!r})"


def _named(
    processors: Sequence[ProcessorBase[Any]] | Mapping[str, ProcessorBase[Any]],
) -> list[tuple[str, Processor[Any, Any, Any]]]:
    if isinstance(processors, Mapping):
        named: list[tuple[str, Processor[Any, Any, Any]]] = []
        for key, processor in processors.items():
            if not isinstance(processor, Processor):
                raise TypeError(f"processors[{key!r}] must be a Processor, got {processor!r}")
            if processor.job_type is not None and type_name_of(processor.job_type) != key:
                raise ValueError(
                    f"processors[{key!r}] is a Processor for {type_name_of(processor.job_type)!r}; "
                    "the key must be the job type name"
                )
            named.append((key, processor))
        return named
    if isinstance(processors, str) or not isinstance(processors, Sequence):
        raise TypeError("processors must be a sequence of Processor or a mapping of type name to Processor")
    named = []
    for processor in processors:
        if not isinstance(processor, Processor):
            raise TypeError(f"processors must contain Processor objects, got {processor!r}")
        if processor.job_type is None:
            raise ValueError("a Processor in a list needs job_type (only a mapping keyed by type name may omit it)")
        named.append((type_name_of(processor.job_type), processor))
    return named


def _check_known(registry: JobTypes, type_names: Sequence[str]) -> None:
    if not registry.knows_type_names:
        return
    known = tuple(registry.get_type_names())
    for name in type_names:
        if name not in known:
            raise UnknownJobTypeError(
                f"There is a processor for job type {name!r}, which the client does not know",
                type_name=name,
                registered_type_names=known,
            )


def create_processors(
    *,
    client: Client[TxCtxT],
    processors: Sequence[ProcessorBase[TxCtxT]] | Mapping[str, ProcessorBase[TxCtxT]],
    attempt_middleware: Sequence[AttemptMiddleware[TxCtxT]] = (),
    backoff_config: BackoffConfig | None = None,
    lease_config: LeaseConfig | None = None,
) -> Processors[TxCtxT]:
    """Group processors into a slice that a worker runs.

    Args:
        client: The client whose job types the processors handle.
        processors: `Processor` objects, or a mapping from job type name to `Processor`.
        attempt_middleware: Wrapped around every attempt of this slice (first = outermost).
        backoff_config: Retry backoff for processors of this slice that set none.
        lease_config: Lease for processors of this slice that set none.

    Raises:
        UnknownJobTypeError: a processor's job type is not known to the client.
        DuplicateJobTypeError: two processors handle the same job type.
    """
    named = _named(processors)
    seen: set[str] = set()
    duplicates: list[str] = []
    for name, _ in named:
        if name in seen and name not in duplicates:
            duplicates.append(name)
        seen.add(name)
    if duplicates:
        raise DuplicateJobTypeError(duplicate_type_names=duplicates)
    middleware = tuple(attempt_middleware)
    for layer in middleware:
        if not isinstance(layer, AttemptMiddleware):
            raise TypeError(f"attempt_middleware must contain AttemptMiddleware objects, got {layer!r}")
    registry = client._internals.registry
    _check_known(registry, [name for name, _ in named])
    entries = {
        name: ResolvedProcessor(
            type_name=name,
            handler=processor.attempt_handler,
            middleware=middleware,
            backoff_config=processor.backoff_config or backoff_config,
            lease_config=processor.lease_config or lease_config,
        )
        for name, processor in named
    }
    return Processors(entries, registry)


def merge_processors(
    slices: Processors[Any] | Sequence[Processors[Any]], registry: JobTypes
) -> dict[str, ResolvedProcessor]:
    """Merge slices for a worker.

    Raises:
        DuplicateJobTypeError: two slices handle the same job type.
        UnknownJobTypeError: a slice handles a job type the worker's client does not know.
    """
    if isinstance(slices, Processors):
        slices = [slices]
    merged: dict[str, ResolvedProcessor] = {}
    duplicates: list[str] = []
    for part in slices:
        if not isinstance(part, Processors):
            raise TypeError(f"processors must be made by create_processors, got {part!r}")
        for name, processor in part.items():
            if name in merged and name not in duplicates:
                duplicates.append(name)
            merged[name] = processor
    if duplicates:
        raise DuplicateJobTypeError(duplicate_type_names=duplicates)
    if not merged:
        raise ValueError("a worker needs at least one processor")
    _check_known(registry, list(merged))
    return merged


def _missing_positions(present: Sequence[object], required: Sequence[object]) -> list[int]:
    """Positions in `required` not found, in order and by identity, as a subsequence of `present`."""
    missing: list[int] = []
    cursor = 0
    for position, wanted in enumerate(required):
        index = next((i for i in range(cursor, len(present)) if present[i] is wanted), None)
        if index is None:
            missing.append(position)
        else:
            cursor = index + 1
    return missing


def check_required_middleware(
    processors: Mapping[str, ResolvedProcessor], required: Sequence[AttemptMiddleware[Any]]
) -> None:
    """Check every processor's middleware contains `required`, by identity, in order.

    Raises:
        ValueError: listing each type name and the missing positions of `required`.
    """
    if not required:
        return
    problems = []
    for name, processor in processors.items():
        missing = _missing_positions(processor.middleware, required)
        if missing:
            shown = ", ".join(f"#{i} {type(required[i]).__name__}" for i in missing)
            problems.append(f"  - {name!r} lacks required attempt middleware {shown}")
    if problems:
        raise ValueError(
            "Processors miss required attempt middleware (compared by identity, in order):\n" + "\n".join(problems)
        )
