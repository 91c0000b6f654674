"""Creating and completing jobs: the one implementation shared by the client and the worker.

Every path that creates a job (starting chains, continuing one from a worker or from
`complete_chain`) and every path that completes one goes through `ChainOperations`, so
validation, blockers, spans, log events and notifications stay identical everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._completion import CompleteContext, ContinuationJob
from ._entities import (
    BlockedChain,
    BlockedJob,
    Chain,
    ChainLike,
    CompletedChain,
    CompletedJob,
    DeduplicationOptions,
    Job,
    PendingChain,
    PendingJob,
    RunningChain,
    RunningJob,
    ScheduleAfter,
    ScheduleAt,
    ScheduleOptions,
    StartedChain,
)
from ._job_types import JobType, JobTypes, ResolvedRef
from ._notify_hooks import buffer_chain_completed, buffer_job_scheduled
from ._observability_adapter import ChainData, JobData, JobSpanDeduplicated, JobSpanError
from ._state_adapter import CreateJobParams, JobBlockersParams, StateAdapter, StateChain, StateJob
from .errors import AttemptUsageError, ChainNotFoundError, UnknownJobTypeError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence
    from datetime import datetime

    from ._notify_adapter import NotifyAdapter
    from ._observability import Observability
    from ._transaction_hooks import TransactionHooks

TxCtxT = TypeVar("TxCtxT")


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    """A job to create, before validation."""

    type_name: str
    input: object
    chain_type_name: str
    chain_index: int = 0
    chain_id: str | None = None
    id: str | None = None
    deduplication: DeduplicationOptions | None = None
    schedule: ScheduleOptions | None = None
    blockers: Sequence[ChainLike[Any, Any]] = ()
    origin_chain_trace_context: str | None = None
    origin_trace_context: str | None = None


@dataclass(frozen=True, slots=True)
class NewJobResult:
    job: StateJob
    deduplicated: bool


@dataclass(slots=True)
class CompletionOutcome:
    """What a completion did: the completed job, and the successor or the chain's output."""

    job: StateJob
    continuation: StateJob | None = None
    output: object = None
    """The output as the callback returned it (before encoding); `None` after a continuation."""
    chain_completed: bool = False
    returned: object = None
    """Exactly what the completion callback returned."""


def type_name_of(job_type: JobType[Any, Any] | str) -> str:
    return job_type if isinstance(job_type, str) else job_type.name


def _job_data(job: StateJob) -> JobData:
    return JobData(id=job.id, type_name=job.type_name, chain_id=job.chain_id, chain_type_name=job.chain_type_name)


def _chain_data_of(chain: ChainLike[Any, Any]) -> ChainData:
    return ChainData(id=chain.id, type_name=chain.type_name)


