"""The msgspec validation adapter: the validation conformance suite, and typed structs through a real client."""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, datetime
from typing import Annotated, Any, TypedDict

import msgspec
import pytest

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


class IdIn(msgspec.Struct):
    id: str


class OkOut(msgspec.Struct):
    ok: bool


class DataIn(msgspec.Struct):
    data: str


class AnyDataIn(msgspec.Struct):
    data: Any


class DoneOut(msgspec.Struct):
    done: bool


class RouteIn(msgspec.Struct):
    route: str


class PayloadIn(msgspec.Struct):
    payload: str


class HandledOut(msgspec.Struct):
    handled: bool


class TokenIn(msgspec.Struct):
    token: str


# TypedDicts work as schemas too; the external slices use them.
class UserOut(TypedDict):
    userId: str


class UserIdIn(TypedDict):
    userId: str


class OrderIn(TypedDict):
    orderId: int


class ConfirmedOut(TypedDict):
    confirmedAt: str


class NotificationIn(TypedDict):
    userId: str
    message: str


class SentOut(TypedDict):
    sentAt: str


class ChargeIn(TypedDict):
    amount: float


class ReceiptOut(TypedDict):
    receiptId: str


def build_entry() -> JobTypes:
    return msgspec_job_types(EntryJobType[IdIn, OkOut]("main"))


def build_non_entry() -> JobTypes:
    return msgspec_job_types(JobType[IdIn, OkOut]("internal"))


def build_continuation_only() -> JobTypes:
    return msgspec_job_types(
        EntryJobType[IdIn, NoOutput, DoneOut]("main", continue_with="next"),
        JobType[DataIn, DoneOut]("next"),
    )


def build_nominal_continuation() -> JobTypes:
    return msgspec_job_types(
        EntryJobType[IdIn, NoOutput, DoneOut]("step1", continue_with="step2"),
        JobType[AnyDataIn, DoneOut]("step2"),
    )


def build_structural_continuation() -> JobTypes:
    return msgspec_job_types(
        EntryJobType[RouteIn, NoOutput, HandledOut]("router", continue_with=InputRef(PayloadIn)),
        JobType[PayloadIn, HandledOut]("handler"),
    )


def build_nominal_blockers() -> JobTypes:
    return msgspec_job_types(
        EntryJobType[IdIn, DoneOut]("main", blockers=[Rest("auth")]),
        EntryJobType[TokenIn, UserOut]("auth"),
    )


def build_structural_blockers() -> JobTypes:
    return msgspec_job_types(
        EntryJobType[IdIn, DoneOut]("main", blockers=[Rest(InputRef(TokenIn))]),
        EntryJobType[TokenIn, UserOut]("auth"),
    )


def notifications() -> JobTypes:
    return msgspec_job_types(EntryJobType[NotificationIn, SentOut]("notifications.send-notification"))


def payments() -> JobTypes:
    return msgspec_job_types(EntryJobType[ChargeIn, ReceiptOut]("payments.charge"))


def _orders(blockers: list[Slot], external: list[JobTypes]) -> JobTypes:
    return msgspec_job_types(
        EntryJobType[UserIdIn, NoOutput, ConfirmedOut]("orders.place-order", continue_with="orders.confirm-order"),
        JobType[OrderIn, ConfirmedOut]("orders.confirm-order", blockers=blockers),
        external=external,
    )


def build_with_external_slice() -> JobTypes:
    return _orders([Slot("notifications.send-notification")], [notifications()])


def build_with_external_slices() -> JobTypes:
    return _orders([Slot("notifications.send-notification"), Slot("payments.charge")], [notifications(), payments()])


class TestMsgspecValidationAdapter(ValidationAdapterConformance):
    @pytest.fixture
    def validation_conformance_fixture(self) -> ValidationConformanceFixture:
        return ValidationConformanceFixture(
            build_entry=build_entry,
            build_non_entry=build_non_entry,
            build_continuation_only=build_continuation_only,
            build_nominal_continuation=build_nominal_continuation,
            build_structural_continuation=build_structural_continuation,
            build_nominal_blockers=build_nominal_blockers,
            build_structural_blockers=build_structural_blockers,
            build_with_external_slice=build_with_external_slice,
            build_with_external_slices=build_with_external_slices,
        )


# --- typed structs survive the database round trip -------------------------------------------


class Resize(msgspec.Struct):
    image_id: str
    width: Annotated[int, msgspec.Meta(gt=0)]
    requested_at: datetime
    tags: tuple[str, ...] = ()


class Resized(msgspec.Struct):
    url: str
    finished_at: datetime


resize = EntryJobType[Resize, Resized]("images.resize")


async def test_structs_are_stored_as_json_and_read_back_as_structs() -> None:
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=msgspec_job_types(resize))
    requested = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    original = Resize(image_id="img-1", width=640, requested_at=requested, tags=("a", "b"))

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
        async def produce(_ctx: Any) -> Resized:
            return Resized(url="https://cdn.example/img-1.png", finished_at=finished)

        await completion.complete(completion.job, produce)

    async with transaction_hooks() as hooks:
        await state.with_transaction(
            lambda tx: client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=resize, id=started.id, complete=finish
            )
        )
    done = await client.get_chain(started.id, job_type=resize)
    assert isinstance(done, CompletedChain)
    assert done.output == Resized(url="https://cdn.example/img-1.png", finished_at=finished)


def test_input_is_validated() -> None:
    registry = msgspec_job_types(resize)
    with pytest.raises(JobTypeValidationError) as info:
        registry.parse_input("images.resize", {"image_id": "a", "width": 0, "requested_at": "2025-01-02T00:00:00Z"})
    assert info.value.code == "invalid_input"
    assert isinstance(info.value.__cause__, msgspec.ValidationError)


def test_job_type_without_type_arguments_is_rejected() -> None:
    with pytest.raises(JobTypeDefinitionError, match=r"JobType\[Input, Output\]"):
        msgspec_job_types(EntryJobType("untyped"))


def test_type_msgspec_does_not_support_is_rejected_when_building() -> None:
    with pytest.raises(JobTypeDefinitionError, match="msgspec cannot validate the input type"):
        msgspec_job_types(EntryJobType[type[int], int]("opaque"))


def test_missing_msgspec_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msgspec", None)
    for module in ("msgspec", "_msgspec"):
        monkeypatch.delitem(sys.modules, f"queuert.validation.{module}")
        monkeypatch.delattr(queuert.validation, module, raising=False)
    with pytest.raises(ImportError, match=r"pip install 'queuert\[msgspec\]'"):
        importlib.import_module("queuert.validation.msgspec")
