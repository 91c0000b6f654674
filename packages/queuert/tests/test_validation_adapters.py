"""The msgspec and pydantic validation adapters: the conformance suite, and typed values through a real client.

Every shared test runs once per library. The conformance schemas are written once, as the
JSON shapes `ValidationConformanceFixture` describes, and built as each library's own
schema classes: msgspec structs (with TypedDicts for the external slices, which msgspec
accepts too) and strict pydantic models.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypedDict

import msgspec
import pydantic
import pytest
from pydantic import BaseModel, ConfigDict, Field

import queuert.validation
from queuert import (
    CompletedChain,
    EntryJobType,
    InputRef,
    JobType,
    JobTypeDefinitionError,
    JobTypes,
    JobTypeValidationError,
    NoOutput,
    PendingChain,
    Rest,
    Slot,
    TransactionHooks,
    create_client,
    create_in_process_state_adapter,
    transaction_hooks,
)
from queuert.conformance import ValidationConformanceFixture
from queuert.conformance.pytest import ValidationAdapterConformance
from queuert.validation.msgspec import msgspec_job_types
from queuert.validation.pydantic import pydantic_job_types

if TYPE_CHECKING:
    from collections.abc import Callable

# --- the conformance schemas, once -----------------------------------------------------------

Shapes: TypeAlias = dict[str, dict[str, Any]]
"""Schema name -> its fields."""

# By the builders that use them first.
ENTRY: Shapes = {"IdIn": {"id": str}, "OkOut": {"ok": bool}}
CONTINUATIONS: Shapes = {"DoneOut": {"done": bool}, "DataIn": {"data": str}, "AnyDataIn": {"data": Any}}
ROUTING: Shapes = {"RouteIn": {"route": str}, "PayloadIn": {"payload": str}, "HandledOut": {"handled": bool}}
BLOCKERS: Shapes = {"TokenIn": {"token": str}, "UserOut": {"userId": str}}
ORDERS: Shapes = {"UserIdIn": {"userId": str}, "OrderIn": {"orderId": int}, "ConfirmedOut": {"confirmedAt": str}}
NOTIFICATIONS: Shapes = {"NotificationIn": {"userId": str, "message": str}, "SentOut": {"sentAt": str}}
PAYMENTS: Shapes = {"ChargeIn": {"amount": float}, "ReceiptOut": {"receiptId": str}}

SHAPES: Shapes = ENTRY | CONTINUATIONS | ROUTING | BLOCKERS | ORDERS | NOTIFICATIONS | PAYMENTS
"""Every schema the conformance builders use."""

TYPED_DICTS = frozenset({"UserOut", *ORDERS, *NOTIFICATIONS, *PAYMENTS})
"""The schemas msgspec gets as TypedDicts, which it validates too: those of the external slices."""

_typed_dict: Any = TypedDict  # called with a computed name, which mypy only allows through Any


class Strict(BaseModel):
    # Strict, like the schemas upstream's suite is written for: "yes" is not a bool.
    model_config = ConfigDict(strict=True)


def msgspec_schema(name: str, fields: dict[str, Any]) -> type:
    """A msgspec struct; TypedDicts for the external slices (msgspec validates those too)."""
    if name in TYPED_DICTS:
        typed_dict: type = _typed_dict(name, fields)
        return typed_dict
    return msgspec.defstruct(name, list(fields.items()))


def pydantic_schema(name: str, fields: dict[str, Any]) -> type:
    """A strict pydantic model."""
    definitions: dict[str, Any] = {field: (annotation, ...) for field, annotation in fields.items()}
    return pydantic.create_model(name, __base__=Strict, **definitions)


def build_fixture(job_types: Callable[..., JobTypes], s: Any) -> ValidationConformanceFixture:
    """The conformance builders over the schema classes in `s`, registered with `job_types`."""

    def notifications() -> JobTypes:
        return job_types(EntryJobType[s.NotificationIn, s.SentOut]("notifications.send-notification"))

    def payments() -> JobTypes:
        return job_types(EntryJobType[s.ChargeIn, s.ReceiptOut]("payments.charge"))

    def orders(blockers: list[Slot], external: list[JobTypes]) -> JobTypes:
        return job_types(
            EntryJobType[s.UserIdIn, NoOutput, s.ConfirmedOut](
                "orders.place-order", continue_with="orders.confirm-order"
            ),
            JobType[s.OrderIn, s.ConfirmedOut]("orders.confirm-order", blockers=blockers),
            external=external,
        )

    return ValidationConformanceFixture(
        build_entry=lambda: job_types(EntryJobType[s.IdIn, s.OkOut]("main")),
        build_non_entry=lambda: job_types(JobType[s.IdIn, s.OkOut]("internal")),
        build_continuation_only=lambda: job_types(
            EntryJobType[s.IdIn, NoOutput, s.DoneOut]("main", continue_with="next"),
            JobType[s.DataIn, s.DoneOut]("next"),
        ),
        build_nominal_continuation=lambda: job_types(
            EntryJobType[s.IdIn, NoOutput, s.DoneOut]("step1", continue_with="step2"),
            JobType[s.AnyDataIn, s.DoneOut]("step2"),
        ),
        build_structural_continuation=lambda: job_types(
            EntryJobType[s.RouteIn, NoOutput, s.HandledOut]("router", continue_with=InputRef(s.PayloadIn)),
            JobType[s.PayloadIn, s.HandledOut]("handler"),
        ),
        build_nominal_blockers=lambda: job_types(
            EntryJobType[s.IdIn, s.DoneOut]("main", blockers=[Rest("auth")]),
            EntryJobType[s.TokenIn, s.UserOut]("auth"),
        ),
        build_structural_blockers=lambda: job_types(
            EntryJobType[s.IdIn, s.DoneOut]("main", blockers=[Rest(InputRef(s.TokenIn))]),
            EntryJobType[s.TokenIn, s.UserOut]("auth"),
        ),
        build_with_external_slice=lambda: orders([Slot("notifications.send-notification")], [notifications()]),
        build_with_external_slices=lambda: orders(
            [Slot("notifications.send-notification"), Slot("payments.charge")], [notifications(), payments()]
        ),
    )


# --- typed values for the round trip -----------------------------------------------------------


class MsgspecResize(msgspec.Struct):
    image_id: str
    width: Annotated[int, msgspec.Meta(gt=0)]
    requested_at: datetime
    tags: tuple[str, ...] = ()


class MsgspecResized(msgspec.Struct):
    url: str
    finished_at: datetime


class PydanticResize(BaseModel):
    image_id: str
    width: Annotated[int, Field(gt=0)]
    requested_at: datetime
    tags: tuple[str, ...] = ()


class PydanticResized(BaseModel):
    url: str
    finished_at: datetime


class Opaque:
    """A plain class: pydantic has no schema for it."""


@dataclass(frozen=True)
class Library:
    name: str
    job_types: Callable[..., JobTypes]
    schema: Callable[[str, dict[str, Any]], type]
    """Builds one conformance schema from its shape."""
    types: Any
    """`Resize` and `Resized` for the round trip, and `Unsupported`: an input type the library cannot validate."""
    validation_error: type[Exception]

    def conformance_fixture(self) -> ValidationConformanceFixture:
        schemas = SimpleNamespace(**{name: self.schema(name, fields) for name, fields in SHAPES.items()})
        return build_fixture(self.job_types, schemas)

    def resize_job_type(self) -> EntryJobType[Any, Any]:
        t: Any = self.types
        return EntryJobType[t.Resize, t.Resized]("images.resize")


MSGSPEC = Library(
    name="msgspec",
    job_types=msgspec_job_types,
    schema=msgspec_schema,
    types=SimpleNamespace(Resize=MsgspecResize, Resized=MsgspecResized, Unsupported=type[int]),
    validation_error=msgspec.ValidationError,
)
PYDANTIC = Library(
    name="pydantic",
    job_types=pydantic_job_types,
    schema=pydantic_schema,
    types=SimpleNamespace(Resize=PydanticResize, Resized=PydanticResized, Unsupported=Opaque),
    validation_error=pydantic.ValidationError,
)
LIBRARIES = [pytest.param(MSGSPEC, id="msgspec"), pytest.param(PYDANTIC, id="pydantic")]


class TestValidationAdapters(ValidationAdapterConformance):
    @pytest.fixture(params=LIBRARIES)
    def validation_conformance_fixture(self, request: pytest.FixtureRequest) -> ValidationConformanceFixture:
        library: Library = request.param
        return library.conformance_fixture()


# --- typed values survive the database round trip ----------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES)
async def test_typed_values_are_stored_as_json_and_read_back_typed(library: Library) -> None:
    resize = library.resize_job_type()
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=library.job_types(resize))
    requested = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    original = library.types.Resize(image_id="img-1", width=640, requested_at=requested, tags=("a", "b"))

    async def start(tx_ctx: Any, hooks: TransactionHooks) -> Any:
        return await client.start_chain(tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=resize, input=original)

    async with transaction_hooks() as hooks:
        started = await state.with_transaction(lambda tx: start(tx, hooks))
    stored = await state.get_job(started.id)
    assert stored is not None
    assert stored.input == {
        "image_id": "img-1",
        "width": 640,
        "requested_at": "2025-01-02T03:04:05Z",
        "tags": ["a", "b"],
    }

    chain = await client.get_chain(started.id, job_type=resize)
    assert isinstance(chain, PendingChain)
    assert chain.input == original

    finished = datetime(2025, 1, 2, 3, 5, tzinfo=UTC)

    async def finish(completion: Any) -> None:
        async def produce(_ctx: Any) -> Any:
            return library.types.Resized(url="https://cdn.example/img-1.png", finished_at=finished)

        await completion.complete(completion.job, produce)

    async with transaction_hooks() as hooks:
        await state.with_transaction(
            lambda tx: client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=resize, id=started.id, complete=finish
            )
        )
    done = await client.get_chain(started.id, job_type=resize)
    assert isinstance(done, CompletedChain)
    assert done.output == library.types.Resized(url="https://cdn.example/img-1.png", finished_at=finished)
    job = await client.get_job(started.id, job_type=resize)
    assert job is not None
    assert isinstance(job.input, library.types.Resize)


@pytest.mark.parametrize("library", LIBRARIES)
def test_input_is_validated(library: Library) -> None:
    registry = library.job_types(library.resize_job_type())
    with pytest.raises(JobTypeValidationError) as info:
        registry.parse_input("images.resize", {"image_id": "a", "width": 0, "requested_at": "2025-01-02T00:00:00Z"})
    assert info.value.code == "invalid_input"
    assert isinstance(info.value.__cause__, library.validation_error)


def test_pydantic_normalises_input_and_explains_a_rejection() -> None:
    registry = pydantic_job_types(PYDANTIC.resize_job_type())
    stored = registry.parse_input("images.resize", {"image_id": "a", "width": "640", "requested_at": "2025-01-02"})
    assert stored == {"image_id": "a", "width": 640, "requested_at": "2025-01-02T00:00:00", "tags": []}
    with pytest.raises(JobTypeValidationError) as info:
        registry.parse_input("images.resize", {"image_id": "a", "width": 0, "requested_at": "2025-01-02"})
    assert info.value.code == "invalid_input"
    assert "greater than 0" in str(info.value)


def test_pydantic_takes_plain_types_and_typed_dicts_as_schemas() -> None:
    registry = pydantic_job_types(EntryJobType[list[int], dict[str, float]]("numbers"))
    assert registry.parse_input("numbers", (1, 2)) == [1, 2]
    assert registry.decode_output("numbers", {"x": 1}) == {"x": 1.0}


@pytest.mark.parametrize("library", LIBRARIES)
def test_job_type_without_type_arguments_is_rejected(library: Library) -> None:
    with pytest.raises(JobTypeDefinitionError, match=r"JobType\[Input, Output\]"):
        library.job_types(EntryJobType("untyped"))


@pytest.mark.parametrize("library", LIBRARIES)
def test_type_the_library_cannot_validate_is_rejected_when_building(library: Library) -> None:
    t: Any = library.types
    opaque = EntryJobType[t.Unsupported, int]("opaque")
    with pytest.raises(JobTypeDefinitionError, match=f"{library.name} cannot validate the input type"):
        library.job_types(opaque)


@pytest.mark.parametrize("library", LIBRARIES)
def test_missing_library_gives_an_install_hint(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, library.name, None)
    for module in (library.name, f"_{library.name}"):
        monkeypatch.delitem(sys.modules, f"queuert.validation.{module}")
        monkeypatch.delattr(queuert.validation, module, raising=False)
    with pytest.raises(ImportError, match=rf"pip install 'queuert\[{library.name}\]'"):
        importlib.import_module(f"queuert.validation.{library.name}")