class ChainOperations(Generic[TxCtxT]):
    """The shared write paths, bound to one client's adapters, registry and observability."""

    def __init__(
        self,
        *,
        state: StateAdapter[TxCtxT],
        notify: NotifyAdapter,
        registry: JobTypes,
        observability: Observability,
    ) -> None:
        self.state = state
        self.notify = notify
        self.registry = registry
        self.observability = observability

    # --- reading ----------------------------------------------------------------------

    def decode_input(self, job: StateJob) -> object:
        return self._decode(self.registry.decode_input, job.type_name, job.input)

    def decode_output(self, job: StateJob) -> object:
        if job.output is None:
            # A job that continued has no output; there is nothing to decode.
            return None
        return self._decode(self.registry.decode_output, job.type_name, job.output)

    @staticmethod
    def _decode(decode: Callable[[str, Any], object], type_name: str, value: object) -> object:
        try:
            return decode(type_name, value)
        except UnknownJobTypeError:
            # Rows written by another application sharing the database stay readable as raw JSON.
            return value

    def job_fields(self, job: StateJob) -> dict[str, Any]:
        """The fields every job view shares, input decoded."""
        return {
            "id": job.id,
            "chain_id": job.chain_id,
            "type_name": job.type_name,
            "chain_type_name": job.chain_type_name,
            "chain_index": job.chain_index,
            "input": self.decode_input(job),
            "created_at": job.created_at,
            "scheduled_at": job.scheduled_at,
            "attempt": job.attempt,
            "last_attempt_at": job.last_attempt_at,
            "last_attempt_error": job.last_attempt_error,
        }

    def job_view(self, job: StateJob) -> Job[Any]:
        common = self.job_fields(job)
        if job.status == "blocked":
            return BlockedJob(**common)
        if job.status == "pending":
            return PendingJob(**common)
        if job.status == "running":
            return RunningJob(**common, leased_by=job.leased_by, leased_until=job.leased_until)
        assert job.completed_at is not None
        return CompletedJob(
            **common, completed_at=job.completed_at, completed_by=job.completed_by, output=self.decode_output(job)
        )

    def chain_view(self, chain: StateChain) -> Chain[Any, Any]:
        root = chain.root
        current = chain.current
        common: dict[str, Any] = {
            "id": root.id,
            "type_name": root.type_name,
            "input": self.decode_input(root),
            "created_at": root.created_at,
        }
        if current.status == "blocked":
            return BlockedChain(**common)
        if current.status == "pending":
            return PendingChain(**common)
        if current.status == "running":
            return RunningChain(**common)
        assert current.completed_at is not None
        return CompletedChain(**common, output=self.decode_output(current), completed_at=current.completed_at)

    def started_chain(self, chain: StateChain, *, deduplicated: bool) -> StartedChain[Any, Any]:
        return StartedChain(chain=self.chain_view(chain), deduplicated=deduplicated)

    # --- creating ---------------------------------------------------------------------

    async def create_jobs(self, tx_ctx: TxCtxT, hooks: TransactionHooks, items: Sequence[NewJob]) -> list[NewJobResult]:
        """Validate, insert, attach blockers, and buffer every event of new jobs (in input order)."""
        obs = self.observability
        for item in items:
            blocker_ids = [b.id for b in item.blockers]
            if len(set(blocker_ids)) != len(blocker_ids):
                raise ValueError(f"A {item.type_name!r} job lists the same blocker chain more than once: {blocker_ids}")
        parsed = [self.registry.parse_input(item.type_name, item.input) for item in items]

        spans = [
            obs.start_job_span(
                chain_type_name=item.chain_type_name,
                job_type_name=item.type_name,
                is_chain_start=item.chain_id is None,
                origin_chain_trace_context=item.origin_chain_trace_context,
                origin_trace_context=item.origin_trace_context,
            )
            for item in items
        ]
        params = [
            CreateJobParams(
                type_name=item.type_name,
                chain_type_name=item.chain_type_name,
                chain_index=item.chain_index,
                input=value,
                id=item.id,
                chain_id=item.chain_id,
                deduplication=item.deduplication,
                schedule=item.schedule,
                chain_trace_context=(
                    span.get_chain_trace_context() if span is not None else item.origin_chain_trace_context
                ),
                trace_context=span.get_trace_context() if span is not None else None,
            )
            for item, value, span in zip(items, parsed, spans, strict=True)
        ]
        try:
            created = await self.state.create_jobs(params, tx_ctx=tx_ctx)
        except BaseException as error:
            for span in spans:
                if span is not None:
                    span.end(JobSpanError(error=error))
            raise

        jobs = [c.job for c in created]
        for span, result in zip(spans, created, strict=True):
            if span is None:
                continue
            if result.deduplicated:
                span.end(
                    JobSpanDeduplicated(
                        job_id=result.job.id,
                        chain_id=result.job.chain_id,
                        existing_chain_trace_context=result.job.chain_trace_context,
                    )
                )
            else:
                obs.end_job_span_after_commit(hooks, span, job_id=result.job.id, chain_id=result.job.chain_id)

        incomplete_by_index = await self._add_blockers(tx_ctx, hooks, items, created, jobs)

        for index, (item, result) in enumerate(zip(items, created, strict=True)):
            if result.deduplicated:
                continue
            job = jobs[index]
            self.registry.validate_blockers(
                item.type_name, [ResolvedRef(type_name=b.type_name, input=b.input) for b in item.blockers]
            )
            self._buffer_created_events(hooks, item, job, incomplete_by_index.get(index, ()))
            buffer_job_scheduled(hooks, self.notify, job.type_name)

        return [NewJobResult(job=job, deduplicated=c.deduplicated) for job, c in zip(jobs, created, strict=True)]

    async def _add_blockers(
        self,
        tx_ctx: TxCtxT,
        hooks: TransactionHooks,
        items: Sequence[NewJob],
        created: Sequence[Any],
        jobs: list[StateJob],
    ) -> dict[int, tuple[ChainLike[Any, Any], ...]]:
        """Attach blockers of the newly inserted jobs; replaces their entries in `jobs` with the updated rows."""
        obs = self.observability
        indexes = [
            i for i, (item, c) in enumerate(zip(items, created, strict=True)) if item.blockers and not c.deduplicated
        ]
        if not indexes:
            return {}
        blocker_spans = []
        params = []
        for i in indexes:
            job = jobs[i]
            spans_of_job = [
                obs.start_blocker_span(
                    chain_id=job.chain_id,
                    chain_type_name=job.chain_type_name,
                    job_id=job.id,
                    job_type_name=job.type_name,
                    job_trace_context=job.trace_context,
                    blocker_chain_id=blocker.id,
                    blocker_chain_type_name=blocker.type_name,
                    blocker_index=position,
                )
                for position, blocker in enumerate(items[i].blockers)
            ]
            blocker_spans.append(spans_of_job)
            params.append(
                JobBlockersParams(
                    job_id=job.id,
                    blocked_by_chain_ids=[b.id for b in items[i].blockers],
                    blocker_trace_contexts=[s.get_trace_context() if s is not None else None for s in spans_of_job],
                )
            )
        added = await self.state.add_jobs_blockers(params, tx_ctx=tx_ctx)

        incomplete_by_index: dict[int, tuple[ChainLike[Any, Any], ...]] = {}
        for i, result, spans_of_job in zip(indexes, added, blocker_spans, strict=True):
            jobs[i] = result.job
            blockers = items[i].blockers
            incomplete_ids = set(result.incomplete_blocker_chain_ids)
            incomplete_by_index[i] = tuple(b for b in blockers if b.id in incomplete_ids)
            for blocker, span, chain_context in zip(
                blockers, spans_of_job, result.blocker_chain_trace_contexts, strict=True
            ):
                if span is None:
                    continue
                obs.on_commit(hooks, partial(span.end, chain_context))
                # A rolled-back creation still ends its "await chain" span (without a link).
                obs.on_rollback(hooks, partial(span.end, None))
                if blocker.id not in incomplete_ids:
                    obs.on_commit(
                        hooks,
                        partial(
                            obs.complete_blocker_span,
                            trace_context=span.get_trace_context(),
                            blocker_chain_type_name=blocker.type_name,
                        ),
                    )
        return incomplete_by_index

    def _buffer_created_events(
        self,
        hooks: TransactionHooks,
        item: NewJob,
        job: StateJob,
        incomplete_blockers: Sequence[ChainLike[Any, Any]],
    ) -> None:
        obs = self.observability
        if obs.silent:
            return
        schedule = item.schedule
        blockers = [_chain_data_of(b) for b in item.blockers]
        scheduled_at = schedule.at if isinstance(schedule, ScheduleAt) else None
        after_ms = schedule.after_ms if isinstance(schedule, ScheduleAfter) and schedule.after_ms else None
        if item.chain_id is None:
            obs.on_commit(hooks, lambda: obs.chain_created(job, input=item.input))
        obs.on_commit(
            hooks,
            lambda: obs.job_created(
                job, input=item.input, blockers=blockers, scheduled_at=scheduled_at, schedule_after_ms=after_ms
            ),
        )
        if incomplete_blockers:
            blocked_by = [_chain_data_of(b) for b in incomplete_blockers]
            obs.on_commit(hooks, lambda: obs.job_blocked(job, blocked_by_chains=blocked_by))

    # --- completing -------------------------------------------------------------------

    async def complete_job(
        self,
        tx_ctx: TxCtxT,
        hooks: TransactionHooks,
        job: StateJob,
        complete: Callable[[CompleteContext[TxCtxT]], Awaitable[object]],
        *,
        worker_id: str | None,
        origin_chain_trace_context: str | None,
        origin_trace_context: str | None,
        on_returned: Callable[[object, StateJob | None], None] | None = None,
    ) -> CompletionOutcome:
        """Run a completion callback for `job` and record the result: an output, or a continuation.

        `on_returned(returned, continuation)` runs once the callback has returned (and been
        checked), before the job is completed: the worker buffers its attempt event there
        so that it precedes `job_completed`.
        """
        continuation: list[StateJob] = []

        async def continue_with(
            job_type: JobType[Any, Any] | str,
            *,
            input: object,
            id: str | None = None,
            schedule: ScheduleOptions | None = None,
            blockers: Sequence[ChainLike[Any, Any]] = (),
        ) -> ContinuationJob[Any]:
            if continuation:
                raise AttemptUsageError("continue_with can only be called once")
            target = type_name_of(job_type)
            self.registry.validate_continue_with(job.type_name, ResolvedRef(type_name=target, input=input))
            [result] = await self.create_jobs(
                tx_ctx,
                hooks,
                [
                    NewJob(
                        type_name=target,
                        input=input,
                        chain_type_name=job.chain_type_name,
                        chain_index=job.chain_index + 1,
                        chain_id=job.chain_id,
                        id=id,
                        schedule=schedule,
                        blockers=blockers,
                        origin_chain_trace_context=origin_chain_trace_context,
                        origin_trace_context=origin_trace_context,
                    )
                ],
            )
            continuation.append(result.job)
            view = self.job_view(result.job)
            assert isinstance(view, PendingJob | BlockedJob), "a new continuation is pending or blocked"
            return ContinuationJob(job=view, deduplicated=result.deduplicated)

        returned = await complete(CompleteContext(tx_ctx=tx_ctx, transaction_hooks=hooks, continue_with=continue_with))
        if isinstance(returned, ContinuationJob):
            if not continuation or returned.job.id != continuation[0].id:
                raise AttemptUsageError("return the ContinuationJob that this completion's continue_with created")
            if on_returned is not None:
                on_returned(returned, continuation[0])
            completed = await self.state.complete_job(job.id, output=None, worker_id=worker_id, tx_ctx=tx_ctx)
            outcome = CompletionOutcome(job=completed, continuation=continuation[0], returned=returned)
        elif continuation:
            raise AttemptUsageError("after continue_with, the completion callback must return its ContinuationJob")
        else:
            output = self.registry.parse_output(job.type_name, returned)
            if on_returned is not None:
                on_returned(returned, None)
            completed = await self.state.complete_job(job.id, output=output, worker_id=worker_id, tx_ctx=tx_ctx)
            outcome = CompletionOutcome(job=completed, output=returned, chain_completed=True, returned=returned)

        # The job's own events come first, then the chain's (and its dependents').
        self._buffer_completed_events(hooks, outcome, worker_id=worker_id)
        if outcome.chain_completed:
            await self._finish_chain(tx_ctx, hooks, outcome.job)
        return outcome

    def _buffer_completed_events(
        self, hooks: TransactionHooks, outcome: CompletionOutcome, *, worker_id: str | None
    ) -> None:
        obs = self.observability
        if obs.silent:
            return
        completed = outcome.job
        continued = _job_data(outcome.continuation) if outcome.continuation is not None else None
        output = None if outcome.continuation is not None else completed.output
        obs.on_commit(
            hooks, lambda: obs.job_completed(completed, output=output, continued_with=continued, worker_id=worker_id)
        )
        if completed.completed_at is not None:
            duration_ms = _duration_ms(completed.created_at, completed.completed_at)
            obs.on_commit(hooks, lambda: obs.job_duration(completed, duration_ms=duration_ms))

    async def _finish_chain(self, tx_ctx: TxCtxT, hooks: TransactionHooks, completed: StateJob) -> None:
        """The chain's last job completed with an output: report the chain and release its dependents."""
        obs = self.observability
        root_created_at = completed.created_at
        if completed.chain_index > 0:
            root = await self.state.get_job(completed.chain_id, tx_ctx=tx_ctx)
            if root is None:
                raise ChainNotFoundError(chain_id=completed.chain_id)
            root_created_at = root.created_at
        chain = ChainData(id=completed.chain_id, type_name=completed.chain_type_name)
        if not obs.silent:
            output = completed.output
            assert completed.completed_at is not None
            duration_ms = _duration_ms(root_created_at, completed.completed_at)
            obs.on_commit(hooks, lambda: obs.chain_completed(chain, output=output))
            obs.on_commit(hooks, lambda: obs.chain_duration(chain, duration_ms=duration_ms))
        buffer_chain_completed(hooks, self.notify, completed.chain_id)

        unblocked = await self.state.unblock_jobs(completed.chain_id, tx_ctx=tx_ctx)
        for job in unblocked.unblocked_jobs:
            buffer_job_scheduled(hooks, self.notify, job.type_name)
            if not obs.silent:
                obs.on_commit(hooks, partial(obs.job_unblocked, job, unblocked_by_chain=chain))
        for trace_context in unblocked.blocker_trace_contexts:
            obs.on_commit(
                hooks,
                partial(
                    obs.complete_blocker_span, trace_context=trace_context, blocker_chain_type_name=chain.type_name
                ),
            )


def _duration_ms(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000
