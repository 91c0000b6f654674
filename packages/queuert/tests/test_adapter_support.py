"""The backend-neutral helpers state adapters share: argument checks and page-cursor keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from queuert.adapters import (
    ChainIndexCursor,
    CreatedAtCursor,
    CreateJobParams,
    StateChain,
    StateJob,
    TriggeredJobs,
    chain_created_at_cursor,
    check_caller_ids,
    check_order_direction,
    job_chain_index_cursor,
    job_created_at_cursor,
    trigger_refusals,
)
from queuert.errors import DuplicateJobIdError, InvalidJobIdError

_AT = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _params(job_id: str | None) -> CreateJobParams:
    return CreateJobParams(type_name="t", chain_type_name="t", chain_index=0, input=None, id=job_id)


def _job(job_id: str, chain_index: int, created_at: datetime = _AT) -> StateJob:
    return StateJob(
        id=job_id,
        type_name="t",
        chain_id="root",
        chain_type_name="t",
        chain_index=chain_index,
        input=None,
        output=None,
        status="pending",
        created_at=created_at,
        scheduled_at=created_at,
    )


def test_check_order_direction_tells_descending() -> None:
    assert check_order_direction("desc") is True
    assert check_order_direction("asc") is False


@pytest.mark.parametrize("bad", ["DESC", "up", ""])
def test_check_order_direction_rejects_other_values(bad: str) -> None:
    with pytest.raises(ValueError, match="order_direction"):
        check_order_direction(bad)  # type: ignore[arg-type]


def test_check_caller_ids_accepts_distinct_and_missing_ids() -> None:
    check_caller_ids([_params(None), _params("a"), _params(None), _params("b")], lambda _: True)


def test_check_caller_ids_rejects_an_id_repeated_in_the_batch() -> None:
    with pytest.raises(DuplicateJobIdError) as info:
        check_caller_ids([_params("a"), _params(None), _params("a")], None)
    assert info.value.id == "a"


def test_check_caller_ids_rejects_an_id_the_validator_refuses() -> None:
    with pytest.raises(InvalidJobIdError) as info:
        check_caller_ids([_params("good"), _params("bad")], lambda job_id: job_id != "bad")
    assert info.value.id == "bad"
    assert info.value.source == "caller"


def test_check_caller_ids_reports_the_first_failure_in_batch_order() -> None:
    # "bad" comes before the repetition of "a", so validation wins.
    with pytest.raises(InvalidJobIdError):
        check_caller_ids([_params("a"), _params("bad"), _params("a")], lambda job_id: job_id != "bad")
    # Without a validator only the repetition is checked.
    with pytest.raises(DuplicateJobIdError):
        check_caller_ids([_params("a"), _params("bad"), _params("a")], None)


def test_job_cursor_keys() -> None:
    job = _job("j2", 2)
    assert job_created_at_cursor(job) == CreatedAtCursor(created_at=_AT, id="j2")
    assert job_chain_index_cursor(job) == ChainIndexCursor(chain_index=2, id="j2")


def test_chain_cursor_key_is_the_root_job() -> None:
    root = _job("root", 0)
    last = _job("last", 3, datetime(2025, 1, 1, tzinfo=UTC))
    assert chain_created_at_cursor(StateChain(root, last)) == CreatedAtCursor(created_at=_AT, id="root")


def test_trigger_refusals_are_empty_when_every_id_is_pending() -> None:
    refusals = trigger_refusals(["a", "b", "a"], {"a": "pending", "b": "pending"})
    assert refusals == TriggeredJobs()


def test_trigger_refusals_report_missing_and_non_pending_ids_once_in_first_occurrence_order() -> None:
    refusals = trigger_refusals(
        ["done", "ghost", "a", "run", "ghost", "done"],
        {"a": "pending", "done": "completed", "run": "running"},
    )
    assert refusals.jobs == ()
    assert refusals.not_found == ("ghost",)
    assert refusals.not_triggerable == (("done", "completed"), ("run", "running"))
