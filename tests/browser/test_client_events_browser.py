"""The client's DOM events (docs/reference/client-script.md, "Client events") in Chromium,
through the real middleware.

Every path that sends something dispatches its events with their detail, a cancelled event
sends nothing (the inner app and the registry's callbacks are asked what arrived), and the
busy-state example of docs/how-to/events-and-callbacks.md, taken from the page itself, works.

An init script records every ``postback:*`` event the document sees, in ``sessionStorage``
(so a full postback's events outlive the page), and cancels those the test names in
``window.cancel`` (``{name: true}``, or ``{name: element id}``).
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest

from postback_middleware import CallbackError, PostbackMiddleware, Registry
from postback_middleware.middleware import CALLBACK_FAILED

from ..helpers import code_blocks, new_key
from .assertions import expect

pytestmark = pytest.mark.browser

FORBIDDEN = "Invalid postback or callback argument."
CANCELED = "Callback canceled by a postback:beforecallback listener"
GATE_TIMEOUT = 10  # s: a request held at a gate never outlives the test by much
CANCELABLE = {"before", "beforeswap", "beforecallback", "refused"}
[BUSY_SCRIPT] = code_blocks("docs/how-to/events-and-callbacks.md", "A busy state", "js")

PAGE = """<!DOCTYPE html>
<html><head><meta charset=utf-8><title>events</title></head><body>
<span id="spinner" hidden>Working\u2026</span>
<form method="post" id="form" data-callbacks="echo slow deliberate crash">
  <p id="event">{event}</p>
  <input type="text" name="q" id="q" value="typed">
  <a href="#" id="link" data-postback="link" data-postback-argument="a1">full</a>
  <span hidden data-postback="script" data-postback-argument="s1"></span>
  <select name="pick" id="pick" data-autopostback><option>one</option><option>two</option></select>
  <button type="submit" id="raise" name="save" value="yes"
          data-postback="save" data-postback-argument="42">Save</button>
  <input type="submit" id="plain" name="plain" value="Plain">
  <div id="panel" data-update-panel>
    <p id="panel-event">{event}</p>
    <a href="#" id="in-panel" data-postback="inpanel" data-postback-argument="p1">partial</a>
    <select name="status" id="status" data-autopostback>
      <option>open</option><option>shipped</option></select>
    <a href="#" id="boom" data-postback="boom">fails</a>
    <button type="submit" id="in-panel-button" name="inner" value="1">Inner</button>
  </div>
  <a href="#" id="both" data-postback="both" data-postback-panel="panel side">both panels</a>
