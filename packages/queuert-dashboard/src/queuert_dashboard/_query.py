"""The query-string rules every listing route shares (lenient: bad values mean "no filter", never 400)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from queuert.adapters import decode_cursor
from queuert.errors import InvalidCursorError

if TYPE_CHECKING:
    from starlette.datastructures import QueryParams

    from queuert import JobStatus

__all__ = ("DEFAULT_LIMIT", "MAX_LIMIT", "cursor", "id_list", "limit", "name_list", "status_list")

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
_STATUSES: tuple[JobStatus, ...] = ("blocked", "pending", "running", "completed")


def name_list(params: QueryParams, key: str) -> list[str]:
    """`a,b,,c` → `["a", "b", "c"]`; missing or only commas → `[]` (no filter)."""
    return [part for part in params.get(key, "").split(",") if part]


def status_list(params: QueryParams) -> list[JobStatus]:
    """The known statuses named in `status`; unknown ones are dropped."""
    named = set(name_list(params, "status"))
    return [status for status in _STATUSES if status in named]


def id_list(params: QueryParams, key: str) -> list[str]:
    """A non-empty value becomes a one-element filter."""
    value = params.get(key, "")
    return [value] if value else []


def cursor(params: QueryParams) -> str | None:
    """The cursor if it is a listing cursor; anything else serves the first page.

    Both listings page by creation time, so a chain-jobs cursor is ignored like garbage
    rather than passed on to fail in the client.
    """
    value = params.get("cursor")
    if not value:
        return None
    try:
        decode_cursor(value, "created_at")
    except InvalidCursorError:
        return None
    return value


def limit(params: QueryParams) -> int:
    """`floor(float(limit))` when positive (at least 1), else 50; at most 100."""
    try:
        number = float(params.get("limit", ""))
    except ValueError:
        return DEFAULT_LIMIT
    if not number > 0:  # also NaN
        return DEFAULT_LIMIT
    return MAX_LIMIT if number >= MAX_LIMIT else max(1, math.floor(number))
