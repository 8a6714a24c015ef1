"""Partial postbacks (update panels) in Chromium, through the real middleware.

The inner app knows nothing of postbacks or panels: it reads ``environ["postback.event"]`` and
``environ["postback.viewstate"]`` and renders its whole page, with a strict CSP
(``script-src 'nonce-…' 'strict-dynamic'``). The page sets ``window.loadedAt`` when it loads, so a
test can tell a partial swap (the variable survives) from a reload. The orders live in view
state, so the rows shown prove which tokens the last postback carried.

Answers that are not plain HTML are replayed (see ``test_replay_browser``).

Waits use locators / ``expect`` only: a string predicate would be an ``eval`` the policy blocks.
"""

from __future__ import annotations

import html
import io
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import pytest

from postback_middleware import PostbackMiddleware

from ..helpers import new_key
from .assertions import expect

pytestmark = pytest.mark.browser

ORDERS = ("1", "2", "3")
CSP = "script-src 'nonce-{}' 'strict-dynamic'; object-src 'none'"
GATE_TIMEOUT = 10  # s: a request waiting on a gate never outlives the test by much

PAGE = """<!DOCTYPE html>
<html><head><meta charset=utf-8><title>orders</title>
<script nonce="{nonce}">window.loadedAt = Math.random();</script></head><body>
<form method="post">
  <p>Postbacks: <b id="counter">{posts}</b></p>
  <a href="#" id="count" data-postback="count">Count (full postback)</a>
  <div id="orders" data-update-panel>
    <p id="event">{event}</p>
    <p>Postbacks: <b id="panel-posts">{posts}</b></p>
    <table>{rows}</table>
    <select name="status" id="status" data-autopostback>{options}</select>
    <a href="#" id="slow-a" data-postback="slow" data-postback-argument="a">slow a</a>
    <a href="#" id="slow-b" data-postback="slow" data-postback-argument="b">slow b</a>
    <a href="#" id="go" data-postback="go">go away</a>
    <a href="#" id="script-go" data-postback="script-go">a script URL</a>
    <a href="#" id="elsewhere" data-postback="elsewhere">elsewhere</a>
    <a href="#" id="boom" data-postback="boom">fail</a>
  </div>
  <a href="#" id="refresh" data-postback="refresh" data-postback-panel="orders">Refresh</a>
</form>
</body></html>"""

ROW = (
    '<tr id="row-{n}"><td>Order {n}</td><td><a href="#" id="del-{n}" data-postback="delete"'
    ' data-postback-argument="{n}">Delete</a></td></tr>'
)
OTHER_PAGE = """<!DOCTYPE html>
<html><head><meta charset=utf-8><title>other</title>
<script nonce="{nonce}">window.otherLoaded = true;</script></head><body>
<form method="post"><p id="other">other page</p>
  <a href="#" id="again" data-postback="again">again</a></form>
</body></html>"""
ERROR_PAGE = b"<!DOCTYPE html><html><body><h1 id='error'>Server Error</h1></body></html>"
DONE_PAGE = b"<!DOCTYPE html><html><body><p id='done'>done</p></body></html>"


