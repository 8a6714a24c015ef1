"""The client script (postback_middleware/static/postback.js) in a real Chromium.

The pages come from a small fixture WSGI app (not the middleware): it serves the script, pages
that already carry the hidden fields the middleware would insert, records every POST body, and
answers callback POSTs in ASP.NET's framing. A POST to a page re-renders that page (like a
postback) with the fields it received listed in ``<pre id="posted">``.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest

pytestmark = pytest.mark.browser

SCRIPT = Path(__file__).resolve().parents[2] / "postback_middleware" / "static" / "postback.js"
SCRIPT_URL = "/_postback/postback.test.js"
CSP = "script-src 'nonce-abc' 'strict-dynamic'; object-src 'none'"


# --------------------------------------------------------------------------------------------
# Page building


def hidden_fields(
    *, ids: bool = True, ev: str = "EV0", scroll: dict[str, str] | None = None
) -> str:
    """The fields the middleware inserts at the top of a post form."""
    names = [
        ("__EVENTTARGET", ""),
        ("__EVENTARGUMENT", ""),
        ("__VIEWSTATE", "VS-token"),
        ("__EVENTVALIDATION", ev),
    ]
    if scroll is not None:
        names += [(k, scroll.get(k, "")) for k in SCROLL_FIELDS]
    out = []
    for name, value in names:
        id_attr = f' id="{name}"' if ids else ""
        out.append(f'<input type="hidden" name="{name}"{id_attr} value="{html.escape(value)}" />')
    return "\n".join(out)


SCROLL_FIELDS = ("__LASTFOCUS", "__SCROLLPOSITIONX", "__SCROLLPOSITIONY")


def document(body: str, *, head: str = "", nonce: str | None = None) -> str:
    nonce_attr = f' nonce="{nonce}"' if nonce else ""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>test</title>"
        f'<script defer src="{SCRIPT_URL}"{nonce_attr}></script>{head}</head>'
        f"<body>{body}</body></html>"
    )


# Each page: a function (posted fields or None) -> HTML. A POST re-renders the page.
def page_links(posted: dict[str, str] | None) -> str:
    return document(
        f"""
        <form method="post" id="f1" onsubmit="window.onsubmitCalls = (window.onsubmitCalls||0) + 1;
                                             return window.allowSubmit !== false;">
          {hidden_fields()}
          <input type="text" name="q" value="hello">
          <a href="#nowhere" id="link" data-postback="LinkButton1"
             data-postback-argument="arg 1">Go <b id="inner">bold part</b></a>
          <a href="#nowhere" id="noarg" data-postback="LinkNoArg">No argument</a>
          <button type="submit" name="save" value="yes" id="savebtn"
                  data-postback="SaveBtn" data-postback-argument="42">Save</button>
          <input type="submit" name="plain" value="Plain" id="plainbtn">
          <select name="color" id="color" data-autopostback>
            <option value="red" selected>red</option><option value="blue">blue</option>
          </select>
          <div tabindex="0" id="divbtn" data-postback="DivButton" data-postback-argument="kb"
               role="button">Keyboard me</div>
        </form>
        """
    )


def page_two(posted: dict[str, str] | None) -> str:
    return document(
        f"""
        <form method="get" action="/search"><input name="s" value="get form"></form>
        <form method="post" id="fa" action="/p/two?form=a">
          {hidden_fields(ev="EV-A")}
          <input type="hidden" name="which" value="A">
          <a href="#" id="linka" data-postback="A1">A</a>
        </form>
        <form method="post" id="fb" action="/p/two?form=b">
          {hidden_fields(ids=False, ev="EV-B")}
          <input type="hidden" name="which" value="B">
          <a href="#" id="linkb" data-postback="B1" data-postback-argument="b">B</a>
          <button type="button" id="scripted">Scripted</button>
        </form>
        <script>
          document.getElementById("scripted").addEventListener("click", function () {{
            __doPostBack("Cmd", "from script");
          }});
        </script>
        """
    )


CALLBACK_FORM_FIELDS = """
  <input type="text" name="name" value="a b&amp;c/é">
  <input type="checkbox" name="agree" value="on" checked>
  <input type="checkbox" name="unchecked" value="x">
  <input type="radio" name="size" value="S"><input type="radio" name="size" value="M" checked>
  <select name="multi" multiple>
    <option value="1" selected>1</option><option value="2">2</option>
    <option value="3" selected>3</option>
  </select>
  <textarea name="notes">line1
