"""``data-postback`` / ``data-autopostback`` outside any post form raise nothing.

The middleware registers no event of such an element (it logs that they "raise no postback"),
but the client script raised them on ``theForm``: where that form offered the same pair
elsewhere, the server accepted it. A page that renders a user's markup with ``data-*``
attributes (a comment under the page's form, a GET search form's link) let that user turn any
click into one of the page's own events: ``<div data-postback="DeleteAccount"
style="position:fixed;inset:0">`` covering the page deleted the account on the first click
anywhere. Now an element raises only its own post form's events; the page's own scripts still
post ``theForm`` (``__doPostBack``). Chromium, through the real middleware.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .apps import EventApp, Visit, served
from .assertions import expect

pytestmark = pytest.mark.browser

HEAD = "<!DOCTYPE html><html><head><meta charset=utf-8><title>t</title></head><body>"

PAGE = """<form method="post" id="main">
  <p id="event">{event}</p>
  <button type="submit" id="del" data-postback="DeleteAccount">Delete my account</button>
  <a href="#" id="save" data-postback="Save" data-postback-argument="17">save</a>
  <select name="Color" data-autopostback><option>red</option><option>blue</option></select>
</form>
<section id="comments">{user}</section>"""

# What users wrote, under the page's form: their elements name the form's own events.
USER = {
    "covering": ('<div id="u" data-postback="DeleteAccount" '
                 'style="position:fixed;inset:0">Read more</div>'),
    "in-get-form": ('<form action="/search"><a id="u" href="#more" data-postback="Save" '
                    'data-postback-argument="17">Read more</a></form>'),
    "autopostback": ('<select id="u" name="Color" data-autopostback>'
                     '<option>red</option><option>blue</option></select>'),
}


def render(visit: Visit, _: int) -> str | None:
    kind = visit.path.strip("/")
    if kind not in USER:
        return None
    return HEAD + PAGE.format(user=USER[kind], event=visit.shown) + "</body></html>"


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[EventApp, str]]:
    with served(serve, render) as server:
        yield server


@pytest.fixture
def app(server: tuple[EventApp, str]) -> EventApp:
    server[0].clear()
    return server[0]


def open_page(page: Any, server: tuple[EventApp, str], kind: str) -> None:
    page.goto(f"{server[1]}/{kind}/")
    page.wait_for_function("typeof Postback === 'object'")  # the deferred script ran


@pytest.mark.parametrize(
    ("kind", "use"),
    [
        pytest.param("covering", lambda page: page.click("#u"), id="covering"),
        pytest.param("in-get-form", lambda page: page.click("#u"), id="in-get-form"),
        pytest.param("autopostback", lambda page: page.select_option("#u", "blue"),
                     id="autopostback"),
    ],
)
def test_a_users_element_outside_the_form_raises_nothing(
    browser_page: Any, server: tuple[EventApp, str], app: EventApp, kind: str,
    use: Callable[[Any], object],
) -> None:
    open_page(browser_page, server, kind)
    use(browser_page)
    browser_page.wait_for_timeout(500)
    assert app.count(method="POST") == 0


def test_the_forms_own_elements_and_the_pages_scripts_still_post(
    browser_page: Any, server: tuple[EventApp, str], app: EventApp
) -> None:
    open_page(browser_page, server, "in-get-form")
    with browser_page.expect_navigation():
        browser_page.evaluate("() => __doPostBack('Save', '17')")
    expect(browser_page.locator("#event")).to_have_text("Save|17")
    with browser_page.expect_navigation():
        browser_page.click("#save")
    expect(browser_page.locator("#event")).to_have_text("Save|17")
    assert app.events() == [("Save", "17"), ("Save", "17")]
