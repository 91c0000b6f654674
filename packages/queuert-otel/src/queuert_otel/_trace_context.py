"""W3C `traceparent` strings: how span contexts are stored on job and blocker rows."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

if TYPE_CHECKING:
    from opentelemetry.context import Context

__all__ = ("as_parent", "format_traceparent", "parse_traceparent")

_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def format_traceparent(span_context: SpanContext) -> str | None:
    """`00-<trace id>-<span id>-<flags>` in lower-case hex, or `None` for an invalid (all-zero) context.

    A no-op tracer hands out invalid contexts; storing them would only make every later
    span parent on nothing, so the caller treats `None` as "no span".
    """
    if not span_context.is_valid:
        return None
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{int(span_context.trace_flags):02x}"


def parse_traceparent(value: object) -> SpanContext | None:
    """The remote span context a stored `traceparent` names, or `None` if it is not one.

    Anything else (`None`, a context written by another observability adapter, the
    all-zero ids W3C forbids) gives `None`, and the dependent span or link is skipped.
    """
    if not isinstance(value, str):
        return None
    match = _TRACEPARENT.fullmatch(value)
    if match is None:
        return None
    trace_id, span_id, flags = match.groups()
    span_context = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(int(flags, 16)),
    )
    return span_context if span_context.is_valid else None


def as_parent(span_context: SpanContext) -> Context:
    """The current context with `span_context` as its span: the `context=` to start a child of it.

    Built on the current context so that anything else in it (baggage, for instance) is kept.
    """
    return set_span_in_context(NonRecordingSpan(span_context))
