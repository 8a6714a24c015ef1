"""The demo, served by waitress through demo.ini, used in Chromium the way a person would."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paste.deploy import loadapp

from ..helpers import new_key

DEMO_INI = Path(__file__).resolve().parents[2] / "examples" / "demo.ini"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def demo_url(serve: Any) -> Iterator[str]:
    previous = os.environ.get("POSTBACK_SECRET_KEYS")
    os.environ["POSTBACK_SECRET_KEYS"] = new_key()
    try:
        app = loadapp(f"config:{DEMO_INI}")
    finally:
        if previous is None:
            del os.environ["POSTBACK_SECRET_KEYS"]
        else:
            os.environ["POSTBACK_SECRET_KEYS"] = previous
    with serve(app) as url:
        yield url


def order_numbers(page: Any) -> list[str]:
    return page.locator("#order-rows tr td:first-child").all_inner_texts()


def wait_for_postback(page: Any, action: Any) -> None:
    """A full postback: the page navigates."""
    with page.expect_navigation():
        action()


def expect_text(page: Any, selector: str, text: str) -> None:
    """Wait until the element shows ``text`` (after a partial swap or a reload alike)."""
    from playwright.sync_api import expect

    expect(page.locator(selector)).to_have_text(text)


def expect_rows(page: Any, numbers: list[str]) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#order-rows tr td:first-child")).to_have_text(numbers)


def test_demo_round_trip(browser_page: Any, browser_log: Any, demo_url: str) -> None:
    page = browser_page
    page.goto(demo_url)
    assert order_numbers(page) == ["1001", "1002", "1003", "1004", "1005", "1006"]

    # A row's delete link: a postback event with the row's argument. The rows and the
    # view-state box are update panels, so it is a partial postback: swapped in place.
    page.evaluate("() => { window.sameDocument = true; }")
    with page.expect_response(lambda r: "x-postback-panels" in r.request.headers) as answer:
        page.click("a[data-postback-argument='1003']")
    assert answer.value.headers["x-postback-partial"] == "panels"
    expect_rows(page, ["1001", "1002", "1004", "1005", "1006"])
    expect_text(page, "#last-event", "delete(1003)")

    # The counter lives in view state, across postbacks (partial ones, too).
    for expected in ("1", "2"):
        page.click("text=Count a click")
        expect_text(page, "#clicks", expected)
    assert page.evaluate("() => window.sameDocument") is True  # never reloaded

    # The sort dropdown posts on change.
    wait_for_postback(page, lambda: page.select_option("select[name=sort]", "customer"))
    assert order_numbers(page)[:2] == ["1001", "1005"]
    assert page.inner_text("#clicks") == "2"

    # Call Server: answered by a Python callback, no navigation.
    page.fill("#call-arg", "7")
    page.click("#call-server")
    label = page.locator("#lbl")
    label.filter(has_text="successful").wait_for()
    assert label.inner_text() == (
        "Calling server was successful. The passed argument was 7 (context: button)"
    )
    # The page still posts back after the callback refreshed its event validation.
    page.click("a[data-postback-argument='1001']")
    expect_rows(page, ["1005", "1004", "1002", "1006"])

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo.png"), full_page=True)
    assert browser_log.problems() == []


def test_demo_keeps_scroll_position_across_postbacks(browser_page: Any, demo_url: str) -> None:
    page = browser_page
    page.set_viewport_size({"width": 800, "height": 300})
    page.goto(demo_url)
    page.evaluate("window.scrollTo(0, 250)")
    # From page script: a click would first scroll the button into view.
    wait_for_postback(page, lambda: page.evaluate("__doPostBack('increment', '')"))
    page.wait_for_function("window.scrollY > 0")
    assert abs(page.evaluate("window.scrollY") - 250) <= 2
    assert page.inner_text("#clicks") == "1"


def test_tampered_page_is_refused(browser_page: Any, demo_url: str) -> None:
    page = browser_page
    page.goto(demo_url)
    # Someone edits the page to delete an order it never offered.
    page.evaluate(
        "document.querySelector(\"a[data-postback-argument='1003']\")"
        ".setAttribute('data-postback-argument', '9999')"
    )
    messages: list[str] = []
    page.on("dialog", lambda dialog: (messages.append(dialog.message), dialog.dismiss()))
    page.click("a[data-postback-argument='9999']")
    # A partial postback is refused through its own channel: the page stays as it is (nothing
    # typed is lost) and the person is told.
    page.wait_for_function("() => !document.querySelector('[aria-busy]')")
    deadline = time.monotonic() + 10
    while not messages and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert messages == ["Invalid postback or callback argument."]
    assert page.locator("a[data-postback-argument='1002']").count() == 1