line2+</textarea>
  <input type="email" name="mail" value="x@example.org">
  <input type="submit" name="go" value="Go">
  <input type="file" name="upload">
  <input type="text" value="nameless">
"""
# What WebForm_InitCallback builds from the form above (document order, EV skipped).
CALLBACK_FORM_DATA = [
    ("__EVENTTARGET", ""),
    ("__EVENTARGUMENT", ""),
    ("__VIEWSTATE", "VS-token"),
    ("name", "a b&c/é"),
    ("agree", "on"),
    ("size", "M"),
    ("multi", "1"),
    ("multi", "3"),
    ("notes", "line1\nline2+"),
    ("mail", "x@example.org"),
]


def page_cb(posted: dict[str, str] | None) -> str:
    return document(
        f"""
        <form method="post" id="form1">
          {hidden_fields()}
          {CALLBACK_FORM_FIELDS}
        </form>
        <script>
          window.results = [];
          window.done = function (result, context) {{ results.push(["ok", result, context]); }};
          window.fail = function (message, context) {{ results.push(["err", message, context]); }};
          // Count finished XMLHttpRequests ("loadend" comes after the script's handler ran).
          window.finished = 0;
          var send = XMLHttpRequest.prototype.send;
          XMLHttpRequest.prototype.send = function (body) {{
            this.addEventListener("loadend", function () {{ window.finished++; }});
            return send.call(this, body);
          }};
        </script>
        """
    )


def page_csp(posted: dict[str, str] | None) -> str:
    return document(
        f"""
        <form method="post">
          {hidden_fields()}
          <a href="#" id="link" data-postback="CspLink" data-postback-argument="c">Post</a>
          <select name="pick" id="pick" data-autopostback>
            <option>one</option><option>two</option>
          </select>
          <output id="out"></output>
        </form>
        <script nonce="abc">
          window.addEventListener("DOMContentLoaded", function () {{
            Postback.callback("echo", "csp").then(function (r) {{
              document.getElementById("out").textContent = r;
            }});
          }});
        </script>
        """,
        nonce="abc",
    )


def page_scroll(posted: dict[str, str] | None) -> str:
    values = {k: (posted or {}).get(k, "") for k in SCROLL_FIELDS}
    return document(
        f"""
        <form method="post">
          {hidden_fields(scroll=values)}
          <div style="height: 3000px">tall</div>
          <input type="text" id="box" name="box" value="">
          <a href="#" id="far" data-postback="FarLink">far away</a>
          <div style="height: 3000px">tall</div>
        </form>
        """
    )


def page_nocontent(posted: dict[str, str] | None) -> str:
    """A postback answered 204 (like a download): the page stays where it is."""
    return document(
        f"""
        <form method="post">
          {hidden_fields()}
          <a href="#" id="export" data-postback="Export">Export</a>
          <button type="submit" name="csv" value="1" id="csv">Export as CSV</button>
        </form>
        """
    )


PAGES = {
    "nocontent": page_nocontent,
    "links": page_links,
    "two": page_two,
    "cb": page_cb,
    "csp": page_csp,
    "scroll": page_scroll,
}


# --------------------------------------------------------------------------------------------
# The fixture WSGI app


@dataclass
class Post:
    path: str  # path with query string
    body: str

    @property
    def fields(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body, keep_blank_values=True)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.fields)


@dataclass
class FixtureApp:
    posts: list[Post] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ev_counter: int = 0
    # The "slow" callback is answered only once the test sets this.
    release_slow: threading.Event = field(default_factory=threading.Event)

    def postbacks(self) -> list[Post]:
        return [p for p in self.posts if "__CALLBACKID" not in p.form]

    def callbacks(self) -> list[Post]:
        return [p for p in self.posts if "__CALLBACKID" in p.form]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/favicon.ico":
            return self.respond(start_response, "204 No Content", b"", "text/plain")
        if path == SCRIPT_URL:
            return self.respond(start_response, "200 OK", SCRIPT.read_bytes(), "text/javascript")
        posted = None
        if environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size).decode("utf-8")
            query = environ.get("QUERY_STRING", "")
            post = Post(path + ("?" + query if query else ""), body)
            with self.lock:
                self.posts.append(post)
            posted = post.form
            if "__CALLBACKID" in posted:
                return self.callback(start_response, posted)
        name = path.removeprefix("/p/")
        if name == "nocontent" and posted is not None:
            return self.respond(start_response, "204 No Content", b"", "text/plain")
        if name not in PAGES:
            return self.respond(start_response, "404 Not Found", b"not found", "text/plain")
        page = PAGES[name](posted)
        if posted is not None:
            listing = "\n".join(f"{k}={v}" for k, v in post.fields)
            page = page.replace("</body>", f'<pre id="posted">{html.escape(listing)}</pre></body>')
        headers = [("Content-Security-Policy", CSP)] if name == "csp" else []
        return self.respond(start_response, "200 OK", page.encode(), "text/html", headers)

    def callback(self, start_response: Any, form: dict[str, str]) -> list[bytes]:
        target, argument = form["__CALLBACKID"], form["__CALLBACKPARAM"]
        status = "200 OK"
        if target == "echo":
            with self.lock:
                self.ev_counter += 1
                ev = f"NEWEV-{self.ev_counter}"
            body = f"{len(ev)}|{ev}echo:{argument}"
        elif target == "plain":
            body = f"splain:{argument}"
        elif target == "fail":
            body = f"eNope: {argument}"
        elif target == "bad":
            status, body = "502 Bad Gateway", "<html>Bad Gateway|</html>"
        elif target == "slow":
            self.release_slow.wait(timeout=10)
            body = f"0|slow:{argument}"
        elif target == "fast":
            body = f"0|fast:{argument}"
        else:
            status, body = "403 Forbidden", "eInvalid postback or callback argument."
        return self.respond(start_response, status, body.encode(), "text/plain")

    @staticmethod
    def respond(
        start_response: Any,
        status: str,
        body: bytes,
        content_type: str,
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        start_response(
            status,
            [
                ("Content-Type", content_type + "; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                *(extra or []),
            ],
        )
        return [body]


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[FixtureApp, str]]:
    app = FixtureApp()
    with serve(app) as base_url:
        yield app, base_url


@pytest.fixture
def app(server: tuple[FixtureApp, str]) -> Iterator[FixtureApp]:
    fixture_app = server[0]
    fixture_app.posts.clear()
    fixture_app.release_slow.clear()
    yield fixture_app
    fixture_app.release_slow.set()  # never leave a server thread waiting


@pytest.fixture
def page(browser_page: Any, server: tuple[FixtureApp, str], app: FixtureApp) -> Any:
    """A browser page whose relative URLs go to the fixture server."""
    base_url = server[1]
    original_goto = browser_page.goto

    def goto(path: str, **kwargs: Any) -> Any:
        # goto waits for "load", which comes after the deferred script ran.
        return original_goto(base_url + path, **kwargs)

    browser_page.open = goto
    return browser_page


def posted_fields(page: Any) -> dict[str, str]:
    """Wait for the re-rendered page after a postback; return what it says was posted."""
    text = page.locator("#posted").text_content()
    page.wait_for_load_state("load")  # the deferred script of the new page has run
    return dict(line.split("=", 1) for line in text.splitlines())


def enc(value: str) -> str:
    """JavaScript's encodeURIComponent."""
    return quote(value, safe="-_.!~*'()")


