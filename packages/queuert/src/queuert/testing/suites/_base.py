"""The base of every integration suite: the adapter fixture to override and the helpers cases share."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pytest
import pytest_asyncio

from ..._client import Client, StartChainItem, create_client
from ..._transaction_hooks import TransactionHooks, transaction_hooks
from ..._worker._config import BackoffConfig, LeaseConfig, WorkerDefaults
from ..._worker._processors import ProcessorBase, Processors, create_processors
from ..._worker._worker import InProcessWorker, create_in_process_worker
from .._wait import wait_until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

    from ..._completion import CompleteContext, ContinuationJob
    from ..._entities import ChainLike, CompletedChain, StartedChain
    from ..._job_types import JobTypes
    from ..._log import LogEntry
    from ..._notify_adapter import NotifyAdapter
    from ..._observability_adapter import ObservabilityAdapter
    from ..._state_adapter import StateAdapter
    from ..._worker._context import AttemptContext, AttemptResult
    from ..._worker._middleware import AttemptMiddleware

__all__ = ("IntegrationSuite", "SuiteAdapters", "SuiteContext", "continue_to", "finish_with")

T = TypeVar("T")
InT = TypeVar("InT")
TxCtxT = TypeVar("TxCtxT")
OutT = TypeVar("OutT")

_LEAK_GRACE_S = 1.0


def _uuid4() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class SuiteAdapters:
    """What a `queuert_adapters` fixture may return instead of a plain `(state, notify)` pair."""

    state_adapter: StateAdapter[Any]
    notify_adapter: NotifyAdapter | None = None
    """`None`: no notify adapter (workers and `await_chain` poll)."""
    poison_transaction: Callable[[Any], Awaitable[None]] | None = None
    """Put an open transaction into the failed state (PostgreSQL: run a statement that errors).
    Cases that need it are skipped without it."""
    generate_id: Callable[[], str] = _uuid4
    """Make a job id the state adapter accepts (for caller-supplied ids)."""
    invalid_id: str | None = None
    """An id the state adapter's id validator rejects. Cases that need it are skipped without it."""


