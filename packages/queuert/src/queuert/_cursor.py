"""Opaque keyset-pagination cursors, shared by every state adapter.

A cursor is the sort key of the last row of a page, so the next page starts strictly after
it. On the wire it is base64url (padding stripped) of a small JSON object, the same shape
upstream queuert uses:

* `{"type":"createdAt","id":"<id>","createdAt":"<ISO 8601 with offset>"}` for listings
  ordered by `(created_at, id)`: chains, jobs and blocked jobs;
* `{"type":"chainIndex","id":"<id>","chainIndex":<int>}` for a chain's jobs, ordered by
  `(chain_index, id)`.

Timestamps keep full microsecond precision, so rows that share a millisecond are neither
skipped nor repeated.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TypeAlias, TypeVar, overload

from ._entities import Page
from .errors import InvalidCursorError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = (
    "ChainIndexCursor",
    "CreatedAtCursor",
    "Cursor",
    "CursorKind",
    "build_page",
    "check_page_limit",
    "decode_cursor",
    "encode_cursor",
)

ItemT = TypeVar("ItemT")

CursorKind: TypeAlias = Literal["created_at", "chain_index"]
"""Which sort key a cursor carries: `(created_at, id)` or `(chain_index, id)`."""

_WIRE_TYPE: dict[CursorKind, str] = {"created_at": "createdAt", "chain_index": "chainIndex"}
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


@dataclass(frozen=True, slots=True)
class CreatedAtCursor:
    """Position after the row with this `(created_at, id)`: chains, jobs and blocked-job listings."""

    created_at: datetime
    """Timezone-aware; normalised to UTC."""
    id: str

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError("CreatedAtCursor.created_at must be timezone-aware")
        object.__setattr__(self, "created_at", self.created_at.astimezone(UTC))

    @property
    def key(self) -> tuple[datetime, str]:
        """The sort key as a tuple, ready for comparisons and `bisect`."""
        return (self.created_at, self.id)


@dataclass(frozen=True, slots=True)
class ChainIndexCursor:
    """Position after the job with this `(chain_index, id)`: a chain's job listing."""

    chain_index: int
    id: str

    @property
    def key(self) -> tuple[int, str]:
        """The sort key as a tuple, ready for comparisons and `bisect`."""
        return (self.chain_index, self.id)


Cursor: TypeAlias = CreatedAtCursor | ChainIndexCursor
"""Any decoded cursor."""


def encode_cursor(cursor: Cursor) -> str:
    """Turn a cursor into the opaque string handed to callers as `Page.next_cursor`."""
    payload: dict[str, object]
    if isinstance(cursor, CreatedAtCursor):
        payload = {
            "type": _WIRE_TYPE["created_at"],
            "id": cursor.id,
            "createdAt": cursor.created_at.isoformat(timespec="microseconds"),
        }
    else:
        payload = {"type": _WIRE_TYPE["chain_index"], "id": cursor.id, "chainIndex": cursor.chain_index}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@overload
def decode_cursor(cursor: str, kind: Literal["created_at"]) -> CreatedAtCursor: ...
@overload
def decode_cursor(cursor: str, kind: Literal["chain_index"]) -> ChainIndexCursor: ...
def decode_cursor(cursor: str, kind: CursorKind) -> Cursor:
    """Parse a cursor produced by `encode_cursor`, checking that it is of the expected kind.

    Raises:
        InvalidCursorError: The string is not a cursor, or it is a cursor of the other kind
            (for example a chain-jobs cursor passed to a job listing).
    """
    payload = _decode_payload(cursor)
    expected = _WIRE_TYPE[kind]
    wrong_kind = InvalidCursorError(f"Invalid cursor: expected {expected} cursor", cursor=cursor)
    if payload.get("type") != expected:
        raise wrong_kind
    cursor_id = payload.get("id")
    if not isinstance(cursor_id, str):
        raise wrong_kind
    if kind == "chain_index":
        chain_index = payload.get("chainIndex")
        if not isinstance(chain_index, int) or isinstance(chain_index, bool) or chain_index < 0:
            raise wrong_kind
        return ChainIndexCursor(chain_index=chain_index, id=cursor_id)
    created_at = payload.get("createdAt")
    if not isinstance(created_at, str):
        raise wrong_kind
    try:
        parsed = datetime.fromisoformat(created_at)
    except ValueError:
        raise wrong_kind from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise wrong_kind
    return CreatedAtCursor(created_at=parsed, id=cursor_id)


def _decode_payload(cursor: str) -> dict[str, object]:
    if not isinstance(cursor, str):
        raise InvalidCursorError("Invalid cursor: expected a string", cursor=repr(cursor))
    # urlsafe_b64decode silently drops characters outside the alphabet; reject them instead.
    if not _BASE64URL.fullmatch(cursor):
        raise InvalidCursorError(cursor=cursor)
    try:
        unpadded = cursor.rstrip("=")
        raw = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        raise InvalidCursorError(cursor=cursor) from None
    if not isinstance(payload, dict):
        raise InvalidCursorError(cursor=cursor)
    return payload


def build_page(rows: Sequence[ItemT], limit: int, cursor_of: Callable[[ItemT], Cursor]) -> Page[ItemT]:
    """Build a page from up to `limit + 1` rows fetched in listing order.

    Fetching one row more than asked tells whether another page exists without a count.
    When it does, the extra row is dropped and `next_cursor` points after the last kept row.
    """
    check_page_limit(limit)
    if len(rows) <= limit:
        return Page(list(rows), None)
    items = list(rows[:limit])
    return Page(items, encode_cursor(cursor_of(items[-1])))


def check_page_limit(limit: int) -> None:
    """Reject a page size that is not a positive integer (`ValueError`)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
