"""Suite "deduplication": keys, scopes, windows, exclusions, batches and concurrent starts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from ..._client import StartChainItem
from ..._entities import DeduplicationOptions
from ..._job_types import EntryJobType, JobType, NoOutput, define_job_types
from ..._worker._processors import Processor
from .._wait import next_moment
from ._base import IntegrationSuite, SuiteContext, continue_to

if TYPE_CHECKING:
    from ..._client import Client
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("DeduplicationSuite",)


class Order(TypedDict):
    order: str


class Sent(TypedDict):
    sent: bool


email = EntryJobType[Order, Sent]("dedup.email")
sms = EntryJobType[Order, Sent]("dedup.sms")
two_step = EntryJobType[Order, NoOutput, Sent]("dedup.two_step", continue_with="dedup.second")
second = JobType[Order, Sent]("dedup.second")
JOB_TYPES = define_job_types(email, sms, two_step, second)


def _key(key: str, **options: Any) -> DeduplicationOptions:
    return DeduplicationOptions(key=key, **options)


async def _finish(client: Client[Any], s: SuiteContext, chain_id: str) -> None:
    """Complete a single-job chain without a worker."""

    async def complete(completion: Any) -> None:
        async def produce(_: Any) -> Sent:
            return Sent(sent=True)

        await completion.complete(completion.job, produce)

    await s.tx(
        lambda tx_ctx, hooks: client.complete_chain(
            tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=email, id=chain_id, complete=complete
        )
    )


def _older_than(moment: datetime, ms: float) -> bool:
    return datetime.now(UTC) - moment > timedelta(milliseconds=ms)


class DeduplicationSuite(IntegrationSuite):
    """`start_chain(deduplication=...)` single and batched."""

    async def test_deduplicates_chains_with_the_same_key(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        first = await s.start_chain(client, email, Order(order="1"), deduplication=_key("order-1"))
        again = await s.start_chain(client, email, Order(order="other"), deduplication=_key("order-1"))
        other = await s.start_chain(client, email, Order(order="2"), deduplication=_key("order-2"))
        assert not first.deduplicated
        assert again.deduplicated
        assert again.id == first.id
        assert again.input == {"order": "1"}
        assert not other.deduplicated
        assert other.id != first.id
        assert len(s.entries("chain_created")) == 2

    async def test_scope_any_against_scope_incomplete(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        first = await s.start_chain(client, email, Order(order="1"), deduplication=_key("k"))
        await _finish(client, s, first.id)
        await next_moment()  # "newest" must not be a tie
        fresh = await s.start_chain(client, email, Order(order="1"), deduplication=_key("k", scope="incomplete"))
        assert not fresh.deduplicated
        any_scope = await s.start_chain(client, email, Order(order="1"), deduplication=_key("k", scope="any"))
        assert any_scope.deduplicated
        # The newest match wins.
        assert any_scope.id == fresh.id

    async def test_incomplete_scope_looks_at_the_whole_chain(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def step(ctx: AttemptContext[object, Order, NoOutput]) -> AttemptResult[Order, NoOutput]:
            return await continue_to(ctx, second, ctx.job.input)

        await s.start_worker(client, [Processor(job_type=two_step, attempt_handler=step)])
        first = await s.start_chain(client, two_step, Order(order="1"), deduplication=_key("k"))
        await s.wait_until(lambda: _root_completed(client, first.id))
        # The first job completed but the chain goes on: it is still incomplete (binding decision 1).
        again = await s.start_chain(client, two_step, Order(order="1"), deduplication=_key("k"))
        assert again.deduplicated
        assert again.id == first.id
        assert again.status == "pending"

    async def test_window_ms_limits_how_far_back_it_matches(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        first = await s.start_chain(client, email, Order(order="1"), deduplication=_key("w", window_ms=60_000))
        within = await s.start_chain(client, email, Order(order="1"), deduplication=_key("w", window_ms=60_000))
        assert within.deduplicated
        await s.wait_until(lambda: _older_than(first.created_at, 60))
        outside = await s.start_chain(client, email, Order(order="1"), deduplication=_key("w", window_ms=30))
        assert not outside.deduplicated

    async def test_does_not_deduplicate_across_chain_types(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        by_email = await s.start_chain(client, email, Order(order="1"), deduplication=_key("same"))
        by_sms = await s.start_chain(client, sms, Order(order="1"), deduplication=_key("same"))
        assert not by_sms.deduplicated
        assert by_sms.id != by_email.id

    async def test_deduplicates_within_a_batch(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        started = await s.start_chains(
            client,
            [
                StartChainItem(job_type=email, input=Order(order="a"), deduplication=_key("batch")),
                StartChainItem(job_type=email, input=Order(order="b"), deduplication=_key("batch")),
                StartChainItem(job_type=email, input=Order(order="c"), deduplication=_key("other")),
            ],
        )
        assert [c.deduplicated for c in started] == [False, True, False]
        assert started[1].id == started[0].id
        assert started[2].id != started[0].id

    async def test_deduplicates_a_batch_against_existing_chains(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        existing = await s.start_chain(client, email, Order(order="1"), deduplication=_key("pre"))
        started = await s.start_chains(
            client,
            [
                StartChainItem(job_type=email, input=Order(order="2"), deduplication=_key("pre")),
                StartChainItem(job_type=email, input=Order(order="3"), deduplication=_key("new")),
            ],
        )
        assert [c.deduplicated for c in started] == [True, False]
        assert started[0].id == existing.id

    async def test_batch_scopes_window_exclusions_and_chain_types(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        done = await s.start_chain(client, email, Order(order="done"), deduplication=_key("scope"))
        await _finish(client, s, done.id)
        excluded = await s.start_chain(client, email, Order(order="x"), deduplication=_key("excl"))
        old = await s.start_chain(client, email, Order(order="old"), deduplication=_key("win"))
        await s.wait_until(lambda: _older_than(old.created_at, 60))
        started = await s.start_chains(
            client,
            [
                StartChainItem(job_type=email, input=Order(order="1"), deduplication=_key("scope", scope="any")),
                StartChainItem(job_type=email, input=Order(order="2"), deduplication=_key("scope")),
                StartChainItem(
                    job_type=email, input=Order(order="3"), deduplication=_key("excl", exclude_chain_ids=[excluded.id])
                ),
                StartChainItem(job_type=email, input=Order(order="4"), deduplication=_key("win", window_ms=30)),
                StartChainItem(job_type=sms, input=Order(order="5"), deduplication=_key("excl")),
            ],
        )
        assert [c.deduplicated for c in started] == [True, False, False, False, False]
        assert started[0].id == done.id
        assert started[2].id != excluded.id
        assert started[3].id != old.id

    async def test_concurrent_starts_with_the_same_key_insert_once(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        results = await asyncio.gather(
            *(s.start_chain(client, email, Order(order=str(n)), deduplication=_key("race")) for n in range(4))
        )
        assert sorted(r.deduplicated for r in results) == [False, True, True, True]
        assert len({r.id for r in results}) == 1


async def _root_completed(client: Client[Any], job_id: str) -> bool:
    job = await client.get_job(job_id)
    return job is not None and job.status == "completed"
