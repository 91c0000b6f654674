"""Variants of the thin adapter that break the notify contract, to show the conformance suite catches them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import Channel, ThinNotifyAdapter, _Listener

if TYPE_CHECKING:
    from collections.abc import Sequence


class UnsubscribeIgnoringNotifyAdapter(ThinNotifyAdapter):
    """Bug: unsubscribing does nothing, so listeners keep receiving notifications."""

    def _unsubscribe(self, channel: Channel, keys: Sequence[str], listener: _Listener) -> None:
        return None


BROKEN_CASES = (
    "notifyJobScheduled / listenJobScheduled > unsubscribe stops job scheduled notifications",
    "notifyChainCompleted / listenChainCompleted > unsubscribe stops chain completion notifications",
    "notifyJobOwnershipLost / listenJobOwnershipLost > unsubscribe stops ownership lost notifications",
    "cross-cutting behavior > can resubscribe after unsubscribe",
    "cross-cutting behavior > unsubscribe one of two listeners, remaining still receives",
)
"""The cases `UnsubscribeIgnoringNotifyAdapter` must fail, and no others."""
