"""A post form inside a ``<table>`` (as list pages render one form a row) takes part in partial
postbacks like any other.

A browser's parser does not keep a ``<form>`` that opens inside a table (between ``<table>``
and its cells): it inserts the form element empty and gives it the inputs after it by its form
pointer, beside it and not inside it. The client script found a form's fields by its
descendants, so it saw no fields in such a form and counted one form fewer than the middleware,
which writes every post form's fresh fields, by position, into each partial answer: the page
reloaded after every partial postback (what the user had typed in other forms lost), and where
another form made the count match, a form's fresh tokens went into its neighbour (its next
postback refused). A form's fields are now the controls it owns (``form.elements``), as the
browser submits them. Chromium, through the real middleware.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .apps import EventApp, Visit, served
from .assertions import expect

pytestmark = pytest.mark.browser

PAGE = """<!DOCTYPE html><html><head><meta charset=utf-8><title>t</title></head><body>
<table id="rows">
  <form method="post" action="/rows/">
  <tr><td><input name="note" id="note"></td>
      <td><button type="submit" id="save-row" data-postback="SaveRow" data-postback-argument="7">
        Save</button></td></tr>
  </form>
</table>
<form method="post" id="main">
  <div id="panel" data-update-panel><p id="count">{count}</p><p id="event">{event}</p>
    <button type="button" id="more" data-postback="More">More</button></div>
</form>
</body></html>"""


def render(visit: Visit, events: int) -> str:
    return PAGE.format(count=events, event=visit.shown)


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[EventApp, str]]:
    with served(serve, render) as server:
        yield server


@pytest.fixture
def page(browser_page: Any, server: tuple[EventApp, str]) -> Any:
    app, base_url = server
    app.clear()
    browser_page.goto(f"{base_url}/rows/")
    browser_page.wait_for_function("typeof Postback === 'object'")
    return browser_page


def test_a_partial_postback_keeps_the_page_and_both_forms_post_again(
    page: Any, server: tuple[EventApp, str], browser_log: Any
) -> None:
    app = server[0]
    # (the parser put the form's inputs beside it: what the fix is about)
    assert page.evaluate("() => document.forms[0].querySelector('input') === null")
    page.evaluate("() => { window.notReloaded = true; }")
    page.fill("#note", "typed before the partial postback")
    for count in (1, 2):  # twice: the second posts with the first answer's fresh fields
        page.click("#more")
        expect(page.locator("#count")).to_have_text(str(count))
    assert page.evaluate("() => window.notReloaded") is True
    assert page.input_value("#note") == "typed before the partial postback"
    with page.expect_navigation():
        page.click("#save-row")  # the table's form, with the fields the partial answers wrote
    expect(page.locator("#event")).to_have_text("SaveRow|7")
    assert app.events() == [("More", ""), ("More", ""), ("SaveRow", "7")]
    assert {visit.path for visit in app.visits if visit.event} == {"/rows/"}
    assert browser_log.errors == []
