"""Suite "process modes": atomic and staged attempts, with and without an explicit `prepare`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._job_types import EntryJobType, define_job_types
from ..._worker._processors import Processor
from ._base import IntegrationSuite, SuiteContext

if TYPE_CHECKING:
    from ..._completion import CompleteContext
    from ..._worker._context import AttemptContext, AttemptResult, PrepareContext, PrepareMode

__all__ = ("ProcessModesSuite",)


class NoteIn(TypedDict):
    text: str


class NoteOut(TypedDict):
    leased_by: str | None
    prepared: str | None


note = EntryJobType[NoteIn, NoteOut]("modes.note")
side = EntryJobType[NoteIn, NoteOut]("modes.side")
JOB_TYPES = define_job_types(note, side)


async def _lease_seen_in_complete(
    ctx: AttemptContext[object, NoteIn, NoteOut], s: SuiteContext, prepared: str | None
) -> AttemptResult[NoteIn, NoteOut]:
    async def finish(complete: CompleteContext[object]) -> NoteOut:
        # Inside the completing transaction: a staged attempt holds a lease, an atomic one none.
        row = await s.state_adapter.get_job(ctx.job.id, tx_ctx=complete.tx_ctx)
        assert row is not None
        return NoteOut(leased_by=row.leased_by, prepared=prepared)

    return await ctx.complete(finish)


class ProcessModesSuite(IntegrationSuite):
    """Atomic vs staged processing, chosen explicitly or by auto-setup."""

    async def _run(self, s: SuiteContext, handler: Any) -> tuple[NoteOut, str]:
        client = await s.create_client(JOB_TYPES)
        worker = await s.start_worker(client, [Processor(job_type=note, attempt_handler=handler)])
        chain = await s.start_chain(client, note, NoteIn(text="hello"))
        done = await s.await_chain(client, chain)
        output: NoteOut = done.output
        return output, worker.worker_id

    async def test_completes_atomically_without_prepare(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite

        async def handle(ctx: AttemptContext[object, NoteIn, NoteOut]) -> AttemptResult[NoteIn, NoteOut]:
            # `complete` before any real await: atomic.
            return await _lease_seen_in_complete(ctx, s, None)

        output, _ = await self._run(s, handle)
        assert output["leased_by"] is None

    async def test_staged_mode_without_prepare(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        during: list[Any] = []

        async def handle(ctx: AttemptContext[object, NoteIn, NoteOut]) -> AttemptResult[NoteIn, NoteOut]:
            # A real await before `complete`: the worker prepares staged by itself, so the
            # acquisition is committed and visible to other transactions.
            # The staged commit may still be in flight when the handler resumes; on an MVCC
            # store a read issued meanwhile sees the old row, so wait for the committed one.
            async def committed() -> Any:
                row = await s.state_adapter.get_job(ctx.job.id)
                return row if row is not None and row.leased_by is not None else None

            during.append(await s.wait_until(committed))
            return await _lease_seen_in_complete(ctx, s, None)

        output, worker_id = await self._run(s, handle)
        assert output["leased_by"] == worker_id
        assert during[0] is not None
        assert during[0].status == "running"
        assert during[0].leased_by == worker_id

    @pytest.mark.parametrize("mode", ["staged", "atomic"])
    async def test_prepare_with_a_callback(self, queuert_suite: SuiteContext, mode: PrepareMode) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        side_ids: list[str] = []

        async def handle(ctx: AttemptContext[object, NoteIn, NoteOut]) -> AttemptResult[NoteIn, NoteOut]:
            async def load(prepare: PrepareContext[object]) -> str:
                started = await client.start_chain(
                    tx_ctx=prepare.tx_ctx,
                    transaction_hooks=prepare.transaction_hooks,
                    job_type=side,
                    input=NoteIn(text="from prepare"),
                )
                side_ids.append(started.id)
                return f"prepared {ctx.job.input['text']}"

            prepared = await ctx.prepare(mode, load)
            if mode == "staged":
                # The prepare transaction is committed: its writes are visible outside.
                assert await client.get_chain(side_ids[0]) is not None
            return await _lease_seen_in_complete(ctx, s, prepared)

        worker = await s.start_worker(client, [Processor(job_type=note, attempt_handler=handle)])
        chain = await s.start_chain(client, note, NoteIn(text="hello"))
        output = (await s.await_chain(client, chain)).output
        assert output["prepared"] == "prepared hello"
        assert output["leased_by"] == (worker.worker_id if mode == "staged" else None)
        assert await client.get_chain(side_ids[0]) is not None

    @pytest.mark.parametrize("mode", ["staged", "atomic"])
    async def test_prepare_without_a_callback(self, queuert_suite: SuiteContext, mode: PrepareMode) -> None:
        s = queuert_suite

        async def handle(ctx: AttemptContext[object, NoteIn, NoteOut]) -> AttemptResult[NoteIn, NoteOut]:
            await ctx.prepare(mode)
            return await _lease_seen_in_complete(ctx, s, None)

        output, worker_id = await self._run(s, handle)
        assert output["leased_by"] == (worker_id if mode == "staged" else None)
