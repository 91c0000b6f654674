"""Public views of jobs and chains, and the option objects callers pass in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

InT = TypeVar("InT")
OutT = TypeVar("OutT")
ItemT = TypeVar("ItemT")

JobStatus: TypeAlias = Literal["blocked", "pending", "running", "completed"]
"""The stored status of a job. A chain's status is the status of its newest job."""

OrderDirection: TypeAlias = Literal["asc", "desc"]

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
"""A value that survives `json.dumps`/`json.loads` unchanged."""

JOB_STATUSES: tuple[JobStatus, ...] = ("blocked", "pending", "running", "completed")


# --- jobs -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class JobBase(Generic[InT]):
    """Fields every job has, whatever its status."""

    id: str
    chain_id: str
    """Id of the chain; equal to the id of the chain's first job."""
    type_name: str
    chain_type_name: str
    """Type name of the chain's first (entry) job."""
    chain_index: int
    """0 for the chain's first job, +1 for each continuation."""
    input: InT
    created_at: datetime
    scheduled_at: datetime
    """Earliest time the job may run."""
    attempt: int
    """How many times a worker has picked the job up."""
    last_attempt_at: datetime | None
    """When the last failed (or explicitly rescheduled) attempt ended."""
    last_attempt_error: str | None
    """The serialized error of the last failed attempt."""


@dataclass(frozen=True, kw_only=True)
class BlockedJob(JobBase[InT]):
    """A job waiting for its blocker chains to complete."""

    status: Literal["blocked"] = "blocked"


@dataclass(frozen=True, kw_only=True)
class PendingJob(JobBase[InT]):
    """A job waiting for a worker (possibly scheduled for later)."""

    status: Literal["pending"] = "pending"


@dataclass(frozen=True, kw_only=True)
class RunningJob(JobBase[InT]):
    """A job a worker holds under a lease."""

    status: Literal["running"] = "running"
    leased_by: str | None = None
    leased_until: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class CompletedJob(JobBase[InT], Generic[InT, OutT]):
    """A finished job. `output` is `None` when the job continued the chain instead of finishing it."""

    status: Literal["completed"] = "completed"
    completed_at: datetime
    completed_by: str | None
    """The worker id that completed the job; `None` for workerless completion."""
    output: OutT


Job: TypeAlias = "BlockedJob[InT] | PendingJob[InT] | RunningJob[InT] | CompletedJob[InT, Any]"
"""Any job, discriminated by `status`."""


# --- chains -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ChainBase(Generic[InT]):
    """Fields every chain has: the values of its first job."""

    id: str
    type_name: str
    input: InT
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class BlockedChain(ChainBase[InT]):
    """A chain whose current job waits on blocker chains."""

    status: Literal["blocked"] = "blocked"


@dataclass(frozen=True, kw_only=True)
class PendingChain(ChainBase[InT]):
    """A chain whose current job waits for a worker."""

    status: Literal["pending"] = "pending"


@dataclass(frozen=True, kw_only=True)
class RunningChain(ChainBase[InT]):
    """A chain whose current job is being processed."""

    status: Literal["running"] = "running"


@dataclass(frozen=True, kw_only=True)
class CompletedChain(ChainBase[InT], Generic[InT, OutT]):
    """A finished chain with the output of its last job."""

    status: Literal["completed"] = "completed"
    output: OutT
    completed_at: datetime


Chain: TypeAlias = "BlockedChain[InT] | PendingChain[InT] | RunningChain[InT] | CompletedChain[InT, OutT]"
"""Any chain, discriminated by `status`."""


@dataclass(frozen=True, kw_only=True)
class StartedChain(Generic[InT, OutT]):
    """What `start_chain` returns: the chain as it now stands, and whether an existing chain was reused."""

    chain: Chain[InT, OutT]
    deduplicated: bool
    """`True` when deduplication returned an existing chain instead of creating one."""

    @property
    def id(self) -> str:
        return self.chain.id

    @property
    def type_name(self) -> str:
        return self.chain.type_name

    @property
    def input(self) -> InT:
        return self.chain.input

    @property
    def created_at(self) -> datetime:
        return self.chain.created_at

    @property
    def status(self) -> JobStatus:
        return self.chain.status


ChainLike: TypeAlias = "Chain[InT, OutT] | StartedChain[InT, OutT]"
"""A chain view or a start result: what blockers and `await_chain` accept."""


# --- options ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleAt:
    """Run no earlier than `at` (a timezone-aware datetime; past times mean now)."""

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("ScheduleAt.at must be timezone-aware (for example datetime.now(UTC))")


@dataclass(frozen=True, slots=True)
class ScheduleAfter:
    """Run no earlier than `after_ms` milliseconds from now."""

    after_ms: float

    def __post_init__(self) -> None:
        if not isinstance(self.after_ms, int | float) or isinstance(self.after_ms, bool) or self.after_ms < 0:
            raise ValueError(f"ScheduleAfter.after_ms must be a number >= 0, got {self.after_ms!r}")


ScheduleOptions: TypeAlias = ScheduleAt | ScheduleAfter


DeduplicationScope: TypeAlias = Literal["incomplete", "any"]


@dataclass(frozen=True, slots=True)
class DeduplicationOptions:
    """Reuse an existing chain of the same type with the same key instead of starting a new one."""

    key: str
    scope: DeduplicationScope = "incomplete"
    """`"incomplete"`: match only chains that have not completed; `"any"`: match any chain."""
    window_ms: float | None = None
    """Only match chains created within this many milliseconds."""
    exclude_chain_ids: Sequence[str] = ()
    """Never match these chains (a recurring chain restarting itself excludes its own id)."""

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError("DeduplicationOptions.key must be a non-empty string")
        if self.scope not in ("incomplete", "any"):
            raise ValueError(f"DeduplicationOptions.scope must be 'incomplete' or 'any', got {self.scope!r}")
        if self.window_ms is not None and self.window_ms < 0:
            raise ValueError("DeduplicationOptions.window_ms must be >= 0")
        object.__setattr__(self, "exclude_chain_ids", tuple(self.exclude_chain_ids))


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainFilter:
    """Filters for `list_chains`; all given fields must match (an empty sequence means no filter)."""

    type_name: Sequence[str] = ()
    """Chain types."""
    status: Sequence[JobStatus] = ()
    """Chain status (the status of each chain's newest job)."""
    chain_id: Sequence[str] = ()
    job_id: Sequence[str] = ()
    """Chains containing any of these jobs."""
    root_only: bool = False
    """Leave out chains that some job waits on as a blocker."""
    from_: datetime | None = None
    """Chains created at or after this time."""
    to: datetime | None = None
    """Chains created at or before this time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFilter:
    """Filters for `list_jobs`; all given fields must match (an empty sequence means no filter)."""

    type_name: Sequence[str] = ()
    status: Sequence[JobStatus] = ()
    job_id: Sequence[str] = ()
    chain_id: Sequence[str] = ()
    chain_type_name: Sequence[str] = ()
    from_: datetime | None = None
    to: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[ItemT]):
    """One page of a listing. Pass `next_cursor` back to get the next page; `None` means this was the last."""

    items: list[ItemT] = field(default_factory=list)
    next_cursor: str | None = None
