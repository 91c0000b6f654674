"""An asyncio read/write lock: many readers or one writer, served first come, first served."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Literal

__all__ = ("AsyncRWLock", "RWLockHandle")

LockMode = Literal["read", "write"]


class _Waiter:
    __slots__ = ("future", "write")

    def __init__(self, write: bool, future: asyncio.Future[None]) -> None:
        self.write = write
        self.future = future


class RWLockHandle:
    """A held side of an `AsyncRWLock`. `release()` gives it back; calling it again does nothing."""

    __slots__ = ("_lock", "_mode", "_released")

    def __init__(self, lock: AsyncRWLock, mode: LockMode) -> None:
        self._lock = lock
        self._mode: LockMode = mode
        self._released = False

    @property
    def mode(self) -> LockMode:
        """Which side of the lock this handle holds."""
        return self._mode

    @property
    def released(self) -> bool:
        """Whether `release()` was called."""
        return self._released

    def release(self) -> None:
        """Release the lock. Idempotent."""
        if self._released:
            return
        self._released = True
        self._lock._release(self._mode == "write")


class _Guard:
    """Async context manager returned by `AsyncRWLock.read()` / `.write()`."""

    __slots__ = ("_handle", "_lock", "_write")

    def __init__(self, lock: AsyncRWLock, write: bool) -> None:
        self._lock = lock
        self._write = write
        self._handle: RWLockHandle | None = None

    async def __aenter__(self) -> RWLockHandle:
        if self._write:
            self._handle = await self._lock.acquire_write()
        else:
            self._handle = await self._lock.acquire_read()
        return self._handle

    async def __aexit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            self._handle.release()
            self._handle = None


class AsyncRWLock:
    """Read/write lock for asyncio tasks.

    Any number of readers may hold it at once; a writer holds it alone. Waiters are served
    strictly in arrival order, so a queued writer makes later readers wait behind it and
    writers are never starved. A request is granted immediately only when nobody is queued
    and the held mode is compatible.

    The lock is not re-entrant: a task that holds it and asks again waits for itself forever.
    Cancelling a waiting task removes it from the queue; if it had just been granted the lock,
    the lock is released on its behalf.

    Example:
        ```python
        lock = AsyncRWLock()
        async with lock.read():
            ...  # shared
        async with lock.write():
            ...  # exclusive
        handle = await lock.acquire_write()
        try:
            ...
        finally:
            handle.release()
        ```
    """

    __slots__ = ("_readers", "_waiters", "_writer")

    def __init__(self) -> None:
        self._readers = 0
        self._writer = False
        self._waiters: deque[_Waiter] = deque()

    @property
    def readers(self) -> int:
        """How many readers hold the lock now."""
        return self._readers

    @property
    def write_locked(self) -> bool:
        """Whether a writer holds the lock now."""
        return self._writer

    @property
    def waiting(self) -> int:
        """How many tasks are queued for the lock."""
        return len(self._waiters)

    def read(self) -> _Guard:
        """Async context manager holding the read side for its body."""
        return _Guard(self, write=False)

    def write(self) -> _Guard:
        """Async context manager holding the write side for its body."""
        return _Guard(self, write=True)

    async def acquire_read(self) -> RWLockHandle:
        """Wait for the read side and return a handle whose `release()` gives it back."""
        await self._acquire(write=False)
        return RWLockHandle(self, "read")

    async def acquire_write(self) -> RWLockHandle:
        """Wait for the write side and return a handle whose `release()` gives it back."""
        await self._acquire(write=True)
        return RWLockHandle(self, "write")

    def _compatible(self, write: bool) -> bool:
        if write:
            return not self._writer and self._readers == 0
        return not self._writer

    def _grant(self, write: bool) -> None:
        if write:
            self._writer = True
        else:
            self._readers += 1

    async def _acquire(self, write: bool) -> None:
        if not self._waiters and self._compatible(write):
            self._grant(write)
            return
        waiter = _Waiter(write, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                # Granted in the same loop iteration as the cancellation: the lock is ours, give it back.
                self._release(write)
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
                # A writer leaving the head of the queue may unblock the readers behind it.
                self._wake()
            raise

    def _release(self, write: bool) -> None:
        if write:
            self._writer = False
        else:
            self._readers -= 1
        self._wake()

    def _wake(self) -> None:
        # Grant the lock at wake-up time (not when the waiter resumes) so arrival order is kept.
        while self._waiters:
            head = self._waiters[0]
            if head.future.done():
                self._waiters.popleft()
                continue
            if not self._compatible(head.write):
                return
            self._waiters.popleft()
            self._grant(head.write)
            head.future.set_result(None)
            if head.write:
                return
