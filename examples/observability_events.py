"""Log entries and observability hooks: what is emitted, when, and what a rollback keeps back.

The client gets a console log writing to stdout and a small observability adapter that
counts the hooks it receives. One chain is started and completed; another start rolls
back, and a third is refused by the registry.

    uv run python examples/observability_events.py
"""

import asyncio
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict

from queuert import (
    CompleteContext,
    EntryJobType,
    InProcessTx,
    JobTypeValidationError,
    ObservabilityAdapter,
    WorkerlessCompletion,
    create_client,
    create_console_log,
    create_in_process_state_adapter,
    create_logging_log,
    define_job_types,
    transaction_hooks,
)
from queuert.adapters import ChainData, JobData, JobProcessingData


class PingIn(TypedDict):
    host: str


ping = EntryJobType[PingIn, int]("monitoring.ping")


# --8<-- [start:adapter]
class CountingAdapter(ObservabilityAdapter):
    """Override only the hooks you need; every other hook does nothing."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.durations_ms: list[float] = []

    def chain_created(self, chain: ChainData, *, input: object) -> None:
        self.counts[f"chain_created:{chain.type_name}"] += 1

    def job_created(
        self,
        job: JobData,
        *,
        input: object,
        blockers: Sequence[ChainData],
        scheduled_at: datetime | None = None,
        schedule_after_ms: float | None = None,
    ) -> None:
        self.counts[f"job_created:{job.type_name}"] += 1

    def chain_completed(self, chain: ChainData, *, output: object) -> None:
        self.counts[f"chain_completed:{chain.type_name}"] += 1

    def job_duration(self, job: JobProcessingData, *, duration_ms: float) -> None:
        self.durations_ms.append(duration_ms)


# --8<-- [end:adapter]


class Refused(Exception):
    pass


async def main() -> None:
    # --8<-- [start:client]
    adapter = CountingAdapter()
    state = await create_in_process_state_adapter()
    client = await create_client(
        state_adapter=state,
        job_types=define_job_types(ping),
        observability_adapter=adapter,
        log=create_console_log(sys.stdout),
    )
    # --8<-- [end:client]

    print("--- start and complete a chain")
    async with transaction_hooks() as hooks:
        started = await state.with_transaction(
            lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=ping, input=PingIn(host="db1"))
        )

    async def answer(ctx: CompleteContext[InProcessTx]) -> int:
        return 12

    async def complete(completion: WorkerlessCompletion[InProcessTx]) -> None:
        await completion.complete(completion.job, answer, job_type=ping)

    async with transaction_hooks() as hooks:
        await state.with_transaction(
            lambda tx: client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=ping, id=started.id, complete=complete
            )
        )

    print("--- a start that rolls back emits nothing")
    try:
        async with transaction_hooks() as hooks:

            async def rolled_back(tx: InProcessTx) -> None:
                await client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=ping, input=PingIn(host="db2"))
                raise Refused("rolled back on purpose")

            await state.with_transaction(rolled_back)
    except Refused:
        pass

    print("--- a validation error is logged at once (nothing was written)")
    try:
        async with transaction_hooks() as hooks:
            await state.with_transaction(
                lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type="monitoring.ping", input=())
            )
    except JobTypeValidationError:
        pass

    print(f"--- adapter counts: {dict(adapter.counts)}, job durations recorded: {len(adapter.durations_ms)}")

    # --8<-- [start:logging]
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logged = await create_client(state_adapter=state, job_types=define_job_types(ping), log=create_logging_log())
    async with transaction_hooks() as hooks:
        await state.with_transaction(
            lambda tx: logged.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=ping, input=PingIn(host="db3"))
        )
    # --8<-- [end:logging]

    await state.close()


if __name__ == "__main__":
    asyncio.run(main())
