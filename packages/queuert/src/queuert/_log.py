"""Structured log entries and two ready-made sinks for them."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import IO, Literal, NotRequired, TypeAlias, TypedDict

__all__ = ("Log", "LogEntry", "LogLevel", "create_console_log", "create_logging_log")

LogLevel: TypeAlias = Literal["info", "warn", "error"]
"""Severity of a log entry."""


class LogEntry(TypedDict):
    """One structured event from queuert (a worker started, a job completed, ...).

    `type` tells entries apart and fixes the keys of `data`; the full catalogue is in the
    observability documentation.
    """

    type: str
    """The event, e.g. `"job_created"`."""
    level: LogLevel
    message: str
    """A short human-readable sentence, e.g. `"Job created"`."""
    data: Mapping[str, object]
    """Event details: ids, type names, worker id, ... (datetimes stay `datetime`)."""
    error: NotRequired[BaseException]
    """The exception, on entries that report one."""


Log: TypeAlias = Callable[[LogEntry], None]
"""Receives every log entry. Called synchronously on the event loop, so it must not block.

An exception it raises is reported through the `queuert` standard-library logger and
otherwise ignored.
"""

_LEVEL_NUMBERS: Mapping[LogLevel, int] = {"info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


def _format_data(data: Mapping[str, object]) -> str:
    return json.dumps(data, default=_json_default, ensure_ascii=False, separators=(", ", ": "))


def _format_error(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_console_log(stream: IO[str] | None = None) -> Log:
    """A `Log` that writes each entry as one line of text.

    Format: `[<ISO time>] [<LEVEL>] [<type>] <message> <data as JSON> [<error>]`, e.g.
    `[2025-01-01T12:00:00.000Z] [INFO] [job_created] Job created {"id": "...", ...}`.
    The error part, `ExceptionType: message`, is present only on entries with an error.

    Args:
        stream: Where to write; `None` means `sys.stderr` as it is at the time of each write.
    """

    def log(entry: LogEntry) -> None:
        line = f"[{_now_iso()}] [{entry['level'].upper()}] [{entry['type']}] {entry['message']}"
        line += f" {_format_data(entry['data'])}"
        error = entry.get("error")
        if error is not None:
            line += f" [{_format_error(error)}]"
        target = stream if stream is not None else sys.stderr
        target.write(line + "\n")
        target.flush()

    return log


def create_logging_log(logger: logging.Logger | None = None) -> Log:
    """A `Log` that forwards entries to the standard `logging` module.

    Levels map `info` → `INFO`, `warn` → `WARNING`, `error` → `ERROR`. The record's message
    is `"[<type>] <message> <data as JSON>"`; the entry itself is attached to the record as
    the attribute `queuert` (passed as `extra={"queuert": entry}`, a name no `LogRecord`
    attribute uses), so structured handlers can read `record.queuert["type"]` and
    `record.queuert["data"]`. An entry's error becomes the record's `exc_info`.

    Args:
        logger: The logger to use; `None` means `logging.getLogger("queuert")`.
    """
    target = logger if logger is not None else logging.getLogger("queuert")

    def log(entry: LogEntry) -> None:
        level = _LEVEL_NUMBERS[entry["level"]]
        if not target.isEnabledFor(level):
            return
        target.log(
            level,
            "[%s] %s %s",
            entry["type"],
            entry["message"],
            _format_data(entry["data"]),
            exc_info=entry.get("error"),
            extra={"queuert": entry},
        )

    return log
