"""The JSON API against a real in-process store: shapes, filters, pagination, both actions, errors."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount

from queuert_dashboard import Assets, create_dashboard

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import Shop
    from starlette.requests import Request


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, f"{value} has no UTC offset"
    return parsed


# --- GET /api/chains ---------------------------------------------------------------------


async def test_an_empty_store_lists_no_chains(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/chains")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"items": [], "next_cursor": None}


async def test_chains_come_back_newest_first_in_their_json_shape(shop: Shop, api: httpx.AsyncClient) -> None:
    first = await shop.start("place", 1)
    second = await shop.start("place", 2)
    await shop.finish(first.id)
    items = (await api.get("/api/chains")).json()["items"]
    assert [item["id"] for item in items] == [second.id, first.id]
    pending, completed = items
    assert pending == {
        "id": second.id,
        "type_name": "orders.place",
        "input": {"order_id": 2},
        "created_at": pending["created_at"],
        "status": "pending",
    }
    assert completed["status"] == "completed"
    assert completed["output"] == {"paid": True}
    assert parse_time(completed["completed_at"]) >= parse_time(completed["created_at"])


async def test_a_chain_that_continued_reports_its_continuations_status(shop: Shop, api: httpx.AsyncClient) -> None:
    chain = await shop.start("charge", 7)
    await shop.continue_charge(chain.id)
    [item] = (await api.get("/api/chains")).json()["items"]
    assert (item["type_name"], item["status"]) == ("orders.charge", "pending")
    await shop.finish(chain.id, "charge")
    [item] = (await api.get("/api/chains")).json()["items"]
    assert (item["status"], item["output"]) == ("completed", {"paid": True})


async def test_times_are_iso_8601_in_utc(shop: Shop, api: httpx.AsyncClient) -> None:
    started = await shop.start("place", 1)
    [item] = (await api.get("/api/chains")).json()["items"]
    assert parse_time(item["created_at"]) == started.created_at


async def test_limit_and_cursor_page_through_every_chain_once(shop: Shop, api: httpx.AsyncClient) -> None:
    ids = [(await shop.start("place", n)).id for n in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        body = (await api.get("/api/chains", params=params)).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert (pages, seen) == (3, list(reversed(ids)))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("3", 3), ("2.9", 2), ("0.5", 1), ("0", 50), ("-4", 50), ("abc", 50), ("nan", 50), ("", 50), ("1e9", 100)],
)
async def test_limit_is_read_leniently(shop: Shop, api: httpx.AsyncClient, raw: str, expected: int) -> None:
    for n in range(101):
        await shop.start("place", n)
    body = (await api.get("/api/chains", params={"limit": raw})).json()
    assert len(body["items"]) == expected


async def test_a_malformed_or_foreign_cursor_serves_the_first_page(shop: Shop, api: httpx.AsyncClient) -> None:
    chain = await shop.start("charge", 1)
    await shop.continue_charge(chain.id)
    chain_jobs = await shop.client.list_chain_jobs(chain.id, limit=1)
    assert chain_jobs.next_cursor is not None  # a cursor of the other kind
    for cursor in ("garbage", "eyJ0eXBlIjoiY3JlYXRlZEF0In0", chain_jobs.next_cursor):
        response = await api.get("/api/chains", params={"cursor": cursor})
        assert response.status_code == 200
        assert [item["id"] for item in response.json()["items"]] == [chain.id]


async def test_chain_filters(shop: Shop, api: httpx.AsyncClient) -> None:
    blocker = await shop.start("place", 1)
    dependent = await shop.start("report", 2, blockers=[blocker])
    other = await shop.start("charge", 3)

    async def ids(**params: str) -> set[str]:
        return {item["id"] for item in (await api.get("/api/chains", params=params)).json()["items"]}

    # Blockers of other jobs are hidden unless root=false.
    assert await ids() == {dependent.id, other.id}
    assert await ids(root="false") == {blocker.id, dependent.id, other.id}
    assert await ids(root="no") == {dependent.id, other.id}
    assert await ids(typeName="orders.charge,,orders.report") == {dependent.id, other.id}
    assert await ids(typeName=",") == {dependent.id, other.id}
    assert await ids(status="blocked") == {dependent.id}
    assert await ids(status="blocked,bogus") == {dependent.id}
    assert await ids(status="bogus") == {dependent.id, other.id}
    assert await ids(id=other.id) == {other.id}
    assert await ids(jobId=dependent.id) == {dependent.id}
    assert await ids(id="") == {dependent.id, other.id}


# --- GET /api/chains/{id} and /blocking ----------------------------------------------------


async def test_a_chain_page_has_its_jobs_in_order_and_every_jobs_blockers(shop: Shop, api: httpx.AsyncClient) -> None:
    blocker = await shop.start("place", 1)
    chain = await shop.start("charge", 2)
    await shop.continue_charge(chain.id)
    dependent = await shop.start("report", 3, blockers=[blocker])

    body = (await api.get(f"/api/chains/{chain.id}")).json()
    assert body["chain"]["id"] == chain.id
    assert [(job["chain_index"], job["type_name"], job["status"]) for job in body["jobs"]] == [
        (0, "orders.charge", "completed"),
        (1, "orders.ship", "pending"),
    ]
    assert body["job_blockers"] == {job["id"]: [] for job in body["jobs"]}

    body = (await api.get(f"/api/chains/{dependent.id}")).json()
    [job] = body["jobs"]
    assert [c["id"] for c in body["job_blockers"][job["id"]]] == [blocker.id]
    assert body["job_blockers"][job["id"]][0]["status"] == "pending"


async def test_an_unknown_chain_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/chains/no-such-chain")
    assert (response.status_code, response.json()) == (404, {"error": "Chain not found"})


async def test_blocking_lists_the_jobs_that_wait_on_a_chain(shop: Shop, api: httpx.AsyncClient) -> None:
    blocker = await shop.start("place", 1)
    dependents = [await shop.start("report", n, blockers=[blocker]) for n in (2, 3)]
    body = (await api.get(f"/api/chains/{blocker.id}/blocking")).json()
    assert {job["chain_id"] for job in body["items"]} == {d.id for d in dependents}
    assert {job["status"] for job in body["items"]} == {"blocked"}
    assert (await api.get("/api/chains/unknown/blocking")).json() == {"items": []}


# --- DELETE /api/chains/{id} -----------------------------------------------------------------


async def test_delete_returns_the_deleted_chain_and_it_is_gone(shop: Shop, api: httpx.AsyncClient) -> None:
    chain = await shop.start("place", 1)
    response = await api.delete(f"/api/chains/{chain.id}")
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["deleted"]] == [chain.id]
    assert (await api.get(f"/api/chains/{chain.id}")).status_code == 404
    assert await shop.client.get_chain(chain.id) is None


async def test_deleting_an_unknown_chain_is_404(api: httpx.AsyncClient) -> None:
    response = await api.delete("/api/chains/no-such-chain")
    assert (response.status_code, response.json()) == (404, {"error": "Chain not found"})


async def test_deleting_a_blocker_is_409_and_deletes_nothing(shop: Shop, api: httpx.AsyncClient) -> None:
    blocker = await shop.start("place", 1)
    await shop.start("report", 2, blockers=[blocker])
    response = await api.delete(f"/api/chains/{blocker.id}")
    assert response.status_code == 409
    assert response.json() == {"error": "Cannot delete: other jobs depend on this chain as a blocker"}
    assert await shop.client.get_chain(blocker.id) is not None


async def test_cascade_deletes_the_chain_and_its_blockers(shop: Shop, api: httpx.AsyncClient) -> None:
    blocker = await shop.start("place", 1)
    dependent = await shop.start("report", 2, blockers=[blocker])
    response = await api.delete(f"/api/chains/{dependent.id}", params={"cascade": "true"})
    assert response.status_code == 200
    assert {c["id"] for c in response.json()["deleted"]} == {dependent.id, blocker.id}
    for chain_id in (dependent.id, blocker.id):
        assert (await api.get(f"/api/chains/{chain_id}")).status_code == 404


async def test_cascade_without_blockers_deletes_only_the_target(shop: Shop, api: httpx.AsyncClient) -> None:
    target = await shop.start("place", 1)
    bystander = await shop.start("place", 2)
    response = await api.delete(f"/api/chains/{target.id}", params={"cascade": "true"})
    assert [c["id"] for c in response.json()["deleted"]] == [target.id]
    assert await shop.client.get_chain(bystander.id) is not None


async def test_only_the_exact_string_true_cascades(shop: Shop, api: httpx.AsyncClient) -> None:
    blocker = await shop.start("place", 1)
    dependent = await shop.start("report", 2, blockers=[blocker])
    response = await api.delete(f"/api/chains/{dependent.id}", params={"cascade": "TRUE"})
    assert [c["id"] for c in response.json()["deleted"]] == [dependent.id]
    assert await shop.client.get_chain(blocker.id) is not None


async def test_cascade_is_409_when_the_resolved_set_has_outside_dependents(shop: Shop, api: httpx.AsyncClient) -> None:
    shared = await shop.start("place", 1)
    target = await shop.start("report", 2, blockers=[shared])
    outsider = await shop.start("report", 3, blockers=[shared])
    response = await api.delete(f"/api/chains/{target.id}", params={"cascade": "true"})
    assert response.status_code == 409
    for chain in (shared, target, outsider):
        assert await shop.client.get_chain(chain.id) is not None


# --- GET /api/jobs ---------------------------------------------------------------------------


async def test_an_empty_store_lists_no_jobs(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/jobs")).json() == {"items": [], "next_cursor": None}


async def test_jobs_of_every_chain_come_back_newest_first(shop: Shop, api: httpx.AsyncClient) -> None:
    first = await shop.start("place", 1)
    second = await shop.start("charge", 2)
    await shop.continue_charge(second.id)
    items = (await api.get("/api/jobs")).json()["items"]
    assert [(job["type_name"], job["chain_id"]) for job in items] == [
        ("orders.ship", second.id),
        ("orders.charge", second.id),
        ("orders.place", first.id),
    ]
    ship_job = items[0]
    assert ship_job["chain_type_name"] == "orders.charge"
    assert "output" not in ship_job
    assert "leased_by" not in ship_job
    assert items[1]["status"] == "completed"
    assert items[1]["output"] is None  # it continued the chain instead of finishing it
    assert items[1]["completed_by"] is None  # completed without a worker


async def test_job_filters(shop: Shop, api: httpx.AsyncClient) -> None:
    placed = await shop.start("place", 1)
    charged = await shop.start("charge", 2)
    await shop.continue_charge(charged.id)

    async def types(**params: str) -> list[str]:
        return [job["type_name"] for job in (await api.get("/api/jobs", params=params)).json()["items"]]

    assert await types(chainTypeName="orders.charge") == ["orders.ship", "orders.charge"]
    assert await types(chainId=placed.id) == ["orders.place"]
    assert await types(typeName="orders.ship,orders.place") == ["orders.ship", "orders.place"]
    assert await types(status="completed") == ["orders.charge"]
    assert await types(id=placed.id) == ["orders.place"]


# --- GET /api/jobs/{id} ----------------------------------------------------------------------


async def test_a_job_page_has_its_blockers(shop: Shop, api: httpx.AsyncClient) -> None:
    blocker = await shop.start("place", 1)
    dependent = await shop.start("report", 2, blockers=[blocker])
    body = (await api.get(f"/api/jobs/{dependent.id}")).json()
    assert body["job"]["id"] == dependent.id
    assert body["job"]["status"] == "blocked"
    assert [c["id"] for c in body["blockers"]] == [blocker.id]
    assert body["continuation"] is None


async def test_a_job_page_links_the_next_job_of_its_chain(shop: Shop, api: httpx.AsyncClient) -> None:
    chain = await shop.start("charge", 1)
    await shop.continue_charge(chain.id)
    first = (await api.get(f"/api/jobs/{chain.id}")).json()
    assert first["continuation"]["type_name"] == "orders.ship"
    assert first["continuation"]["chain_index"] == 1
    last = (await api.get(f"/api/jobs/{first['continuation']['id']}")).json()
    assert last["continuation"] is None


async def test_an_unknown_job_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/jobs/no-such-job")
    assert (response.status_code, response.json()) == (404, {"error": "Job not found"})


# --- POST /api/jobs/{id}/trigger -------------------------------------------------------------


async def test_triggering_a_job_scheduled_later_makes_it_due_now(shop: Shop, api: httpx.AsyncClient) -> None:
    later = await shop.start_later(1)
    before = await shop.client.get_job(later.id)
    assert before is not None
    response = await api.post(f"/api/jobs/{later.id}/trigger")
    assert response.status_code == 200
    job = response.json()["job"]
    assert job["status"] == "pending"
    assert parse_time(job["scheduled_at"]) < before.scheduled_at


async def test_triggering_an_unknown_job_is_404(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/jobs/no-such-job/trigger")
    assert (response.status_code, response.json()) == (404, {"error": "Job not found"})


async def test_triggering_a_job_that_is_not_pending_is_409(shop: Shop, api: httpx.AsyncClient) -> None:
    chain = await shop.start("place", 1)
    await shop.finish(chain.id)
    response = await api.post(f"/api/jobs/{chain.id}/trigger")
    assert response.status_code == 409
    assert "completed" in response.json()["error"]


async def test_a_read_only_dashboard_refuses_both_actions(shop: Shop) -> None:
    chain = await shop.start_later(1)
    transport = httpx.ASGITransport(app=create_dashboard(client=shop.client, read_only=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as http:
        assert (await http.post(f"/api/jobs/{chain.id}/trigger")).status_code == 403
        assert (await http.delete(f"/api/chains/{chain.id}")).status_code == 403
        assert (await http.get(f"/api/chains/{chain.id}")).status_code == 200
    assert await shop.client.get_chain(chain.id) is not None


# --- methods and failures --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/chains"), ("PUT", "/api/chains/x"), ("DELETE", "/api/jobs/x"), ("GET", "/api/jobs/x/trigger")],
)
async def test_a_known_path_with_another_method_is_405(api: httpx.AsyncClient, method: str, path: str) -> None:
    response = await api.request(method, path)
    if method == "GET":
        # GET on the trigger path is not an API route: the page fallback answers it.
        assert response.status_code in (200, 503)
    else:
        assert response.status_code == 405


async def test_head_answers_like_get_without_a_body(api: httpx.AsyncClient) -> None:
    response = await api.head("/api/chains")
    assert response.status_code == 200
    assert response.content == b""


async def test_a_failing_client_is_a_bare_500(shop: Shop, api: httpx.AsyncClient, caplog: Any) -> None:
    await shop.state.close()  # every read now raises AdapterClosedError
    response = await api.get("/api/chains")
    assert (response.status_code, response.json()) == (500, {"error": "Internal Server Error"})
    assert "AdapterClosedError" in caplog.text


# --- mounting and the page -------------------------------------------------------------------


def built_frontend(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><html><head><title>Q</title></head><body></body></html>")
    (tmp_path / "assets" / "index.0123abcd.js").write_text("console.log(1)")
    (tmp_path / "assets" / "logo.svg").write_text("<svg/>")
    return tmp_path


async def serve(app: Any, path: str, method: str = "GET") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as http:
        return await http.request(method, path)


def mounted(shop: Shop, frontend: Path, **options: Any) -> Starlette:
    return Starlette(
        routes=[
            Mount("/internal/queuert", app=create_dashboard(client=shop.client, assets=Assets(frontend), **options))
        ]
    )


async def test_every_api_route_answers_under_a_mount(shop: Shop, tmp_path: Path) -> None:
    app = mounted(shop, built_frontend(tmp_path))
    later = await shop.start_later(1)
    for path in (
        "/api/chains",
        f"/api/chains/{later.id}",
        f"/api/chains/{later.id}/blocking",
        "/api/jobs",
        f"/api/jobs/{later.id}",
    ):
        assert (await serve(app, f"/internal/queuert{path}")).status_code == 200, path
    assert (await serve(app, f"/internal/queuert/api/jobs/{later.id}/trigger", "POST")).status_code == 200
    assert (await serve(app, f"/internal/queuert/api/chains/{later.id}", "DELETE")).status_code == 200


async def test_paths_outside_the_mount_are_404(shop: Shop, tmp_path: Path) -> None:
    app = mounted(shop, built_frontend(tmp_path))
    assert (await serve(app, "/api/chains")).status_code == 404
    assert (await serve(app, "/internal/queuert-other/api/chains")).status_code == 404


async def test_the_page_gets_the_mount_prefix_as_its_base(shop: Shop, tmp_path: Path) -> None:
    app = mounted(shop, built_frontend(tmp_path))
    for path in ("/internal/queuert/", "/internal/queuert/chains/abc", "/internal/queuert/jobs"):
        response = await serve(app, path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        assert response.text.startswith('<!doctype html><html><head><base href="/internal/queuert/" /><title>')


async def test_at_the_root_the_base_is_a_slash_and_base_path_overrides(shop: Shop, tmp_path: Path) -> None:
    frontend = built_frontend(tmp_path)
    at_root = create_dashboard(client=shop.client, assets=Assets(frontend))
    assert '<head><base href="/" />' in (await serve(at_root, "/")).text
    # Behind a proxy that strips its prefix, the app sees none: base_path says what it is.
    proxied = create_dashboard(client=shop.client, assets=Assets(frontend), base_path="/ops/queue/")
    assert '<head><base href="/ops/queue/" />' in (await serve(proxied, "/jobs")).text
    escaped = create_dashboard(client=shop.client, assets=Assets(frontend), base_path='/a"b')
    assert '<base href="/a&quot;b/" />' in (await serve(escaped, "/")).text


async def test_assets_have_their_types_and_hashed_ones_are_cached_for_good(shop: Shop, tmp_path: Path) -> None:
    app = create_dashboard(client=shop.client, assets=Assets(built_frontend(tmp_path)))
    script = await serve(app, "/assets/index.0123abcd.js")
    assert script.headers["content-type"] == "application/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.text == "console.log(1)"
    logo = await serve(app, "/assets/logo.svg")
    assert logo.headers["content-type"] == "image/svg+xml"
    assert "cache-control" not in logo.headers


@pytest.mark.parametrize("path", ["/assets/missing.js", "/assets/../index.html", "/assets/a//b.js", "/assets/"])
async def test_an_unknown_asset_falls_back_to_the_page(shop: Shop, tmp_path: Path, path: str) -> None:
    app = create_dashboard(client=shop.client, assets=Assets(built_frontend(tmp_path)))
    response = await serve(app, path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_without_a_built_frontend_pages_are_503_and_the_api_works(shop: Shop, tmp_path: Path) -> None:
    app = create_dashboard(client=shop.client, assets=Assets(tmp_path / "nothing-here"))
    response = await serve(app, "/")
    assert response.status_code == 503
    assert response.text.startswith("Dashboard assets not built.")
    assert (await serve(app, "/api/chains")).status_code == 200


def test_the_package_ships_its_built_frontend() -> None:
    page = Assets().index()
    assert page is not None, "queuert_dashboard/static/index.html is missing: build the frontend"
    assert "<head>" in page


async def test_middleware_added_to_the_app_guards_every_route(shop: Shop, tmp_path: Path) -> None:
    # The pattern the guide shows for authentication.
    expected = "Basic " + base64.b64encode(b"ops:secret").decode()

    class BasicAuth(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            if request.headers.get("authorization") != expected:
                return PlainTextResponse("Unauthorized", status_code=401, headers={"WWW-Authenticate": "Basic"})
            return await call_next(request)

    dashboard = create_dashboard(client=shop.client, assets=Assets(built_frontend(tmp_path)))
    dashboard.add_middleware(BasicAuth)
    transport = httpx.ASGITransport(app=dashboard)
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as http:
        for method, path in (("GET", "/"), ("GET", "/api/chains"), ("DELETE", "/api/chains/x")):
            assert (await http.request(method, path)).status_code == 401
        authorized = await http.get("/api/chains", auth=("ops", "secret"))
        assert authorized.status_code == 200
