"""Job types across two slices: references, blocker slots, structural continuations and the runtime checks.

Two slices (`notifications` and `reports`) are merged into one client. Chains wait on
other chains through blocker slots, a router picks its successor through a structural
reference, and the registry refuses what the type checker cannot see. Run it with

    uv run python examples/job_types_and_blockers.py
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypedDict, TypeVar

from queuert import (
    Client,
    CompleteContext,
    ContinuationJob,
    EntryJobType,
    InProcessStateAdapter,
    InProcessTx,
    InputRef,
    JobType,
    JobTypeDefinitionError,
    JobTypeValidationError,
    NoOutput,
    Ref,
    Rest,
    Slot,
    TransactionHooks,
    WorkerlessCompletion,
    create_client,
    create_in_process_state_adapter,
    define_job_types,
    transaction_hooks,
)

ResultT = TypeVar("ResultT")


# --8<-- [start:notifications]
class EmailIn(TypedDict):
    to: str
    subject: str


class SmsIn(TypedDict):
    to: str
    text: str


class Delivered(TypedDict):
    message_id: str


send_email = EntryJobType[EmailIn, Delivered]("notifications.send_email")
send_sms = EntryJobType[SmsIn, Delivered]("notifications.send_sms")

notifications = define_job_types(send_email, send_sms)
# --8<-- [end:notifications]


# --8<-- [start:reports]
class FetchIn(TypedDict):
    source: str


class FetchOut(TypedDict):
    rows: int


class CompileIn(TypedDict):
    title: str


class CompileOut(TypedDict):
    total_rows: int


class AnnounceIn(TypedDict):
    headline: str


class ExportRequest(TypedDict):
    report: str
    format: str


class Export(TypedDict):
    report: str


class Exported(TypedDict):
    location: str


fetch = EntryJobType[FetchIn, FetchOut]("reports.fetch")

# Blocker slots: exactly one `reports.fetch` chain, then any number of further ones.
compile_report = EntryJobType[CompileIn, CompileOut]("reports.compile", blockers=[Slot(fetch), Rest(fetch)])

# A slot may accept several types (`Ref`) and name types of another slice, provided this
# slice declares that slice as `external` below.
announce = EntryJobType[AnnounceIn, None](
    "reports.announce", blockers=[Rest(Ref(send_email, "notifications.send_sms"))]
)

# A structural reference: the router may continue with any job type of this slice whose
# input accepts an `Export`. Which one is decided when the router runs.
export_csv = JobType[Export, Exported]("reports.export_csv")
export_pdf = JobType[Export, Exported]("reports.export_pdf")
route_export = EntryJobType[ExportRequest, NoOutput, Exported]("reports.route_export", continue_with=InputRef(Export))

reports = define_job_types(
    fetch, compile_report, announce, export_csv, export_pdf, route_export, external=notifications
)
# --8<-- [end:reports]


def show_definition_errors() -> None:
    # --8<-- [start:definition-error]
    try:
        define_job_types(
            JobType[FetchIn, FetchOut]("broken.step", continue_with="broken.missing"),
            EntryJobType[FetchIn, NoOutput]("broken.dead_end"),
            EntryJobType[CompileIn, CompileOut]("broken.waits", blockers=[Slot("broken.step")]),
        )
    except JobTypeDefinitionError as error:
        print(error)
    # --8<-- [end:definition-error]


class Demo:
    """The client plus two helpers that keep the sections below short."""

    def __init__(self, state: InProcessStateAdapter, client: Client[InProcessTx]) -> None:
        self.state = state
        self.client = client

    async def in_transaction(self, fn: Callable[[InProcessTx, TransactionHooks], Awaitable[ResultT]]) -> ResultT:
        async with transaction_hooks() as hooks:
            return await self.state.with_transaction(lambda tx: fn(tx, hooks))

    async def finish(self, chain_id: str, job_type: EntryJobType[Any, Any, Any], output: object) -> None:
        """Complete a one-job chain with `output`, as a worker would."""

        async def produce(ctx: CompleteContext[InProcessTx]) -> object:
            return output

        async def complete(completion: WorkerlessCompletion[InProcessTx]) -> None:
            await completion.complete(completion.job, produce)

        await self.in_transaction(
            lambda tx, hooks: self.client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=job_type, id=chain_id, complete=complete
            )
        )

    async def status_of(self, chain_id: str) -> str:
        chain = await self.client.get_chain(chain_id)
        return chain.status if chain is not None else "missing"


async def blockers(demo: Demo) -> None:
    client = demo.client

    # --8<-- [start:blockers]
    async def start_report(tx: InProcessTx, hooks: TransactionHooks) -> list[str]:
        sales = await client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=fetch, input=FetchIn(source="sales")
        )
        stock = await client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=fetch, input=FetchIn(source="stock")
        )
        # Blockers are the chains themselves (what start_chain returned), in slot order.
        report = await client.start_chain(
            tx_ctx=tx,
            transaction_hooks=hooks,
            job_type=compile_report,
            input=CompileIn(title="weekly"),
            blockers=[sales, stock],
        )
        print(f"report chain is {report.status}")
        return [sales.id, stock.id, report.id]

    sales_id, stock_id, report_id = await demo.in_transaction(start_report)

    await demo.finish(sales_id, fetch, FetchOut(rows=120))
    print(f"one fetch done, report is {await demo.status_of(report_id)}")
    await demo.finish(stock_id, fetch, FetchOut(rows=30))
    print(f"both fetches done, report is {await demo.status_of(report_id)}")

    for blocker in await client.get_job_blockers(report_id):
        if blocker.status == "completed":
            print(f"  blocker {blocker.type_name} {blocker.input} -> {blocker.output}")
    # --8<-- [end:blockers]

    # --8<-- [start:wrong-blockers]
    try:
        await demo.in_transaction(
            lambda tx, hooks: client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=compile_report, input=CompileIn(title="empty")
            )
        )
    except JobTypeValidationError as error:
        print(f"{error.code}: {error}")
    # --8<-- [end:wrong-blockers]

    # --8<-- [start:external]
    async def start_announcement(tx: InProcessTx, hooks: TransactionHooks) -> str:
        email = await client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=send_email, input=EmailIn(to="team@example.com", subject="Hi")
        )
        sms = await client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=send_sms, input=SmsIn(to="+100", text="Hi")
        )
        announcement = await client.start_chain(
            tx_ctx=tx,
            transaction_hooks=hooks,
            job_type=announce,
            input=AnnounceIn(headline="Weekly report is out"),
            blockers=[email, sms],
        )
        return announcement.status

    print(f"announcement waiting on an e-mail and an SMS chain: {await demo.in_transaction(start_announcement)}")
    # --8<-- [end:external]


async def structural(demo: Demo) -> None:
    client = demo.client

    # --8<-- [start:structural]
    started = await demo.in_transaction(
        lambda tx, hooks: client.start_chain(
            tx_ctx=tx,
            transaction_hooks=hooks,
            job_type=route_export,
            input=ExportRequest(report="weekly", format="pdf"),
        )
    )

    async def route(completion: WorkerlessCompletion[InProcessTx]) -> None:
        request = completion.job.input
        target = export_pdf if request["format"] == "pdf" else export_csv

        async def hand_off(ctx: CompleteContext[InProcessTx]) -> ContinuationJob[Export]:
            return await ctx.continue_with(target, input=Export(report=request["report"]))

        await completion.complete(completion.job, hand_off)

    await demo.in_transaction(
        lambda tx, hooks: client.complete_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=route_export, id=started.id, complete=route
        )
    )
    jobs = await client.list_chain_jobs(started.id)
    print(f"router continued with {jobs.items[-1].type_name}")
    # --8<-- [end:structural]


async def runtime_checks(demo: Demo) -> None:
    client = demo.client

    # --8<-- [start:runtime-checks]
    # The type checker accepts this continuation (the input fits `reports.fetch`), but the
    # router does not list `reports.fetch`: the registry refuses it at run time.
    other = await demo.in_transaction(
        lambda tx, hooks: client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=route_export, input=ExportRequest(report="x", format="csv")
        )
    )

    async def stray(completion: WorkerlessCompletion[InProcessTx]) -> None:
        async def hand_off(ctx: CompleteContext[InProcessTx]) -> ContinuationJob[FetchIn]:
            return await ctx.continue_with(fetch, input=FetchIn(source="oops"))

        await completion.complete(completion.job, hand_off)

    try:
        await demo.in_transaction(
            lambda tx, hooks: client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=route_export, id=other.id, complete=stray
            )
        )
    except JobTypeValidationError as error:
        print(f"{error.code}: {error}")

    # Inputs must be JSON-native: a datetime is refused before anything is written.
    try:
        await demo.in_transaction(
            lambda tx, hooks: client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type="reports.fetch", input={"source": datetime.now(UTC)}
            )
        )
    except JobTypeValidationError as error:
        print(f"{error.code} at {error.details['path']}")
    # --8<-- [end:runtime-checks]


async def main() -> None:
    show_definition_errors()
    state = await create_in_process_state_adapter()
    # --8<-- [start:client]
    client = await create_client(state_adapter=state, job_types=[notifications, reports])
    # --8<-- [end:client]
    demo = Demo(state, client)
    await blockers(demo)
    await structural(demo)
    await runtime_checks(demo)
    await state.close()


if __name__ == "__main__":
    asyncio.run(main())
