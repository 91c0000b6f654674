"""What an adapter author hands to the conformance suites, and what each case receives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._runner import CaseScope

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .._job_types import JobTypes
    from .._notify_adapter import NotifyAdapter
    from .._state_adapter import StateAdapter

__all__ = (
    "NotifyCaseContext",
    "NotifyConformanceFixture",
    "StateCaseContext",
    "StateConformanceFixture",
    "ValidationCaseContext",
    "ValidationConformanceFixture",
)

TxCtxT = TypeVar("TxCtxT")


def _uuid4() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, kw_only=True)
class StateConformanceFixture(Generic[TxCtxT]):
    """A state adapter on an empty store, plus the optional hooks some cases need.

    Cases that need a missing optional hook are skipped, with a reason naming the hook.
    """

    state_adapter: StateAdapter[TxCtxT]
    """The adapter under test, open and on an empty store."""
    generate_id: Callable[[], str] | None = None
    """Makes an id this adapter accepts, for cases that supply their own job ids (default: a random UUID)."""
    generate_invalid_id: Callable[[], str] | None = None
    """Makes an id the adapter's `validate_id` rejects; without it the invalid-id case is skipped."""
    poison_transaction: Callable[[TxCtxT], Awaitable[None]] | None = None
    """Puts the open transaction into the aborted state (PostgreSQL: a statement that fails).

    Without it the poisoned-savepoint case is skipped (SQLite and the in-process adapter have
    no aborted-transaction state).
    """
    reset: Callable[[], Awaitable[None]] | None = None
    """Empties the store; the framework-free runner calls it before each case (not for the `close` group)."""
    dispose: Callable[[], Awaitable[None]] | None = None
    """Releases everything once the last case has run, whether the cases passed or not."""


@dataclass(frozen=True, kw_only=True)
class NotifyConformanceFixture:
    """A notify adapter ready to publish and listen."""

    notify_adapter: NotifyAdapter
    reset: Callable[[], Awaitable[None]] | None = None
    """Runs before each case (not for the `close` group), e.g. to clear wake-hint counters."""
    dispose: Callable[[], Awaitable[None]] | None = None
    """Releases everything once the last case has run."""


@dataclass(frozen=True, kw_only=True)
class ValidationConformanceFixture:
    """Builders of the job type registries the validation cases check, written with the adapter under test.

    Each builder returns a registry (`JobTypes`) made by the validation adapter for the job
    types described below. "Entry" types may start chains. Input and output shapes are
    written as JSON objects; `any` accepts any value.
    """

    build_entry: Callable[[], JobTypes]
    """`main`: entry; input `{id: str}`; output `{ok: bool}`; no continuation, no blockers."""
    build_non_entry: Callable[[], JobTypes]
    """`internal`: not an entry; input `{id: str}`; output `{ok: bool}`."""
    build_continuation_only: Callable[[], JobTypes]
    """`main`: entry; input `{id: str}`; no output; continues with `next`.
    `next`: not an entry; input `{data: str}`; output `{done: bool}`."""
    build_nominal_continuation: Callable[[], JobTypes]
    """`step1`: entry; input `{id: str}`; no output; continues with `step2` (by name).
    `step2`: input `{data: any}`; output `{done: bool}`."""
    build_structural_continuation: Callable[[], JobTypes]
    """`router`: entry; input `{route: str}`; no output; continues with any type whose input is `{payload: str}`.
    `handler`: input `{payload: str}`; output `{handled: bool}`."""
    build_nominal_blockers: Callable[[], JobTypes]
    """`main`: entry; input `{id: str}`; output `{done: bool}`; blocked by any number of `auth` chains (by name).
    `auth`: entry; input `{token: str}`; output `{userId: str}`."""
    build_structural_blockers: Callable[[], JobTypes]
    """As `build_nominal_blockers`, but `main` is blocked by any entry type whose input is `{token: str}`."""
    build_with_external_slice: Callable[[], JobTypes]
    """`orders.place-order`: entry; input `{userId: str}`; no output; continues with `orders.confirm-order`.
    `orders.confirm-order`: input `{orderId: int}`; output `{confirmedAt: str}`; blocked by exactly one
    `notifications.send-notification` chain, a type of an external slice (entry; input
    `{userId: str, message: str}`; output `{sentAt: str}`)."""
    build_with_external_slices: Callable[[], JobTypes]
    """As `build_with_external_slice`, but `orders.confirm-order` is blocked by one
    `notifications.send-notification` chain then one `payments.charge` chain, from two external slices
    passed as a sequence (`payments.charge`: entry; input `{amount: number}`; output `{receiptId: str}`)."""
    dispose: Callable[[], Awaitable[None]] | None = None
    """Releases everything once the last case has run."""


class StateCaseContext(CaseScope):
    """What a state case receives: the adapter, the optional hooks, and the case's scope."""

    def __init__(self, fixture: StateConformanceFixture[Any]) -> None:
        super().__init__()
        self.adapter: StateAdapter[Any] = fixture.state_adapter
        self.generate_id: Callable[[], str] = fixture.generate_id or _uuid4
        self.generate_invalid_id = fixture.generate_invalid_id
        self.poison_transaction = fixture.poison_transaction


class NotifyCaseContext(CaseScope):
    """What a notify case receives: the adapter and the case's scope."""

    def __init__(self, fixture: NotifyConformanceFixture) -> None:
        super().__init__()
        self.adapter: NotifyAdapter = fixture.notify_adapter
        self._prefix = uuid.uuid4().hex[:8]

    def key(self, name: str) -> str:
        """`name` made unique to this case, so leftovers of another case never interfere."""
        return f"{name}-{self._prefix}"


class ValidationCaseContext(CaseScope):
    """What a validation case receives: the fixture's builders and the case's scope."""

    def __init__(self, fixture: ValidationConformanceFixture) -> None:
        super().__init__()
        self.fixture = fixture
