"""Running attempts on demand, so tests can process jobs without a worker loop and without sleeping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .._worker._config import make_worker_id
from .._worker._engine import Engine

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._client import Client
    from .._worker._attempt import AttemptOutcome
    from .._worker._config import WorkerDefaults
    from .._worker._middleware import AttemptMiddleware
    from .._worker._processors import Processors

__all__ = ("ProcessSummary", "process_one", "process_until_idle")

TxCtxT = TypeVar("TxCtxT")


@dataclass(frozen=True, slots=True)
class ProcessSummary:
    """What `process_until_idle` did: one `AttemptOutcome` per attempt, in order."""

    outcomes: tuple[AttemptOutcome, ...]

    @property
    def attempts(self) -> int:
        """How many attempts ran."""
        return len(self.outcomes)

    @property
    def completed(self) -> int:
        """How many attempts finished their chain."""
        return sum(1 for o in self.outcomes if o.status == "completed")

    @property
    def continued(self) -> int:
        """How many attempts handed their chain to a continuation."""
        return sum(1 for o in self.outcomes if o.status == "continued")

    @property
    def failed(self) -> tuple[AttemptOutcome, ...]:
        """The attempts that did not complete their job (rescheduled, abandoned or rolled back)."""
        return tuple(o for o in self.outcomes if o.status not in ("completed", "continued"))

    def raise_errors(self) -> None:
        """Raise the errors of failed attempts (one directly, several as an `ExceptionGroup`); else do nothing."""
        errors = [o.error for o in self.failed if isinstance(o.error, Exception)]
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup(f"{len(errors)} attempts failed", errors)


def _engine(
    client: Client[TxCtxT],
    processors: Processors[TxCtxT] | Sequence[Processors[TxCtxT]],
    worker_id: str | None,
    defaults: WorkerDefaults | None,
    required_attempt_middleware: Sequence[AttemptMiddleware[TxCtxT]],
) -> Engine[TxCtxT]:
    return Engine(
        client=client,
        processors=processors,
        worker_id=worker_id if worker_id is not None else make_worker_id("queuert-testing"),
        defaults=defaults,
        required_attempt_middleware=required_attempt_middleware,
    )


async def process_one(
    client: Client[TxCtxT],
    processors: Processors[TxCtxT] | Sequence[Processors[TxCtxT]],
    *,
    worker_id: str | None = None,
    defaults: WorkerDefaults | None = None,
    required_attempt_middleware: Sequence[AttemptMiddleware[TxCtxT]] = (),
) -> AttemptOutcome | None:
    """Run exactly one attempt: take the next due job of `processors`' types and process it.

    The attempt runs exactly as in a worker (same modes, leases, retries and events), in
    the calling task. Returns `None` when no job is due.
    """
    return await _engine(client, processors, worker_id, defaults, required_attempt_middleware).process_one()


async def process_until_idle(
    client: Client[TxCtxT],
    processors: Processors[TxCtxT] | Sequence[Processors[TxCtxT]],
    *,
    max_attempts: int = 1_000,
    worker_id: str | None = None,
    defaults: WorkerDefaults | None = None,
    required_attempt_middleware: Sequence[AttemptMiddleware[TxCtxT]] = (),
) -> ProcessSummary:
    """Run attempts one after another until no job of `processors`' types is due.

    Continuations and jobs unblocked along the way are due at once, so a whole chain runs
    in one call. Jobs scheduled for later (including failed attempts waiting for their
    retry backoff) are left alone: trigger them, or pass `defaults` with a zero backoff.

    Raises:
        RuntimeError: still not idle after `max_attempts` attempts (a chain that never ends?).
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be >= 1")
    engine: Engine[Any] = _engine(client, processors, worker_id, defaults, required_attempt_middleware)
    outcomes: list[AttemptOutcome] = []
    while len(outcomes) < max_attempts:
        outcome = await engine.process_one()
        if outcome is None:
            return ProcessSummary(tuple(outcomes))
        outcomes.append(outcome)
    if await engine.ops.state.get_next_job_available_in_ms(engine.type_names) == 0:
        raise RuntimeError(f"jobs were still due after {max_attempts} attempts (a chain that never ends?)")
    return ProcessSummary(tuple(outcomes))