# --------------------------------------------------------------------------------------------
# Postbacks


def test_link_click_posts_target_and_argument_and_navigates(page: Any, app: FixtureApp) -> None:
    page.open("/p/links")
    page.click("#inner")  # a click inside the link counts
    fields = posted_fields(page)
    assert fields["__EVENTTARGET"] == "LinkButton1"
    assert fields["__EVENTARGUMENT"] == "arg 1"
    assert fields["q"] == "hello"
    assert "save" not in fields  # not a button submission
    assert page.url.endswith("/p/links")  # the link's href="#nowhere" was not followed
    [post] = app.postbacks()
    assert post.path == "/p/links"


def test_missing_argument_posts_empty_argument(page: Any, app: FixtureApp) -> None:
    page.open("/p/links")
    page.click("#noarg")
    fields = posted_fields(page)
    assert (fields["__EVENTTARGET"], fields["__EVENTARGUMENT"]) == ("LinkNoArg", "")


def test_onsubmit_returning_false_cancels(page: Any, app: FixtureApp) -> None:
    page.open("/p/links")
    page.evaluate("window.allowSubmit = false")
    page.click("#link")
    assert page.evaluate("window.onsubmitCalls") == 1
    assert page.locator("#posted").count() == 0
    assert page.evaluate("document.getElementById('__EVENTTARGET').value") == ""
    # The form still works once onsubmit allows it; the cancelled click never reached the server.
    page.evaluate("window.allowSubmit = true")
    page.click("#link")
    assert posted_fields(page)["__EVENTTARGET"] == "LinkButton1"
    assert len(app.posts) == 1


