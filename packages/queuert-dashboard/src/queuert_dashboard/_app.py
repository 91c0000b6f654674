"""`create_dashboard`: the Starlette app serving the dashboard's JSON API and its single-page frontend."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from queuert import ChainFilter, JobFilter, transaction_hooks
from queuert.adapters import ChainIndexCursor, encode_cursor
from queuert.errors import BlockerReferenceError, JobNotFoundError, JobNotTriggerableError

from . import _query
from ._assets import Assets
from ._serialize import chain_json, job_json

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from queuert import Client

__all__ = ("create_dashboard",)

_logger = logging.getLogger("queuert.dashboard")

_DETAIL_LIMIT = 1000
"""How many jobs a chain page and a "blocking" list show: the client's largest page."""

ASSETS_MISSING = (
    "Dashboard assets not built. Build them with `npm install && npm run build` in frontend/dashboard "
    "(an installed queuert-dashboard wheel ships them)."
)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _api(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Answer an unexpected failure with a bare JSON 500 and log it, instead of leaking internals."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception:
            _logger.exception("queuert dashboard: %s %s failed", request.method, request.url.path)
            return _error(500, "Internal Server Error")

    return guarded


class _Dashboard:
    def __init__(self, client: Client[Any], *, base_path: str | None, read_only: bool, assets: Assets) -> None:
        self.client = client
        self.base_path = None if base_path is None else base_path.rstrip("/")
        self.read_only = read_only
        self.assets = assets

    # --- chains -------------------------------------------------------------------------

    async def chain_list(self, request: Request) -> Response:
        params = request.query_params
        page = await self.client.list_chains(
            filter=ChainFilter(
                type_name=_query.name_list(params, "typeName"),
                status=_query.status_list(params),
                root_only=params.get("root") != "false",
                chain_id=_query.id_list(params, "id"),
                job_id=_query.id_list(params, "jobId"),
            ),
            order_direction="desc",
            cursor=_query.cursor(params),
            limit=_query.limit(params),
        )
        return JSONResponse({"items": [chain_json(c) for c in page.items], "next_cursor": page.next_cursor})

    async def chain_detail(self, request: Request) -> Response:
        chain_id = request.path_params["chain_id"]
        chain = await self.client.get_chain(chain_id)
        if chain is None:
            return _error(404, "Chain not found")
        jobs = (await self.client.list_chain_jobs(chain_id, order_direction="asc", limit=_DETAIL_LIMIT)).items
        blockers = await asyncio.gather(*(self.client.get_job_blockers(job.id) for job in jobs))
        return JSONResponse(
            {
                "chain": chain_json(chain),
                "jobs": [job_json(job) for job in jobs],
                "job_blockers": {
                    job.id: [chain_json(c) for c in chains] for job, chains in zip(jobs, blockers, strict=True)
                },
            }
        )

    async def chain_blocking(self, request: Request) -> Response:
        page = await self.client.list_blocked_jobs(
            request.path_params["chain_id"], order_direction="desc", limit=_DETAIL_LIMIT
        )
        return JSONResponse({"items": [job_json(job) for job in page.items]})

    async def chain_delete(self, request: Request) -> Response:
        if self.read_only:
            return _error(403, "The dashboard is read-only")
        chain_id = request.path_params["chain_id"]
        if await self.client.get_chain(chain_id) is None:
            return _error(404, "Chain not found")
        cascade = request.query_params.get("cascade") == "true"
        client = self.client
        try:
            # Hooks outside the transaction: notifications and events leave after the commit.
            async with transaction_hooks() as hooks:
                deleted = await client.state_adapter.with_transaction(
                    lambda tx_ctx: client.delete_chains(
                        tx_ctx=tx_ctx, transaction_hooks=hooks, ids=[chain_id], cascade=cascade
                    )
                )
        except BlockerReferenceError:
            return _error(409, "Cannot delete: other jobs depend on this chain as a blocker")
        return JSONResponse({"deleted": [chain_json(c) for c in deleted]})

    # --- jobs ---------------------------------------------------------------------------

    async def job_list(self, request: Request) -> Response:
        params = request.query_params
        page = await self.client.list_jobs(
            filter=JobFilter(
                status=_query.status_list(params),
                type_name=_query.name_list(params, "typeName"),
                chain_type_name=_query.name_list(params, "chainTypeName"),
                chain_id=_query.id_list(params, "chainId"),
                job_id=_query.id_list(params, "id"),
            ),
            order_direction="desc",
            cursor=_query.cursor(params),
            limit=_query.limit(params),
        )
        return JSONResponse({"items": [job_json(j) for j in page.items], "next_cursor": page.next_cursor})

    async def job_detail(self, request: Request) -> Response:
        job = await self.client.get_job(request.path_params["job_id"])
        if job is None:
            return _error(404, "Job not found")
        after_job = encode_cursor(ChainIndexCursor(id=job.id, chain_index=job.chain_index))
        blockers, following = await asyncio.gather(
            self.client.get_job_blockers(job.id),
            self.client.list_chain_jobs(job.chain_id, order_direction="asc", cursor=after_job, limit=1),
        )
        continuation = following.items[0] if following.items else None
        return JSONResponse(
            {
                "job": job_json(job),
                "continuation": None if continuation is None else job_json(continuation),
                "blockers": [chain_json(c) for c in blockers],
            }
        )

    async def job_trigger(self, request: Request) -> Response:
        if self.read_only:
            return _error(403, "The dashboard is read-only")
        job_id = request.path_params["job_id"]
        client = self.client
        try:
            async with transaction_hooks() as hooks:
                job = await client.state_adapter.with_transaction(
                    lambda tx_ctx: client.trigger_job(tx_ctx=tx_ctx, transaction_hooks=hooks, id=job_id)
                )
        except JobNotFoundError:
            return _error(404, "Job not found")
        except JobNotTriggerableError as error:
            return _error(409, str(error))
        return JSONResponse({"job": job_json(job)})

    # --- the frontend -------------------------------------------------------------------

    async def asset(self, request: Request) -> Response:
        found = self.assets.asset(request.path_params["path"])
        if found is None:
            return await self.page(request)
        headers = {} if found.cache_control is None else {"Cache-Control": found.cache_control}
        return Response(found.body, headers=headers, media_type=found.content_type)

    async def page(self, request: Request) -> Response:
        prefix = self.base_path if self.base_path is not None else str(request.scope.get("root_path", "")).rstrip("/")
        page = self.assets.index_with_base(prefix)
        if page is None:
            return PlainTextResponse(ASSETS_MISSING, status_code=503)
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


def create_dashboard(
    *, client: Client[Any], base_path: str | None = None, read_only: bool = False, assets: Assets | None = None
) -> Starlette:
    """The dashboard as an ASGI app: pages to browse chains and jobs, and the JSON API behind them.

    Serve it on its own (`uvicorn.run(create_dashboard(client=client), port=3333)`) or mount it
    in your app (`Mount("/internal/queuert", app=...)` in Starlette, `app.mount(...)` in FastAPI).
    It trusts every request: put your authentication in front of it.

    Args:
        client: The queuert client it reads through; its state adapter opens the transactions
            of the two actions (trigger a pending job now, delete a chain).
        base_path: The public URL prefix the pages are served under, for a reverse proxy that
            strips it. By default the prefix is the ASGI `root_path` (which `Mount` sets).
        read_only: Answer the two actions with 403.
        assets: Where the built frontend is read from (the package's own by default).
    """
    dashboard = _Dashboard(client, base_path=base_path, read_only=read_only, assets=assets or Assets())
    routes = [
        Route("/api/chains/{chain_id}/blocking", _api(dashboard.chain_blocking), methods=["GET"]),
        Route("/api/chains/{chain_id}", _api(dashboard.chain_delete), methods=["DELETE"]),
        Route("/api/chains/{chain_id}", _api(dashboard.chain_detail), methods=["GET"]),
        Route("/api/chains", _api(dashboard.chain_list), methods=["GET"]),
        Route("/api/jobs/{job_id}/trigger", _api(dashboard.job_trigger), methods=["POST"]),
        Route("/api/jobs/{job_id}", _api(dashboard.job_detail), methods=["GET"]),
        Route("/api/jobs", _api(dashboard.job_list), methods=["GET"]),
        Route("/assets/{path:path}", dashboard.asset, methods=["GET"]),
        Route("/{path:path}", dashboard.page, methods=["GET"]),
    ]
    return Starlette(routes=routes)
