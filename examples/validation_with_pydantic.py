"""Typed job inputs and outputs with pydantic: validated on write, stored as JSON, decoded on read.

`pydantic_job_types` reads the schemas from the type arguments you already give your job
types (`EntryJobType[Resize, Resized]`), so each type is written once. The msgspec adapter
(`queuert.validation.msgspec.msgspec_job_types`) works the same way with `msgspec.Struct`s.

    uv run python examples/validation_with_pydantic.py
"""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError

from queuert import (
    EntryJobType,
    JobTypeValidationError,
    TransactionHooks,
    create_client,
    create_in_process_state_adapter,
    transaction_hooks,
)
from queuert.validation.pydantic import pydantic_job_types


# --8<-- [start:declare]
class Resize(BaseModel):
    image_id: str
    width: Annotated[int, Field(gt=0)]
    requested_at: datetime


class Resized(BaseModel):
    url: str


resize = EntryJobType[Resize, Resized]("images.resize")

job_types = pydantic_job_types(resize)
# --8<-- [end:declare]


async def main() -> None:
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=job_types)

    async def start(request: Any) -> Any:
        async def in_transaction(tx_ctx: Any, hooks: TransactionHooks) -> Any:
            return await client.start_chain(tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=resize, input=request)

        async with transaction_hooks() as hooks:
            return await state.with_transaction(lambda tx_ctx: in_transaction(tx_ctx, hooks))

    # --8<-- [start:round-trip]
    started = await start(Resize(image_id="img-1", width=640, requested_at=datetime(2030, 1, 1, 9, tzinfo=UTC)))
    stored = await state.get_job(started.id)  # what the database holds
    assert stored is not None
    print("stored input: ", stored.input)
    chain = await client.get_chain(started.id, job_type=resize)  # what your code reads
    assert chain is not None
    print("decoded input:", repr(chain.input))
    # --8<-- [end:round-trip]

    # --8<-- [start:invalid]
    try:
        await start({"image_id": "img-2", "width": 0, "requested_at": "2030-01-01T09:00:00Z"})
    except JobTypeValidationError as error:
        cause = error.__cause__
        assert isinstance(cause, ValidationError)  # pydantic's own error is the cause
        print(f"{error.code}: {cause.errors()[0]['msg']}")
    # --8<-- [end:invalid]


asyncio.run(main())
