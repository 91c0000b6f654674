"""The notify adapter cases, in the order they run (`close` last).

Every case derives its type names, chain ids and job ids from `t.key(...)`, so a listener
left behind by a failed case never receives another case's notifications.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ...errors import AdapterClosedError
from .._fixtures import NotifyCaseContext
from ._support import NEGATIVE_DELAY_S, Group, poll, raises

if TYPE_CHECKING:
    from .._runner import Case

__all__ = ("CASES",)

Context = NotifyCaseContext
Unsubscribe = Callable[[], Awaitable[None]]


class Calls:
    """Records the calls of a listener callback."""

    def __init__(self) -> None:
        self.received: list[str | None] = []

    def typed(self, type_name: str) -> None:
        self.received.append(type_name)

    def bare(self) -> None:
        self.received.append(None)

    def __len__(self) -> int:
        return len(self.received)


async def listen_scheduled(t: Context, type_names: list[str], calls: Calls) -> Unsubscribe:
    unsubscribe = await t.adapter.listen_job_scheduled(type_names, calls.typed)
    t.defer(unsubscribe)
    return unsubscribe


async def listen_chain(t: Context, chain_id: str, calls: Calls) -> Unsubscribe:
    unsubscribe = await t.adapter.listen_chain_completed(chain_id, calls.bare)
    t.defer(unsubscribe)
    return unsubscribe


async def listen_lost(t: Context, job_id: str, calls: Calls) -> Unsubscribe:
    unsubscribe = await t.adapter.listen_job_ownership_lost(job_id, calls.bare)
    t.defer(unsubscribe)
    return unsubscribe


async def nothing_arrives(calls: Calls, what: str) -> None:
    await asyncio.sleep(NEGATIVE_DELAY_S)
    assert calls.received == [], f"{what}, but the listener received {calls.received!r}"


# --- notifyJobScheduled / listenJobScheduled ---------------------------------------------

scheduled = Group[Context]("notifyJobScheduled / listenJobScheduled")


@scheduled.case("listener receives notification for matching type name")
async def _scheduled_matching(t: Context) -> None:
    type_a = t.key("type-a")
    calls = Calls()
    await listen_scheduled(t, [type_a], calls)
    await t.adapter.notify_job_scheduled(type_a)
    await poll(lambda: calls.received == [type_a], f"the listener to receive {type_a!r}")


@scheduled.case("multiple notifications all reach the listener")
async def _scheduled_multiple(t: Context) -> None:
    type_a = t.key("type-a")
    calls = Calls()
    await listen_scheduled(t, [type_a], calls)
    for _ in range(3):
        await t.adapter.notify_job_scheduled(type_a)
    await poll(lambda: len(calls) == 3, "3 notifications to arrive")


@scheduled.case("listener does not receive notification for non-matching type name")
async def _scheduled_other_type(t: Context) -> None:
    calls = Calls()
    await listen_scheduled(t, [t.key("type-a")], calls)
    await t.adapter.notify_job_scheduled(t.key("type-b"))
    await nothing_arrives(calls, "only another type was notified")


@scheduled.case("multi-type listener receives matching types")
async def _scheduled_multi_type(t: Context) -> None:
    type_a, type_b = t.key("type-a"), t.key("type-b")
    calls = Calls()
    await listen_scheduled(t, [type_a, type_b], calls)
    await t.adapter.notify_job_scheduled(type_b)
    await poll(lambda: calls.received == [type_b], f"the listener to receive {type_b!r}")


@scheduled.case("unsubscribe stops job scheduled notifications")
async def _scheduled_unsubscribe(t: Context) -> None:
    type_a, type_b = t.key("type-a"), t.key("type-b")
    calls = Calls()
    unsubscribe = await listen_scheduled(t, [type_a, type_b], calls)
    await unsubscribe()
    await t.adapter.notify_job_scheduled(type_a)
    await t.adapter.notify_job_scheduled(type_b)
    await nothing_arrives(calls, "the listener unsubscribed")


@scheduled.case("publish without listeners does not error")
async def _publish_without_listeners(t: Context) -> None:
    await t.adapter.notify_job_scheduled(t.key("nobody"))
    await t.adapter.notify_chain_completed(t.key("chain-nobody"))
    await t.adapter.notify_job_ownership_lost(t.key("job-nobody"))


# --- provideWakeHint / consumeWakeHint ----------------------------------------------------

hints = Group[Context]("provideWakeHint / consumeWakeHint")


@hints.case("consumeWakeHint returns true when no budget is tracked (graceful degradation)")
async def _hint_without_budget(t: Context) -> None:
    assert await t.adapter.consume_wake_hint(f"type-{uuid.uuid4()}") is True


@hints.case("consumeWakeHint claims slots up to the provided budget")
async def _hint_budget(t: Context) -> None:
    type_name = f"type-{uuid.uuid4()}"
    await t.adapter.provide_wake_hint(type_name, 2)
    assert await t.adapter.consume_wake_hint(type_name) is True
    assert await t.adapter.consume_wake_hint(type_name) is True
    # A budgeting adapter says False now; one without counters (no-op hints) always says True.
    assert await t.adapter.consume_wake_hint(type_name) in (True, False)


@hints.case("provideWakeHint composes additively across calls")
async def _hint_additive(t: Context) -> None:
    type_name = f"type-{uuid.uuid4()}"
    await t.adapter.provide_wake_hint(type_name, 2)
    await t.adapter.provide_wake_hint(type_name, 3)
    results = await asyncio.gather(*(t.adapter.consume_wake_hint(type_name) for _ in range(6)))
    assert results.count(True) in (5, 6), f"expected 5 wake-ups (budgeting) or 6 (no-op hints), got {results}"


# --- chain completed and ownership lost: the same four rules per channel -------------------

Listen = Callable[[Context, str, Calls], Awaitable[Unsubscribe]]
Notify = Callable[[Context, str], Awaitable[None]]


def _keyed_group(name: str, listen: Listen, notify: Notify, key: str, noun: str) -> Group[Context]:
    group = Group[Context](name)

    @group.case(f"listener receives {noun} for matching {key}")
    async def _matching(t: Context) -> None:
        calls = Calls()
        await listen(t, t.key("key-123"), calls)
        await notify(t, t.key("key-123"))
        await poll(lambda: len(calls) == 1, f"the listener to receive the {noun}")

    @group.case(f"listener does not receive {noun} for different {key}")
    async def _different(t: Context) -> None:
        calls = Calls()
        await listen(t, t.key("key-123"), calls)
        await notify(t, t.key("key-456"))
        await nothing_arrives(calls, f"only another {key} was notified")

    both = "both receive notification" if noun == "chain completion" else "both receive ownership lost"

    @group.case(f"multiple listeners for same {key} {both}")
    async def _several(t: Context) -> None:
        first, second = Calls(), Calls()
        await listen(t, t.key("key-123"), first)
        await listen(t, t.key("key-123"), second)
        await notify(t, t.key("key-123"))
        await poll(lambda: len(first) == 1 and len(second) == 1, "both listeners to receive one notification")

    @group.case(f"unsubscribe stops {noun} notifications")
    async def _unsubscribe(t: Context) -> None:
        calls = Calls()
        unsubscribe = await listen(t, t.key("key-123"), calls)
        await unsubscribe()
        await notify(t, t.key("key-123"))
        await nothing_arrives(calls, "the listener unsubscribed")

    return group


async def _notify_chain(t: Context, chain_id: str) -> None:
    await t.adapter.notify_chain_completed(chain_id)


async def _notify_lost(t: Context, job_id: str) -> None:
    await t.adapter.notify_job_ownership_lost(job_id)


chain_completed = _keyed_group(
    "notifyChainCompleted / listenChainCompleted", listen_chain, _notify_chain, "chain ID", "chain completion"
)
ownership_lost = _keyed_group(
    "notifyJobOwnershipLost / listenJobOwnershipLost", listen_lost, _notify_lost, "job ID", "ownership lost"
)


# --- delivery timeliness -------------------------------------------------------------------

timeliness = Group[Context]("delivery timeliness")


@timeliness.case("notifications dispatch during publish loop, not batched at end")
async def _dispatch_during_loop(t: Context) -> None:
    calls = Calls()
    chain_ids = [t.key(f"chain-{i}") for i in range(50)]
    for chain_id in chain_ids:
        await listen_chain(t, chain_id, calls)
    for chain_id in chain_ids[:25]:
        await t.adapter.notify_chain_completed(chain_id)
    await asyncio.sleep(0.1)
    mid_loop = len(calls)
    for chain_id in chain_ids[25:]:
        await t.adapter.notify_chain_completed(chain_id)
    await poll(lambda: len(calls) == 50, "all 50 chain completions to arrive")
    assert mid_loop > 0, "nothing arrived while publishing: deliveries are batched until the end"


# --- cross-cutting behavior ------------------------------------------------------------------

cross_cutting = Group[Context]("cross-cutting behavior")


@cross_cutting.case("listen methods return async unsubscribe functions")
async def _unsubscribe_is_async(t: Context) -> None:
    unsubscribes = [
        await t.adapter.listen_job_scheduled([t.key("t")], lambda _: None),
        await t.adapter.listen_chain_completed(t.key("c"), lambda: None),
        await t.adapter.listen_job_ownership_lost(t.key("j"), lambda: None),
    ]
    for unsubscribe in unsubscribes:
        assert callable(unsubscribe)
        awaitable = unsubscribe()
        assert inspect.isawaitable(awaitable), "an unsubscribe must return an awaitable"
        await awaitable


@cross_cutting.case("can resubscribe after unsubscribe")
async def _resubscribe(t: Context) -> None:
    type_name = t.key("t")
    calls = Calls()
    unsubscribe = await listen_scheduled(t, [type_name], calls)
    await unsubscribe()
    await listen_scheduled(t, [type_name], calls)
    await t.adapter.notify_job_scheduled(type_name)
    await poll(lambda: calls.received == [type_name], "the new subscription to receive one notification")


@cross_cutting.case("unsubscribe one of two listeners, remaining still receives")
async def _one_of_two(t: Context) -> None:
    type_name = t.key("t")
    removed, kept = Calls(), Calls()
    unsubscribe = await listen_scheduled(t, [type_name], removed)
    await listen_scheduled(t, [type_name], kept)
    await unsubscribe()
    await t.adapter.notify_job_scheduled(type_name)
    await poll(lambda: kept.received == [type_name], "the remaining listener to receive the notification")
    await nothing_arrives(removed, "that listener unsubscribed")


@cross_cutting.case("calling an unsubscribe twice is safe", upstream=False)
async def _unsubscribe_twice(t: Context) -> None:
    calls = Calls()
    for unsubscribe in (
        await listen_scheduled(t, [t.key("t")], calls),
        await listen_chain(t, t.key("c"), calls),
        await listen_lost(t, t.key("j"), calls),
    ):
        await unsubscribe()
        await unsubscribe()


# --- listener fault isolation ---------------------------------------------------------------

fault_isolation = Group[Context]("listener fault isolation")


@fault_isolation.case("throwing callback does not break peer callback or surface to publisher")
async def _throwing_callback(t: Context) -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("listener exploded (raised on purpose by the conformance case)")

    type_name, chain_id, job_id = t.key("t"), t.key("c"), t.key("j")
    scheduled_calls, completed_calls, lost_calls = Calls(), Calls(), Calls()
    t.defer(await t.adapter.listen_job_scheduled([type_name], explode))
    await listen_scheduled(t, [type_name], scheduled_calls)
    t.defer(await t.adapter.listen_chain_completed(chain_id, explode))
    await listen_chain(t, chain_id, completed_calls)
    t.defer(await t.adapter.listen_job_ownership_lost(job_id, explode))
    await listen_lost(t, job_id, lost_calls)
    await t.adapter.notify_job_scheduled(type_name)
    await t.adapter.notify_chain_completed(chain_id)
    await t.adapter.notify_job_ownership_lost(job_id)
    await poll(
        lambda: scheduled_calls.received == [type_name] and len(completed_calls) == 1 and len(lost_calls) == 1,
        "the peers of the raising callbacks to receive their notifications",
    )


# --- no unhandled rejections ------------------------------------------------------------------

unhandled = Group[Context]("no unhandled rejections")


@unhandled.case("normal subscribe/notify/unsubscribe cycle does not produce unhandled rejections")
async def _no_unhandled(t: Context) -> None:
    loop = asyncio.get_running_loop()
    recorded: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: recorded.append(context))
    try:
        type_name, chain_id, job_id = t.key("t"), t.key("c"), t.key("j")
        unsubscribes = [
            await t.adapter.listen_job_scheduled([type_name], lambda _: None),
            await t.adapter.listen_chain_completed(chain_id, lambda: None),
            await t.adapter.listen_job_ownership_lost(job_id, lambda: None),
        ]
        await t.adapter.notify_job_scheduled(type_name)
        await t.adapter.notify_chain_completed(chain_id)
        await t.adapter.notify_job_ownership_lost(job_id)
        await asyncio.sleep(NEGATIVE_DELAY_S)
        for unsubscribe in unsubscribes:
            await unsubscribe()
        await asyncio.sleep(NEGATIVE_DELAY_S)
        # Tasks that failed and were dropped report "exception was never retrieved" when collected.
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert recorded == [], f"the event loop reported unhandled errors: {[c.get('message') for c in recorded]}"


# --- close --------------------------------------------------------------------------------------

# The adapter may already be closed by an earlier case of the same group.
close = Group[Context]("close", reset=False)


@close.case("close is idempotent, rejects subsequent calls, and previously returned unsubscribes remain safe")
async def _close(t: Context) -> None:
    a = t.adapter
    calls = Calls()
    unsubscribe = await a.listen_job_scheduled([t.key("t")], calls.typed)
    await a.close()
    await a.close()
    await unsubscribe()
    after_close: dict[str, Callable[[], Awaitable[object]]] = {
        "notify_job_scheduled": lambda: a.notify_job_scheduled(t.key("t")),
        "listen_job_scheduled": lambda: a.listen_job_scheduled([t.key("t")], calls.typed),
        "notify_chain_completed": lambda: a.notify_chain_completed(t.key("c")),
        "listen_chain_completed": lambda: a.listen_chain_completed(t.key("c"), calls.bare),
        "notify_job_ownership_lost": lambda: a.notify_job_ownership_lost(t.key("j")),
        "listen_job_ownership_lost": lambda: a.listen_job_ownership_lost(t.key("j"), calls.bare),
    }
    for name, call in after_close.items():
        try:
            with raises(AdapterClosedError):
                await call()
        except AssertionError:
            raise AssertionError(f"{name}() after close() did not raise AdapterClosedError") from None
    assert calls.received == []


CASES: tuple[Case[NotifyCaseContext], ...] = tuple(
    case
    for group in (
        scheduled,
        hints,
        chain_completed,
        ownership_lost,
        timeliness,
        cross_cutting,
        fault_isolation,
        unhandled,
        close,
    )
    for case in group.cases
)