</form>
<div id="side" data-update-panel><p id="side-event">{event}</p></div>
{script}
</body></html>"""
ERROR_PAGE = b"<!DOCTYPE html><html><body><h1 id='error'>Server Error</h1></body></html>"

RECORDER = """(() => {
  for (const name of ["before", "beforeswap", "afterswap", "beforecallback", "aftercallback",
                      "error", "refused", "renewed"]) {
    document.addEventListener("postback:" + name, (e) => {
      const on = e.target === document ? "document" : e.target.id;
      const log = JSON.parse(sessionStorage.getItem("events") || "[]");
      log.push([name, on, e.detail, e.cancelable]);
      sessionStorage.setItem("events", JSON.stringify(log));
      const cancel = (window.cancel || {})[name];
      if (cancel === true || cancel === on) e.preventDefault();
    });
  }
})();"""


@dataclass
class EventsApp:
    """Renders the page; records (panels header, event, fields) per request; holds the
    postbacks whose target is in ``held`` (and the ``slow`` callback) until released."""

    seen: list[tuple[str | None, tuple[str, str] | None, dict[str, str]]] = field(
        default_factory=list)
    callbacks: list[tuple[str, str]] = field(default_factory=list)
    held: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()
            self.callbacks.clear()
            self.held = {"slow": threading.Event()}

    def hold(self, target: str) -> threading.Event:
        self.held[target] = threading.Event()
        return self.held[target]

    def release_all(self) -> None:
        for gate in self.held.values():
            gate.set()

    def posts(self) -> list[tuple[str | None, tuple[str, str] | None]]:
        return [(panels, event) for panels, event, _ in self.seen[1:]]

    def callback(self, name: str) -> Callable[[str, Any], str]:
        def handler(argument: str, request: Any) -> str:
            with self.lock:
                self.callbacks.append((name, argument))
            if name == "slow":
                self.held["slow"].wait(GATE_TIMEOUT)
            if name == "deliberate":
                raise CallbackError("msg")
            if name == "crash":
                raise RuntimeError("database password is hunter2")
            return f"{name}:{argument}"

        return handler

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/favicon.ico":
            start_response("204 No Content", [])
            return []
        if path not in ("/events", "/busy"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        fields: dict[str, str] = {}
        if environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            fields = dict(parse_qsl(environ["wsgi.input"].read(size).decode()))
        postback = environ.get("postback.event")
        event = None if postback is None else (postback.target, postback.argument)
        with self.lock:
            self.seen.append((environ.get("HTTP_X_POSTBACK_PANELS"), event, fields))
        target = event[0] if event else ""
        if target in self.held:
            self.held[target].wait(GATE_TIMEOUT)
        if target == "boom":
            return respond(start_response, "500 Internal Server Error", ERROR_PAGE)
        script = f"<script>{BUSY_SCRIPT}</script>" if path == "/busy" else ""
        shown = html.escape("none" if event is None else "|".join(event))
        page = PAGE.replace("{event}", shown).replace("{script}", script)
        return respond(start_response, "200 OK", page.encode())


def respond(start_response: Any, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                            ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
    return [body]


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[EventsApp, str]]:
    inner = EventsApp()
    registry = Registry()
    for name in ("echo", "slow", "deliberate", "crash"):
        registry.add_callback(name, inner.callback(name))
    with serve(PostbackMiddleware(inner, secret_keys=[new_key()], registry=registry)) as url:
        yield inner, url


@pytest.fixture
def app(server: tuple[EventsApp, str]) -> Iterator[EventsApp]:
    inner = server[0]
    inner.reset()
    yield inner
    inner.release_all()  # never leave a server thread waiting


@pytest.fixture
def open_page(
    browser_page: Any, server: tuple[EventsApp, str], app: EventsApp
) -> Callable[..., Any]:
    """Load /events (or /busy) with the recorder; ``page.posts`` lists the POSTs it sends."""

    def load(path: str = "/events") -> Any:
        page = browser_page
        page.add_init_script(RECORDER)
        page.goto(server[1] + path)
        page.posts = []
        page.on("request", lambda r: r.method == "POST" and page.posts.append(r.post_data))
        return page

    return load


@pytest.fixture
def page(open_page: Callable[..., Any]) -> Any:
    return open_page()


def events(page: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """The events recorded so far: (name, id of the element dispatched on, detail); each
    cancelable exactly when the docs say so."""
    log = json.loads(page.evaluate("() => sessionStorage.getItem('events') || '[]'"))
    for name, _, _, cancelable in log:
        assert cancelable == (name in CANCELABLE), name
    return [(name, on, detail) for name, on, detail, _ in log]


def wait_for_events(page: Any, count: int) -> list[tuple[str, str, dict[str, Any]]]:
    page.wait_for_function(
        "n => JSON.parse(sessionStorage.getItem('events') || '[]').length >= n", arg=count)
    return events(page)


def event_fields(page: Any) -> list[str]:
    return [page.locator(f"#form input[name={name}]").input_value()
            for name in ("__EVENTTARGET", "__EVENTARGUMENT")]


def before(target: str, argument: str, panels: list[str]) -> tuple[str, str, dict[str, Any]]:
    return ("before", "form", {"target": target, "argument": argument, "panels": panels})


def swaps(*panels: str) -> list[tuple[str, str, dict[str, Any]]]:
    return ([("beforeswap", p, {"panel": p}) for p in panels] +
            [("afterswap", p, {"panel": p}) for p in panels])


# --------------------------------------------------------------------------------------------
# postback:before, on every path that sends a postback

POSTBACKS = [
    pytest.param(lambda p: p.click("#link"), ("link", "a1"), [], id="data-postback-link"),
    pytest.param(lambda p: p.evaluate("__doPostBack('script', 's1')"), ("script", "s1"), [],
                 id="__doPostBack"),
    pytest.param(lambda p: p.select_option("#pick", "two"), ("pick", ""), [],
                 id="autopostback"),
    pytest.param(lambda p: p.click("#raise"), ("save", "42"), [],
                 id="submit-button-with-data-postback"),
    pytest.param(lambda p: p.click("#plain"), ("", ""), [], id="plain-submit-button"),
    pytest.param(lambda p: p.click("#in-panel"), ("inpanel", "p1"), ["panel"],
                 id="partial-link"),
    pytest.param(lambda p: p.select_option("#status", "shipped"), ("status", ""), ["panel"],
                 id="partial-autopostback"),
    pytest.param(lambda p: p.click("#both"), ("both", ""), ["panel", "side"],
                 id="data-postback-panel"),
]


@pytest.mark.parametrize(("action", "event", "panels"), POSTBACKS)
def test_before_comes_once_with_the_postback_it_announces(
    page: Any, app: EventsApp, browser_log: Any,
    action: Callable[[Any], Any], event: tuple[str, str], panels: list[str],
) -> None:
    if panels:
        action(page)
        recorded = wait_for_events(page, 1 + 2 * len(panels))
        assert recorded == [before(*event, panels), *swaps(*panels)]
        expect(page.locator("#panel-event")).to_have_text("|".join(event))
    else:
        with page.expect_navigation():
            action(page)
        expect(page.locator("#event")).to_have_text("|".join(event) if event[0] else "none")
        assert events(page) == [before(*event, [])]
    assert app.posts() == [(" ".join(panels) or None, event if event[0] else None)]
    assert browser_log.problems() == []


@pytest.mark.parametrize(("action", "event", "panels"), POSTBACKS)
def test_a_cancelled_postback_sends_nothing_and_leaves_no_event_on_the_form(
    page: Any, app: EventsApp, browser_log: Any,
    action: Callable[[Any], Any], event: tuple[str, str], panels: list[str],
) -> None:
    page.evaluate("() => { window.cancel = {before: true}; window.samePage = true; }")
    action(page)
    page.wait_for_timeout(300)
    assert events(page) == [before(*event, panels)]
    assert page.posts == [] and app.posts() == []  # nothing left the page
    assert page.evaluate("() => window.samePage") is True
    assert event_fields(page) == ["", ""]
    assert page.get_attribute("#panel", "aria-busy") is None
    # The next postback carries nothing of the cancelled one.
    page.evaluate("() => { window.cancel = {}; }")
    with page.expect_navigation():
        page.click("#plain")
    assert app.posts() == [(None, None)]
    assert browser_log.problems() == []


def test_a_submission_the_page_cancelled_has_no_before_event(
    page: Any, app: EventsApp
) -> None:
    """A submission the page's own submit listener cancelled is not sent: no postback:before."""
    page.evaluate("""() => document.getElementById("form").addEventListener("submit",
        (e) => e.preventDefault())""")
    page.click("#raise")
    page.wait_for_timeout(300)
    assert events(page) == [] and page.posts == []