class SuiteContext:
    """Per-test helpers over the adapters under test. Every wait is bounded."""

    def __init__(self, adapters: SuiteAdapters, *, poll_interval_ms: float, timeout_ms: float) -> None:
        self.state_adapter = adapters.state_adapter
        self.notify_adapter = adapters.notify_adapter
        self.poison_transaction = adapters.poison_transaction
        self.generate_id = adapters.generate_id
        self.invalid_id = adapters.invalid_id
        self.poll_interval_ms = poll_interval_ms
        """Worker and `await_chain` poll interval used by the helpers."""
        self.timeout_ms = timeout_ms
        """Default bound of every wait."""
        self.logs: list[LogEntry] = []
        """Every log entry of every client made by `create_client`, in order."""
        self._workers: list[InProcessWorker[Any]] = []

    # --- building -----------------------------------------------------------------------

    def log(self, entry: LogEntry) -> None:
        """The log sink handed to clients."""
        self.logs.append(entry)

    def entries(self, type_name: str) -> list[LogEntry]:
        """The log entries of one type, in order."""
        return [entry for entry in self.logs if entry["type"] == type_name]

    async def create_client(
        self,
        job_types: JobTypes | Sequence[JobTypes],
        *,
        state_adapter: StateAdapter[Any] | None = None,
        notify_adapter: NotifyAdapter | bool | None = True,
        observability_adapter: ObservabilityAdapter | None = None,
    ) -> Client[Any]:
        """A client over the adapters under test (or the ones given), logging into `logs`.

        `notify_adapter=True` (default) uses the suite's notify adapter; `None`/`False` none.
        """
        notify = self.notify_adapter if notify_adapter is True else notify_adapter or None
        return await create_client(
            state_adapter=state_adapter if state_adapter is not None else self.state_adapter,
            job_types=job_types,
            notify_adapter=notify,
            observability_adapter=observability_adapter,
            log=self.log,
        )

    async def start_worker(
        self,
        client: Client[Any],
        processors: Sequence[ProcessorBase[Any]] = (),
        *,
        slices: Sequence[Processors[Any]] = (),
        concurrency: int = 1,
        backoff_config: BackoffConfig | None = None,
        lease_config: LeaseConfig | None = None,
        attempt_middleware: Sequence[AttemptMiddleware[Any]] = (),
        worker_name: str | None = "suite",
        poll_interval_ms: float | None = None,
        recovery_backoff_config: BackoffConfig | None = None,
    ) -> InProcessWorker[Any]:
        """Create and start a worker; it is stopped when the test ends.

        `processors` become one slice with `attempt_middleware`; `slices` are added as they
        are. Retries back off 10 ms by default so failing cases stay fast.
        """
        all_slices = list(slices)
        if processors:
            all_slices.append(
                create_processors(client=client, processors=processors, attempt_middleware=attempt_middleware)
            )
        worker = await create_in_process_worker(
            client=client,
            processors=all_slices,
            worker_name=worker_name,
            concurrency=concurrency,
            poll_interval_ms=poll_interval_ms if poll_interval_ms is not None else self.poll_interval_ms,
            recovery_backoff_config=recovery_backoff_config or BackoffConfig(5, 50),
            defaults=WorkerDefaults(
                backoff_config=backoff_config or BackoffConfig(10, 10),
                lease_config=lease_config or LeaseConfig(lease_ms=5_000, renew_interval_ms=1_000),
            ),
        )
        self._workers.append(worker)
        await worker.start()
        return worker

    async def stop_workers(self) -> None:
        """Stop every worker started by `start_worker` (bounded grace period)."""
        workers, self._workers = self._workers, []
        for worker in workers:
            await worker.stop(grace_period_ms=self.timeout_ms)

    # --- transactions -------------------------------------------------------------------

    async def tx(
        self, fn: Callable[[Any, TransactionHooks], Awaitable[T]], *, state_adapter: StateAdapter[Any] | None = None
    ) -> T:
        """Run `fn(tx_ctx, hooks)` in a transaction wrapped by transaction hooks (flushed after commit)."""
        state = state_adapter if state_adapter is not None else self.state_adapter
        async with transaction_hooks() as hooks:
            return await state.with_transaction(lambda tx_ctx: fn(tx_ctx, hooks))

    async def start_chain(
        self, client: Client[Any], job_type: Any, input: object, **options: Any
    ) -> StartedChain[Any, Any]:
        """`client.start_chain` in its own transaction."""
        return await self.tx(
            lambda tx_ctx, hooks: client.start_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=job_type, input=input, **options
            )
        )

    async def start_chains(
        self, client: Client[Any], items: Sequence[StartChainItem[Any]]
    ) -> list[StartedChain[Any, Any]]:
        """`client.start_chains` in its own transaction."""
        return await self.tx(
            lambda tx_ctx, hooks: client.start_chains(tx_ctx=tx_ctx, transaction_hooks=hooks, items=items)
        )

    # --- waiting ------------------------------------------------------------------------

    async def await_chain(
        self, client: Client[Any], chain: ChainLike[Any, Any] | str, *, timeout_ms: float | None = None
    ) -> CompletedChain[Any, Any]:
        """`client.await_chain` with the suite's bound and poll interval."""
        return await client.await_chain(
            chain, timeout_ms=timeout_ms or self.timeout_ms, poll_interval_ms=self.poll_interval_ms
        )

    async def wait_until(
        self, condition: Callable[[], object], *, timeout_ms: float | None = None, message: str | None = None
    ) -> Any:
        """Poll `condition` until truthy (bounded by the suite timeout)."""
        return await wait_until(condition, timeout_ms=timeout_ms or self.timeout_ms, message=message)

    async def wait_for_log(self, type_name: str, *, count: int = 1, timeout_ms: float | None = None) -> list[LogEntry]:
        """Wait until at least `count` log entries of `type_name` were emitted; return them."""
        await self.wait_until(
            lambda: len(self.entries(type_name)) >= count,
            timeout_ms=timeout_ms,
            message=f"expected {count} {type_name!r} log entries, got {len(self.entries(type_name))}",
        )
        return self.entries(type_name)


