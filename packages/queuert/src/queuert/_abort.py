"""A small abort signal: one side aborts with a reason, the other side checks or awaits it."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Generic, TypeVar, cast

if TYPE_CHECKING:
    from collections.abc import Callable

ReasonT = TypeVar("ReasonT")

_logger = logging.getLogger("queuert")


class AbortSignal(Generic[ReasonT]):
    """Read side of an `AbortController`: tells whether and why work should stop.

    asyncio task cancellation remains the way to interrupt an `await`; the signal is for code
    that wants to notice an abort cooperatively (check `aborted`, or `await wait()`).
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._reason: ReasonT | None = None
        self._listeners: list[Callable[[ReasonT], None]] = []

    @property
    def aborted(self) -> bool:
        """Whether the controller has aborted."""
        return self._event.is_set()

    @property
    def reason(self) -> ReasonT | None:
        """The reason given to `abort`, or `None` while not aborted."""
        return self._reason

    async def wait(self) -> ReasonT:
        """Wait until aborted and return the reason."""
        await self._event.wait()
        return cast("ReasonT", self._reason)

    def add_listener(self, listener: Callable[[ReasonT], None]) -> Callable[[], None]:
        """Call `listener(reason)` on abort (at once if already aborted). Returns a function that removes it."""
        if self._event.is_set():
            listener(cast("ReasonT", self._reason))
            return lambda: None
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def _abort(self, reason: ReasonT) -> None:
        if self._event.is_set():
            return
        self._reason = reason
        self._event.set()
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            try:
                listener(reason)
            except Exception:
                _logger.exception("abort signal listener raised")


class AbortController(Generic[ReasonT]):
    """Owns an `AbortSignal` and fires it once."""

    def __init__(self) -> None:
        self.signal: AbortSignal[ReasonT] = AbortSignal()

    def abort(self, reason: ReasonT) -> None:
        """Abort with `reason`; later calls are ignored."""
        self.signal._abort(reason)