def test_onsubmit_returning_false_cancels_before_the_event(page: Any, app: EventsApp) -> None:
    """As in ASP.NET, __doPostBack asks the form's onsubmit first; false: nothing is sent."""
    page.evaluate("() => { document.getElementById('form').onsubmit = () => false; }")
    page.click("#link")
    page.wait_for_timeout(300)
    assert events(page) == [] and page.posts == []


def test_a_cancelled_submit_button_does_not_hold_the_next_click(
    page: Any, app: EventsApp
) -> None:
    """The double-post guard is not left set by a cancelled data-postback submit button."""
    page.evaluate("() => { window.cancel = {before: true}; }")
    page.click("#raise")
    page.evaluate("() => { window.cancel = {}; }")
    with page.expect_navigation():
        page.click("#raise")
    assert app.posts() == [(None, ("save", "42"))]
    assert app.seen[-1][2]["save"] == "yes"


# --------------------------------------------------------------------------------------------
# Panel swaps


def test_swap_events_see_the_old_content_then_the_new_with_fresh_tokens(
    page: Any, app: EventsApp, browser_log: Any
) -> None:
    page.evaluate("""() => {
      window.seen = [];
      const state = () => document.querySelector("[name=__VIEWSTATE]").value;
      window.first = state();
      for (const name of ["beforeswap", "afterswap"]) {
        document.addEventListener("postback:" + name, (e) => window.seen.push(
          [name, e.target.id, e.target.querySelector("p").textContent, state() !== first]));
      }
    }""")
    page.click("#both")
    wait_for_events(page, 5)
    assert page.evaluate("() => window.seen") == [
        ["beforeswap", "panel", "none", False],
        ["beforeswap", "side", "none", False],
        ["afterswap", "panel", "both|", True],
        ["afterswap", "side", "both|", True],
    ]
    assert browser_log.problems() == []


