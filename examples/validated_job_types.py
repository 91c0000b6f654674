"""A validated registry: your own hooks check and encode inputs, and decode them again on the way out.

`define_job_types` stores inputs exactly as given, so they must be JSON-native. With
`create_job_types` the inputs can be richer objects (here a dataclass holding a datetime):
`parse_input` turns them into JSON for storage, and `decode_input` turns the stored JSON
back into the object that readers (and handlers) see.

    uv run python examples/validated_job_types.py
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from queuert import (
    EntryJobType,
    JobTypeValidationError,
    JsonValue,
    ResolvedRef,
    create_client,
    create_in_process_state_adapter,
    create_job_types,
    define_job_types,
    transaction_hooks,
)


# --8<-- [start:hooks]
@dataclass(frozen=True)
class Reminder:
    user_id: str
    remind_at: datetime


send_reminder = EntryJobType[Reminder, bool]("reminders.send")


class ReminderHooks:
    """The hooks `create_job_types` calls; an exception in any of them becomes a JobTypeValidationError."""

    def get_type_names(self) -> Sequence[str]:
        return [send_reminder.name]

    def validate_entry(self, type_name: str) -> None:
        pass  # the typed definition below already says it is an entry type

    def parse_input(self, type_name: str, input: object) -> JsonValue:
        if not isinstance(input, Reminder):
            raise TypeError(f"expected a Reminder, got {type(input).__name__}")
        if input.remind_at.tzinfo is None:
            raise ValueError("remind_at must be timezone-aware")
        return {"user_id": input.user_id, "remind_at": input.remind_at.isoformat()}

    def parse_output(self, type_name: str, output: object) -> JsonValue:
        if not isinstance(output, bool):
            raise TypeError("a reminder's output is whether it was delivered")
        return output

    def validate_continue_with(self, type_name: str, target: ResolvedRef) -> None:
        raise ValueError("reminders never continue")

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef]) -> None:
        if blockers:
            raise ValueError("reminders take no blockers")

    def decode_input(self, type_name: str, stored: JsonValue) -> Reminder:
        assert isinstance(stored, dict)
        user_id, remind_at = stored["user_id"], stored["remind_at"]
        assert isinstance(user_id, str)
        assert isinstance(remind_at, str)
        return Reminder(user_id=user_id, remind_at=datetime.fromisoformat(remind_at))


job_types = create_job_types(ReminderHooks(), types=[send_reminder])
# --8<-- [end:hooks]


async def main() -> None:

    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=job_types)

    # --8<-- [start:round-trip]
    reminder = Reminder(user_id="u-1", remind_at=datetime(2030, 1, 1, 9, 0, tzinfo=UTC))
    async with transaction_hooks() as hooks:
        started = await state.with_transaction(
            lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=send_reminder, input=reminder)
        )

    stored = await state.get_job(started.id)  # the raw row, as the database holds it
    chain = await client.get_chain(started.id, job_type=send_reminder)  # decoded for you
    assert stored is not None
    assert chain is not None
    print(f"stored input:  {stored.input}")
    print(f"decoded input: {chain.input!r}")
    # --8<-- [end:round-trip]

    # --8<-- [start:invalid]
    naive = Reminder(user_id="u-2", remind_at=datetime(2030, 1, 1, 9, 0))  # noqa: DTZ001 (on purpose)
    try:
        async with transaction_hooks() as hooks:
            await state.with_transaction(
                lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=send_reminder, input=naive)
            )
    except JobTypeValidationError as error:
        print(f"{error.code}: {error} (caused by {type(error.__cause__).__name__})")
    # --8<-- [end:invalid]

    # --8<-- [start:static]
    # The same definition in a static registry: the Reminder is not JSON, so it is refused.
    static_client = await create_client(state_adapter=state, job_types=define_job_types(send_reminder))
    try:
        async with transaction_hooks() as hooks:
            await state.with_transaction(
                lambda tx: static_client.start_chain(
                    tx_ctx=tx, transaction_hooks=hooks, job_type=send_reminder, input=reminder
                )
            )
    except JobTypeValidationError as error:
        print(f"static registry: {error.code}: {error}")
    # --8<-- [end:static]

    await state.close()


if __name__ == "__main__":
    asyncio.run(main())
