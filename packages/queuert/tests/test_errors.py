"""The error hierarchy: classes, attributes, messages that say what to fix, pickling."""

from __future__ import annotations

import asyncio
import copy
import pickle  # noqa: TID251  # the contract under test: errors survive process pools that pickle them
from typing import Any

import pytest

from queuert import (
    AdapterClosedError,
    AttemptUsageError,
    BlockerReference,
    BlockerReferenceError,
    ChainNotFoundError,
    DuplicateJobIdError,
    DuplicateJobTypeError,
    HookNotRegisteredError,
    InvalidCursorError,
    InvalidJobIdError,
    JobAlreadyCompletedError,
    JobNotFoundError,
    JobNotTriggerableError,
    JobTakenByAnotherWorkerError,
    JobTypeDefinitionError,
    JobTypeMismatchError,
    JobTypeValidationError,
    QueuertError,
    RescheduleJobError,
    ScheduleAfter,
    TransactionContextRequiredError,
    UnknownJobTypeError,
    WaitChainTimeoutError,
    reschedule_job,
)

EXAMPLES: list[tuple[QueuertError, dict[str, Any], tuple[type[BaseException], ...]]] = [
    (InvalidJobIdError(id="x", source="caller"), {"id": "x", "source": "caller"}, (ValueError,)),
    (DuplicateJobIdError(id="x"), {"id": "x"}, ()),
    (JobNotFoundError(job_id="j"), {"job_id": "j"}, (LookupError,)),
    (ChainNotFoundError(chain_id="c"), {"chain_id": "c"}, (LookupError,)),
    (JobAlreadyCompletedError(job_id="j"), {"job_id": "j"}, ()),
    (JobNotTriggerableError(job_id="j", status="blocked"), {"job_id": "j", "status": "blocked"}, ()),
    (
        JobTakenByAnotherWorkerError(job_id="j", worker_id="w1", leased_by="w2"),
        {"job_id": "j", "worker_id": "w1", "leased_by": "w2"},
        (),
    ),
    (
        JobTypeMismatchError(expected_type_name="a", actual_type_name="b"),
        {"expected_type_name": "a", "actual_type_name": "b"},
        (TypeError,),
    ),
    (
        JobTypeValidationError(code="invalid_input", type_name="t", details={"input": 1}),
        {"code": "invalid_input", "type_name": "t", "details": {"input": 1}},
        (ValueError,),
    ),
    (WaitChainTimeoutError(chain_id="c", timeout_ms=5), {"chain_id": "c", "timeout_ms": 5}, (TimeoutError,)),
    (RescheduleJobError(schedule=ScheduleAfter(after_ms=10)), {"schedule": ScheduleAfter(after_ms=10)}, ()),
    (
        BlockerReferenceError(references=[BlockerReference(chain_id="c", referenced_by_job_id="j")]),
        {"references": (BlockerReference(chain_id="c", referenced_by_job_id="j"),)},
        (),
    ),
    (DuplicateJobTypeError(duplicate_type_names=["a"]), {"duplicate_type_names": ("a",)}, ()),
    (
        UnknownJobTypeError(type_name="x", registered_type_names=["a", "b"]),
        {"type_name": "x", "registered_type_names": ("a", "b")},
        (LookupError,),
    ),
    (HookNotRegisteredError(key="k"), {"key": "k"}, (KeyError,)),
    (InvalidCursorError(cursor="zz"), {"cursor": "zz"}, (ValueError,)),
    (AdapterClosedError(adapter="StateAdapter"), {"adapter": "StateAdapter"}, (RuntimeError,)),
]


@pytest.mark.parametrize(("error", "attributes", "bases"), EXAMPLES, ids=lambda v: type(v).__name__)
def test_errors_carry_attributes_and_survive_pickling(
    error: QueuertError, attributes: dict[str, Any], bases: tuple[type[BaseException], ...]
) -> None:
    assert isinstance(error, QueuertError)
    for base in bases:
        assert isinstance(error, base)
    for name, value in attributes.items():
        assert getattr(error, name) == value
    assert str(error)
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored) is type(error)
    assert str(restored) == str(error)
    for name, value in attributes.items():
        assert getattr(restored, name) == value
    assert str(copy.copy(error)) == str(error)


def test_the_cause_survives_pickling() -> None:
    try:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise JobTypeValidationError(code="invalid_output", type_name="t") from inner
    except JobTypeValidationError as error:
        restored = pickle.loads(pickle.dumps(error))
    assert isinstance(restored.__cause__, ValueError)
    assert str(restored.__cause__) == "inner"


def test_messages_name_what_to_fix() -> None:
    assert "transaction" in str(TransactionContextRequiredError()).lower()
    blocked = BlockerReferenceError(
        references=[
            BlockerReference(chain_id="c1", referenced_by_job_id="j1"),
            BlockerReference(chain_id="c1", referenced_by_job_id="j2"),
        ]
    )
    assert str(blocked).count("c1") == 1
    assert "registered types: a, b" in str(UnknownJobTypeError(type_name="x", registered_type_names=["a", "b"]))
    assert str(JobTypeDefinitionError("custom message")) == "custom message"
    assert str(AttemptUsageError("Complete can only be called once")) == "Complete can only be called once"
    assert str(HookNotRegisteredError(key="k")) == "No transaction hook registered for key 'k'"


def test_reschedule_job_raises_with_the_schedule_and_cause() -> None:
    cause = RuntimeError("rate limited")
    with pytest.raises(RescheduleJobError) as caught:
        reschedule_job(ScheduleAfter(after_ms=1_000), cause)
    assert caught.value.schedule == ScheduleAfter(after_ms=1_000)
    assert caught.value.__cause__ is cause


def test_wait_timeout_is_not_a_cancellation() -> None:
    # asyncio code catches TimeoutError; it must never be mistaken for CancelledError.
    assert not isinstance(WaitChainTimeoutError(chain_id="c", timeout_ms=1), asyncio.CancelledError)
