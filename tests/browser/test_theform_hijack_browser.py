"""A user's form holding an ``__EVENTTARGET`` input never becomes ``theForm``.

The client script took for ``theForm`` the page's first form holding an input named
``__EVENTTARGET``. A page that renders a user's markup with forms (a sanitizer keeping
``<form>``, ``<input name>``: the middleware gives a GET form, or one posting to another origin,
no fields and no tokens, and leaves its inputs as written) could so put its own form first:

* the page's own ``__doPostBack`` (ASP.NET's ``javascript:__doPostBack`` links, a script's call,
  ``WebForm_DoPostBackWithOptions``) posted the user's form, to the other origin: a click on
  the app's own control took the user to the attacker's site with the event and its argument;
  callbacks failed (*another origin*);
* on load, the script restored focus and scroll from that form's ``__LASTFOCUS`` and
  ``__SCROLLPOSITIONX/Y``: the app's "Delete my account" button was focused and scrolled out of
  sight, and the Space the user pressed to scroll the page clicked it.

``theForm`` is now the first post form that goes to this origin by POST (what the middleware
counts as one), and focus and scroll are never restored from a form that sends elsewhere.
Chromium, through the real middleware; the other origin is a second server that records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from ..helpers import new_key
from .apps import EventApp, OtherOrigin, Visit
from .assertions import expect

pytestmark = pytest.mark.browser

HEAD = "<!DOCTYPE html><html><head><meta charset=utf-8><title>t</title></head><body>"

# The app's form, after the user's markup (a profile header, a comment above the page's form).
PAGE = """{user}
<form method="post" id="main" data-callbacks="Echo">
  <p id="event">{event}</p>
  <p style="height: 2000px">the page</p>
  <button type="submit" id="del" data-postback="DeleteAccount">Delete my account</button>
  <span hidden data-postback="Save" data-postback-argument="17"></span>
</form>
<a id="save" href="javascript:__doPostBack('Save','17')">Save</a>"""

# What users wrote: a form the middleware leaves alone, holding the client's field names.
FIELDS = ('<input type="hidden" name="__EVENTTARGET"><input type="hidden" name="__EVENTARGUMENT">'
          '<input type="hidden" name="__LASTFOCUS" value="del">'
          '<input type="hidden" name="__SCROLLPOSITIONX" value="0">'
          '<input type="hidden" name="__SCROLLPOSITIONY" value="0">')
USER_FORMS = {
    "another-origin": lambda other: f'<form method="post" action="{other}/steal">{FIELDS}</form>',
    "get": lambda other: f'<form action="/search">{FIELDS}<input name="q"></form>',
}


def render(other_origin: str, visit: Visit) -> str | None:
    kind = visit.path.strip("/")
    if kind not in USER_FORMS:
        return None
    page = PAGE.format(user=USER_FORMS[kind](other_origin), event=visit.shown)
    return HEAD + page + "</body></html>"


@pytest.fixture(scope="module")
def servers(serve: Any) -> Iterator[tuple[EventApp, str, OtherOrigin]]:
    other = OtherOrigin()
    with serve(other) as other_url:
        inner = EventApp(lambda visit, _: render(other_url, visit))
        middleware = PostbackMiddleware(
            inner, secret_keys=[new_key()],
            callbacks={"Echo": lambda argument, request: "echo:" + argument})
        with serve(middleware) as base_url:
            yield inner, base_url, other


@pytest.fixture(params=sorted(USER_FORMS))
def page(request: Any, browser_page: Any, servers: tuple[EventApp, str, OtherOrigin]) -> Any:
    app, base_url, other = servers
    app.clear()
    other.clear()
    browser_page.goto(f"{base_url}/{request.param}/")
    browser_page.wait_for_function("typeof Postback === 'object'")  # the deferred script ran
    browser_page.wait_for_load_state("load")  # (focus and scroll are restored on load)
    return browser_page


def test_the_pages_own_postbacks_and_callbacks_use_the_apps_form(
    page: Any, servers: tuple[EventApp, str, OtherOrigin], browser_log: Any
) -> None:
    app, _, other = servers
    assert page.evaluate("() => theForm.id") == "main"
    assert page.evaluate("() => Postback.callback('Echo', 'x')") == "echo:x"
    with page.expect_navigation():
        page.click("#save")  # ASP.NET's javascript:__doPostBack link
    expect(page.locator("#event")).to_have_text("Save|17")
    assert app.events() == [("Save", "17")]
    assert other.requests() == []
    assert browser_log.errors == []


def test_focus_and_scroll_are_not_restored_from_a_users_form(
    page: Any, servers: tuple[EventApp, str, OtherOrigin]
) -> None:
    app = servers[0]
    assert page.evaluate("() => document.activeElement.id") != "del"
    page.keyboard.press(" ")  # the user scrolls down the page
    page.wait_for_timeout(500)
    assert app.events() == []
    assert page.evaluate("() => document.activeElement.id") != "del"
