"""Built-in transaction hooks that publish notify-adapter hints after commit.

Hints are best effort: a publish that fails is swallowed here. The client hands these
functions its *wrapped* notify adapter, which has already reported the failure as a
`notify_adapter_error` event before re-raising it.

Each hook keeps its state per notify adapter (two clients with different notify adapters
may share one transaction), and takes a checkpoint so that a savepoint rollback withdraws
exactly the hints buffered since the savepoint.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING, Generic, TypeVar

from ._noop_notify import NoopNotifyAdapter
from ._transaction_hooks import HookDefinition, HookKey, TransactionHooks

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._notify_adapter import NotifyAdapter

__all__ = ("buffer_chain_completed", "buffer_job_ownership_lost", "buffer_job_scheduled")

_logger = logging.getLogger("queuert")

ItemsT = TypeVar("ItemsT", dict[str, int], set[str])


class _PerAdapter(Generic[ItemsT]):
    """Pending hints grouped by the adapter that will publish them."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        # Keyed by id(): adapters need not be hashable, and each entry keeps its adapter alive.
        self.entries: dict[int, tuple[NotifyAdapter, ItemsT]] = {}

    def items_for(self, adapter: NotifyAdapter, empty: Callable[[], ItemsT]) -> ItemsT:
        entry = self.entries.get(id(adapter))
        if entry is None:
            entry = (adapter, empty())
            self.entries[id(adapter)] = entry
        return entry[1]

    def checkpoint(self) -> Callable[[], None]:
        saved = {key: (adapter, _copy(items)) for key, (adapter, items) in self.entries.items()}

        def restore() -> None:
            self.entries.clear()
            self.entries.update(saved)

        return restore


def _copy(items: ItemsT) -> ItemsT:
    return items.copy()


async def _swallow(publish: Callable[[], Awaitable[None]]) -> None:
    try:
        await publish()
    except Exception:
        # Already reported by the client's wrapped adapter; a lost hint only delays a poll.
        _logger.debug("queuert: notify publish failed after commit", exc_info=True)


def _checkpoint(state: _PerAdapter[ItemsT]) -> Callable[[], None]:
    return state.checkpoint()


# --- job scheduled ----------------------------------------------------------------------------

_JOB_SCHEDULED: HookKey[_PerAdapter[dict[str, int]]] = HookKey("queuert job scheduled")


async def _publish_scheduled(adapter: NotifyAdapter, type_name: str, count: int) -> None:
    # The budget must exist before listeners wake and try to consume it. If providing it
    # fails, still notify: with no budget tracked, listeners wake rather than sleep.
    await _swallow(lambda: adapter.provide_wake_hint(type_name, count))
    await _swallow(lambda: adapter.notify_job_scheduled(type_name))


async def _flush_scheduled(state: _PerAdapter[dict[str, int]]) -> None:
    publications = [
        (adapter, type_name, count) for adapter, counts in state.entries.values() for type_name, count in counts.items()
    ]
    if len(publications) == 1:
        await _publish_scheduled(*publications[0])
        return
    await asyncio.gather(*(_publish_scheduled(*publication) for publication in publications))


def _job_scheduled_hook() -> HookDefinition[_PerAdapter[dict[str, int]]]:
    return HookDefinition(state=_PerAdapter(), flush=_flush_scheduled, checkpoint=_checkpoint)


def buffer_job_scheduled(
    hooks: TransactionHooks, notify_adapter: NotifyAdapter, type_name: str, count: int = 1
) -> None:
    """After commit, wake up to `count` workers for `type_name`.

    Counts add up per type within the transaction; the flush calls, per type and
    concurrently across types, `provide_wake_hint(type_name, total)` then
    `notify_job_scheduled(type_name)` (the notification is sent even if providing the
    hint failed).
    """
    if type(notify_adapter) is NoopNotifyAdapter:
        # Publishing to the no-op adapter does nothing: skip the buffering too.
        return
    counts = hooks.get_or_insert(_JOB_SCHEDULED, _job_scheduled_hook).items_for(notify_adapter, dict)
    counts[type_name] = counts.get(type_name, 0) + count


# --- chain completed / ownership lost ---------------------------------------------------------


def _set_hook(
    publish: Callable[[NotifyAdapter, str], Awaitable[None]],
) -> Callable[[], HookDefinition[_PerAdapter[set[str]]]]:
    async def flush(state: _PerAdapter[set[str]]) -> None:
        calls = [
            functools.partial(publish, adapter, item) for adapter, items in state.entries.values() for item in items
        ]
        if len(calls) == 1:
            await _swallow(calls[0])
            return
        await asyncio.gather(*(_swallow(call) for call in calls))

    def factory() -> HookDefinition[_PerAdapter[set[str]]]:
        return HookDefinition(state=_PerAdapter(), flush=flush, checkpoint=_checkpoint)

    return factory


_CHAIN_COMPLETED: HookKey[_PerAdapter[set[str]]] = HookKey("queuert chain completed")
_chain_completed_hook = _set_hook(lambda adapter, chain_id: adapter.notify_chain_completed(chain_id))

_JOB_OWNERSHIP_LOST: HookKey[_PerAdapter[set[str]]] = HookKey("queuert job ownership lost")
_job_ownership_lost_hook = _set_hook(lambda adapter, job_id: adapter.notify_job_ownership_lost(job_id))


def buffer_chain_completed(hooks: TransactionHooks, notify_adapter: NotifyAdapter, chain_id: str) -> None:
    """After commit, tell `await_chain` callers that `chain_id` completed (once per chain)."""
    if type(notify_adapter) is NoopNotifyAdapter:
        return
    hooks.get_or_insert(_CHAIN_COMPLETED, _chain_completed_hook).items_for(notify_adapter, set).add(chain_id)


def buffer_job_ownership_lost(hooks: TransactionHooks, notify_adapter: NotifyAdapter, job_id: str) -> None:
    """After commit, tell the worker holding `job_id` that it lost the job (once per job)."""
    if type(notify_adapter) is NoopNotifyAdapter:
        return
    hooks.get_or_insert(_JOB_OWNERSHIP_LOST, _job_ownership_lost_hook).items_for(notify_adapter, set).add(job_id)
