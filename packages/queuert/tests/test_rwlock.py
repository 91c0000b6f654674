"""AsyncRWLock: shared readers, exclusive writers, FIFO with writer preference, cancellation safety."""

from __future__ import annotations

import asyncio

import pytest

from queuert.adapters import AsyncRWLock

TIMEOUT = 2.0


async def _settle() -> None:
    """Let every runnable task run until it blocks again (the lock grants synchronously)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_readers_share_the_lock() -> None:
    lock = AsyncRWLock()
    first = await lock.acquire_read()
    second = await asyncio.wait_for(lock.acquire_read(), TIMEOUT)
    assert lock.readers == 2
    first.release()
    second.release()
    assert lock.readers == 0


async def test_writer_waits_for_readers_and_excludes_them() -> None:
    lock = AsyncRWLock()
    reader = await lock.acquire_read()
    writer_task = asyncio.create_task(lock.acquire_write())
    await _settle()
    assert not writer_task.done()
    reader.release()
    writer = await asyncio.wait_for(writer_task, TIMEOUT)
    assert lock.write_locked

    reader_task = asyncio.create_task(lock.acquire_read())
    await _settle()
    assert not reader_task.done()
    writer.release()
    (await asyncio.wait_for(reader_task, TIMEOUT)).release()
    assert not lock.write_locked
    assert lock.readers == 0


async def test_writers_are_exclusive() -> None:
    lock = AsyncRWLock()
    first = await lock.acquire_write()
    second_task = asyncio.create_task(lock.acquire_write())
    await _settle()
    assert not second_task.done()
    first.release()
    (await asyncio.wait_for(second_task, TIMEOUT)).release()


async def test_queued_writer_blocks_later_readers() -> None:
    lock = AsyncRWLock()
    reader = await lock.acquire_read()
    writer_task = asyncio.create_task(lock.acquire_write())
    await _settle()
    late_reader_task = asyncio.create_task(lock.acquire_read())
    await _settle()
    assert not late_reader_task.done(), "a reader arriving after a queued writer must wait (no writer starvation)"
    reader.release()
    writer = await asyncio.wait_for(writer_task, TIMEOUT)
    await _settle()
    assert not late_reader_task.done()
    writer.release()
    (await asyncio.wait_for(late_reader_task, TIMEOUT)).release()


async def test_waiters_are_served_in_arrival_order() -> None:
    lock = AsyncRWLock()
    order: list[str] = []
    holder = await lock.acquire_write()

    async def take(name: str, write: bool) -> None:
        async with lock.write() if write else lock.read():
            order.append(name)
            await asyncio.sleep(0)

    tasks = []
    for name, write in [("w1", True), ("r1", False), ("r2", False), ("w2", True), ("r3", False)]:
        tasks.append(asyncio.create_task(take(name, write)))
        await _settle()
    holder.release()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert order == ["w1", "r1", "r2", "w2", "r3"]


async def test_consecutive_readers_are_granted_together() -> None:
    lock = AsyncRWLock()
    holder = await lock.acquire_write()
    readers = [asyncio.create_task(lock.acquire_read()) for _ in range(3)]
    await _settle()
    holder.release()
    handles = await asyncio.wait_for(asyncio.gather(*readers), TIMEOUT)
    assert lock.readers == 3
    for handle in handles:
        handle.release()


async def test_context_manager_releases_on_exception() -> None:
    lock = AsyncRWLock()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with lock.write():
            raise Boom
    assert not lock.write_locked
    with pytest.raises(Boom):
        async with lock.read():
            raise Boom
    assert lock.readers == 0


async def test_release_is_idempotent() -> None:
    lock = AsyncRWLock()
    handle = await lock.acquire_read()
    other = await lock.acquire_read()
    handle.release()
    handle.release()
    assert handle.released
    assert lock.readers == 1
    other.release()
    assert handle.mode == "read"


async def test_cancelled_queued_writer_unblocks_readers_behind_it() -> None:
    lock = AsyncRWLock()
    reader = await lock.acquire_read()
    writer_task = asyncio.create_task(lock.acquire_write())
    await _settle()
    late_reader_task = asyncio.create_task(lock.acquire_read())
    await _settle()
    assert not late_reader_task.done()
    writer_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer_task
    late_reader = await asyncio.wait_for(late_reader_task, TIMEOUT)
    assert lock.readers == 2
    assert lock.waiting == 0
    late_reader.release()
    reader.release()


async def test_cancellation_right_after_grant_gives_the_lock_back() -> None:
    lock = AsyncRWLock()
    holder = await lock.acquire_write()
    waiter_task = asyncio.create_task(lock.acquire_write())
    await _settle()
    holder.release()  # grants to the waiter synchronously...
    assert lock.write_locked
    waiter_task.cancel()  # ...which is cancelled before it could resume
    with pytest.raises(asyncio.CancelledError):
        await waiter_task
    assert not lock.write_locked
    (await asyncio.wait_for(lock.acquire_write(), TIMEOUT)).release()


async def test_many_concurrent_writers_never_overlap() -> None:
    lock = AsyncRWLock()
    inside = 0
    max_inside = 0

    async def write() -> None:
        nonlocal inside, max_inside
        async with lock.write():
            inside += 1
            max_inside = max(max_inside, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.wait_for(asyncio.gather(*(write() for _ in range(50))), TIMEOUT)
    assert max_inside == 1