def test_a_cancelled_swap_leaves_that_panel_and_the_page_goes_on(
    page: Any, app: EventsApp, browser_log: Any
) -> None:
    page.evaluate("() => { window.cancel = {beforeswap: 'side'}; }")
    page.click("#both")
    assert wait_for_events(page, 4) == [
        before("both", "", ["panel", "side"]),
        ("beforeswap", "panel", {"panel": "panel"}),
        ("beforeswap", "side", {"panel": "side"}),
        ("afterswap", "panel", {"panel": "panel"}),
    ]
    expect(page.locator("#panel-event")).to_have_text("both|")
    assert page.inner_text("#side-event") == "none"
    # The forms' tokens were refreshed all the same: the next postback is verified.
    page.click("#in-panel")
    expect(page.locator("#panel-event")).to_have_text("inpanel|p1")
    assert app.posts() == [("panel side", ("both", "")), ("panel", ("inpanel", "p1"))]
    assert browser_log.problems() == []


# --------------------------------------------------------------------------------------------
# Failures: postback:error (and postback:refused after it)


def tamper(page: Any) -> None:
    page.locator("#form input[name=__VIEWSTATE]").evaluate("input => { input.value += 'x'; }")


def abort_partial(page: Any) -> None:
    page.route("**/events", lambda route: route.abort()
               if "x-postback-panels" in route.request.headers else route.continue_())


def test_an_error_page_from_the_app(page: Any, app: EventsApp) -> None:
    page.click("#boom")
    expect(page.locator("#error")).to_have_text("Server Error")  # shown, as a full postback
    assert events(page) == [
        before("boom", "", ["panel"]),
        ("error", "form", {"kind": "partial", "status": 500, "message": "HTTP 500"}),
    ]
    assert app.posts() == [("panel", ("boom", ""))]


def test_a_refusal_dispatches_error_then_refused(page: Any, app: EventsApp) -> None:
    tamper(page)
    page.evaluate("() => { window.cancel = {refused: true}; }")  # (no alert)
    page.click("#in-panel")
    assert wait_for_events(page, 3) == [
        before("inpanel", "p1", ["panel"]),
        ("error", "form", {"kind": "partial", "status": 403, "message": FORBIDDEN}),
        ("refused", "form", {"reason": "tampered", "message": FORBIDDEN}),
    ]
    assert app.posts() == []  # refused before the app


def test_a_network_failure_dispatches_error_then_posts_the_full_way(
    page: Any, app: EventsApp
) -> None:
    abort_partial(page)
    with page.expect_navigation():
        page.click("#in-panel")
    expect(page.locator("#event")).to_have_text("inpanel|p1")
    # One postback, one postback:before: the full postback that follows is the same one.
    assert events(page) == [
        before("inpanel", "p1", ["panel"]),
        ("error", "form", {"kind": "partial", "status": 0, "message": "network error"}),
    ]
    assert app.posts() == [(None, ("inpanel", "p1"))]


# --------------------------------------------------------------------------------------------
# Callbacks


def run_callback(page: Any, api: str, name: str, argument: str) -> list[Any]:
    """Call ``name`` through ``api``; what the page was told: ["ok", result] or ["err", text]."""
    if api == "WebForm_DoCallback":
        return list(page.evaluate("""([name, argument]) => new Promise((resolve) =>
            WebForm_DoCallback(name, argument, (r) => resolve(["ok", r]), null,
                               (m) => resolve(["err", m]), true))""", [name, argument]))
    return list(page.evaluate("""([name, argument]) => Postback.callback(name, argument)
        .then((r) => ["ok", r], (e) => ["err", e])""", [name, argument]))


