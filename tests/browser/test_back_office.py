"""The back office in a real browser: log in, create a type, generate a lot, activate it, find
a voucher and see its history, run a report; a role without the right is refused. Screenshots
of each main screen are taken on the way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine

from tests import builders
from tests.browser.conftest import ARGS
from tests.builders import World

WAIT_MS = 30_000


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def shop(engine: Engine) -> World:
    with engine.begin() as conn:
        return builders.world(conn)


def _log_in(browser: Browser, base_url: str, engine: Engine, role: str) -> Page:
    with engine.begin() as conn:
        _, name, password = builders.user(conn, role=role)
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{base_url}/admin")
    expect(page).to_have_url(f"{base_url}/admin/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("text=Log in")
    expect(page).to_have_url(f"{base_url}/admin")
    return page


def test_type_lot_activation_voucher_history(
    browser: Browser, base_url: str, engine: Engine, shop: World, shots: Path
) -> None:
    page = _log_in(browser, base_url, engine, "admin")
    expect(page.locator("h1")).to_have_text("Dashboard")

    page.click("nav >> text=Types")
    form = page.locator("#new-type")
    form.locator("select[name=issuer_id]").select_option(str(shop.issuer_id))
    form.locator("input[name=code]").fill("WEB50")
    form.locator("input[name=name]").fill("Web gift card")
    form.locator("select[name=classification]").select_option("gift_card")
    form.locator("select[name=value_mode]").select_option("variable")
    form.locator("button").click()
    expect(page.locator("td", has_text="Web gift card")).to_be_visible()
    page.screenshot(path=shots / "types.png")

    page.click("nav >> text=Lots")
    lot_form = page.locator("#new-lot")
    lot_form.locator("select[name=type_id]").select_option(label=_type_label(page, "WEB50"))
    lot_form.locator("input[name=count]").fill("40")
    lot_form.locator("input[name=state]").fill("prepared")
    lot_form.locator("button").click()
    expect(page.locator("#lot-status")).to_have_text("done", timeout=WAIT_MS)
    page.screenshot(path=shots / "lot.png")

    page.click("#lot-activate")
    expect(page.locator("#bulk-status")).to_have_text("done", timeout=WAIT_MS)
    expect(page.locator("#bulk-progress")).to_contain_text("40 done")
    page.screenshot(path=shots / "bulk_operation.png")

    page.go_back()
    page.click("text=vouchers of this lot")
    rows = page.locator("#voucher-results tbody tr")
    expect(rows).to_have_count(40)
    page.screenshot(path=shots / "vouchers.png")
    code = rows.first.locator("a").inner_text()
    page.fill("input[name=q]", code)
    page.fill("input[name=lot_id]", "")
    page.click("#voucher-search button")
    expect(rows).to_have_count(1)
    rows.first.locator("a").click()
    expect(page.locator("#voucher-state")).to_have_text("active")
    history = page.locator("#voucher-history")
    expect(history).to_contain_text("voucher.created")
    expect(history).to_contain_text("voucher.activated")
    page.screenshot(path=shots / "voucher.png", full_page=True)

    page.click("nav >> text=Audit")
    page.click("text=Verify the chain")
    expect(page.locator("#audit-verdict")).to_contain_text("chain intact")
    page.screenshot(path=shots / "audit.png")
    page.click("nav >> text=Users")
    page.screenshot(path=shots / "users.png", full_page=True)
    page.click("nav >> text=Bulk")
    page.locator("#bulk-form select[name=issuer_id]").select_option(str(shop.issuer_id))
    page.fill("#bulk-form input[name=type_code]", "WEB50")
    page.click("text=Preview count")
    expect(page.locator("#preview-count")).to_have_text("40")
    page.screenshot(path=shots / "bulk.png")
    page.click("nav >> text=Dashboard")
    expect(page.locator("#activity")).to_contain_text("voucher.activated")
    page.screenshot(path=shots / "dashboard.png", full_page=True)

    page.click("nav >> text=Reports")
    page.click("text=Vouchers activated, used and returned")
    page.fill("#report-form input[name=issuer]", builders.issuer_code(engine, shop))
    page.click("#report-form button")
    expect(page.locator("#report tbody")).to_contain_text("40")  # the lot activated above
    expect(page.locator("#report-chart")).to_be_visible()
    page.screenshot(path=shots / "report.png", full_page=True)
    page.close()


def test_a_role_without_the_right_is_refused(
    browser: Browser, base_url: str, engine: Engine, shop: World, shots: Path
) -> None:
    with engine.begin() as conn:
        code = builders.vouchers(conn, shop, "card")[0]
    page = _log_in(browser, base_url, engine, "viewer")
    page.goto(f"{base_url}/admin/vouchers?issuer_id={shop.issuer_id}&q={code}")
    page.locator("#voucher-results a").click()
    page.fill("input[name=reason]", "customer lost the receipt")
    page.click("text=Show secret number")
    expect(page.locator("#flash")).to_contain_text("secret_access_denied")
    page.screenshot(path=shots / "refused.png")
    page.goto(f"{base_url}/admin/lots")
    expect(page.locator("#new-lot")).to_have_count(0)  # no form for a role that may only read
    page.close()
    marketer = _log_in(browser, base_url, engine, "marketer")
    expect(marketer.locator("nav")).not_to_contain_text("Bulk")
    marketer.goto(f"{base_url}/admin/bulk")
    expect(marketer.locator(".error")).to_contain_text("right_missing")
    marketer.close()


def _type_label(page: Page, code: str) -> str:
    options = page.locator("#new-lot select[name=type_id] option").all_inner_texts()
    return next(label for label in options if f"/ {code} " in label)
