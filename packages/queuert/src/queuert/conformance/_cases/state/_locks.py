"""The locked-read protocol shared by getChain and getJob."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .._support import LOCK_OBSERVATION_S, wait_for

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._common import Context


async def assert_locked_read_waits_for_holder(t: Context, read: Callable[[Any], Awaitable[object]]) -> None:
    """Transaction A takes the lock and waits; B's locked read must wait until A has committed."""
    locked = asyncio.Event()
    gate = t.gate()

    async def holder(tx: Any) -> None:
        assert await read(tx) is not None
        locked.set()
        await gate.wait()

    holder_task = t.start(t.adapter.with_transaction(holder))
    await wait_for(locked.wait(), "transaction A to take the lock")
    reader_task = t.start(t.adapter.with_transaction(read))
    await asyncio.sleep(LOCK_OBSERVATION_S)
    assert not reader_task.done(), "a locked read must wait for the transaction holding the lock"
    gate.set()
    await wait_for(holder_task, "transaction A to commit")
    assert await wait_for(reader_task, "transaction B's locked read after A committed") is not None