APIS = ["WebForm_DoCallback", "Postback.callback"]
CALLBACKS = [
    pytest.param("echo", {"result": "echo:x"}, None, id="result"),
    pytest.param("deliberate", {"error": "msg"}, None, id="handler-error"),
    pytest.param("crash", {"error": CALLBACK_FAILED}, ("callback", 500, CALLBACK_FAILED),
                 id="crash-500"),
    pytest.param("nosuch", {"error": FORBIDDEN}, ("callback", 403, FORBIDDEN),
                 id="refused-403"),
    pytest.param("network", {"error": "Callback failed: network error"},
                 ("callback", 0, "network error"), id="network-failure"),
]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("name", "outcome", "error"), CALLBACKS)
def test_callback_events(
    page: Any, app: EventsApp, api: str, name: str, outcome: dict[str, str],
    error: tuple[str, int, str] | None,
) -> None:
    if name == "network":
        page.route("**/events", lambda route: route.abort())
    told = run_callback(page, api, name, "x")
    assert told == (["ok", outcome["result"]] if "result" in outcome else ["err", outcome["error"]])
    failed = [] if error is None else [
        ("error", "form", dict(zip(("kind", "status", "message"), error, strict=True)))]
    assert events(page) == [
        ("beforecallback", "form", {"name": name, "argument": "x"}),
        *failed,
        ("aftercallback", "form", {"name": name, "argument": "x", **outcome}),
    ]


def test_a_cancelled_callback_sends_nothing(page: Any, app: EventsApp) -> None:
    page.evaluate("""() => { window.cancel = {beforecallback: true}; window.told = [];
        WebForm_DoCallback("echo", "x", (r) => told.push(r), null, (m) => told.push(m), true);
    }""")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.told") == []  # neither function is called
    # Postback.callback rejects, with an error that says why.
    assert run_callback(page, "Postback.callback", "echo", "y") == ["err", CANCELED]
    assert events(page) == [("beforecallback", "form", {"name": "echo", "argument": "x"}),
                            ("beforecallback", "form", {"name": "echo", "argument": "y"})]
    assert page.posts == [] and app.callbacks == []


def test_a_superseded_callback_still_ends(page: Any, app: EventsApp) -> None:
    """WebForms.js's rule: a newer non-async callback supersedes an older one, whose functions
    are never called; its aftercallback still comes, so each beforecallback has its end."""
    page.evaluate("""() => { window.told = [];
        WebForm_DoCallback("slow", "1", (r) => told.push(r), null, (m) => told.push(m), false);
        WebForm_DoCallback("echo", "2", (r) => told.push(r), null, (m) => told.push(m), false);
    }""")
    wait_for_events(page, 3)  # (the first is held at the server)
    app.held["slow"].set()
    assert wait_for_events(page, 4) == [
        ("beforecallback", "form", {"name": "slow", "argument": "1"}),
        ("beforecallback", "form", {"name": "echo", "argument": "2"}),
        ("aftercallback", "form", {"name": "echo", "argument": "2", "result": "echo:2"}),
        ("aftercallback", "form", {"name": "slow", "argument": "1",
                                   "error": "Callback superseded"}),
    ]
    assert page.evaluate("() => window.told") == ["echo:2"]


# --------------------------------------------------------------------------------------------
# Renewal: the page's clock moved past three quarters of max_age, so the client renews first


RENEWED = ("renewed", "form", {})


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        pytest.param(lambda p: p.click("#in-panel"),
                     [RENEWED, before("inpanel", "p1", ["panel"]), *swaps("panel")],
                     id="partial"),
        pytest.param(lambda p: p.evaluate("Postback.callback('echo', 'r')"), [
            ("beforecallback", "form", {"name": "echo", "argument": "r"}), RENEWED,
            ("aftercallback", "form", {"name": "echo", "argument": "r", "result": "echo:r"}),
        ], id="callback"),
        pytest.param(lambda p: p.click("#link"), [RENEWED, before("link", "a1", [])],
                     id="full"),
    ],
)
def test_renewed_comes_after_the_tokens_are_renewed(
    page: Any, app: EventsApp, action: Callable[[Any], Any],
    expected: list[tuple[str, str, dict[str, Any]]],
) -> None:
    state = page.locator("#form input[name=__VIEWSTATE]").input_value()
    page.evaluate("""() => document.addEventListener("postback:renewed", (e) => {
        sessionStorage.setItem("renewed", e.target.querySelector("[name=__VIEWSTATE]").value);
    })""")
    page.clock.set_system_time(time.time() + 4 * 3600)  # past 3/4 of the default 4 h
    if expected[-1][0] == "before":  # a full postback
        with page.expect_navigation():
            action(page)
    else:
        action(page)
    assert wait_for_events(page, len(expected)) == expected
    renewed = page.evaluate("() => sessionStorage.getItem('renewed')")
    assert renewed and renewed != state  # fresh tokens when it fires
    # The app got the postback (verified: sent with the renewed tokens).
    assert len(app.posts()) == (0 if expected[0][0] == "beforecallback" else 1)


