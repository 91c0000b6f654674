"""The console and standard-logging sinks for structured log entries."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime

import pytest

from queuert._log import LogEntry, LogLevel, create_console_log, create_logging_log

LINE = re.compile(
    r"^\[(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\] \[(?P<level>[A-Z]+)\] \[(?P<type>\w+)\] "
    r"(?P<message>[^{]*) (?P<data>\{.*\})(?: \[(?P<error>.*)\])?$"
)


def entry_with_error() -> LogEntry:
    entry: LogEntry = {
        "type": "job_attempt_failed",
        "level": "error",
        "message": "Job attempt failed",
        "data": {"id": "j1", "rescheduled_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), "attempt": 2},
    }
    entry["error"] = ValueError("boom")
    return entry


def test_console_log_writes_one_line_per_entry() -> None:
    stream = io.StringIO()
    log = create_console_log(stream)

    log({"type": "job_created", "level": "info", "message": "Job created", "data": {"id": "j1", "blockers": []}})
    log(entry_with_error())

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (LINE.match(line) for line in lines)
    assert first is not None
    assert second is not None
    datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert (first["level"], first["type"], first["message"]) == ("INFO", "job_created", "Job created")
    assert json.loads(first["data"]) == {"id": "j1", "blockers": []}
    assert first["error"] is None
    assert (second["level"], second["type"]) == ("ERROR", "job_attempt_failed")
    assert json.loads(second["data"]) == {"id": "j1", "rescheduled_at": "2025-01-02T03:04:05+00:00", "attempt": 2}
    assert second["error"] == "ValueError: boom"


def test_console_log_writes_warn_level_upper_case() -> None:
    stream = io.StringIO()

    create_console_log(stream)(
        {"type": "state_adapter_error", "level": "warn", "message": "State adapter error", "data": {}}
    )

    match = LINE.match(stream.getvalue().rstrip("\n"))
    assert match is not None
    assert match["level"] == "WARN"


def test_console_log_defaults_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    create_console_log()({"type": "worker_started", "level": "info", "message": "Started worker", "data": {}})

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "[INFO] [worker_started] Started worker {}" in captured.err


@pytest.mark.parametrize(
    ("level", "expected"), [("info", logging.INFO), ("warn", logging.WARNING), ("error", logging.ERROR)]
)
def test_logging_log_maps_levels_and_attaches_the_entry(
    caplog: pytest.LogCaptureFixture, level: LogLevel, expected: int
) -> None:
    logger = logging.getLogger("test_log.mapping")
    entry: LogEntry = {"type": "worker_error", "level": level, "message": "Worker error", "data": {"worker_id": "w"}}
    caplog.set_level(logging.DEBUG, logger=logger.name)

    create_logging_log(logger)(entry)

    [record] = caplog.records
    assert record.levelno == expected
    assert record.name == logger.name
    assert record.queuert is entry  # type: ignore[attr-defined]
    assert record.getMessage() == '[worker_error] Worker error {"worker_id": "w"}'
    assert record.exc_info is None


def test_logging_log_passes_the_error_as_exc_info(caplog: pytest.LogCaptureFixture) -> None:
    entry = entry_with_error()
    caplog.set_level(logging.INFO, logger="test_log.error")

    create_logging_log(logging.getLogger("test_log.error"))(entry)

    [record] = caplog.records
    assert record.exc_info is not None
    assert record.exc_info[1] is entry["error"]


def test_logging_log_skips_disabled_levels(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="test_log.filtered")
    log = create_logging_log(logging.getLogger("test_log.filtered"))

    log({"type": "job_created", "level": "info", "message": "Job created", "data": {}})
    log({"type": "notify_adapter_error", "level": "warn", "message": "Notify adapter error", "data": {}})

    assert [record.queuert["type"] for record in caplog.records] == ["notify_adapter_error"]  # type: ignore[attr-defined]


def test_logging_log_defaults_to_the_queuert_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="queuert")

    create_logging_log()({"type": "worker_stopped", "level": "info", "message": "Worker has been stopped", "data": {}})

    assert [record.name for record in caplog.records] == ["queuert"]
