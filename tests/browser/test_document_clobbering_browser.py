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

import html
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from ..helpers import new_key
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


@dataclass
class App:
    events: list[tuple[str, str, bool]] = field(default_factory=list)  # (target, arg, partial)
    loads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    other_origin: str = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path == "/streamed" and environ["REQUEST_METHOD"] == "GET":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            second = (f'<p>{user_markup()}</p><base href="{self.other_origin}/landing/">'
                      "</body></html>")
            return (piece.encode() for piece in (HEAD + FORM, second))
        if path != "/":
            start_response("204 No Content", [])
            return []
        event = environ["postback.event"]
        partial = "HTTP_X_POSTBACK_PANELS" in environ
        with self.lock:
            if event is not None:
                self.events.append((event.target, event.argument, partial))
            if not partial:
                self.loads += 1
        text = "none" if event is None else f"{event.target}|{event.argument}"
        body = PAGE.format(event=html.escape(text), user=user_markup())
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [(HEAD + body + "</body></html>").encode()]


@dataclass
class Other:
    """The other origin: records every request."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, body)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
        with self.lock:
            self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], body))
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<!DOCTYPE html><title>other</title>"]


def echo(argument: str, request: Any) -> str:
    return "echo:" + argument


@pytest.fixture(scope="module")
def servers(serve: Any) -> Iterator[tuple[App, str, Other]]:
    inner, other = App(), Other()
    middleware = PostbackMiddleware(inner, secret_keys=[new_key()], callbacks={"Echo": echo},
                                    max_age=3600)
    with serve(middleware) as base_url, serve(other) as other_url:
        inner.other_origin = other_url
        yield inner, base_url, other


@pytest.fixture
def app(servers: tuple[App, str, Other]) -> App:
    servers[0].events.clear()
    with servers[2].lock:
        servers[2].seen.clear()
    return servers[0]


@pytest.fixture
def page(browser_page: Any, servers: tuple[App, str, Other], app: App) -> Any:
    browser_page.goto(servers[1] + "/")
    browser_page.wait_for_function("typeof __doPostBack === 'function'")  # the deferred script ran
    return browser_page


def test_the_document_really_is_clobbered(page: Any) -> None:
    shadowed = page.evaluate("""names => names.filter(
        name => document[name] instanceof HTMLImageElement)""", list(NAMED))
    assert shadowed == list(NAMED)


def test_postbacks_partial_postbacks_and_callbacks_still_work(
    page: Any, app: App, browser_log: Any
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
    assert [e[:2] for e in app.events] == [("Refresh", "1"), ("Delete", "17"), ("Delete", "17")]
    assert [e[2] for e in app.events] == [True, False, False]
    assert browser_log.errors == []


def test_a_streamed_pages_tokens_stay_home_though_its_markup_names_addEventListener(
    browser_page: Any, servers: tuple[App, str, Other], app: App, browser_log: Any
) -> None:
    other = servers[2]
    response = browser_page.goto(servers[1] + "/streamed")
    # The tokens left with the first piece: only the client script can keep them home now.
    assert all(f'name="{token}"' in response.text() for token in TOKENS)
    browser_page.wait_for_function("typeof __doPostBack === 'function'")
    with browser_page.expect_request(lambda r: r.url.startswith(app.other_origin)) as sent:
        browser_page.click("#go", force=True)
    assert not any(token in (sent.value.post_data or "") for token in TOKENS)
    assert "note=kept" in (sent.value.post_data or "")  # the submission itself goes on
    browser_page.wait_for_load_state()
    with other.lock:
        assert [(m, p) for m, p, _ in other.seen if m == "POST"] == [("POST", "/landing/save")]
        assert not any(token in body for _, _, body in other.seen for token in TOKENS)
    assert browser_log.errors == []
