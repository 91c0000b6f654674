"""Job type misuse that `mypy --strict` must reject, one `# E: <code>` per offending line.

Checked by `tests/test_typing.py`; never executed.
"""

from __future__ import annotations

from typing import Any, TypedDict, TypeVar

from queuert._job_types import (
    EntryJobType,
    InputRef,
    JobType,
    NoOutput,
    Ref,
    ResolvedRef,
    Rest,
    Slot,
    create_job_types,
    define_job_types,
)

InT = TypeVar("InT")
OutT = TypeVar("OutT")
ChainOutT = TypeVar("ChainOutT")


class FetchIn(TypedDict):
    url: str


class FetchOut(TypedDict):
    body: str


class Payload(TypedDict):
    payload: str


class Handled(TypedDict):
    handled: bool


fetch = EntryJobType[FetchIn, FetchOut]("fetch-data")
handler = JobType[Payload, Handled]("handler")
route = EntryJobType[Payload, NoOutput, Handled]("router", continue_with=handler)

# --- definitions ------------------------------------------------------------------------

JobType[Payload, Handled](123)  # E: arg-type
JobType[Payload, Handled]("x", continue_with=[123])  # E: list-item
JobType[Payload, Handled]("x", continue_with=Slot(fetch))  # E: arg-type
JobType[Payload, Handled]("x", blockers=[fetch])  # E: list-item
JobType[Payload, Handled]("x", blockers=["fetch-data"])  # E: list-item
JobType[Payload, Handled]("x", entry=True)  # E: call-arg
unsubscripted = JobType("x")  # E: var-annotated
EntryJobType[Payload]("x")  # E: misc

# --- references and slots ---------------------------------------------------------------

Slot(42)  # E: arg-type
Rest(Slot(fetch))  # E: arg-type
Ref(InputRef(Payload))  # E: arg-type
InputRef("payload")  # E: arg-type
ResolvedRef("x")  # E: call-arg

# --- the ChainOutT default and entry-ness ------------------------------------------------

wrong_chain_output: EntryJobType[FetchIn, FetchOut, Handled] = EntryJobType[FetchIn, FetchOut]("y")  # E: assignment
not_an_entry: EntryJobType[Payload, Handled] = handler  # E: assignment
wrong_input: JobType[FetchIn, FetchOut] = EntryJobType[Payload, FetchOut]("z")  # E: assignment

# --- attributes are read-only ------------------------------------------------------------

fetch.name = "other"  # E: misc

# --- registries -------------------------------------------------------------------------

define_job_types("fetch-data")  # E: arg-type
define_job_types(fetch, external=[fetch])  # E: list-item
create_job_types(object())  # E: arg-type


class MissingHooks:
    def get_type_names(self) -> list[str]:
        return []

    def validate_entry(self, type_name: str) -> None:
        pass


create_job_types(MissingHooks())  # E: arg-type

# --- how signatures elsewhere consume the type arguments ----------------------------------


def start(job_type: EntryJobType[InT, Any, ChainOutT], input: InT) -> ChainOutT:
    raise NotImplementedError


def finish(job_type: JobType[Any, OutT], output: OutT) -> OutT:
    raise NotImplementedError


start(handler, Payload(payload="x"))  # E: arg-type
start(fetch, Payload(payload="x"))  # E: misc
finish(route, Handled(handled=True))  # E: misc
finish(handler, Handled(handled="yes"))  # E: typeddict-item
finish(handler, FetchOut(body="x"))  # E: misc
