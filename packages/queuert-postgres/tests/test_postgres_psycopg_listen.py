"""`PsycopgNotifyProvider`: LISTEN and UNLISTEN must not wait for the listen loop's wait for notifications to end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from queuert_postgres import PsycopgNotifyProvider

pytestmark = pytest.mark.postgres

WaitUntil = Callable[..., Awaitable[None]]

# Far longer than any bound below: with the old behaviour a LISTEN queued behind the loop's
# wait took up to this long.
LONG_SLICE_S = 30.0
PROMPT_S = 2.0


@pytest_asyncio.fixture
async def provider(postgres_dsn: str) -> AsyncIterator[PsycopgNotifyProvider]:
    provider = PsycopgNotifyProvider(postgres_dsn, poll_interval_s=LONG_SLICE_S)
    yield provider
    async with asyncio.timeout(PROMPT_S):
        await provider.close()


def channel() -> str:
    return f"qt_psy_{uuid.uuid4().hex[:8]}"


async def listening(provider: PsycopgNotifyProvider, wait_until: WaitUntil) -> tuple[str, list[str]]:
    """Subscribe one channel and wait until a notification on it arrived: the loop is then inside its wait."""
    name = channel()
    heard: list[str] = []
    await provider.subscribe(name, heard.append)
    await provider.publish(name, "ready")

    async def arrived() -> bool:
        return heard == ["ready"]

    await wait_until(arrived, what="the first notification")
    return name, heard


async def test_subscribe_and_unsubscribe_interrupt_the_wait_for_notifications(
    provider: PsycopgNotifyProvider, wait_until: WaitUntil
) -> None:
    first, heard_first = await listening(provider, wait_until)
    second = channel()
    heard_second: list[str] = []
    async with asyncio.timeout(PROMPT_S):
        unsubscribe_second = await provider.subscribe(second, heard_second.append)
    # The loop waits again afterwards, on both channels.
    await provider.publish(second, "b")
    await provider.publish(first, "a")

    async def both() -> bool:
        return heard_second == ["b"] and heard_first == ["ready", "a"]

    await wait_until(both, what="notifications on both channels")
    async with asyncio.timeout(PROMPT_S):
        await unsubscribe_second()
    await provider.publish(second, "not heard")
    await provider.publish(first, "still heard")

    async def first_again() -> bool:
        return heard_first == ["ready", "a", "still heard"]

    await wait_until(first_again, what="the first channel after UNLISTEN of the second")
    assert heard_second == ["b"]


async def test_interrupted_waits_lose_no_notification(provider: PsycopgNotifyProvider, wait_until: WaitUntil) -> None:
    name, heard = await listening(provider, wait_until)
    sent = [f"m{index}" for index in range(30)]

    async def publish_all() -> None:
        for message in sent:
            await provider.publish(name, message)

    async def churn() -> None:
        for _ in range(10):
            unsubscribe = await provider.subscribe(channel(), lambda _payload: None)
            await unsubscribe()

    async with asyncio.timeout(PROMPT_S * 5):
        await asyncio.gather(publish_all(), churn())

    async def all_heard() -> bool:
        return heard == ["ready", *sent]

    await wait_until(all_heard, what="every notification, in order")
