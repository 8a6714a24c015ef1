"""A control's ``form="ID"`` names the form it posts, for its own events too.

A list page cannot put a form around a table's rows, so its buttons name the form they belong
to (``<button form="bulk" data-postback="Delete" data-postback-argument="17">``) from cells
outside it, or from inside another form. The client raises such a control's event on its form
owner (``el.form``, as the browser submits it); the middleware registered the event on the
form around the control only, so the postback was refused (found by a red-team pass). The
named form now offers it. Chromium, through the real middleware.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .apps import EventApp, Visit, served
from .assertions import expect

pytestmark = pytest.mark.browser

PAGE = """<!DOCTYPE html><html><head><meta charset=utf-8><title>t</title></head><body>
<p id="event">{event}</p>
<form method="post" action="/bulk/" id="bulk"><input name="reason" value="spam"></form>
<table><tr><td>Row 17</td>
  <td><button type="button" id="delete" form="bulk" data-postback="Delete"
      data-postback-argument="17">Delete</button></td></tr></table>
<form method="post" action="/search/">
  <input name="q" value="ada">
  <button type="button" id="archive" form="bulk" data-postback="Archive"
      data-postback-argument="17">Archive</button>
  <select name="size" id="size" form="later" data-autopostback><option>S</option>
    <option>M</option></select>
</form>
<form method="post" action="/later/" id="later"></form>
</body></html>"""


def render(visit: Visit, events: int) -> str:
    return PAGE.format(event=visit.shown)


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[EventApp, str]]:
    with served(serve, render) as server:
        yield server


@pytest.mark.parametrize(
    ("act", "expected", "path", "sent"),
    [
        pytest.param(lambda page: page.click("#delete"), "Delete|17", "/bulk/",
                     b"reason=spam", id="a-button-in-a-table-outside-any-form"),
        pytest.param(lambda page: page.click("#archive"), "Archive|17", "/bulk/",
                     b"reason=spam", id="a-button-inside-another-form"),
        pytest.param(lambda page: page.select_option("#size", "M"), "size|", "/later/",
                     b"size=M", id="an-autopostback-select-naming-a-later-form"),
    ],
)
def test_a_control_raises_its_event_on_the_form_it_names(
    browser_page: Any, server: tuple[EventApp, str], browser_log: Any, act: Any,
    expected: str, path: str, sent: bytes,
) -> None:
    app, base_url = server
    app.clear()
    browser_page.goto(f"{base_url}/list/")
    browser_page.wait_for_function("typeof Postback === 'object'")
    with browser_page.expect_navigation():
        act(browser_page)
    expect(browser_page.locator("#event")).to_have_text(expected)
    posted = [visit for visit in app.visits if visit.method == "POST"]
    assert [visit.path for visit in posted] == [path]  # (accepted: the app was called)
    assert sent in posted[0].body
    assert browser_log.errors == []
