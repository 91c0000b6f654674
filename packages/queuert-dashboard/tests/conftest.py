"""A dashboard over a real store, and an HTTP client that talks to it through ASGI.

Every test that uses `shop` runs on three stores: the in-process adapter, a SQLite file and a
schema of its own on the PostgreSQL server (UUID ids, so `/api/jobs/garbage` meets a store
that could choke on a malformed id).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import httpx
import pytest

from queuert import (
    Client,
    CompleteContext,
    ContinuationJob,
    EntryJobType,
    JobType,
    NoOutput,
    Rest,
    ScheduleAfter,
    StartedChain,
    TransactionHooks,
    WorkerlessCompletion,
    create_client,
    create_in_process_state_adapter,
    define_job_types,
    transaction_hooks,
)
from queuert.testing import next_moment
from queuert_dashboard import create_dashboard
from queuert_postgres.testing import migrated_state_adapter, resolve_postgres
from queuert_sqlite.testing import SqliteStateUnderTest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
    from pathlib import Path

    from queuert.adapters import StateAdapter


class Order(TypedDict):
    order_id: int


class Receipt(TypedDict):
    paid: bool


place_order = EntryJobType[Order, Receipt]("orders.place")
charge = EntryJobType[Order, NoOutput, Receipt]("orders.charge", continue_with="orders.ship")
ship = JobType[Order, Receipt]("orders.ship")
report = EntryJobType[Order, Receipt]("orders.report", blockers=[Rest("orders.place")])
JOB_TYPES = define_job_types(place_order, charge, ship, report)
ENTRY_TYPES: dict[str, Any] = {"place": place_order, "charge": charge, "report": report}


@dataclass
class Shop:
    """The store, its client and a few helpers to put chains in every state.

    Chains are named by entry type: `"place"` (finishes in one job), `"charge"` (continues
    to `orders.ship`) and `"report"` (waits on `"place"` chains).
    """

    state: StateAdapter[Any]
    client: Client[Any]

    async def tx(self, fn: Callable[[Any, TransactionHooks], Awaitable[Any]]) -> Any:
        # Listings are checked in creation order, and SQLite stamps times to the millisecond.
        await next_moment()
        async with transaction_hooks() as hooks:
            return await self.state.with_transaction(lambda tx: fn(tx, hooks))

    async def start(self, entry: str, order_id: int, **options: Any) -> StartedChain[Any, Any]:
        job_type = ENTRY_TYPES[entry]
        started: StartedChain[Any, Any] = await self.tx(
            lambda tx, hooks: self.client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=job_type, input=Order(order_id=order_id), **options
            )
        )
        return started

    async def start_later(self, order_id: int) -> StartedChain[Any, Any]:
        """A `"place"` chain whose job is due in an hour."""
        return await self.start("place", order_id, schedule=ScheduleAfter(3_600_000))

    async def finish(self, chain_id: str, entry: str = "place") -> None:
        """Complete the chain's current job with `{"paid": true}`."""
        job_type = ENTRY_TYPES[entry]

        async def complete(completion: WorkerlessCompletion[Any]) -> None:
            async def produce(_: CompleteContext[Any]) -> Receipt:
                return Receipt(paid=True)

            await completion.complete(completion.job, produce)

        await self.tx(
            lambda tx, hooks: self.client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=job_type, id=chain_id, complete=complete
            )
        )

    async def continue_charge(self, chain_id: str) -> None:
        """Complete a `"charge"` chain's first job by continuing to `orders.ship`."""

        async def complete(completion: WorkerlessCompletion[Any]) -> None:
            async def hand_off(ctx: CompleteContext[Any]) -> ContinuationJob[Order]:
                return await ctx.continue_with(ship, input=Order(order_id=0))

            await completion.complete(completion.job, hand_off)

        await self.tx(
            lambda tx, hooks: self.client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=charge, id=chain_id, complete=complete
            )
        )


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    with resolve_postgres() as dsn:
        yield dsn


@pytest.fixture(params=["in-process", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """Which store, and the server's DSN for PostgreSQL (resolved here: its probe runs its own event loop)."""
    kind: str = request.param
    return kind, request.getfixturevalue("postgres_dsn") if kind == "postgres" else None


@pytest.fixture
async def shop(store: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[Shop]:
    kind, dsn = store
    async with contextlib.AsyncExitStack() as stack:
        state: StateAdapter[Any]
        if kind == "in-process":
            state = await create_in_process_state_adapter()
            stack.push_async_callback(state.close)
        elif kind == "sqlite":
            state = await SqliteStateUnderTest.create_state_adapter(tmp_path)
            stack.push_async_callback(state.close)
        else:
            assert dsn is not None
            state = await stack.enter_async_context(migrated_state_adapter(dsn))
        yield Shop(state, await create_client(state_adapter=state, job_types=JOB_TYPES))


@pytest.fixture
async def api(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for a dashboard served at the root."""
    transport = httpx.ASGITransport(app=create_dashboard(client=shop.client))
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as http:
        yield http
