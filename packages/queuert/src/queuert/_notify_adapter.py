"""The notify adapter contract: best-effort wake-up hints between processes."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias

Unsubscribe: TypeAlias = Callable[[], Awaitable[None]]
"""Stops one listener. Safe to call more than once, and after the adapter closed."""


class NotifyAdapter(abc.ABC):
    """Publishes and delivers hints: a job was scheduled, a chain completed, a job lost its owner.

    Hints may be lost or duplicated; correctness never depends on them because workers and
    `await_chain` also poll. Contract:

    * `listen_*` returns only once the subscription is active, so no later publish is missed.
    * Callbacks run synchronously as each message arrives; several listeners of one key all
      receive; a raising callback affects neither its peers nor the publisher.
    * After `close()`, `notify_*` and `listen_*` raise `AdapterClosedError`; unsubscribe
      callables returned earlier stay safe to call.
    """

    @abc.abstractmethod
    async def notify_job_scheduled(self, type_name: str) -> None:
        """Tell listeners of `type_name` that a job of that type was created, unblocked, triggered or reaped."""

    @abc.abstractmethod
    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        """Call `on_notification(type_name)` for each scheduled-job hint of any of `type_names`."""

    @abc.abstractmethod
    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        """Add `count` to the per-type wake budget (kept 60 s after the last add). Called before `notify_job_scheduled`.

        Adapters without an atomic counter make this a no-op.
        """

    @abc.abstractmethod
    async def consume_wake_hint(self, type_name: str) -> bool:
        """Take one unit of the wake budget.

        Returns `False` only when a budget is tracked for the type and exhausted; `True` when
        a unit was taken or no budget is tracked (so listeners wake rather than sleep).
        """

    @abc.abstractmethod
    async def notify_chain_completed(self, chain_id: str) -> None:
        """Tell listeners of `chain_id` that the chain completed."""

    @abc.abstractmethod
    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Call `on_notification()` when `chain_id` is reported completed."""

    @abc.abstractmethod
    async def notify_job_ownership_lost(self, job_id: str) -> None:
        """Tell the worker holding `job_id` that it no longer owns it."""

    @abc.abstractmethod
    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Call `on_notification()` when `job_id` is reported taken away."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Tear down every subscription and release resources. Idempotent."""

    async def __aenter__(self) -> NotifyAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
