"""What the dashboard makes of the values job types' decode hooks hand out: their JSON form."""

from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import msgspec
import pydantic

from queuert_dashboard._serialize import plain


class Colour(enum.Enum):
    RED = "red"


class Model(pydantic.BaseModel):
    when: date
    tags: frozenset[str]


class Struct(msgspec.Struct):
    amount: Decimal
    id: uuid.UUID


@dataclasses.dataclass
class Point:
    x: int
    colour: Colour


class Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


def test_rich_values_become_json() -> None:
    value = {
        "model": Model(when=date(2026, 11, 28), tags=frozenset({"a"})),
        "struct": Struct(amount=Decimal("9.90"), id=uuid.UUID(int=1)),
        "point": Point(x=1, colour=Colour.RED),
        "at": datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        "pair": (1, b"raw"),
        "opaque": Opaque(),
        3: None,
    }
    assert plain(value) == {
        "model": {"when": "2026-11-28", "tags": ["a"]},
        "struct": {"amount": "9.90", "id": "00000000-0000-0000-0000-000000000001"},
        "point": {"x": 1, "colour": "red"},
        "at": "2026-11-28T12:00:00+00:00",
        "pair": [1, "raw"],
        "opaque": "<opaque>",
        "3": None,
    }
    json.dumps(plain(value))  # and it is JSON


def test_json_values_pass_unchanged() -> None:
    value = {"a": [1, 2.5, "x", True, None, {"b": []}]}
    assert plain(value) == value
