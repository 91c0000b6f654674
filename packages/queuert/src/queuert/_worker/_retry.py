"""Turning a failed attempt into a reschedule: the schedule to use and the error text to store."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._entities import ScheduleAfter, ScheduleAt
from ..errors import RescheduleJobError
from ._config import backoff_ms

if TYPE_CHECKING:
    from datetime import datetime

    from .._entities import ScheduleOptions
    from ._config import BackoffConfig

__all__ = ("MAX_ERROR_LENGTH", "RetryPlan", "plan_retry", "serialize_error")

MAX_ERROR_LENGTH = 10_000
_TRUNCATED = "… [truncated]"


def _own_attributes(error: BaseException) -> dict[str, object]:
    attributes = getattr(error, "__dict__", None) or {}
    return {key: value for key, value in attributes.items() if not key.startswith("_")}


def _json(value: object) -> str:
    return json.dumps(value, default=repr, ensure_ascii=False)


def _describe_object(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        pass
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict) and fields:
        shown = ", ".join(f"{key}: {item!r}" for key, item in list(fields.items())[:5])
        return "{" + shown + "}"
    return repr(value)


def serialize_error(error: object) -> str:
    """The text stored as `last_attempt_error` (at most 10 000 characters, then "… [truncated]").

    An exception gives its formatted traceback (message and chained causes included) and,
    when it has public attributes of its own, a line with them as JSON. A string is kept
    as is, `None` becomes `"None"`, other objects their JSON (or a short field summary).
    """
    if isinstance(error, BaseException):
        text = "".join(traceback.format_exception(error)).rstrip("\n")
        attributes = _own_attributes(error)
        if attributes:
            text += "\n" + _json(attributes)
    elif isinstance(error, str):
        text = error
    elif error is None:
        text = "None"
    else:
        text = _describe_object(error)
    if len(text) > MAX_ERROR_LENGTH:
        text = text[:MAX_ERROR_LENGTH] + _TRUNCATED
    return text


@dataclass(frozen=True, slots=True)
class RetryPlan:
    """When to retry and what to store."""

    schedule: ScheduleOptions
    error: str

    @property
    def rescheduled_at(self) -> datetime | None:
        """The absolute time asked for, if any (for events)."""
        return self.schedule.at if isinstance(self.schedule, ScheduleAt) else None

    @property
    def rescheduled_after_ms(self) -> float | None:
        """The relative delay asked for, if any (for events)."""
        return self.schedule.after_ms if isinstance(self.schedule, ScheduleAfter) else None


def plan_retry(error: BaseException, *, attempt: int, backoff: BackoffConfig) -> RetryPlan:
    """`reschedule_job(...)` keeps its schedule and stores its cause; anything else backs off by attempt number."""
    if isinstance(error, RescheduleJobError):
        return RetryPlan(error.schedule, serialize_error(error.__cause__))
    return RetryPlan(ScheduleAfter(backoff_ms(backoff, attempt)), serialize_error(error))
