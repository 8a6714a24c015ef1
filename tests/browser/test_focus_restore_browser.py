"""After a partial postback, focus goes back to the control that had it, not to a user's
element that repeats its id.

The client script refocused ``document.getElementById(id)`` of the control focused before the
swap: the first element of that id in the page. A page that shows users' markup (a comment
with ``<a id="next" href="https://evil.example/">`` above the app's own "Next" button, in the
panel or anywhere before it) so moved the focus to the user's link after each partial
postback, and the Enter the user pressed again followed it. Focus now goes back to the element
at the same place in the same panel: the same id, the same count of that id before it.
Chromium, through the real middleware.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .apps import EventApp, Visit, served
from .assertions import expect

pytestmark = pytest.mark.browser

# Where the user's markup stands: before the panel, or in it, before the app's button.
USER_LINK = '<a id="next" class="users" href="/elsewhere">a link in a comment</a>'
PAGE = """<!DOCTYPE html><html><head><meta charset=utf-8><title>t</title></head><body>
{before}
<form method="post">
  <div id="panel" data-update-panel>{inside}<p id="count">{count}</p>
    <button type="button" id="next" class="apps" data-postback="Next">Next</button></div>
</form>
</body></html>"""
PLACES = {"before-the-panel": ("before", "inside"), "in-the-panel": ("inside", "before")}


def render(visit: Visit, events: int) -> str:
    user, empty = PLACES[visit.path.strip("/")]
    return PAGE.format(count=events, **{user: USER_LINK, empty: ""})


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[EventApp, str]]:
    with served(serve, render) as server:
        yield server


@pytest.mark.parametrize("place", sorted(PLACES))
def test_focus_returns_to_the_apps_control(
    place: str, browser_page: Any, server: tuple[EventApp, str], browser_log: Any
) -> None:
    app, base_url = server
    app.clear()
    page = browser_page
    page.goto(f"{base_url}/{place}/")
    page.wait_for_function("typeof Postback === 'object'")
    page.focus("button#next")
    for count in (1, 2):  # the key the user presses, twice: the second goes where focus went
        page.keyboard.press("Enter")
        expect(page.locator("#count")).to_have_text(str(count))
        expect(page.locator("button#next")).to_be_focused()
    assert app.events() == [("Next", ""), ("Next", "")]
    assert browser_log.errors == []