def test_submit_button_with_postback_keeps_native_name_value(page: Any, app: FixtureApp) -> None:
    page.open("/p/links")
    page.click("#savebtn")
    fields = posted_fields(page)
    assert fields["save"] == "yes"
    assert (fields["__EVENTTARGET"], fields["__EVENTARGUMENT"]) == ("SaveBtn", "42")
    assert "plain" not in fields


def test_plain_submit_button_posts_empty_event(page: Any, app: FixtureApp) -> None:
    page.open("/p/links")
    page.click("#plainbtn")
    fields = posted_fields(page)
    assert fields["plain"] == "Plain"
    assert (fields["__EVENTTARGET"], fields["__EVENTARGUMENT"]) == ("", "")


def test_cancelled_button_submission_leaves_no_stale_event(page: Any, app: FixtureApp) -> None:
    page.open("/p/links")
    page.evaluate("window.allowSubmit = false")
    page.click("#savebtn")
    page.wait_for_function("document.getElementById('__EVENTTARGET').value === ''")
    page.evaluate("window.allowSubmit = true")
    page.click("#plainbtn")
    fields = posted_fields(page)
    assert (fields["__EVENTTARGET"], fields["plain"]) == ("", "Plain")
    assert "save" not in fields


def test_autopostback_select_change(page: Any, app: FixtureApp) -> None:
    page.open("/p/links")
    page.select_option("#color", "blue")
    fields = posted_fields(page)
    assert (fields["__EVENTTARGET"], fields["__EVENTARGUMENT"]) == ("color", "")
    assert fields["color"] == "blue"


@pytest.mark.parametrize("key", ["Enter", "Space"])
def test_keyboard_activates_focusable_div(page: Any, app: FixtureApp, key: str) -> None:
    page.open("/p/links")
    page.focus("#divbtn")
    page.keyboard.press(key)
    fields = posted_fields(page)
    assert (fields["__EVENTTARGET"], fields["__EVENTARGUMENT"]) == ("DivButton", "kb")


def test_two_post_forms_each_element_posts_its_own_form(page: Any, app: FixtureApp) -> None:
    page.open("/p/two")
    assert page.evaluate("theForm.id") == "fa"  # first *post* form, the GET form is skipped
    page.click("#linkb")
    fields = posted_fields(page)
    assert (fields["__EVENTTARGET"], fields["__EVENTARGUMENT"]) == ("B1", "b")
    assert (fields["which"], fields["__EVENTVALIDATION"]) == ("B", "EV-B")
    assert app.posts[-1].path == "/p/two?form=b"

    page.open("/p/two")
    page.click("#linka")
    fields = posted_fields(page)
    assert (fields["__EVENTTARGET"], fields["which"]) == ("A1", "A")
    assert app.posts[-1].path == "/p/two?form=a"


