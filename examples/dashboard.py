"""The dashboard over a SQLite store with a worker running: browse, trigger and delete chains.

A few chains are started in every state: finished, continued, blocked on others, failing and
retrying, and scheduled an hour from now (trigger it from its job page). The dashboard is
mounted under `/queuert` in a host Starlette app, as you would mount it in your own.

    uv run python examples/dashboard.py            # then open http://127.0.0.1:3333/queuert/
    uv run python examples/dashboard.py --check    # serve, fetch a few pages, stop
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any, TypedDict

import aiosqlite
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from queuert import (
    AttemptContext,
    AttemptResult,
    CompleteContext,
    ContinuationJob,
    EntryJobType,
    JobType,
    NoOutput,
    Processor,
    ScheduleAfter,
    Slot,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert_dashboard import create_dashboard
from queuert_sqlite import create_aiosqlite_provider, create_sqlite_state_adapter

Tx = aiosqlite.Connection


class Report(TypedDict):
    month: str


class Published(TypedDict):
    url: str


class Invoice(TypedDict):
    invoice_id: int


class Sent(TypedDict):
    sent: bool


build_report = EntryJobType[Report, NoOutput, Published]("reports.build", continue_with="reports.publish")
publish_report = JobType[Report, Published]("reports.publish")
send_invoice = EntryJobType[Invoice, Sent]("invoices.send")
monthly_digest = EntryJobType[Report, Published]("digests.monthly", blockers=[Slot(build_report)])
job_types = define_job_types(build_report, publish_report, send_invoice, monthly_digest)


async def handle_build(ctx: AttemptContext[Tx, Report, NoOutput]) -> AttemptResult[Report, NoOutput]:
    async def hand_over(complete: CompleteContext[Tx]) -> ContinuationJob[Report]:
        return await complete.continue_with(publish_report, input=ctx.job.input)

    return await ctx.complete(hand_over)


async def handle_publish(ctx: AttemptContext[Tx, Report, Published]) -> AttemptResult[Report, Published]:
    async def published(_: CompleteContext[Tx]) -> Published:
        return Published(url=f"https://reports.example/{ctx.job.input['month']}")

    return await ctx.complete(published)


async def handle_invoice(ctx: AttemptContext[Tx, Invoice, Sent]) -> AttemptResult[Invoice, Sent]:
    if ctx.job.input["invoice_id"] == 13:
        # Fails on every attempt: its job page shows the error and the attempts.
        raise RuntimeError("the mail server refused invoice 13")

    async def sent(_: CompleteContext[Tx]) -> Sent:
        return Sent(sent=True)

    return await ctx.complete(sent)


async def handle_digest(ctx: AttemptContext[Tx, Report, Published]) -> AttemptResult[Report, Published]:
    [report] = ctx.job.blockers

    async def published(_: CompleteContext[Tx]) -> Published:
        return Published(url=f"{report.output['url']}/digest")

    return await ctx.complete(published)


async def check(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        chains = (await http.get("api/chains", params={"root": "false"})).json()["items"]
        completed = sum(chain["status"] == "completed" for chain in chains)
        blocked = [chain["input"]["month"] for chain in chains if chain["status"] == "blocked"]
        print(f"api: {len(chains)} chains, {completed} completed, blocked: {blocked}")
        page = (await http.get("jobs")).text
        served_under_prefix = '<base href="/queuert/" />' in page
        print(f"page: served under /queuert/: {served_under_prefix}")


async def main(port: int, check_only: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="queuert-dashboard-") as folder:
        provider = await create_aiosqlite_provider(Path(folder) / "app.db")
        state = await create_sqlite_state_adapter(state_provider=provider)
        await state.migrate_to_latest()
        notify = await create_in_process_notify_adapter()
        client = await create_client(state_adapter=state, notify_adapter=notify, job_types=job_types)

        async def start(job_type: Any, input: Any, **options: Any) -> Any:
            async with transaction_hooks() as hooks, provider.transaction() as conn:
                return await client.start_chain(
                    tx_ctx=conn, transaction_hooks=hooks, job_type=job_type, input=input, **options
                )

        november = await start(build_report, Report(month="2026-11"))
        digest = await start(monthly_digest, Report(month="2026-11"), blockers=[november])
        in_an_hour = ScheduleAfter(3_600_000)
        december = await start(build_report, Report(month="2026-12"), schedule=in_an_hour)
        await start(monthly_digest, Report(month="2026-12"), blockers=[december])
        invoices = [await start(send_invoice, Invoice(invoice_id=invoice_id)) for invoice_id in (12, 13)]

        processors = create_processors(
            client=client,
            processors=[
                Processor(job_type=build_report, attempt_handler=handle_build),
                Processor(job_type=publish_report, attempt_handler=handle_publish),
                Processor(job_type=send_invoice, attempt_handler=handle_invoice),
                Processor(job_type=monthly_digest, attempt_handler=handle_digest),
            ],
        )
        # --8<-- [start:mount]
        app = Starlette(routes=[Mount("/queuert", app=create_dashboard(client=client))])
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        # --8<-- [end:mount]
        async with await create_in_process_worker(client=client, processors=processors):
            serving = asyncio.create_task(server.serve())
            # uvicorn reports "listening" with a flag only, no event to wait on.
            while not server.started and not serving.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            bound = server.servers[0].sockets[0].getsockname()[1]  # the port picked when port is 0
            url = f"http://127.0.0.1:{bound}/queuert/"
            print(f"dashboard: {url}")
            try:
                if check_only:
                    for chain in (november, digest, invoices[0]):
                        await client.await_chain(chain.id, timeout_ms=10_000)
                    await check(url)
                else:
                    print("press Ctrl-C to stop")
                    await serving
            finally:
                server.should_exit = True
                await serving
        await notify.close()
        await state.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3333, help="0 picks a free port")
    parser.add_argument("--check", action="store_true", help="fetch a few pages, then stop")
    arguments = parser.parse_args()
    try:
        asyncio.run(main(arguments.port, arguments.check))
    except KeyboardInterrupt:
        pass
