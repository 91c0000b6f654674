"""The state suite cannot pass vacuously: adapters with one deliberate bug fail the cases about that bug.

Each broken adapter is a subclass of the in-process adapter (public API) with one rule of the
contract broken; the framework-free runner must raise `ConformanceError` naming the cases that
check that rule, and let the rest pass.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pytest

from queuert import ChainFilter, InProcessStateAdapter, InProcessTx
from queuert.conformance import (
    ConformanceError,
    StateConformanceFixture,
    run_state_adapter_conformance,
    state_adapter_cases,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from queuert.adapters import AcquiredJob, CreatedJob, CreateJobParams


class _Undo(Exception):
    pass


class ForgetfulAcquireStateAdapter(InProcessStateAdapter):
    """Bug: acquire_job reports the job it picked but never persists the claim, so it hands the same job out again."""

    async def acquire_job(self, type_names: Sequence[str], *, tx_ctx: InProcessTx | None = None) -> AcquiredJob:
        picked: list[AcquiredJob] = []

        async def claim(tx: InProcessTx) -> None:
            picked.append(await InProcessStateAdapter.acquire_job(self, type_names, tx_ctx=tx))
            raise _Undo

        try:
            if tx_ctx is None:
                await self.with_transaction(claim)
            else:
                await self.with_savepoint(tx_ctx, claim)
        except _Undo:
            pass
        return picked[0]


class DedupIgnoringStateAdapter(InProcessStateAdapter):
    """Bug: create_jobs drops every deduplication request and always inserts."""

    async def create_jobs(
        self, jobs: Sequence[CreateJobParams], *, tx_ctx: InProcessTx | None = None
    ) -> list[CreatedJob]:
        stripped = [dataclasses.replace(job, deduplication=None) for job in jobs]
        return await super().create_jobs(stripped, tx_ctx=tx_ctx)


async def _run_against(adapter: InProcessStateAdapter) -> set[str]:
    """Run the whole suite on `adapter`; return the names of the failed cases."""

    async def reset() -> None:
        page = await adapter.list_chains(filter=ChainFilter(), limit=1000)
        await adapter.delete_chains([chain.root.id for chain in page.items])

    async def factory() -> StateConformanceFixture[Any]:
        return StateConformanceFixture(state_adapter=adapter, reset=reset, dispose=adapter.close)

    with pytest.raises(ConformanceError) as info:
        await run_state_adapter_conformance(factory, case_timeout_ms=30_000)
    report = info.value.report
    assert report.total == len(state_adapter_cases())
    assert report.passed == report.total - report.failed - report.skipped > 150, "everything else still passes"
    for result in report.failures:
        assert f"  x {result.name}: " in str(info.value), "the error lists every failed case"
    return {result.name for result in report.failures}


async def test_double_dispatching_acquire_fails_exactly_the_cases_that_acquire_twice() -> None:
    assert await _run_against(ForgetfulAcquireStateAdapter()) == {
        "withTransaction > rolls back mixed mutations atomically with consistent indexes",
        "unblockJobs > unblocked job with stale past scheduledAt does not jump ahead of already-ready jobs",
        "getNextJobAvailableInMs > ignores running, completed and blocked jobs",
        "acquireJob > returns hasMore when additional eligible jobs exist",
        "acquireJob > takes the earliest due job across the requested types only",
        "acquireJob > never takes blocked, running or completed jobs",
        "acquireJob > works without a transaction and leaves the lease fields alone",
        "rescheduleJob > reschedules a running job to pending with afterMs",
        "completeJob > clears lastAttemptError when completing a job that previously failed",
        "reapExpiredJobLease > returns the lease the reaped job had",
        "concurrency > parallel acquireJob calls return distinct jobs (no double-dispatch)",
        "concurrency > parallel non-transactional acquires never hand out a job twice",
    }


async def test_dedup_ignoring_create_fails_exactly_the_deduplication_cases() -> None:
    # Continuation idempotency ("deduplicates continuation with same chain_index") is not
    # deduplication by key, and keeps passing.
    assert await _run_against(DedupIgnoringStateAdapter()) == {
        "createJobs > deduplicates jobs with same deduplication key",
        "createJobs > deduplication scope 'incomplete' does not match completed jobs",
        "createJobs > excludeChainIds skips specified chains during deduplication",
        "createJobs > handles per-row deduplication in a batch",
        "createJobs > deduplication windowMs matches only within time window",
        "createJobs > deduplication windowMs with scope 'incomplete' respects both window and status",
        "createJobs > dedup wins over caller-supplied id",
        "createJobs > deduplication scope 'incomplete' is chain-level: a chain whose root continued still matches",
        "createJobs > the newest matching chain wins deduplication",
        "createJobs > a later item of a batch deduplicates onto an earlier item of the same batch",
        "createJobs > a deduplication hit does not check the caller-supplied id",
        "withTransaction > revives deleted chains when rolled back",
        "concurrency > two concurrent transactions deduplicating on the same key insert one chain",
    }
