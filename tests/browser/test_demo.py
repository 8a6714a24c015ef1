"""The demo, served by waitress through demo.ini, used in Chromium the way a person would.

``test_screenshot_of_the_demo`` takes the README's screenshot on every run, into
``tests/browser/artifacts/demo.png``. It copies it over the committed ``docs/images/demo.png``
only when that is missing or ``POSTBACK_UPDATE_SCREENSHOT=1``: no two runs make the same bytes
(the callback's timing, the machine's fonts), and a test run should not leave the checkout
modified.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paste.deploy import loadapp

from ..helpers import ROOT, new_key
from .assertions import expect

DEMO_INI = ROOT / "examples" / "demo.ini"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
README_SCREENSHOT = ROOT / "docs" / "images" / "demo.png"
# What Chromium's console says of any 403 answer (the refusals below are expected ones).
FORBIDDEN_LOGGED = ("error: Failed to load resource: the server responded with a status of 403 "
                    "(Forbidden)")


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


def expect_text(page: Any, selector: str, text: str | re.Pattern[str]) -> None:
    """Wait until the element shows ``text`` (after a partial swap or a reload alike)."""
    expect(page.locator(selector)).to_have_text(text)


def expect_rows(page: Any, numbers: list[str]) -> None:
    expect(page.locator("#order-rows tr td:first-child")).to_have_text(numbers)


ROUND_TRIP = re.compile(r"^\d+\.\d ms$")


def fill_the_inspector(page: Any) -> None:
    """Delete a row, count a click, call the server, tamper: every figure of the inspector set."""
    page.click("a[data-postback-argument='1003']")
    expect_text(page, "#last-event", "delete(1003)")
    page.click("text=Count a click")
    expect_text(page, "#last-event", "increment()")
    expect_text(page, "#partial-bytes", re.compile(r"^[\d,]+ bytes$"))
    page.fill("#call-arg", "7")
    page.click("#call-server")
    expect_text(page, "#callback-ms", ROUND_TRIP)
    page.click("#tamper")
    expect(page.locator("#refusal")).to_be_visible()


def test_demo_round_trip(browser_page: Any, browser_log: Any, demo_url: str) -> None:
    page = browser_page
    page.goto(demo_url)
    assert order_numbers(page) == ["1001", "1002", "1003", "1004", "1005", "1006"]

    # A row's delete link: a postback event with the row's argument. It names the rows and the
    # inspector's server half, update panels, so it is a partial postback: swapped in place.
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
    assert label.inner_text() == "Calling server was successful. The passed argument was 7"
    # The page still posts back after the callback refreshed its event validation.
    page.click("a[data-postback-argument='1001']")
    expect_rows(page, ["1005", "1004", "1002", "1006"])
    assert browser_log.problems() == []  # (CSP violations included: the page allows no inline)


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


def test_tampered_page_is_refused(browser_page: Any, browser_log: Any, demo_url: str) -> None:
    page = browser_page
    page.goto(demo_url)
    # Someone edits the page to delete an order it never offered.
    page.evaluate(
        "document.querySelector(\"a[data-postback-argument='1003']\")"
        ".setAttribute('data-postback-argument', '9999')"
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.click("a[data-postback-argument='9999']")
    # A partial postback is refused through its own channel: the page stays as it is (nothing
    # typed is lost), and the demo shows the refusal in its inspector instead of an alert.
    expect(page.locator("#refusal")).to_contain_text(
        "reason \u201cnot-offered\u201d: Invalid postback or callback argument.")
    assert dialogs == []
    assert page.locator("a[data-postback-argument='1002']").count() == 1
    assert browser_log.problems() == [FORBIDDEN_LOGGED]


# -- the inspector --------------------------------------------------------------------------


def test_inspector_shows_the_event_and_the_bytes_of_a_partial_answer(
    browser_page: Any, demo_url: str
) -> None:
    page = browser_page
    full_page = len(page.goto(demo_url).body())
    expect_text(page, "#full-bytes", f"{full_page:,}")
    with page.expect_response(lambda r: "x-postback-panels" in r.request.headers) as answer:
        page.click("a[data-postback-argument='1003']")
    expect_text(page, "#last-event", "delete(1003)")  # as the app saw it, verified
    expect_text(page, "#app-body", "sort=number")  # the tokens cut out
    # The figure is the bytes the browser received: the very answer's body.
    partial = len(answer.value.body())
    expect_text(page, "#partial-bytes", f"{partial:,} bytes")
    assert partial < full_page / 4
    saving = round(100 * (1 - partial / full_page))
    expect_text(page, "#partial-saving", f"({saving}% less than the full page)")

    # A full postback (the sort dropdown) loads a whole page: the figure follows it.
    with page.expect_navigation() as navigation:
        page.select_option("select[name=sort]", "total")
    expect_text(page, "#full-bytes", f"{len(navigation.value.body()):,}")


def test_tamper_button_is_refused_and_the_page_goes_on(
    browser_page: Any, browser_log: Any, demo_url: str
) -> None:
    page = browser_page
    page.goto(demo_url)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    with page.expect_response(lambda r: "x-postback-panels" in r.request.headers) as answer:
        page.click("#tamper")
    assert answer.value.status == 403
    assert answer.value.headers["x-postback-refused"] == "tampered"
    expect(page.locator("#refusal")).to_contain_text(
        "Refused: HTTP 403, reason \u201ctampered\u201d")
    assert page.inner_text("#clicks") == "0"  # the handler never ran
    assert dialogs == []
    # The genuine view state was put back: the next postback verifies.
    page.click("text=Count a click")
    expect_text(page, "#clicks", "1")
    expect(page.locator("#refusal")).to_be_hidden()
    assert browser_log.problems() == [FORBIDDEN_LOGGED]


def test_callback_round_trip_is_timed(browser_page: Any, demo_url: str) -> None:
    page = browser_page
    page.goto(demo_url)
    page.fill("#call-arg", "42")
    page.click("#call-server")
    expect_text(page, "#lbl", "Calling server was successful. The passed argument was 42")
    expect_text(page, "#callback-ms", ROUND_TRIP)
    assert 0 < float(page.inner_text("#callback-ms").split()[0]) < 10_000
    expect(page.locator("#client-events li").first).to_contain_text("postback:beforecallback")


def test_phone_width_scrolls_only_down(browser: Any, demo_url: str) -> None:
    """On a 375 px wide phone (the page's viewport meta honoured), nothing is wider than the
    screen, with every figure of the inspector filled in."""
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(demo_url)
        assert page.evaluate("() => innerWidth") == 375  # (980 without the viewport meta)
        fill_the_inspector(page)
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1] == 375
    finally:
        context.close()


def assert_png(path: Path, min_width: int) -> None:
    """A PNG (signature and header chunk), at least ``min_width`` pixels wide, of a size that
    fits a README (more than a blank page, less than 2 MB)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    width, height = struct.unpack(">II", data[16:24])
    assert width >= min_width and height >= 600, (width, height)
    assert 20_000 < len(data) < 2_000_000, len(data)


def test_screenshot_of_the_demo(browser_page: Any, demo_url: str) -> None:
    """The README's screenshot, taken on every run (the module's docstring says when it
    replaces the committed one)."""
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(demo_url)
    fill_the_inspector(page)
    page.mouse.move(0, 0)  # (no button drawn hovered)
    ARTIFACTS.mkdir(exist_ok=True)
    taken = ARTIFACTS / "demo.png"
    page.screenshot(path=str(taken), full_page=True)
    assert_png(taken, min_width=1280)
    if os.environ.get("POSTBACK_UPDATE_SCREENSHOT") == "1" or not README_SCREENSHOT.exists():
        README_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(taken, README_SCREENSHOT)
    assert_png(README_SCREENSHOT, min_width=1280)
