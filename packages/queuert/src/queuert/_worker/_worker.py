"""The in-process worker: fills its slots with attempts, reaps expired leases, and sleeps until work is due."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from ._config import DEFAULT_RECOVERY_BACKOFF, BackoffConfig, backoff_ms, make_worker_id
from ._engine import Acquired, Engine
from ._reaper import reap_one

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from .._client import Client
    from .._state_adapter import StateJob
    from ._attempt import Attempt
    from ._config import WorkerDefaults
    from ._middleware import AttemptMiddleware
    from ._processors import Processors

__all__ = ("DEFAULT_GRACE_PERIOD_MS", "InProcessWorker", "StopWorker", "create_in_process_worker")

TxCtxT = TypeVar("TxCtxT")

_LEASE_WAKE_MARGIN_S = 0.002

DEFAULT_GRACE_PERIOD_MS = 30_000
"""How long `stop()` lets in-flight attempts finish before cancelling them."""

_logger = logging.getLogger("queuert")

_Acquisition = tuple["StateJob | None", bool]


class _Slot:
    """One unit of concurrency: busy from the start of an acquisition until its attempt ends."""

    __slots__ = ("_released", "_worker", "acquisition")

    def __init__(self, worker: InProcessWorker[Any]) -> None:
        self._worker = worker
        self._released = False
        self.acquisition: asyncio.Future[_Acquisition] = asyncio.get_running_loop().create_future()
        worker._idle -= 1

    def release(self, *, wake: bool = True) -> None:
        """Give the slot back; `wake` tells the loop to look for work again (not after an empty acquisition)."""
        if self._released:
            return
        self._released = True
        self._worker._idle += 1
        if wake:
            self._worker._wake.set()


class StopWorker(Protocol):
    """The `stop` callable returned by `InProcessWorker.start()`."""

    async def __call__(self, *, grace_period_ms: float = DEFAULT_GRACE_PERIOD_MS) -> None:
        """Stop the worker (see `InProcessWorker.stop`)."""
        ...


class InProcessWorker(Generic[TxCtxT]):
    """Runs attempts for the job types of its processors. Build it with `create_in_process_worker`.

    Start it with `stop = await worker.start()` and stop it with `await stop()`, or use it as
    `async with worker:`. Several workers (in one process or many) can share a database;
    each job goes to exactly one of them.
    """

    def __init__(
        self,
        *,
        engine: Engine[TxCtxT],
        concurrency: int,
        poll_interval_ms: float,
        recovery_backoff_config: BackoffConfig,
    ) -> None:
        self._engine = engine
        self._ops = engine.ops
        self._concurrency = concurrency
        self._poll_interval_ms = poll_interval_ms
        self._recovery = recovery_backoff_config
        self._state: Literal["new", "running", "stopping", "stopped"] = "new"
        self._stopping = False
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._idle = concurrency
        self._loop_task: asyncio.Task[None] | None = None
        self._slots: set[asyncio.Task[None]] = set()
        # Keyed by slot, not job id: a rescheduled job can be picked up by another slot
        # while its previous attempt is still winding down here.
        self._attempts: dict[_Slot, tuple[str, Attempt[TxCtxT]]] = {}
        self._hint_tasks: set[asyncio.Task[None]] = set()
        self._handoff_tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._slot_failed = False
        self._stop_requested = asyncio.Event()

    @property
    def worker_id(self) -> str:
        """The id stored as `leased_by` / `completed_by` on the jobs this worker processes."""
        return self._engine.worker_id

    @property
    def job_type_names(self) -> tuple[str, ...]:
        """The job types this worker processes."""
        return self._engine.type_names

    @property
    def running(self) -> bool:
        """Whether the worker was started and has not finished stopping."""
        return self._state in ("running", "stopping")

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> StopWorker:
        """Start processing in the background and return the function that stops the worker.

        Raises:
            RuntimeError: the worker was already started.
        """
        if self._state != "new":
            raise RuntimeError("this worker was already started; create a new one")
        self._state = "running"
        obs = self._ops.observability
        obs.worker_started(worker_id=self.worker_id, job_type_names=self.job_type_names)
        self._change_idle(self._concurrency)
        self._loop_task = asyncio.create_task(self._run_loop(), name=f"queuert worker {self.worker_id}")
        return self.stop

    async def stop(self, *, grace_period_ms: float = DEFAULT_GRACE_PERIOD_MS) -> None:
        """Stop taking jobs and wait for the attempts in flight, then return.

        Attempts still running after `grace_period_ms` get their signal aborted with
        `"worker_stopping"` and are cancelled: an atomic attempt rolls back (the job is
        pending again, its attempt not counted), a staged one hands its job back (pending at
        once) or, if that fails, leaves it to be reaped when its lease expires. Nothing is
        left half-completed. Calling `stop` again, or on a worker never started, just waits
        for the first stop to finish.
        """
        if self._state == "new":
            self._state = "stopped"
            self._stopped.set()
            return
        if self._state != "running":
            await self._stopped.wait()
            return
        self._state = "stopping"
        self._stopping = True
        obs = self._ops.observability
        obs.worker_stopping(worker_id=self.worker_id)
        self._wake.set()
        self._stop_requested.set()
        try:
            try:
                async with asyncio.timeout(max(grace_period_ms, 0) / 1000):
                    await self._drain()
            except TimeoutError:
                await self._cancel_all()
        except asyncio.CancelledError:
            # The caller gave up waiting: still stop everything, but do not wait for it.
            self._cancel_tasks()
            self._finish_stop()
            raise
        self._finish_stop()

    def _finish_stop(self) -> None:
        if self._stopped.is_set():
            return
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in list(self._handoff_tasks):
            task.cancel()
        self._change_idle(-self._concurrency)
        self._state = "stopped"
        self._stopped.set()
        self._ops.observability.worker_stopped(worker_id=self.worker_id)

    async def __aenter__(self) -> InProcessWorker[TxCtxT]:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _tasks(self) -> list[asyncio.Task[Any]]:
        tasks: list[asyncio.Task[Any]] = list(self._slots)
        if self._loop_task is not None and not self._loop_task.done():
            tasks.append(self._loop_task)
        return [task for task in tasks if not task.done()]

    async def _drain(self) -> None:
        if self._loop_task is not None:
            await asyncio.wait({self._loop_task})
        while self._slots:
            await asyncio.wait(set(self._slots))

    def _cancel_tasks(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in self._tasks():
            task.cancel()
        for task in [*self._hint_tasks, *self._handoff_tasks]:
            task.cancel()

    async def _cancel_all(self) -> None:
        for _job_id, attempt in list(self._attempts.values()):
            attempt.abort("worker_stopping")
        self._cancel_tasks()
        tasks = self._tasks()
        if tasks:
            await asyncio.wait(tasks)

    # --- gauges -----------------------------------------------------------------------

    def _change_idle(self, delta: int) -> None:
        obs = self._ops.observability
        for type_name in self.job_type_names:
            obs.job_type_idle_change(delta=delta, type_name=type_name, worker_id=self.worker_id)

    # --- the loop ---------------------------------------------------------------------

    async def _run_loop(self) -> None:
        failures = 0
        while not self._stopping:
            if self._slot_failed:
                # An attempt could not even start (middleware or the store failing before the
                # handler): its job is due again at once, so back off instead of spinning.
                self._slot_failed = False
                failures += 1
                await self._pause(backoff_ms(self._recovery, failures))
                continue
            try:
                await self._iteration()
            except Exception as error:
                self._ops.observability.worker_error(worker_id=self.worker_id, error=error)
                failures += 1
                await self._pause(backoff_ms(self._recovery, failures))
            else:
                # Binding decision 5: a healthy iteration resets the recovery backoff.
                failures = 0

    async def _iteration(self) -> None:
        self._wake.clear()
        await self._fill_slots()
        if self._stopping:
            return
        if self._idle > 0:
            reaped = await reap_one(
                self._ops,
                type_names=self.job_type_names,
                ignored_job_ids=list(dict.fromkeys(job_id for job_id, _ in self._attempts.values())),
                worker_id=self.worker_id,
            )
            if self._stopping or reaped is not None:
                # After a reap, go straight back to acquiring.
                return
        await self._wait_for_next_job()

    async def _fill_slots(self) -> None:
        while self._idle > 0 and not self._stopping:
            slot = _Slot(self)
            task = asyncio.create_task(self._run_slot(slot))
            self._slots.add(task)
            task.add_done_callback(functools.partial(self._slot_done, slot=slot))
            job, has_more = await slot.acquisition
            if job is None or not has_more:
                return

    def _slot_done(self, task: asyncio.Task[None], *, slot: _Slot) -> None:
        self._slots.discard(task)
        slot.release()
        if not slot.acquisition.done():
            slot.acquisition.set_exception(RuntimeError("the worker slot ended before acquiring a job"))

    async def _run_slot(self, slot: _Slot) -> None:
        try:
            acquired = await self._engine.acquire()
        except Exception as error:
            slot.release()
            slot.acquisition.set_exception(error)
            return
        if not isinstance(acquired, Acquired):
            # Free the slot before the loop goes on, so it counts as idle for the reaper.
            slot.release(wake=False)
            slot.acquisition.set_result((None, False))
            return
        slot.acquisition.set_result((acquired.job, acquired.has_more))
        while True:
            has_more = acquired.has_more
            if not await self._run_attempt(slot, acquired) or not has_more or self._stopping:
                break
            # More is due: this slot takes the next job itself. Slots that finish at the same
            # time then acquire concurrently, instead of one after another through the loop.
            try:
                next_acquired = await self._engine.acquire()
            except Exception as error:
                # The loop retries (with its recovery backoff if the store keeps failing).
                self._ops.observability.worker_error(worker_id=self.worker_id, error=error)
                break
            if not isinstance(next_acquired, Acquired):
                break
            acquired = next_acquired
        slot.release()

    async def _run_attempt(self, slot: _Slot, acquired: Acquired[TxCtxT]) -> bool:
        """Run one attempt in `slot`; whether the slot may go on to the next job."""
        job = acquired.job
        attempt = self._engine.attempt(acquired)
        self._attempts[slot] = (job.id, attempt)
        obs = self._ops.observability
        obs.job_type_processing_change(delta=1, type_name=job.type_name, worker_id=self.worker_id)
        self._change_idle(-1)
        outcome = None
        try:
            outcome = await attempt.run()
        except Exception as error:
            # Never stops the loop: the job is rolled back or left for the reaper.
            obs.worker_error(worker_id=self.worker_id, error=error)
            self._slot_failed = True
        finally:
            del self._attempts[slot]
            obs.job_type_processing_change(delta=-1, type_name=job.type_name, worker_id=self.worker_id)
            self._change_idle(1)
            if outcome is None or outcome.status == "abandoned":
                self._wake_when_lease_expires(attempt.lease_expires_at, job.type_name)
        return outcome is not None and outcome.status != "abandoned"

    def _wake_when_lease_expires(self, leased_until: datetime | None, type_name: str) -> None:
        """An attempt left its job leased: look again when the lease ends, so the reaper need not wait a poll.

        The reaper runs only where a slot is idle (worker.md §3). If every slot here is busy by
        then, the job would wait for one of them to free up, or for the next poll of the other
        workers, which know nothing of the lease (the state adapter cannot tell when the next
        lease of a type expires). So a busy worker wakes an idle worker of the type instead.
        """
        if leased_until is None or self._stopping:
            return
        delay_s = max((leased_until - datetime.now(UTC)).total_seconds(), 0) + _LEASE_WAKE_MARGIN_S

        def fire() -> None:
            self._timers.discard(handle)
            if self._stopping:
                return
            self._wake.set()
            if self._idle == 0:
                task = asyncio.create_task(self._hand_off_reaping(type_name))
                self._handoff_tasks.add(task)
                task.add_done_callback(self._handoff_tasks.discard)

        handle = asyncio.get_running_loop().call_later(delay_s, fire)
        self._timers.add(handle)

    async def _hand_off_reaping(self, type_name: str) -> None:
        notify = self._ops.notify
        # Best effort, like the reaper's own hint (failures are already reported by the
        # notify wrapper): without it the job still gets reaped, just later.
        with contextlib.suppress(Exception):
            await notify.provide_wake_hint(type_name, 1)
            await notify.notify_job_scheduled(type_name)

    # --- waiting ----------------------------------------------------------------------

    async def _pause(self, delay_ms: float) -> None:
        """Sleep up to `delay_ms`, returning early only when the worker stops."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(delay_ms, 0) / 1000):
                await self._stop_requested.wait()

    async def _sleep(self, delay_ms: float) -> None:
        """Sleep up to `delay_ms`, returning early when woken (notification, free slot, stop)."""
        if self._wake.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(delay_ms, 0) / 1000):
                await self._wake.wait()

    async def _wait_for_next_job(self) -> None:
        ops = self._ops
        unsubscribe = None
        if self._idle > 0:
            with contextlib.suppress(Exception):
                # Without the subscription, polling still finds new jobs.
                unsubscribe = await ops.notify.listen_job_scheduled(self.job_type_names, self._job_scheduled)
        try:
            delay = self._poll_interval_ms
            if self._idle > 0:
                next_ms = await ops.state.get_next_job_available_in_ms(self.job_type_names)
                if next_ms is not None:
                    delay = min(next_ms, delay)
            jitter = delay / 20
            await self._sleep(delay + random.uniform(-jitter, jitter))
        finally:
            if unsubscribe is not None:
                with contextlib.suppress(Exception):
                    await unsubscribe()
            for task in list(self._hint_tasks):
                task.cancel()

    def _job_scheduled(self, type_name: str) -> None:
        task = asyncio.create_task(self._claim_wake_hint(type_name))
        self._hint_tasks.add(task)
        task.add_done_callback(self._hint_tasks.discard)

    async def _claim_wake_hint(self, type_name: str) -> None:
        try:
            wake = await self._ops.notify.consume_wake_hint(type_name)
        except Exception:
            # Cannot tell whether another worker claimed it: look rather than miss a job.
            wake = True
        if wake:
            self._wake.set()


