"""The shared pagination cursor codec."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from queuert.adapters import (
    ChainIndexCursor,
    CreatedAtCursor,
    build_page,
    decode_cursor,
    encode_cursor,
)
from queuert.errors import InvalidCursorError


def _raw(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def test_created_at_cursor_round_trips_with_microseconds() -> None:
    at = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    cursor = CreatedAtCursor(created_at=at, id="job-1")
    decoded = decode_cursor(encode_cursor(cursor), "created_at")
    assert decoded == cursor
    assert decoded.created_at.microsecond == 123456
    assert decoded.key == (at, "job-1")


def test_chain_index_cursor_round_trips() -> None:
    cursor = ChainIndexCursor(chain_index=7, id="job-7")
    decoded = decode_cursor(encode_cursor(cursor), "chain_index")
    assert decoded == cursor
    assert decoded.key == (7, "job-7")


def test_wire_format_is_unpadded_base64url_json_in_upstream_shape() -> None:
    at = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    encoded = encode_cursor(CreatedAtCursor(created_at=at, id="a/b+c?"))
    assert "=" not in encoded
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert payload == {"type": "createdAt", "id": "a/b+c?", "createdAt": "2024-01-02T03:04:05.000006+00:00"}

    encoded_index = encode_cursor(ChainIndexCursor(chain_index=3, id="x"))
    payload = json.loads(base64.urlsafe_b64decode(encoded_index + "=" * (-len(encoded_index) % 4)))
    assert payload == {"type": "chainIndex", "id": "x", "chainIndex": 3}


def test_created_at_is_normalised_to_utc() -> None:
    local = datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    cursor = CreatedAtCursor(created_at=local, id="x")
    assert cursor.created_at.utcoffset() == timedelta(0)
    assert cursor.created_at == local
    assert decode_cursor(_raw({"type": "createdAt", "id": "x", "createdAt": local.isoformat()}), "created_at") == cursor


def test_created_at_cursor_rejects_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CreatedAtCursor(created_at=datetime(2024, 1, 1), id="x")  # noqa: DTZ001


def test_decodes_upstream_millisecond_cursor_with_z_suffix() -> None:
    decoded = decode_cursor(
        _raw({"type": "createdAt", "id": "j", "createdAt": "2024-03-04T05:06:07.890Z"}), "created_at"
    )
    assert decoded.created_at == datetime(2024, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def test_accepts_padded_input() -> None:
    encoded = base64.urlsafe_b64encode(b'{"type":"chainIndex","id":"ab","chainIndex":1}').decode()
    assert encoded.endswith("=")
    assert decode_cursor(encoded, "chain_index") == ChainIndexCursor(chain_index=1, id="ab")


def test_wrong_kind_raises_invalid_cursor_error() -> None:
    created = encode_cursor(CreatedAtCursor(created_at=datetime.now(UTC), id="x"))
    indexed = encode_cursor(ChainIndexCursor(chain_index=0, id="x"))
    with pytest.raises(InvalidCursorError, match="expected chainIndex cursor"):
        decode_cursor(created, "chain_index")
    with pytest.raises(InvalidCursorError, match="expected createdAt cursor"):
        decode_cursor(indexed, "created_at")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "not a cursor",
        "abc",  # invalid base64 length
        "a" * 5,
        _raw([1, 2, 3]),
        _raw("createdAt"),
        base64.urlsafe_b64encode(b"\xff\xfe{").decode(),
        _raw({"type": "createdAt", "id": "x"}),
        _raw({"type": "createdAt", "id": 1, "createdAt": "2024-01-01T00:00:00+00:00"}),
        _raw({"type": "createdAt", "id": "x", "createdAt": "yesterday"}),
        _raw({"type": "createdAt", "id": "x", "createdAt": "2024-01-01T00:00:00"}),
        _raw({"type": "createdAt", "id": "x", "createdAt": 1700000000}),
        _raw({"id": "x", "createdAt": "2024-01-01T00:00:00+00:00"}),
    ],
)
def test_garbage_created_at_cursor_raises(cursor: str) -> None:
    with pytest.raises(InvalidCursorError) as info:
        decode_cursor(cursor, "created_at")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "chainIndex", "id": "x", "chainIndex": "1"},
        {"type": "chainIndex", "id": "x", "chainIndex": True},
        {"type": "chainIndex", "id": "x", "chainIndex": -1},
        {"type": "chainIndex", "id": "x", "chainIndex": 1.5},
        {"type": "chainIndex", "chainIndex": 1},
    ],
)
def test_garbage_chain_index_cursor_raises(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(_raw(payload), "chain_index")


def test_non_string_cursor_raises() -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(123, "created_at")  # type: ignore[call-overload]


def test_build_page_with_extra_row_sets_cursor_after_last_kept_row() -> None:
    rows = [(0, "a"), (1, "b"), (2, "c")]
    page = build_page(rows, 2, lambda row: ChainIndexCursor(chain_index=row[0], id=row[1]))
    assert page.items == [(0, "a"), (1, "b")]
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor, "chain_index") == ChainIndexCursor(chain_index=1, id="b")


@pytest.mark.parametrize("count", [0, 1, 2])
def test_build_page_without_extra_row_is_last_page(count: int) -> None:
    rows = [(i, str(i)) for i in range(count)]
    page = build_page(rows, 2, lambda row: ChainIndexCursor(chain_index=row[0], id=row[1]))
    assert page.items == rows
    assert page.next_cursor is None


@pytest.mark.parametrize("limit", [0, -1, True])
def test_build_page_rejects_bad_limit(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        build_page([], limit, lambda row: ChainIndexCursor(chain_index=0, id="x"))
