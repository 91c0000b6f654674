"""addJobBlockers blockerChainTraceContexts: the trace context of each blocker chain, in order."""

from __future__ import annotations

from ._common import Context, StateGroup, add_blockers, continuation, create_job, root

group = StateGroup("addJobBlockers blockerChainTraceContexts")


@group.case("returns blocker chain trace contexts from chain root jobs")
async def _from_roots(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker", chain_trace_context="root-ctx", trace_context="job-ctx"))
    await create_job(a, continuation(blocker))
    main = await create_job(a, root("main"))
    result = await add_blockers(a, main, blocker.id)
    assert result.blocker_chain_trace_contexts == ("root-ctx",)


@group.case("returns blocker chain trace contexts in the same order as blockedByChainIds")
async def _in_order(t: Context) -> None:
    a = t.adapter
    chain_a = await create_job(a, root("a", chain_trace_context="ctx-a"))
    chain_b = await create_job(a, root("b", chain_trace_context="ctx-b"))
    main = await create_job(a, root("main"))
    other = await create_job(a, root("other"))
    assert (await add_blockers(a, main, chain_a.id, chain_b.id)).blocker_chain_trace_contexts == ("ctx-a", "ctx-b")
    assert (await add_blockers(a, other, chain_b.id, chain_a.id)).blocker_chain_trace_contexts == ("ctx-b", "ctx-a")
