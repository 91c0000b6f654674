"""The transactional outbox: what a commit releases, what a rollback discards, savepoints and manual hooks.

A chain started inside a transaction exists only if that transaction commits, and the
notifications and log events about it leave only after the commit. This script watches
both while it commits, rolls back, rolls back a savepoint, drives the hooks by hand and
registers a hook of its own.

    uv run python examples/outbox_rollback.py
"""

import asyncio
from functools import partial
from typing import TypedDict

from queuert import (
    Client,
    EntryJobType,
    HookDefinition,
    HookKey,
    InProcessStateAdapter,
    InProcessTx,
    LogEntry,
    TransactionHooks,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    create_transaction_hooks,
    define_job_types,
    transaction_hooks,
)


class InvoiceIn(TypedDict):
    invoice_id: str


send_invoice = EntryJobType[InvoiceIn, None]("billing.send_invoice")


class PaymentFailed(Exception):
    pass


class Watched:
    """The adapters and client, plus what has left the transaction so far."""

    def __init__(self, state: InProcessStateAdapter, client: Client[InProcessTx], events: list[LogEntry]) -> None:
        self.state = state
        self.client = client
        self.events = events
        """Every log entry the client emitted."""
        self.woken: list[str] = []
        """What a worker would hear: the "job scheduled" hints for this job type."""

    def released(self) -> str:
        return f"notifications={len(self.woken)} events={[e['type'] for e in self.events]}"

    def reset(self) -> None:
        self.events.clear()
        self.woken.clear()


async def commit(w: Watched) -> str:
    state, client = w.state, w.client
    # --8<-- [start:commit]
    async with transaction_hooks() as hooks:

        async def checkout(tx: InProcessTx) -> str:
            started = await client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=send_invoice, input=InvoiceIn(invoice_id="inv-1")
            )
            print(f"inside the transaction: {w.released()}")
            return started.id

        chain_id = await state.with_transaction(checkout)
        print(f"committed, hooks not flushed yet: {w.released()}")
    print(f"after the hooks flushed: {w.released()}")
    # --8<-- [end:commit]
    return chain_id


async def rollback(w: Watched) -> None:
    state, client = w.state, w.client
    # --8<-- [start:rollback]
    started_ids: list[str] = []
    try:
        async with transaction_hooks() as hooks:

            async def failing_checkout(tx: InProcessTx) -> None:
                started = await client.start_chain(
                    tx_ctx=tx, transaction_hooks=hooks, job_type=send_invoice, input=InvoiceIn(invoice_id="inv-2")
                )
                started_ids.append(started.id)
                raise PaymentFailed("card declined")

            await state.with_transaction(failing_checkout)
    except PaymentFailed:
        exists = await client.get_chain(started_ids[0]) is not None
        print(f"rolled back: chain exists={exists}, {w.released()}")
    # --8<-- [end:rollback]


async def savepoint(w: Watched) -> None:
    state, client = w.state, w.client
    # --8<-- [start:savepoint]
    async with transaction_hooks() as hooks:

        async def batch(tx: InProcessTx) -> list[str]:
            kept = await client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=send_invoice, input=InvoiceIn(invoice_id="inv-3")
            )

            async def optional_part(savepoint_tx: InProcessTx) -> None:
                # Pair a hooks savepoint with the database savepoint: both roll back together.
                async with hooks.savepoint():
                    await client.start_chain(
                        tx_ctx=savepoint_tx,
                        transaction_hooks=hooks,
                        job_type=send_invoice,
                        input=InvoiceIn(invoice_id="inv-4"),
                    )
                    raise PaymentFailed("the optional part failed")

            try:
                await state.with_savepoint(tx, optional_part)
            except PaymentFailed:
                pass
            return [kept.id]

        kept_ids = await state.with_transaction(batch)
    page = await client.list_chains()
    inputs = sorted(c.input["invoice_id"] for c in page.items)
    print(f"savepoint rolled back: kept {len(kept_ids)} new chain, stored invoices={inputs}, {w.released()}")
    # --8<-- [end:savepoint]


async def manual(w: Watched) -> None:
    state, client = w.state, w.client
    # --8<-- [start:manual]
    handle = create_transaction_hooks()
    try:
        await state.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx, transaction_hooks=handle.hooks, job_type=send_invoice, input=InvoiceIn(invoice_id="inv-5")
            )
        )
    except BaseException:
        await handle.discard()
        raise
    print(f"manual mode, committed but not flushed: {w.released()}")
    await handle.flush()
    print(f"manual mode, flushed: {w.released()}")
    # --8<-- [end:manual]


# --8<-- [start:custom-hook-definition]
# A side effect of your own that must wait for the commit: receipts to e-mail.
RECEIPTS = HookKey[list[str]]("receipts to send")
sent_receipts: list[str] = []


async def deliver(receipts: list[str]) -> None:
    sent_receipts.extend(receipts)  # a real application would call its mail service here


def trim(receipts: list[str], length: int) -> None:
    del receipts[length:]


def receipts_hook() -> HookDefinition[list[str]]:
    # `checkpoint` lets a hooks savepoint rollback withdraw the receipts added inside it.
    return HookDefinition(state=[], flush=deliver, checkpoint=lambda receipts: partial(trim, receipts, len(receipts)))


# --8<-- [end:custom-hook-definition]


async def custom_hook(w: Watched) -> None:
    state = w.state

    # --8<-- [start:custom-hook]
    async def pay(tx: InProcessTx, hooks: TransactionHooks, invoice_id: str, fail: bool) -> None:
        # ... record the payment through tx ...
        hooks.get_or_insert(RECEIPTS, receipts_hook).append(f"receipt for {invoice_id}")
        if fail:
            raise PaymentFailed("rolled back before commit")

    for invoice_id, fail in (("inv-6", True), ("inv-7", False)):
        try:
            async with transaction_hooks() as hooks:
                await state.with_transaction(partial(pay, hooks=hooks, invoice_id=invoice_id, fail=fail))
        except PaymentFailed:
            pass
    print(f"receipts sent after commit: {sent_receipts}")
    # --8<-- [end:custom-hook]


async def caveat(w: Watched, chain_id: str) -> None:
    state, client = w.state, w.client
    # --8<-- [start:caveat]
    async with transaction_hooks() as hooks:

        async def forgets_tx_ctx(tx: InProcessTx) -> None:
            try:
                # Without tx_ctx this read would wait for the running transaction to end.
                await client.get_chain(chain_id)
            except RuntimeError as error:
                print(f"in-process adapter refused a read without tx_ctx: {str(error)[:60]}...")
            chain = await client.get_chain(chain_id, tx_ctx=tx)
            print(f"with tx_ctx the read works: status={chain.status if chain else None}")
            await client.trigger_job(tx_ctx=tx, transaction_hooks=hooks, id=chain_id)

        await state.with_transaction(forgets_tx_ctx)
    # --8<-- [end:caveat]


async def main() -> None:
    state = await create_in_process_state_adapter()
    notify = await create_in_process_notify_adapter()
    events: list[LogEntry] = []
    client = await create_client(
        state_adapter=state, notify_adapter=notify, job_types=define_job_types(send_invoice), log=events.append
    )
    w = Watched(state, client, events)
    stop_listening = await notify.listen_job_scheduled([send_invoice.name], w.woken.append)

    chain_id = await commit(w)
    for section in (rollback, savepoint, manual, custom_hook):
        w.reset()
        await section(w)
    await caveat(w, chain_id)

    await stop_listening()
    await notify.close()
    await state.close()


if __name__ == "__main__":
    asyncio.run(main())
