"""The pages in a real headless Chromium, served by uvicorn and mounted under a prefix, over a real store."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from queuert.testing import wait_until
from queuert.testing.services import free_port, skip_unavailable
from queuert_dashboard import create_dashboard

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from conftest import Shop
    from playwright.async_api import Browser, Page

# One store is enough here: the API tests cover the others. SQLite is the embedded default.
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("store", [("sqlite", None)])]

PREFIX = "/internal/queuert"
# What the machine's Chromium needs to start as root in a closed network, quickly and quietly.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("QUEUERT_CHROMIUM", "/usr/bin/chromium")
    found = shutil.which(path)
    if found is None:
        skip_unavailable("Chromium", f"no browser at {path} (install Debian's chromium or set QUEUERT_CHROMIUM)")
    return found


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def site(shop: Shop) -> AsyncIterator[str]:
    """The dashboard mounted under PREFIX in a host app, served on a free port; yields its URL."""
    host = Starlette(routes=[Mount(PREFIX, app=create_dashboard(client=shop.client))])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(host, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started, timeout_ms=10_000, message="uvicorn did not start")
        yield f"http://127.0.0.1:{port}{PREFIX}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        await context.close()
    assert errors == [], f"the page raised: {errors}"


async def test_browse_filter_and_open_chains(shop: Shop, site: str, page: Page) -> None:
    from playwright.async_api import expect

    blocker = await shop.start("place", 1)
    report = await shop.start("report", 2, blockers=[blocker])
    charge = await shop.start("charge", 3)
    await shop.continue_charge(charge.id)

    await page.goto(f"{site}/")
    await expect(page.get_by_role("link", name="Chains")).to_have_attribute("aria-current", "page")
    cards = page.locator("article.card")
    # Blockers of other jobs are hidden by default.
    await expect(cards).to_have_count(2)
    await expect(cards.nth(0)).to_contain_text("orders.charge")
    await expect(cards.nth(0)).to_contain_text('{"order_id":3}')
    await expect(cards.nth(1)).to_contain_text("blocked")

    await page.get_by_label("Hide blockers").uncheck()
    await expect(cards).to_have_count(3)
    assert "root=false" in page.url

    await page.get_by_label("Type name").fill("orders.place")
    await page.get_by_label("Type name").press("Enter")
    await expect(cards).to_have_count(1)
    assert "typeName=orders.place" in page.url
    # Filters live in the URL: a reload keeps them.
    await page.reload()
    await expect(cards).to_have_count(1)
    await expect(page.get_by_label("Type name")).to_have_value("orders.place")

    await page.goto(f"{site}/?root=false")
    await cards.filter(has_text="orders.report").click()
    await expect(page).to_have_url(f"{site}/chains/{report.id}")
    await expect(page.get_by_role("heading", name="Jobs (1)")).to_be_visible()
    # Nothing waits on this chain: no "Blocking" section, and no stray text in its place.
    await expect(page.get_by_role("heading", name="Blocking")).to_have_count(0)
    await expect(page.locator("main")).not_to_contain_text("null")
    await page.get_by_role("link", name=f"chain {blocker.id}").click()
    await expect(page).to_have_url(f"{site}/chains/{blocker.id}")
    await expect(page.get_by_text("Jobs depending on this chain as a blocker:")).to_be_visible()

    await page.go_back()
    await expect(page).to_have_url(f"{site}/chains/{report.id}")
    await page.get_by_role("link", name="Jobs", exact=True).click()
    await expect(page.get_by_role("link", name="Jobs", exact=True)).to_have_attribute("aria-current", "page")
    await expect(cards).to_have_count(4)


async def test_trigger_a_job_scheduled_for_later(shop: Shop, site: str, page: Page) -> None:
    from playwright.async_api import expect

    later = await shop.start_later(1)
    await page.goto(f"{site}/jobs")
    await page.locator("article.card").first.click()
    await expect(page).to_have_url(f"{site}/jobs/{later.id}")
    trigger = page.get_by_role("button", name="Trigger now")
    await expect(trigger).to_be_visible()
    await trigger.click()
    await expect(trigger).to_have_count(0)
    job = await shop.client.get_job(later.id)
    assert job is not None
    assert job.scheduled_at <= datetime.now(UTC)


async def test_delete_a_chain_through_its_dialog(shop: Shop, site: str, page: Page) -> None:
    from playwright.async_api import expect

    blocker = await shop.start("place", 1)
    report = await shop.start("report", 2, blockers=[blocker])

    # The blocker cannot go: the dialog says why and stays open.
    await page.goto(f"{site}/chains/{blocker.id}")
    await page.get_by_role("button", name="Delete chain").click()
    dialog = page.get_by_role("dialog")
    delete = dialog.get_by_role("button", name="Delete")
    await expect(delete).to_be_disabled()
    await dialog.get_by_placeholder("Type chain ID...").fill(blocker.id[:-1])
    await expect(delete).to_be_disabled()
    await dialog.get_by_placeholder("Type chain ID...").fill(blocker.id)
    await delete.click()
    await expect(dialog.get_by_role("alert")).to_have_text(
        "Cannot delete: other jobs depend on this chain as a blocker"
    )
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)

    # The dependent goes, with its blocker, by cascade; Enter submits.
    await page.goto(f"{site}/chains/{report.id}")
    await page.get_by_role("button", name="Delete chain").click()
    await dialog.get_by_label("Cascade delete (include all blocker chains)").check()
    await dialog.get_by_placeholder("Type chain ID...").fill(report.id)
    await dialog.get_by_placeholder("Type chain ID...").press("Enter")
    await expect(page).to_have_url(f"{site}/")
    await expect(page.get_by_text("No chains found")).to_be_visible()
    assert await shop.client.get_chain(report.id) is None
    assert await shop.client.get_chain(blocker.id) is None


async def test_an_unknown_chain_says_so(site: str, page: Page) -> None:
    from playwright.async_api import expect

    await page.goto(f"{site}/chains/no-such-chain")
    await expect(page.get_by_text("Chain not found")).to_be_visible()
    await page.get_by_role("link", name="← Back to chains").click()
    await expect(page).to_have_url(f"{site}/")