@dataclass
class OrdersApp:
    """Renders the orders page from view state; records (panels header, event) per request."""

    seen: list[tuple[str | None, tuple[str, str] | None]] = field(default_factory=list)
    gates: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()
            self.gates = {"a": threading.Event(), "b": threading.Event()}

    def release_all(self) -> None:
        for gate in self.gates.values():
            gate.set()

    def events(self) -> list[tuple[str, str] | None]:
        return [event for _, event in self.seen]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/favicon.ico":
            start_response("204 No Content", [])
            return []
        if path == "/done":
            return self.respond(start_response, "200 OK", DONE_PAGE)
        if path != "/orders":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        fields: dict[str, str] = {}
        if environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size).decode()
            fields = dict(parse_qsl(body, keep_blank_values=True))
        state = environ["postback.viewstate"]
        postback = environ.get("postback.event")
        event = None if postback is None else (postback.target, postback.argument)
        with self.lock:
            self.seen.append((environ.get("HTTP_X_POSTBACK_PANELS"), event))
        if environ["REQUEST_METHOD"] == "POST":
            state["posts"] = state.get("posts", 0) + 1
        target, argument = event or ("", "")
        if target == "delete":
            state["deleted"] = [*state.get("deleted", []), argument]
        elif target == "status":
            state["status"] = fields.get("status", "")
        elif target == "go":
            start_response("303 See Other", [("Location", "/done"), ("Content-Length", "0")])
            return [b""]
        elif target == "script-go":  # a browser never follows a redirect to a script URL
            location = "javascript:document.title='followed'"
            start_response("303 See Other", [("Location", location), ("Content-Length", "0")])
            return [b""]
        elif target == "elsewhere":  # a page without the panel
            nonce = secrets.token_urlsafe(16)
            page = OTHER_PAGE.format(nonce=nonce).encode()
            return self.respond(
                start_response, "200 OK", page, [("Content-Security-Policy", CSP.format(nonce))]
            )
        elif target == "boom":
            return self.respond(start_response, "500 Internal Server Error", ERROR_PAGE)
        elif target == "slow":
            self.gates[argument].wait(GATE_TIMEOUT)
        nonce = secrets.token_urlsafe(16)
        status = state.get("status", "open")
        page = PAGE.format(
            nonce=nonce,
            posts=state.get("posts", 0),
            event=html.escape("none" if event is None else "|".join(event)),
            rows="".join(ROW.format(n=n) for n in ORDERS if n not in state.get("deleted", [])),
            options="".join(
                f"<option{' selected' if s == status else ''}>{s}</option>"
                for s in ("open", "shipped")
            ),
        )
        return self.respond(
            start_response,
            "200 OK",
            page.encode(),
            [("Content-Security-Policy", CSP.format(nonce))],
        )

    @staticmethod
    def respond(
        start_response: Any, status: str, body: bytes, extra: list[tuple[str, str]] | None = None
    ) -> list[bytes]:
        start_response(
            status,
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                *(extra or []),
            ],
        )
        return [body]


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[OrdersApp, str]]:
    inner = OrdersApp()
    with serve(PostbackMiddleware(inner, secret_keys=[new_key()])) as base_url:
        yield inner, base_url


@pytest.fixture
def app(server: tuple[OrdersApp, str]) -> Iterator[OrdersApp]:
    inner = server[0]
    inner.reset()
    yield inner
    inner.release_all()  # never leave a server thread waiting


@pytest.fixture
def page(browser_page: Any, server: tuple[OrdersApp, str], app: OrdersApp) -> Any:
    """The orders page, loaded; ``page.navigations`` counts main-frame navigations after that."""
    browser_page.goto(server[1] + "/orders")
    browser_page.navigations = []
    browser_page.on(
        "framenavigated",
        lambda frame: (
            frame == browser_page.main_frame and browser_page.navigations.append(frame.url)
        ),
    )
    return browser_page



def loaded_at(page: Any) -> float:
    return float(page.evaluate("() => window.loadedAt"))


def rows(page: Any) -> Any:
    return page.locator("#orders tr td:first-child")


def partial_response(page: Any, action: Callable[[], Any]) -> Any:
    """Run ``action``; wait for the answer to the partial postback it sends."""
    with page.expect_response(lambda r: "x-postback-panels" in r.request.headers) as response:
        action()
    response.value.finished()
    return response.value


def assert_clean(page: Any, browser_log: Any) -> None:
    assert page.navigations == []
    assert browser_log.problems() == []


# --------------------------------------------------------------------------------------------


