"""Chains and jobs as the JSON the dashboard's API answers with (snake_case, ISO-8601 UTC times)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from queuert import Chain, Job

__all__ = ("chain_json", "job_json", "plain")


def plain(value: object) -> Any:
    """`value` as JSON-ready data.

    Inputs and outputs are JSON in the database, but the client hands out what the job
    types' decode hooks made of them (pydantic models, msgspec structs, dataclasses, dates,
    ...); the dashboard shows their JSON form. Anything it does not know becomes its `repr`.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return plain(value.value)
    model_dump = getattr(value, "model_dump", None)  # pydantic v2
    if callable(model_dump):
        return plain(model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    struct_fields = getattr(type(value), "__struct_fields__", None)  # msgspec
    if isinstance(struct_fields, tuple):
        return {name: plain(getattr(value, name)) for name in struct_fields}
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return repr(value)


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def chain_json(chain: Chain[Any, Any]) -> dict[str, Any]:
    """The chain's fields; `output` and `completed_at` only when it is completed."""
    shape: dict[str, Any] = {
        "id": chain.id,
        "type_name": chain.type_name,
        "input": plain(chain.input),
        "created_at": _time(chain.created_at),
        "status": chain.status,
    }
    if chain.status == "completed":
        shape["output"] = plain(chain.output)
        shape["completed_at"] = _time(chain.completed_at)
    return shape


def job_json(job: Job[Any]) -> dict[str, Any]:
    """The job's fields; the completion fields only when completed, the lease fields only when running."""
    shape: dict[str, Any] = {
        "id": job.id,
        "chain_id": job.chain_id,
        "chain_type_name": job.chain_type_name,
        "chain_index": job.chain_index,
        "type_name": job.type_name,
        "input": plain(job.input),
        "created_at": _time(job.created_at),
        "scheduled_at": _time(job.scheduled_at),
        "attempt": job.attempt,
        "last_attempt_at": _time(job.last_attempt_at),
        "last_attempt_error": job.last_attempt_error,
        "status": job.status,
    }
    if job.status == "completed":
        shape["completed_at"] = _time(job.completed_at)
        shape["completed_by"] = job.completed_by
        shape["output"] = plain(job.output)
    elif job.status == "running":
        shape["leased_by"] = job.leased_by
        shape["leased_until"] = _time(job.leased_until)
    return shape
