"""The pydantic validation adapter: the validation conformance suite, and typed models through a real client."""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

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
from queuert.validation.pydantic import pydantic_job_types


class Strict(BaseModel):
    # Strict, like the schemas upstream's suite is written for: "yes" is not a bool.
    model_config = ConfigDict(strict=True)


class IdIn(Strict):
    id: str


class OkOut(Strict):
    ok: bool


class DataIn(Strict):
    data: str


class AnyDataIn(Strict):
    data: Any


class DoneOut(Strict):
    done: bool


class RouteIn(Strict):
    route: str


class PayloadIn(Strict):
    payload: str


class HandledOut(Strict):
    handled: bool


class TokenIn(Strict):
    token: str


class UserOut(Strict):
    userId: str


class UserIdIn(Strict):
    userId: str


class OrderIn(Strict):
    orderId: int


class ConfirmedOut(Strict):
    confirmedAt: str


class NotificationIn(Strict):
    userId: str
    message: str


class SentOut(Strict):
    sentAt: str


class ChargeIn(Strict):
    amount: float


class ReceiptOut(Strict):
    receiptId: str


def build_entry() -> JobTypes:
    return pydantic_job_types(EntryJobType[IdIn, OkOut]("main"))


def build_non_entry() -> JobTypes:
    return pydantic_job_types(JobType[IdIn, OkOut]("internal"))


def build_continuation_only() -> JobTypes:
    return pydantic_job_types(
        EntryJobType[IdIn, NoOutput, DoneOut]("main", continue_with="next"),
        JobType[DataIn, DoneOut]("next"),
    )


def build_nominal_continuation() -> JobTypes:
    return pydantic_job_types(
        EntryJobType[IdIn, NoOutput, DoneOut]("step1", continue_with="step2"),
        JobType[AnyDataIn, DoneOut]("step2"),
    )


def build_structural_continuation() -> JobTypes:
    return pydantic_job_types(
        EntryJobType[RouteIn, NoOutput, HandledOut]("router", continue_with=InputRef(PayloadIn)),
        JobType[PayloadIn, HandledOut]("handler"),
    )


def build_nominal_blockers() -> JobTypes:
    return pydantic_job_types(
        EntryJobType[IdIn, DoneOut]("main", blockers=[Rest("auth")]),
        EntryJobType[TokenIn, UserOut]("auth"),
    )


def build_structural_blockers() -> JobTypes:
    return pydantic_job_types(
        EntryJobType[IdIn, DoneOut]("main", blockers=[Rest(InputRef(TokenIn))]),
        EntryJobType[TokenIn, UserOut]("auth"),
    )


def notifications() -> JobTypes:
    return pydantic_job_types(EntryJobType[NotificationIn, SentOut]("notifications.send-notification"))


def payments() -> JobTypes:
    return pydantic_job_types(EntryJobType[ChargeIn, ReceiptOut]("payments.charge"))


def _orders(blockers: list[Slot], external: list[JobTypes]) -> JobTypes:
    return pydantic_job_types(
        EntryJobType[UserIdIn, NoOutput, ConfirmedOut]("orders.place-order", continue_with="orders.confirm-order"),
        JobType[OrderIn, ConfirmedOut]("orders.confirm-order", blockers=blockers),
        external=external,
    )


def build_with_external_slice() -> JobTypes:
    return _orders([Slot("notifications.send-notification")], [notifications()])


def build_with_external_slices() -> JobTypes:
    return _orders([Slot("notifications.send-notification"), Slot("payments.charge")], [notifications(), payments()])


class TestPydanticValidationAdapter(ValidationAdapterConformance):
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


# --- typed models survive the database round trip -------------------------------------------


class Resize(BaseModel):
    image_id: str
    width: Annotated[int, Field(gt=0)]
    requested_at: datetime


class Resized(BaseModel):
    url: str
    finished_at: datetime


resize = EntryJobType[Resize, Resized]("images.resize")


async def test_models_are_stored_as_json_and_read_back_as_models() -> None:
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=pydantic_job_types(resize))
    requested = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    async def start(tx_ctx: Any, hooks: TransactionHooks) -> Any:
        return await client.start_chain(
            tx_ctx=tx_ctx,
            transaction_hooks=hooks,
            job_type=resize,
            input=Resize(image_id="img-1", width=640, requested_at=requested),
        )

    async with transaction_hooks() as hooks:
        started = await state.with_transaction(lambda tx: start(tx, hooks))
    stored = await state.get_job(started.id)
    assert stored is not None
    assert stored.input == {"image_id": "img-1", "width": 640, "requested_at": "2025-01-02T03:04:05Z"}

    chain = await client.get_chain(started.id, job_type=resize)
    assert isinstance(chain, PendingChain)
    assert chain.input == Resize(image_id="img-1", width=640, requested_at=requested)

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
    job = await client.get_job(started.id, job_type=resize)
    assert job is not None
    assert isinstance(job.input, Resize)


def test_input_is_validated_and_normalised() -> None:
    registry = pydantic_job_types(resize)
    stored = registry.parse_input("images.resize", {"image_id": "a", "width": "640", "requested_at": "2025-01-02"})
    assert stored == {"image_id": "a", "width": 640, "requested_at": "2025-01-02T00:00:00"}
    with pytest.raises(JobTypeValidationError) as info:
        registry.parse_input("images.resize", {"image_id": "a", "width": 0, "requested_at": "2025-01-02"})
    assert info.value.code == "invalid_input"
    assert "greater than 0" in str(info.value)


def test_plain_types_and_typed_dicts_work_as_schemas() -> None:
    registry = pydantic_job_types(EntryJobType[list[int], dict[str, float]]("numbers"))
    assert registry.parse_input("numbers", (1, 2)) == [1, 2]
    assert registry.decode_output("numbers", {"x": 1}) == {"x": 1.0}


def test_job_type_without_type_arguments_is_rejected() -> None:
    with pytest.raises(JobTypeDefinitionError, match=r"JobType\[Input, Output\]"):
        pydantic_job_types(EntryJobType("untyped"))


def test_type_pydantic_cannot_handle_is_rejected_when_building() -> None:
    class Opaque:
        pass

    with pytest.raises(JobTypeDefinitionError, match="pydantic cannot validate the input type"):
        pydantic_job_types(EntryJobType[Opaque, int]("opaque"))


def test_missing_pydantic_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pydantic", None)
    for module in ("pydantic", "_pydantic"):
        monkeypatch.delitem(sys.modules, f"queuert.validation.{module}")
        monkeypatch.delattr(queuert.validation, module, raising=False)
    with pytest.raises(ImportError, match=r"pip install 'queuert\[pydantic\]'"):
        importlib.import_module("queuert.validation.pydantic")
