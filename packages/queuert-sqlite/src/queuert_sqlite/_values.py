"""How values cross between Python and the SQLite columns: times as text, JSON as text, ids as text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from queuert.adapters import StateChain, StateJob, job_from_row

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = (
    "decode_chain",
    "decode_job",
    "format_time",
    "format_time_ceil",
    "parse_time",
    "relative_time",
)

_ONE_MS = timedelta(milliseconds=1)


def format_time(moment: datetime) -> str:
    """The stored text of an aware datetime: UTC, `YYYY-MM-DD HH:MM:SS.SSS`, microseconds dropped.

    Every stored time has exactly this shape, which is what makes comparing the text the
    same as comparing the times. (`isoformat()` would not do: it omits a zero fraction.)
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"Expected a timezone-aware datetime, got {moment!r}")
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}"
    )


def format_time_ceil(moment: datetime) -> str:
    """Like `format_time`, rounding a sub-millisecond remainder up instead of down.

    For an inclusive lower bound: a row stored at `.123` is earlier than `.1235` and must
    not match `>= .1235`, so the bound becomes `.124`.
    """
    if moment.microsecond % 1000:
        moment = moment + (_ONE_MS - timedelta(microseconds=moment.microsecond % 1000))
    return format_time(moment)


def parse_time(text: object) -> datetime:
    """Read a stored time (with or without its fraction) as an aware UTC datetime."""
    return datetime.fromisoformat(str(text)).replace(tzinfo=UTC)


def relative_time(milliseconds: float, *, sign: str = "+") -> str:
    """A `strftime(..., 'now', ?)` modifier that many milliseconds from now, such as `'+5.000 seconds'`."""
    return f"{sign}{milliseconds / 1000:.3f} seconds"


def decode_job(row: Mapping[str, object], prefix: str = "") -> StateJob:
    """Build a `StateJob` from a row's job columns (named `<prefix><column>`); ids become `str`."""
    return job_from_row(row, prefix=prefix)


def decode_chain(row: Mapping[str, object]) -> StateChain:
    """Build a `StateChain` from a row holding a chain's first job and, as `lc_*`, its newest job.

    The newest job is `None` when it is the first job itself, or missing.
    """
    root = decode_job(row)
    last_id = row.get("lc_id")
    if last_id is None or str(last_id) == root.id:
        return StateChain(root, None)
    return StateChain(root, decode_job(row, "lc_"))