def test_partial_postback_updates_the_panel_without_reloading(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    before = loaded_at(page)
    response = partial_response(page, lambda: page.click("#del-2"))
    assert response.headers["x-postback-partial"] == "panels"
    assert (
        response.request.headers["content-type"]
        == "application/x-www-form-urlencoded;charset=UTF-8"
    )
    expect(rows(page)).to_have_text(["Order 1", "Order 3"])
    expect(page.locator("#event")).to_have_text("delete|2")
    expect(page.locator("#panel-posts")).to_have_text("1")
    assert page.inner_text("#counter") == "0"  # outside the panel: the DOM kept the old value
    assert loaded_at(page) == before
    assert app.seen == [(None, None), ("orders", ("delete", "2"))]
    assert page.get_attribute("#orders", "aria-busy") is None
    assert_clean(page, browser_log)


def test_two_partial_postbacks_in_a_row_verify_with_refreshed_tokens(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    before = loaded_at(page)
    viewstate = page.locator("input[name=__VIEWSTATE]")
    first_state = viewstate.input_value()
    partial_response(page, lambda: page.click("#del-1"))
    expect(rows(page)).to_have_text(["Order 2", "Order 3"])
    assert viewstate.input_value() != first_state  # refreshed from the answer
    partial_response(page, lambda: page.click("#del-3"))
    # Order 1 stays deleted: the second postback carried the view state of the first answer.
    expect(rows(page)).to_have_text(["Order 2"])
    expect(page.locator("#panel-posts")).to_have_text("2")
    assert app.events() == [None, ("delete", "1"), ("delete", "3")]
    assert loaded_at(page) == before
    assert page.locator("input[name=__EVENTTARGET]").input_value() == ""
    assert_clean(page, browser_log)


def test_full_postback_after_a_partial_one_verifies(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    before = loaded_at(page)
    partial_response(page, lambda: page.click("#del-1"))
    expect(rows(page)).to_have_text(["Order 2", "Order 3"])
    with page.expect_navigation():
        page.click("#count")  # outside any panel: a full postback
    expect(page.locator("#event")).to_have_text("count|")
    expect(page.locator("#counter")).to_have_text("2")
    expect(rows(page)).to_have_text(["Order 2", "Order 3"])
    assert loaded_at(page) != before
    assert app.seen[-1] == (None, ("count", ""))
    assert browser_log.problems() == []


def test_postback_panel_attribute_outside_the_panel_updates_it(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    before = loaded_at(page)
    partial_response(page, lambda: page.click("#refresh"))
    expect(page.locator("#event")).to_have_text("refresh|")
    assert loaded_at(page) == before
    assert app.seen[-1] == ("orders", ("refresh", ""))
    assert_clean(page, browser_log)


def test_autopostback_inside_the_panel_keeps_focus_and_scroll(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    page.set_viewport_size({"width": 400, "height": 200})
    page.focus("#status")
    page.evaluate("() => scrollTo(0, 60)")
    scrolled = page.evaluate("() => scrollY")
    assert scrolled > 0
    partial_response(page, lambda: page.select_option("#status", "shipped"))
    expect(page.locator("#event")).to_have_text("status|")
    expect(page.locator("#status")).to_have_value("shipped")
    expect(page.locator("#status")).to_be_focused()
    assert page.evaluate("() => scrollY") == scrolled
    assert_clean(page, browser_log)


def test_redirect_falls_back_to_navigation(page: Any, app: OrdersApp, browser_log: Any) -> None:
    with page.expect_navigation(url="**/done"):
        page.click("#go")
    expect(page.locator("#done")).to_have_text("done")
    assert app.seen[-1] == ("orders", ("go", ""))
    assert browser_log.problems() == []


def test_redirect_to_a_script_url_reloads_the_page_instead(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    before = loaded_at(page)
    with page.expect_navigation(url="**/orders"):
        page.click("#script-go")
    expect(page.locator("#event")).to_have_text("none")  # loaded again, by a GET
    assert loaded_at(page) != before
    assert page.title() == "orders"
    assert app.seen[-2:] == [("orders", ("script-go", "")), (None, None)]
    assert browser_log.problems() == []  # not even a blocked attempt (CSP would report it)


def test_error_page_is_shown_and_not_posted_again(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    url = page.url
    response = partial_response(page, lambda: page.click("#boom"))
    assert response.status == 500 and response.headers["x-postback-partial"] == "fallback"
    expect(page.locator("#error")).to_have_text("Server Error")
    assert page.url == url
    assert app.events() == [None, ("boom", "")]  # processed once, never re-posted
    # Chromium logs the failed request (status 500) itself; nothing else.
    assert [p for p in browser_log.problems() if "500" not in p] == []


def test_aria_busy_while_waiting(page: Any, app: OrdersApp, browser_log: Any) -> None:
    panel = page.locator("#orders")
    with page.expect_response(lambda r: "x-postback-panels" in r.request.headers) as response:
        page.click("#slow-a")
        expect(panel).to_have_attribute("aria-busy", "true")
        assert page.inner_text("#event") == "none"
        app.gates["a"].set()
    response.value.finished()
    expect(page.locator("#event")).to_have_text("slow|a")
    expect(panel).not_to_have_attribute("aria-busy", "true")
    assert panel.get_attribute("aria-busy") is None
    assert_clean(page, browser_log)


def test_stale_answer_is_ignored(page: Any, app: OrdersApp, browser_log: Any) -> None:
    panel = page.locator("#orders")
    page.click("#slow-a")
    page.click("#slow-b")
    partial_response(page, lambda: app.gates["b"].set())  # the newer one is answered first
    expect(page.locator("#event")).to_have_text("slow|b")
    assert panel.get_attribute("aria-busy") is None
    state_after_b = page.locator("input[name=__VIEWSTATE]").input_value()
    partial_response(page, lambda: app.gates["a"].set())  # then the older one: ignored
    page.wait_for_timeout(200)
    assert page.inner_text("#event") == "slow|b"
    assert page.locator("input[name=__VIEWSTATE]").input_value() == state_after_b
    assert sorted(e for e in app.events() if e) == [("slow", "a"), ("slow", "b")]
    # The page goes on working.
    partial_response(page, lambda: page.click("#del-1"))
    expect(page.locator("#event")).to_have_text("delete|1")
    assert_clean(page, browser_log)


def test_network_failure_falls_back_to_a_full_postback(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    def route(request: Any) -> None:
        if "x-postback-panels" in request.request.headers:
            request.abort()
        else:
            request.continue_()

    page.route("**/orders", route)
    with page.expect_navigation():
        page.click("#del-2")
    expect(rows(page)).to_have_text(["Order 1", "Order 3"])
    expect(page.locator("#counter")).to_have_text("1")
    assert app.seen[-1] == (None, ("delete", "2"))  # only the full postback reached the app
    assert [p for p in browser_log.problems() if "ERR_FAILED" not in p] == []


def test_without_fetch_panels_do_full_postbacks(browser_page: Any, server: Any, app: Any) -> None:
    browser_page.add_init_script("delete window.fetch;")
    browser_page.goto(server[1] + "/orders")
    with browser_page.expect_navigation():
        browser_page.click("#del-2")
    expect(rows(browser_page)).to_have_text(["Order 1", "Order 3"])
    assert app.seen[-1] == (None, ("delete", "2"))


def test_no_console_errors_or_csp_violations(page: Any, app: OrdersApp, browser_log: Any) -> None:
    csp = page.evaluate("() => document.querySelector('script[nonce]') !== null")
    assert csp
    for action in ("#del-1", "#refresh", "#del-3"):
        partial_response(page, lambda action=action: page.click(action))
    expect(rows(page)).to_have_text(["Order 2"])
    app.gates["a"].set()
    partial_response(page, lambda: page.click("#slow-a"))
    expect(page.locator("#event")).to_have_text("slow|a")
    assert browser_log.csp_violations() == []
    assert_clean(page, browser_log)


def test_page_without_the_panel_is_shown_and_posts_back(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    url = page.url
    with page.expect_navigation(url=url):
        response = partial_response(page, lambda: page.click("#elsewhere"))
    # A page with a CSP of its own is not written into this one: it is replayed, and the browser
    # shows it as the document at the postback's URL, under its own policy.
    assert response.headers["x-postback-partial"] == "replay"
    expect(page.locator("#other")).to_have_text("other page")
    # The answer's own (nonce'd) scripts ran, the middleware's script among them: its postbacks
    # work, and each posts once.
    assert page.evaluate("() => [window.otherLoaded, theForm.isConnected]") == [True, True]
    assert page.url == url
    with page.expect_navigation():
        page.click("#again")
    expect(page.locator("#event")).to_have_text("again|")
    assert app.seen == [(None, None), ("orders", ("elsewhere", "")), (None, ("again", ""))]
    assert browser_log.problems() == []


def test_double_click_in_a_panel_posts_once(page: Any, app: OrdersApp, browser_log: Any) -> None:
    page.dblclick("#slow-a")
    partial_response(page, lambda: app.gates["a"].set())
    expect(page.locator("#event")).to_have_text("slow|a")
    page.wait_for_timeout(200)
    assert app.events() == [None, ("slow", "a")]
    # Released once answered: the same postback can be made again.
    partial_response(page, lambda: page.click("#slow-a"))
    assert app.events() == [None, ("slow", "a"), ("slow", "a")]
    assert_clean(page, browser_log)


def test_refused_partial_postback_shows_the_refusal(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    page.locator("input[name=__VIEWSTATE]").evaluate("input => { input.value += 'x'; }")
    page.evaluate("""() => document.addEventListener("postback:refused", (e) => {
        window.refusal = e.detail; e.preventDefault(); })""")  # the page's own handler
    url = page.url
    response = partial_response(page, lambda: page.click("#del-1"))
    assert response.status == 403 and response.headers["x-postback-partial"] == "refused"
    # Through its own channel: the page stays as it is (nothing typed is lost), and is told.
    page.wait_for_function("() => window.refusal")
    assert page.evaluate("window.refusal") == {
        "reason": "tampered", "message": "Invalid postback or callback argument."}
    assert page.url == url and page.locator("#del-1").count() == 1
    assert app.events() == [None]  # refused before the inner app, and never posted again


# Without crypto.subtle (a page on plain http from another host than localhost) the client
# cannot name the children it has: it gets whole panels.
NO_DIGESTS = "Object.defineProperty(Crypto.prototype, 'subtle', { get() { return undefined; } });"


def test_unchanged_children_travel_as_indexes_and_the_panel_ends_up_the_same(
    page: Any, app: OrdersApp, browser: Any, server: tuple[OrdersApp, str], browser_log: Any
) -> None:
    """Side by side, the same postbacks: with digests only the changed children travel, and the
    panel's markup after each swap is the very markup a client given whole panels ends up with."""
    context = browser.new_context()
    context.add_init_script(NO_DIGESTS)
    whole = context.new_page()
    whole.goto(server[1] + "/orders")
    before = loaded_at(page)
    steps = [
        (lambda p: p.click("#del-2"), "delete|2"),
        (lambda p: p.click("#refresh"), "refresh|"),
        (lambda p: p.select_option("#status", "shipped"), "status|"),
        (lambda p: p.click("#del-3"), "delete|3"),
    ]
    try:
        for step, event in steps:
            children = page.evaluate("() => orders.childNodes.length")
            answered = []
            for client in (page, whole):
                answered.append(partial_response(client, lambda c=client, s=step: s(c)))
                expect(client.locator("#event")).to_have_text(event)
            with_digests, without = answered
            digests = with_digests.request.headers["x-postback-children"].split(",")
            assert len(digests) == children  # one for each child the panel had
            assert "x-postback-children" not in without.request.headers
            assert isinstance(without.json()["panels"]["orders"], str)
            pieces = with_digests.json()["panels"]["orders"]
            kept = [p for p in pieces if isinstance(p, int)]
            assert len(kept) >= 6  # the six links and the whitespace between children
            whole_panel = without.json()["panels"]["orders"]
            assert len(json.dumps(pieces)) < len(json.dumps(whole_panel)) * 0.7
            assert page.inner_html("#orders") == whole.inner_html("#orders")
        expect(rows(page)).to_have_text(["Order 1"])
        assert loaded_at(page) == before
    finally:
        context.close()
    assert_clean(page, browser_log)


def test_a_child_changed_in_the_page_is_sent_again(
    page: Any, app: OrdersApp, browser_log: Any
) -> None:
    page.evaluate("() => document.getElementById('go').setAttribute('data-mark', '')")
    response = partial_response(page, lambda: page.click("#refresh"))
    sent = [p for p in response.json()["panels"]["orders"] if isinstance(p, str)]
    assert any('id="go"' in piece for piece in sent)  # no longer what the server rendered
    assert not any('id="boom"' in piece for piece in sent)  # unchanged: an index
    expect(page.locator("#event")).to_have_text("refresh|")
    assert page.get_attribute("#go", "data-mark") is None  # the server's markup again
    assert_clean(page, browser_log)


# --------------------------------------------------------------------------------------------
# The same postback as a full one: what the inner app reads does not depend on the path taken.

FORM_PAGE = """<!DOCTYPE html>
<html><head><meta charset={charset}><title>form</title></head><body>
<form method="post" enctype="{enctype}">
  <input name="name" value="caf\u00e9">
  <textarea name="note">line 1
line 2
</textarea>
  <input type="checkbox" name="tag" value="a" checked><input type="checkbox" name="tag" value="b">
  <input type="file" name="upload">
  <div id="panel" data-update-panel><p id="posts">{posts}</p>
    <a href="#" id="partial" data-postback="send">send (partial)</a></div>
  <a href="#" id="full" data-postback="send">send (full)</a>
</form></body></html>"""

AROUND_PAGE = """<!DOCTYPE html>
<html><head><meta charset=utf-8><title>around</title></head><body>
<div id="panel" data-update-panel><form method="post">
  <p id="posts">{posts}</p>
  <a href="#" id="partial" data-postback="send">send (partial)</a>
  <button id="full" name="full" value="1">send (full)</button>
</form></div></body></html>"""


@dataclass
class FormApp:
    """Records the content type and raw body of every postback the inner app gets."""

    bodies: list[tuple[str | None, str, bytes]] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        charset = query.get("charset", "utf-8")
        if environ["REQUEST_METHOD"] == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            self.bodies.append(
                (environ.get("HTTP_X_POSTBACK_PANELS"), environ.get("CONTENT_TYPE", ""), body)
            )
        if query.get("layout") == "around":
            page = AROUND_PAGE.format(posts=len(self.bodies)).encode()
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [page]
        multipart = query.get("enctype") == "multipart"
        page = FORM_PAGE.format(
            charset=charset,
            enctype="multipart/form-data" if multipart else "application/x-www-form-urlencoded",
            posts=len(self.bodies),
        ).encode(charset)
        start_response("200 OK", [("Content-Type", f"text/html; charset={charset}")])
        return [page]


@pytest.fixture(scope="module")
def form_server(serve: Any) -> Iterator[tuple[FormApp, str]]:
    inner = FormApp()
    with serve(PostbackMiddleware(inner, secret_keys=[new_key()])) as base_url:
        yield inner, base_url


def fields_of(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """The (name, value) pairs of a body; a file part as its file name and its content."""
    if content_type.startswith("multipart/"):
        from multipart import MultipartParser, parse_options_header

        boundary = parse_options_header(content_type)[1]["boundary"]
        return [
            (part.name, f"{part.filename}:".encode() + part.raw if part.filename else part.raw)
            for part in MultipartParser(io.BytesIO(body), boundary)
        ]
    pairs = [pair.replace(b"+", b" ").partition(b"=") for pair in body.split(b"&")]
    return [(unquote_to_bytes(k).decode(), unquote_to_bytes(v)) for k, _, v in pairs]


@pytest.mark.parametrize("enctype", ["urlencoded", "multipart"])
def test_partial_postback_sends_what_a_full_one_sends(
    browser_page: Any, form_server: tuple[FormApp, str], enctype: str, tmp_path: Any
) -> None:
    inner, base_url = form_server
    upload = tmp_path / "notes.txt"
    upload.write_bytes(b"line 1\r\nline 2\n\x00\xff")
    sent = []
    for link in ("#full", "#partial"):
        inner.bodies.clear()
        browser_page.goto(f"{base_url}/?enctype={enctype}")
        browser_page.set_input_files("input[name=upload]", str(upload))
        browser_page.click(link)
        expect(browser_page.locator("#posts")).to_have_text("1")
        [(panels, content_type, body)] = inner.bodies
        assert (panels is not None) == (link == "#partial")
        sent.append(fields_of(content_type, body))
    full, partial = sent
    assert partial == full
    assert ("note", b"line 1\r\nline 2\r\n") in full  # the browser's own newline rule
    assert ("name", "caf\u00e9".encode()) in full


def test_page_in_another_charset_posts_the_ordinary_way(
    browser_page: Any, form_server: tuple[FormApp, str]
) -> None:
    inner, base_url = form_server
    inner.bodies.clear()
    browser_page.goto(f"{base_url}/?charset=iso-8859-1")
    with browser_page.expect_navigation():
        browser_page.click("#partial")
    [(panels, _, body)] = inner.bodies
    assert panels is None  # a full postback: fetch could only send UTF-8
    assert b"name=caf%E9&" in body  # the page's own charset, as the app expects


def test_panel_around_its_form(browser_page: Any, form_server: tuple[FormApp, str]) -> None:
    """The swap replaces the form itself; the new one carries fresh tokens and still posts."""
    inner, base_url = form_server
    inner.bodies.clear()
    browser_page.goto(f"{base_url}/?layout=around")
    browser_page.evaluate("() => { window.sameDocument = true; }")
    for posts in ("1", "2"):
        browser_page.click("#partial")
        expect(browser_page.locator("#posts")).to_have_text(posts)
    assert browser_page.evaluate("() => window.sameDocument") is True
    assert browser_page.evaluate("() => theForm.isConnected") is True
    with browser_page.expect_navigation():
        browser_page.click("#full")
    expect(browser_page.locator("#posts")).to_have_text("3")
    assert [panels for panels, _, _ in inner.bodies] == ["panel", "panel", None]


def test_without_javascript_a_panel_posts_the_ordinary_way(
    browser: Any, form_server: tuple[FormApp, str]
) -> None:
    """Script off: the form in a panel is an ordinary form; its submit button posts it whole."""
    inner, base_url = form_server
    inner.bodies.clear()
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{base_url}/?layout=around")
        with page.expect_navigation():
            page.click("#full")
        expect(page.locator("#posts")).to_have_text("1")  # verified, and the app ran
        assert [panels for panels, _, _ in inner.bodies] == [None]
    finally:
        context.close()