def test_dopostback_from_page_script_posts_theform(page: Any, app: FixtureApp) -> None:
    page.open("/p/two")
    page.click("#scripted")  # a button of the second form whose handler calls __doPostBack
    fields = posted_fields(page)
    assert (fields["__EVENTTARGET"], fields["__EVENTARGUMENT"]) == ("Cmd", "from script")
    assert fields["which"] == "A"
    assert app.posts[-1].path == "/p/two?form=a"


def test_postback_api_posts_given_form(page: Any, app: FixtureApp) -> None:
    page.open("/p/two")
    page.evaluate("Postback.doPostBack('B1', 'b', document.getElementById('fb'))")
    assert posted_fields(page)["which"] == "B"


def test_double_click_on_link_posts_once(page: Any, app: FixtureApp) -> None:
    page.open("/p/links")
    # Count form.submit() calls across the navigation.
    page.evaluate(
        """() => {
          sessionStorage.setItem("submits", "0");
          const submit = HTMLFormElement.prototype.submit;
          HTMLFormElement.prototype.submit = function () {
            sessionStorage.setItem("submits", String(+sessionStorage.getItem("submits") + 1));
            return submit.call(this);
          };
        }"""
    )
    page.dblclick("#link")
    assert posted_fields(page)["__EVENTTARGET"] == "LinkButton1"
    assert page.evaluate("sessionStorage.getItem('submits')") == "1"
    assert len(app.posts) == 1


def test_postback_answered_without_a_page_does_not_lock_the_form(
    page: Any, app: FixtureApp
) -> None:
    """A download or 204 leaves the page in place: the double-post guard must let go."""
    page.clock.install()
    page.open("/p/nocontent")
    page.click("#export")
    _wait_for_posts(app, 1)
    page.click("#export")  # a double click: ignored
    page.clock.fast_forward(5000)
    page.click("#export")  # much later: a new postback
    _wait_for_posts(app, 2)
    assert [p.form["__EVENTTARGET"] for p in app.postbacks()] == ["Export", "Export"]


def test_native_submit_is_never_held_back(page: Any, app: FixtureApp) -> None:
    """The app's own submit button (an admin's CSV export, answered with a download) is the
    app's business: clicked again, it posts again. The guard is for postbacks the script
    raises."""
    page.open("/p/nocontent")
    page.click("#csv")
    _wait_for_posts(app, 1)
    page.click("#csv")
    _wait_for_posts(app, 2)
    assert [p.form.get("csv") for p in app.postbacks()] == ["1", "1"]


