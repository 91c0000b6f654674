from __future__ import annotations

import pytest
from opentelemetry.trace import SpanContext, TraceFlags

from queuert_otel._trace_context import format_traceparent, parse_traceparent


def test_formats_lower_case_hex_with_two_digit_flags() -> None:
    context = SpanContext(trace_id=0xABC, span_id=0x1F, is_remote=False, trace_flags=TraceFlags(0x1F))
    # Flags of 16 and more need both hex digits (a "0" + decimal prefix would give "031").
    assert format_traceparent(context) == f"00-{'0' * 29}abc-{'0' * 14}1f-1f"


def test_invalid_context_has_no_traceparent() -> None:
    assert format_traceparent(SpanContext(trace_id=0, span_id=0, is_remote=False)) is None


def test_round_trip() -> None:
    value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    context = parse_traceparent(value)
    assert context is not None
    assert context.trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
    assert context.span_id == 0x00F067AA0BA902B7
    assert context.trace_flags.sampled
    assert context.is_remote
    assert format_traceparent(context) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "not-a-traceparent",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # unknown version
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  # upper case
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n",  # trailing newline
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # no flags
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero span id
        '{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}',
    ],
)
def test_rejects_what_is_not_a_w3c_traceparent(value: object) -> None:
    assert parse_traceparent(value) is None
