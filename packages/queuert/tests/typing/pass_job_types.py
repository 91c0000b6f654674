"""Job type definitions that must type-check cleanly under `mypy --strict`.

Checked by `tests/test_typing.py`; never executed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Never, TypedDict, TypeVar, assert_type

from queuert._entities import JsonValue
from queuert._job_types import (
    BlockerSlot,
    EntryJobType,
    InputRef,
    JobType,
    JobTypes,
    JobTypesOptions,
    NoOutput,
    Ref,
    Reference,
    ResolvedRef,
    Rest,
    Slot,
    create_job_types,
    define_job_types,
    merge_job_types,
)

InT = TypeVar("InT")
OutT = TypeVar("OutT")
ChainOutT = TypeVar("ChainOutT")


class FetchIn(TypedDict):
    url: str


class FetchOut(TypedDict):
    body: str


class RouteIn(TypedDict):
    route: str


class Payload(TypedDict):
    payload: str


class Handled(TypedDict):
    handled: bool


# --- generic arguments and the ChainOutT default ----------------------------------------

fetch = EntryJobType[FetchIn, FetchOut]("fetch-data")
assert_type(fetch, EntryJobType[FetchIn, FetchOut, FetchOut])

route = EntryJobType[RouteIn, NoOutput, Handled]("router", continue_with=[InputRef(Payload)])
assert_type(route, EntryJobType[RouteIn, Never, Handled])

handler_a = JobType[Payload, Handled]("handler-a")
assert_type(handler_a, JobType[Payload, Handled])

nullable_input = EntryJobType[None, int]("nullable")
assert_type(nullable_input, EntryJobType[None, int, int])

# An entry type is a job type with the same input and output.
as_job_type: JobType[RouteIn, NoOutput] = route
any_job_type: JobType[Any, Any] = fetch


# --- references -------------------------------------------------------------------------

single_reference = JobType[Payload, Handled]("handler-b", continue_with="handler-a")
by_definition = JobType[Payload, Handled]("handler-c", continue_with=handler_a)
many_references = JobType[Payload, Handled](
    "loop", continue_with=[Ref("loop", handler_a), single_reference, "handler-a", InputRef(Payload)]
)
as_tuple = JobType[Payload, Handled]("handler-d", continue_with=("handler-a", handler_a))

assert_type(InputRef(Payload), InputRef[Payload])
assert_type(InputRef(int), InputRef[int])
assert_type(Ref("a", fetch).names, tuple[str, ...])

reference: Reference = Ref("a")
reference = InputRef(Payload)
reference = fetch
reference = "fetch-data"


# --- blocker slots ----------------------------------------------------------------------

blocked = EntryJobType[FetchIn, FetchOut](
    "blocked",
    blockers=[Slot(fetch), Slot(Ref("fetch-data", "other")), Rest(InputRef(FetchIn))],
)
only_rest = JobType[Payload, Handled]("only-rest", blockers=(Rest("fetch-data"),))
slot: BlockerSlot = Slot("fetch-data")
slot = Rest(fetch)


# --- attributes -------------------------------------------------------------------------

assert_type(fetch.name, str)
assert_type(fetch.entry, bool)
assert_type(route.continue_with, tuple[Reference, ...])
assert_type(route.blockers, tuple[BlockerSlot, ...])
assert_type(route.input_type, object | None)
assert_type(route.output_type, object | None)
assert_type(route.has_output, bool | None)


# --- registries -------------------------------------------------------------------------

notifications = define_job_types(EntryJobType[FetchIn, FetchOut]("notifications.send"))
assert_type(notifications, JobTypes)
orders = define_job_types(fetch, route, handler_a, external=notifications)
orders_two = define_job_types(blocked, external=[notifications, orders])


class Hooks:
    """Implements `JobTypesOptions`; parameter names are free because the protocol's are positional-only."""

    def get_type_names(self) -> list[str]:
        return ["fetch-data"]

    def validate_entry(self, name: str) -> None:
        pass

    def parse_input(self, name: str, value: object) -> dict[str, str]:
        return {}

    def parse_output(self, name: str, value: object) -> JsonValue:
        return None

    def validate_continue_with(self, name: str, target: ResolvedRef) -> None:
        pass

    def validate_blockers(self, name: str, blockers: Sequence[ResolvedRef]) -> None:
        pass

    def decode_input(self, name: str, stored: JsonValue) -> FetchIn:
        return {"url": "x"}


options: JobTypesOptions = Hooks()
options = notifications  # a registry provides every hook, so it can be wrapped too
validated = create_job_types(Hooks(), types=[fetch], external=[notifications])
assert_type(validated, JobTypes)
assert_type(validated.parse_input("fetch-data", {"url": "x"}), JsonValue)
assert_type(validated.decode_input("fetch-data", {"url": "x"}), object)
assert_type(validated.get_type_names(), Sequence[str])
assert_type(validated.get_job_type("fetch-data"), JobType[Any, Any] | None)
assert_type(merge_job_types([orders, validated]), JobTypes)
assert_type(merge_job_types(orders), JobTypes)

assert_type(ResolvedRef(type_name="a", input={"x": 1}).input, object)
assert_type(ResolvedRef("a", None).type_name, str)


# --- how signatures elsewhere consume the type arguments ----------------------------------


def start(job_type: EntryJobType[InT, Any, ChainOutT], input: InT) -> ChainOutT:
    raise NotImplementedError


def continue_to(job_type: JobType[InT, Any], input: InT) -> InT:
    raise NotImplementedError


def finish(job_type: JobType[Any, OutT], output: OutT) -> OutT:
    raise NotImplementedError


# TypedDict values are built with their constructor (or an annotated variable): mypy cannot
# infer a type variable shared with a bare dict literal (python/mypy#19201).
assert_type(start(fetch, FetchIn(url="https://example.com")), FetchOut)
assert_type(start(route, RouteIn(route="a")), Handled)
assert_type(start(nullable_input, None), int)
assert_type(continue_to(handler_a, Payload(payload="x")), Payload)
assert_type(finish(handler_a, Handled(handled=True)), Handled)
payload: Payload = {"payload": "x"}
assert_type(continue_to(handler_a, payload), Payload)
