"""DOM clobbering of the *document*: user markup naming the document's properties and methods.

``<img name="forms">`` makes ``document.forms`` that image, and the same goes for every
property and method of the document (it has ``[LegacyOverrideBuiltIns]``: an ``embed``,
``form``, ``iframe``, ``img`` or ``object`` named like one shadows it). A page that renders a
user's markup with ``name`` attributes (a sanitizer that removes scripts and event handlers
but keeps ``<img name>``) could so stop the client script: ``<img name="addEventListener">``
threw at ``document.addEventListener`` and left no click, change or submit listener, so on a
streamed page whose later piece brings a ``<base href>`` to another origin the native
submission carried the form's tokens there (the client's submit check, the only one left
once the tokens were sent, never ran); ``<img name="forms">`` left no ``theForm``, so the
page's own ``__doPostBack`` and callbacks did nothing; ``<img name="currentScript">`` took the
renewal settings from the image. The script reads the document through the prototypes, as it
reads forms. Here, in Chromium through the real middleware: a page carrying every such name
still posts back, partially posts back and calls back, and a streamed page's tokens stay home.
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

TOKENS = ("__VIEWSTATE", "__EVENTVALIDATION")

# Every document property or method the client script touches (postback.js and webforms.js).
NAMED = (
    "addEventListener", "forms", "currentScript", "activeElement", "body", "documentElement",
    "readyState", "characterSet", "createElement", "open", "write", "close", "baseURI",
)


def user_markup() -> str:
    """What a user may write: images with names (a sanitizer keeps <img name>)."""
    return "".join(f'<img name="{name}" alt="" src="data:,">' for name in NAMED)


HEAD = "<!DOCTYPE html><html><head><meta charset=utf-8><title>t</title></head><body>"

PAGE = """<form method="post" id="main" data-callbacks="Echo">
  <p id="event">{event}</p>
  <a href="#" id="delete" data-postback="Delete" data-postback-argument="17">delete</a>
  <div id="panel" data-update-panel>
    <p id="panel-event">{event}</p>
    <a href="#" id="in-panel" data-postback="Refresh" data-postback-argument="1">refresh</a>
  </div>
</form>
<section id="comments">{user}</section>"""

# A streamed page: the form and its tokens in the first piece, the user's markup in the second.
FORM = ('<form id="f1" method="post" action="save"><input name="note" value="kept">'
        '<button id="go">Go</button></form>')


def render(other_origin: str, visit: Visit) -> str | list[str] | None:
    if visit.path == "/streamed" and visit.method == "GET":  # (in two pieces)
        return [HEAD + FORM, f'<p>{user_markup()}</p><base href="{other_origin}/landing/">'
                "</body></html>"]
    if visit.path != "/":
        return None
    return HEAD + PAGE.format(event=visit.shown, user=user_markup()) + "</body></html>"


def echo(argument: str, request: Any) -> str:
    return "echo:" + argument


@pytest.fixture(scope="module")
def servers(serve: Any) -> Iterator[tuple[EventApp, str, OtherOrigin]]:
    other = OtherOrigin()
    with serve(other) as other_url:
        inner = EventApp(lambda visit, _: render(other_url, visit))
        middleware = PostbackMiddleware(inner, secret_keys=[new_key()],
                                        callbacks={"Echo": echo}, max_age=3600)
        with serve(middleware) as base_url:
            yield inner, base_url, other


@pytest.fixture
def app(servers: tuple[EventApp, str, OtherOrigin]) -> EventApp:
    servers[0].clear()
    servers[2].clear()
    return servers[0]


@pytest.fixture
def page(browser_page: Any, servers: tuple[EventApp, str, OtherOrigin], app: EventApp) -> Any:
    browser_page.goto(servers[1] + "/")
    browser_page.wait_for_function("typeof __doPostBack === 'function'")  # the deferred script ran
    return browser_page


def test_the_document_really_is_clobbered(page: Any) -> None:
    shadowed = page.evaluate("""names => names.filter(
        name => document[name] instanceof HTMLImageElement)""", list(NAMED))
    assert shadowed == list(NAMED)


def test_postbacks_partial_postbacks_and_callbacks_still_work(
    page: Any, app: EventApp, browser_log: Any
) -> None:
    assert page.evaluate("() => theForm && theForm.id") == "main"
    # A partial postback: sent by fetch (the page's charset read from the prototype), swapped.
    with page.expect_response(lambda r: "x-postback-panels" in r.request.headers) as response:
        page.click("#in-panel", force=True)
    assert response.value.headers["x-postback-partial"] == "panels"
    expect(page.locator("#panel-event")).to_have_text("Refresh|1")
    assert page.evaluate("() => Postback.callback('Echo', 'hi')") == "echo:hi"
    # The page's own script raising a postback (theForm found in the real document.forms).
    with page.expect_navigation():
        page.evaluate("() => __doPostBack('Delete', '17')")
    expect(page.locator("#event")).to_have_text("Delete|17")
    with page.expect_navigation():
        page.click("#delete", force=True)  # a data-postback link (the click listener is there)
    assert app.events(partial=True) == [("Refresh", "1")]
    assert app.events(partial=False) == [("Delete", "17"), ("Delete", "17")]
    assert browser_log.errors == []


def test_a_streamed_pages_tokens_stay_home_though_its_markup_names_addEventListener(
    browser_page: Any, servers: tuple[EventApp, str, OtherOrigin], app: EventApp, browser_log: Any
) -> None:
    base_url, other = servers[1:]
    response = browser_page.goto(base_url + "/streamed")
    # The tokens left with the first piece: only the client script can keep them home now.
    assert all(f'name="{token}"' in response.text() for token in TOKENS)
    browser_page.wait_for_function("typeof __doPostBack === 'function'")
    def elsewhere(request: Any) -> bool:
        return bool(request.method == "POST" and not request.url.startswith(base_url))

    with browser_page.expect_request(elsewhere) as sent:
        browser_page.click("#go", force=True)
    assert not any(token in (sent.value.post_data or "") for token in TOKENS)
    assert "note=kept" in (sent.value.post_data or "")  # the submission itself goes on
    browser_page.wait_for_load_state()
    seen = other.requests()
    assert [(m, p) for m, p, _ in seen if m == "POST"] == [("POST", "/landing/save")]
    assert not any(token in body for _, _, body in seen for token in TOKENS)
    assert browser_log.errors == []