# --------------------------------------------------------------------------------------------
# The docs' busy-state example (how-to/events-and-callbacks.md), as written there


def busy(page: Any, on: bool) -> None:
    """The spinner shows, and every submit button is disabled, exactly while busy."""
    spinner, buttons = page.locator("#spinner"), page.locator("[type=submit]")
    if on:
        expect(spinner).to_be_visible()
    else:
        expect(spinner).to_be_hidden()
    assert buttons.count() == 3
    for i in range(3):
        if on:
            expect(buttons.nth(i)).to_be_disabled()
        else:
            expect(buttons.nth(i)).to_be_enabled()


def test_busy_state_during_a_partial_postback(
    open_page: Callable[..., Any], app: EventsApp, browser_log: Any
) -> None:
    page = open_page("/busy")
    busy(page, False)
    gate = app.hold("inpanel")
    page.click("#in-panel")
    busy(page, True)
    gate.set()
    expect(page.locator("#panel-event")).to_have_text("inpanel|p1")
    busy(page, False)
    assert browser_log.problems() == []


def test_busy_state_during_a_callback(
    open_page: Callable[..., Any], app: EventsApp, browser_log: Any
) -> None:
    page = open_page("/busy")
    page.evaluate("() => { Postback.callback('slow', 'x').then((r) => { window.told = r; }); }")
    busy(page, True)
    app.held["slow"].set()
    page.wait_for_function("() => window.told === 'slow:x'")
    busy(page, False)
    assert browser_log.problems() == []


# Playwright's locators wait for a pending navigation: the page that waits for the answer to a
# full postback is watched from inside, each busy state it shows kept in sessionStorage.
WATCH_BUSY = """() => {
  const spinner = document.getElementById("spinner");
  const buttons = [...document.querySelectorAll("[type=submit]")];
  const states = [];
  new MutationObserver(() => {
    states.push([!spinner.hidden, ...buttons.map((b) => b.disabled)]);
    sessionStorage.setItem("busy", JSON.stringify(states));
  }).observe(document.body, {subtree: true, attributeFilter: ["hidden", "disabled"]});
}"""


def test_busy_state_during_a_full_postback_keeps_the_buttons_value(
    open_page: Callable[..., Any], app: EventsApp, browser_log: Any
) -> None:
    page = open_page("/busy")
    page.evaluate(WATCH_BUSY)
    gate = app.hold("save")
    with page.expect_navigation():
        page.click("#raise", no_wait_after=True)
        time.sleep(0.5)  # the old page waits for the answer
        gate.set()
    expect(page.locator("#event")).to_have_text("save|42")
    # The old page showed its busy state (and nothing else) until it was left.
    states = json.loads(page.evaluate("() => sessionStorage.getItem('busy')"))
    assert states and set(map(tuple, states)) == {(True, True, True, True)}
    busy(page, False)  # the new page
    assert app.seen[-1][2]["save"] == "yes"  # disabled after its click: its name=value went
    assert browser_log.problems() == []


def test_busy_state_ends_when_a_partial_postback_is_refused(
    open_page: Callable[..., Any], app: EventsApp
) -> None:
    page = open_page("/busy")
    page.evaluate("() => { window.cancel = {refused: true}; }")  # (no alert)
    page.evaluate(WATCH_BUSY)
    tamper(page)
    page.click("#in-panel")
    wait_for_events(page, 3)
    busy(page, False)
    states = json.loads(page.evaluate("() => sessionStorage.getItem('busy')"))
    assert states[0] == [True, True, True, True]  # it was busy in between


def test_busy_state_stays_off_for_a_cancelled_postback(
    open_page: Callable[..., Any], app: EventsApp
) -> None:
    page = open_page("/busy")
    page.evaluate("() => { window.cancel = {before: true, beforecallback: true}; }")
    page.click("#in-panel")
    page.click("#raise")
    page.evaluate("() => Postback.callback('echo', 'x').catch(() => null)")
    page.wait_for_timeout(300)
    busy(page, False)
    assert page.posts == []