class IntegrationSuite:
    """Base class of the integration suites.

    Subclass a suite in your adapter's test module, name the subclass `Test...`, and
    override the `queuert_adapters` fixture to yield a `(state_adapter, notify_adapter)`
    pair (or a `SuiteAdapters`) over an empty store; `notify_adapter` may be `None`.

    Class attributes tune the cases: `skip_concurrency_tests` skips the cases that run
    several workers against one store at once, `poll_interval_ms` is how often workers and
    waiters poll, `timeout_ms` bounds every wait.
    """

    pytestmark = pytest.mark.asyncio

    skip_concurrency_tests: ClassVar[bool] = False
    poll_interval_ms: ClassVar[float] = 20
    timeout_ms: ClassVar[float] = 5_000

    @pytest.fixture
    def queuert_adapters(self) -> tuple[StateAdapter[Any], NotifyAdapter | None] | SuiteAdapters:
        """The adapters under test. Override this fixture in your subclass."""
        pytest.fail(
            f"{type(self).__name__} runs a queuert integration suite: override the `queuert_adapters` fixture "
            "in the subclass to yield (state_adapter, notify_adapter) over an empty store "
            "(notify_adapter may be None), or a queuert.testing.suites.SuiteAdapters",
            pytrace=False,
        )

    @pytest_asyncio.fixture
    async def queuert_suite(
        self, queuert_adapters: tuple[StateAdapter[Any], NotifyAdapter | None] | SuiteAdapters
    ) -> AsyncIterator[SuiteContext]:
        """The per-test context; stops the workers and checks no task leaked."""
        adapters = queuert_adapters
        if not isinstance(adapters, SuiteAdapters):
            state_adapter, notify_adapter = adapters
            adapters = SuiteAdapters(state_adapter=state_adapter, notify_adapter=notify_adapter)
        before = asyncio.all_tasks()
        context = SuiteContext(adapters, poll_interval_ms=self.poll_interval_ms, timeout_ms=self.timeout_ms)
        try:
            yield context
        finally:
            await context.stop_workers()
        leaked = asyncio.all_tasks() - before - {asyncio.current_task()}
        if leaked:
            # Tasks that are merely finishing (a transaction committing) get a moment.
            _, still_running = await asyncio.wait(leaked, timeout=_LEAK_GRACE_S)
            if still_running:
                names = ", ".join(sorted(repr(task.get_coro()) for task in still_running))
                pytest.fail(f"tasks still running after the test: {names}", pytrace=False)

    def require_concurrency(self) -> None:
        """Skip the calling case when the subclass set `skip_concurrency_tests`."""
        if self.skip_concurrency_tests:
            pytest.skip("skip_concurrency_tests is set for this adapter")


async def finish_with(ctx: AttemptContext[TxCtxT, InT, OutT], output: OutT) -> AttemptResult[InT, OutT]:
    """`ctx.complete` with a callback that returns `output` (finishing the chain)."""

    async def produce(_: CompleteContext[TxCtxT]) -> OutT:
        return output

    return await ctx.complete(produce)


async def continue_to(
    ctx: AttemptContext[TxCtxT, InT, OutT], job_type: Any, input: object, **options: Any
) -> AttemptResult[InT, OutT]:
    """`ctx.complete` with a callback that continues the chain with `job_type`."""

    async def hand_off(complete: CompleteContext[TxCtxT]) -> ContinuationJob[Any]:
        return await complete.continue_with(job_type, input=input, **options)

    return await ctx.complete(hand_off)
