"""Backend-neutral checks and key functions every state adapter shares.

They hold no SQL: the in-process, PostgreSQL and SQLite adapters call them so that argument
validation and page-cursor assembly have one owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._cursor import ChainIndexCursor, CreatedAtCursor
from ._state_adapter import TriggeredJobs
from .errors import DuplicateJobIdError, InvalidJobIdError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ._entities import JobStatus, OrderDirection
    from ._state_adapter import CreateJobParams, StateChain, StateJob

__all__ = (
    "chain_created_at_cursor",
    "check_caller_ids",
    "check_order_direction",
    "job_chain_index_cursor",
    "job_created_at_cursor",
    "trigger_refusals",
)


def check_order_direction(order_direction: OrderDirection) -> bool:
    """Validate a listing's `order_direction` and tell whether it is descending.

    Returns:
        `True` for `"desc"`, `False` for `"asc"`.

    Raises:
        ValueError: `order_direction` is neither `"asc"` nor `"desc"`.
    """
    if order_direction not in ("asc", "desc"):
        raise ValueError(f"order_direction must be 'asc' or 'desc', got {order_direction!r}")
    return order_direction == "desc"


def check_caller_ids(jobs: Sequence[CreateJobParams], validate_id: Callable[[str], bool] | None) -> None:
    """Check the caller-supplied ids of one `create_jobs` batch before anything is written.

    Jobs without an id are skipped. Jobs are checked in order, and the first failure raises:
    an id `validate_id` rejects (when given), or an id already used earlier in the batch.
    Whether an id already exists in storage is the adapter's business, not checked here.

    Raises:
        InvalidJobIdError: `validate_id` rejects a caller-supplied id (`source="caller"`).
        DuplicateJobIdError: A caller-supplied id appears more than once in `jobs`.
    """
    seen: set[str] = set()
    for params in jobs:
        if params.id is None:
            continue
        if validate_id is not None and not validate_id(params.id):
            raise InvalidJobIdError(id=params.id, source="caller")
        if params.id in seen:
            raise DuplicateJobIdError(
                f"Job id {params.id!r} appears more than once in one create_jobs batch", id=params.id
            )
        seen.add(params.id)


def job_created_at_cursor(job: StateJob) -> CreatedAtCursor:
    """The `(created_at, id)` cursor after `job`: the key function for `build_page` of job listings."""
    return CreatedAtCursor(created_at=job.created_at, id=job.id)


def job_chain_index_cursor(job: StateJob) -> ChainIndexCursor:
    """The `(chain_index, id)` cursor after `job`: the key function for `build_page` of a chain's jobs."""
    return ChainIndexCursor(chain_index=job.chain_index, id=job.id)


def chain_created_at_cursor(chain: StateChain) -> CreatedAtCursor:
    """The `(created_at, id)` cursor after `chain`, from its root job: the key for chain listings."""
    return job_created_at_cursor(chain.root)


def trigger_refusals(job_ids: Sequence[str], statuses: Mapping[str, JobStatus]) -> TriggeredJobs:
    """Why a `trigger_jobs` call cannot trigger all of `job_ids`, given the stored status of each id found.

    `statuses` maps every id of `job_ids` that exists to its status; ids missing from it do not
    exist. Each id counts once, at its first occurrence in `job_ids`.

    Returns:
        A `TriggeredJobs` with no `jobs`: `not_found` lists the ids absent from `statuses`,
        `not_triggerable` the `(id, status)` pairs whose status is not `"pending"`, both in
        first-occurrence order. Both are empty when every id is pending, so the call may go ahead.
    """
    unique = list(dict.fromkeys(job_ids))
    return TriggeredJobs(
        not_found=tuple(job_id for job_id in unique if job_id not in statuses),
        not_triggerable=tuple(
            (job_id, statuses[job_id]) for job_id in unique if job_id in statuses and statuses[job_id] != "pending"
        ),
    )