async def create_in_process_worker(
    *,
    client: Client[TxCtxT],
    processors: Processors[TxCtxT] | Sequence[Processors[TxCtxT]],
    worker_name: str | None = None,
    concurrency: int = 1,
    poll_interval_ms: float = 60_000,
    recovery_backoff_config: BackoffConfig = DEFAULT_RECOVERY_BACKOFF,
    defaults: WorkerDefaults | None = None,
    required_attempt_middleware: Sequence[AttemptMiddleware[TxCtxT]] = (),
) -> InProcessWorker[TxCtxT]:
    """Build a worker for the job types of `processors` (not started yet).

    Args:
        client: The client whose adapters and job types the worker uses.
        processors: One slice from `create_processors`, or several (merged; a type in two
            slices raises `DuplicateJobTypeError`).
        worker_name: Prefix of the worker id (`"<name>-<uuid4>"`); letters, digits, `.`, `_`, `-`.
        concurrency: How many attempts may run at once.
        poll_interval_ms: The longest the worker sleeps without a notification.
        recovery_backoff_config: Backoff of the loop itself after an unexpected error
            (for example the database being down); reset after a healthy iteration.
        defaults: Backoff and lease for processors whose slice sets none.
        required_attempt_middleware: Middleware every processor's slice must include (by
            identity, in this order); checked here, not run by the worker.

    Raises:
        ValueError: a bad `worker_name`, `concurrency` or `poll_interval_ms`, or missing
            required middleware.
        UnknownJobTypeError: a processor's job type is unknown to `client`.
        DuplicateJobTypeError: two slices handle the same job type.
    """
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
    if not isinstance(poll_interval_ms, int | float) or isinstance(poll_interval_ms, bool) or poll_interval_ms <= 0:
        raise ValueError(f"poll_interval_ms must be a number > 0, got {poll_interval_ms!r}")
    engine = Engine(
        client=client,
        processors=processors,
        worker_id=make_worker_id(worker_name),
        defaults=defaults,
        required_attempt_middleware=required_attempt_middleware,
    )
    return InProcessWorker(
        engine=engine,
        concurrency=concurrency,
        poll_interval_ms=poll_interval_ms,
        recovery_backoff_config=recovery_backoff_config,
    )