def _wait_for_posts(app: FixtureApp, count: int) -> None:
    import time

    deadline = time.monotonic() + 10
    while len(app.postbacks()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(app.postbacks()) == count


def test_double_click_on_submit_button_posts_once(page: Any, app: FixtureApp) -> None:
    page.open("/p/links")
    # Count submissions that were not cancelled (this listener runs before the script's own
    # window listener, after its capture-phase guard).
    page.evaluate(
        """() => {
          sessionStorage.setItem("submits", "0");
          window.addEventListener("submit", (e) => {
            if (!e.defaultPrevented)
              sessionStorage.setItem("submits", String(+sessionStorage.getItem("submits") + 1));
          });
        }"""
    )
    page.dblclick("#savebtn")
    assert posted_fields(page)["save"] == "yes"
    assert page.evaluate("sessionStorage.getItem('submits')") == "1"
    assert len(app.posts) == 1


def test_scroll_position_and_focus_roundtrip(page: Any, app: FixtureApp) -> None:
    page.open("/p/scroll")
    page.evaluate("window.scrollTo(0, 2900)")
    page.wait_for_function("Math.round(window.scrollY) === 2900")
    page.focus("#box")
    page.keyboard.type("typed")
    page.evaluate("Postback.doPostBack('FarLink', '')")  # focus stays in the text box
    fields = posted_fields(page)
    assert fields["__EVENTTARGET"] == "FarLink"
    assert (fields["__SCROLLPOSITIONX"], fields["__SCROLLPOSITIONY"]) == ("0", "2900")
    assert fields["__LASTFOCUS"] == "box"
    # The re-rendered page carries the values back; the script restores scroll and focus.
    page.wait_for_function("Math.round(window.scrollY) === 2900")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'box'")


def test_native_submit_saves_scroll_position(page: Any, app: FixtureApp) -> None:
    page.open("/p/scroll")
    page.focus("#box")
    page.evaluate("window.scrollTo(0, 1234)")
    page.wait_for_function("Math.round(window.scrollY) === 1234")
    page.keyboard.press("Enter")  # implicit submission, no script postback
    fields = posted_fields(page)
    assert (fields["__EVENTTARGET"], fields["__SCROLLPOSITIONY"]) == ("", "1234")
    assert fields["__LASTFOCUS"] == "box"


# --------------------------------------------------------------------------------------------
# Callbacks


def test_callback_sends_asp_net_body_and_delivers_result(page: Any, app: FixtureApp) -> None:
    page.open("/p/cb")
    # WebForms.js takes the field values at load time: an edit afterwards is not sent.
    page.fill("input[name=name]", "edited")
    page.evaluate("WebForm_DoCallback('echo', 'hé & =', done, 'ctx1', fail, false)")
    page.wait_for_function("results.length === 1")
    assert page.evaluate("results") == [["ok", "echo:hé & =", "ctx1"]]

    [post] = app.callbacks()
    expected = "".join(f"{enc(k)}={enc(v)}&" for k, v in CALLBACK_FORM_DATA)
    expected += "__CALLBACKID=echo&__CALLBACKPARAM=" + enc("hé & =") + "&__EVENTVALIDATION=EV0"
    assert post.body == expected
    assert post.path == "/p/cb"
    # The fresh __EVENTVALIDATION is stored and sent with the next callback.
    assert page.evaluate("document.getElementById('__EVENTVALIDATION').value") == "NEWEV-1"
    page.evaluate("WebForm_DoCallback('echo', '2', done, 'ctx2', fail, false)")
    page.wait_for_function("results.length === 2")
    assert app.callbacks()[-1].body.endswith("&__CALLBACKPARAM=2&__EVENTVALIDATION=NEWEV-1")
    assert page.evaluate("results[1]") == ["ok", "echo:2", "ctx2"]
    assert page.locator("#posted").count() == 0  # a callback does not navigate


def test_callback_s_prefixed_success(page: Any, app: FixtureApp) -> None:
    page.open("/p/cb")
    page.evaluate("WebForm_DoCallback('plain', 'p', done, 7, fail, true)")
    page.wait_for_function("results.length === 1")
    assert page.evaluate("results") == [["ok", "plain:p", 7]]
    assert page.evaluate("document.getElementById('__EVENTVALIDATION').value") == "EV0"


def test_callback_error_reply_reaches_error_callback(page: Any, app: FixtureApp) -> None:
    page.open("/p/cb")
    page.evaluate("WebForm_DoCallback('fail', 'why', done, 'ctx', fail, false)")
    page.wait_for_function("results.length === 1")
    assert page.evaluate("results") == [["err", "Nope: why", "ctx"]]


def test_callback_forbidden_e_reply_passes_message(page: Any, app: FixtureApp) -> None:
    page.open("/p/cb")
    page.evaluate("WebForm_DoCallback('unknown', '', done, 'ctx', fail, false)")
    page.wait_for_function("results.length === 1")
    assert page.evaluate("results") == [["err", "Invalid postback or callback argument.", "ctx"]]


def test_callback_502_without_e_reaches_error_callback(page: Any, app: FixtureApp) -> None:
    page.open("/p/cb")
    page.evaluate("WebForm_DoCallback('bad', '', done, 'ctx', fail, false)")
    page.wait_for_function("results.length === 1")
    [[kind, message, context]] = page.evaluate("results")
    assert (kind, context) == ("err", "ctx")
    assert "502" in message
    assert "Bad Gateway" not in message  # the HTML body is not shown as a message


def test_callback_network_failure_reaches_error_callback(page: Any, app: FixtureApp) -> None:
    page.open("/p/cb")
    page.route("**/p/cb", lambda route: route.abort())
    page.evaluate("WebForm_DoCallback('echo', '', done, 'ctx', fail, true)")
    page.wait_for_function("results.length === 1")
    [[kind, message, context]] = page.evaluate("results")
    assert (kind, context) == ("err", "ctx")
    assert "network" in message
    assert app.callbacks() == []


def test_promise_api_resolves_and_rejects(page: Any, app: FixtureApp) -> None:
    page.open("/p/cb")
    assert page.evaluate("Postback.callback('echo', 'x')") == "echo:x"
    rejected = page.evaluate("Postback.callback('fail', 'y').then(() => 'resolved', e => e)")
    assert rejected == "Nope: y"
    rejected = page.evaluate("Postback.callback('bad', '').then(() => 'resolved', e => e)")
    assert isinstance(rejected, str) and "502" in rejected


def test_non_async_callback_supersedes_older_one(page: Any, app: FixtureApp) -> None:
    page.open("/p/cb")
    page.evaluate(
        """() => {
          WebForm_DoCallback('slow', '1', done, 'c1', fail, false);
          WebForm_DoCallback('fast', '2', done, 'c2', fail, false);
        }"""
    )
    page.wait_for_function("window.finished === 1")
    assert page.evaluate("results") == [["ok", "fast:2", "c2"]]
    app.release_slow.set()  # the older call's reply arrives late...
    page.wait_for_function("window.finished === 2")  # ...and has been handled: dropped
    assert page.evaluate("results") == [["ok", "fast:2", "c2"]]
    assert len(app.callbacks()) == 2  # the older call was sent, only its result is dropped


def test_async_callbacks_are_all_delivered(page: Any, app: FixtureApp) -> None:
    page.open("/p/cb")
    page.evaluate(
        """() => {
          WebForm_DoCallback('slow', '1', done, 'c1', fail, true);
          WebForm_DoCallback('fast', '2', done, 'c2', fail, true);
        }"""
    )
    page.wait_for_function("window.finished === 1")
    assert page.evaluate("results") == [["ok", "fast:2", "c2"]]
    app.release_slow.set()
    page.wait_for_function("window.finished === 2")
    assert page.evaluate("results") == [["ok", "fast:2", "c2"], ["ok", "slow:1", "c1"]]


# --------------------------------------------------------------------------------------------
# Strict CSP


def test_works_under_strict_csp_with_nonce(page: Any, app: FixtureApp, browser_log: Any) -> None:
    from playwright.sync_api import expect  # imported here: without it the tests skip

    # Only locator-based waits here: Playwright's string predicates (wait_for_function) would
    # themselves be an eval that this policy blocks and reports.
    response = page.open("/p/csp")
    assert response.headers["content-security-policy"] == CSP
    expect(page.locator("#out")).to_have_text("echo:csp")  # Postback.callback from nonce script
    page.click("#link")
    fields = posted_fields(page)
    assert (fields["__EVENTTARGET"], fields["__EVENTARGUMENT"]) == ("CspLink", "c")
    page.select_option("#pick", "two")
    expect(page.locator("#posted")).to_contain_text("__EVENTTARGET=pick")
    assert browser_log.csp_violations() == []
    assert browser_log.problems() == []


def test_no_console_problems_on_plain_pages(page: Any, app: FixtureApp, browser_log: Any) -> None:
    for path in ("/p/links", "/p/two", "/p/cb", "/p/scroll"):
        page.open(path)
    assert browser_log.problems() == []
