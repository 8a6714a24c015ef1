"""A form left open past ``max_age`` loses nothing: the client renews its tokens, then sends.

The middleware here has ``max_age=3`` (seconds). The person types a comment, waits past the
tokens' age, then sends it four ways: a full postback, a partial postback, a callback and a
native submit button. Each ends with the comment saved by the app, no refusal on the way.
Then the reactive path: the page's clock is frozen (so the client believes its tokens fresh),
the server refuses them as expired, and the client renews and sends again, once. Each runs also
with ``single_use`` (renewing spends the old tokens: the new ones post once).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from postback_middleware import PostbackMiddleware, Registry
from postback_middleware.stores import MemoryStore

from ..helpers import new_key

MAX_AGE = 3
PAGE = """<!DOCTYPE html><html><head><title>Comments</title></head><body>
<form method="post" action="/comments" data-callbacks="Save">
  <textarea name="comment" id="comment"></textarea>
  <a href="#" id="full" data-postback="save">Save</a>
  <div id="panel" data-update-panel>
    <span id="saved">{saved}</span>
    <a href="#" id="partial" data-postback="save">Save here</a>
  </div>
  <button type="submit" id="native" name="native" value="1">Send</button>
</form></body></html>"""


class CommentsApp:
    """Saves every comment it is sent; the page shows how many it has."""

    def __init__(self) -> None:
        self.saved: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] != "/comments":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            fields = parse_qs(environ["wsgi.input"].read(length).decode())
            self.saved.append(fields.get("comment", [""])[0])
        body = PAGE.format(saved=len(self.saved)).encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture(params=[False, True], ids=["reusable", "single-use"])
def site(request: pytest.FixtureRequest, serve: Any
         ) -> Iterator[tuple[CommentsApp, str, list[str]]]:
    """The comments page; also with ``single_use``, where renewing spends the old tokens."""
    inner = CommentsApp()
    calls: list[str] = []
    registry = Registry()
    registry.add_callback("Save", lambda argument, request: calls.append(argument) or "saved")
    single_use: dict[str, Any] = (
        {"single_use": True, "store": MemoryStore()} if request.param else {})
    app = PostbackMiddleware(inner, secret_keys=[new_key()], registry=registry, max_age=MAX_AGE,
                             **single_use)
    with serve(app) as url:
        yield inner, url + "/comments", calls


def open_and_type(page: Any, url: str, text: str) -> None:
    page.goto(url)
    page.fill("#comment", text)
    time.sleep(MAX_AGE + 1)  # the form is left open: its tokens are now expired


COUNT_REQUESTS = """() => { window.requests = [];
  new PerformanceObserver((list) => list.getEntries().forEach((e) => {
    if (/^(fetch|xmlhttprequest)$/.test(e.initiatorType)) window.requests.push(e.name);
  })).observe(
    { type: "resource", buffered: true }); }"""


@pytest.mark.parametrize("how", ["full", "native"])
def test_a_navigation_after_expiry_saves_what_was_typed(
    browser_page: Any, site: tuple[CommentsApp, str, list[str]], how: str
) -> None:
    inner, url, _ = site
    page = browser_page
    open_and_type(page, url, f"typed before lunch ({how})")
    with page.expect_navigation():
        page.click(f"#{how}")
    assert inner.saved == [f"typed before lunch ({how})"]
    assert page.inner_text("#saved") == "1"  # the app's page, not a refusal


def test_a_partial_postback_after_expiry_saves_what_was_typed(
    browser_page: Any, site: tuple[CommentsApp, str, list[str]]
) -> None:
    inner, url, _ = site
    page = browser_page
    open_and_type(page, url, "typed before lunch (partial)")
    page.click("#partial")
    page.wait_for_function("() => document.getElementById('saved').textContent === '1'")
    assert inner.saved == ["typed before lunch (partial)"]
    assert page.input_value("#comment") == "typed before lunch (partial)"  # still there


def test_a_callback_after_expiry_runs(
    browser_page: Any, site: tuple[CommentsApp, str, list[str]]
) -> None:
    _, url, calls = site
    page = browser_page
    open_and_type(page, url, "x")
    assert page.evaluate("Postback.callback('Save', 'after lunch')") == "saved"
    assert calls == ["after lunch"]


@pytest.mark.parametrize("channel", ["partial", "callback"])
def test_tokens_refused_as_expired_are_renewed_and_sent_again(
    browser_page: Any, site: tuple[CommentsApp, str, list[str]], channel: str
) -> None:
    """The client cannot always know (a page restored from the cache, a clock that is off):
    refused as expired, it renews and sends again, once."""
    inner, url, calls = site
    page = browser_page
    page.clock.set_fixed_time(time.time())  # the page's clock stands still: tokens look fresh
    page.goto(url)
    page.fill("#comment", "restored page")
    page.evaluate(COUNT_REQUESTS)
    time.sleep(MAX_AGE + 1)
    if channel == "partial":
        page.click("#partial")
        page.wait_for_function("() => document.getElementById('saved').textContent === '1'")
        assert inner.saved == ["restored page"]
    else:
        assert page.evaluate("Postback.callback('Save', 'restored')") == "saved"
        assert calls == ["restored"]
    # refused, renewed, sent again: three requests
    page.wait_for_function("() => window.requests.length >= 3")


def test_renewal_is_only_for_the_browser_it_was_issued_to(
    browser: Any, site: tuple[CommentsApp, str, list[str]]
) -> None:
    """Another browser (no cookie of the first) sending the first one's old tokens to be
    renewed is refused: renewal extends a form's life for its own browser only."""
    _, url, _ = site
    first = browser.new_context()
    page = first.new_page()
    page.goto(url)
    tokens = page.evaluate("""() => ({vs: document.querySelector('[name=__VIEWSTATE]').value,
        ev: document.querySelector('[name=__EVENTVALIDATION]').value})""")
    other = browser.new_context()
    stranger = other.new_page()
    stranger.goto(url)  # (gets a cookie of its own)
    answer = stranger.evaluate(
        """([url, t]) => fetch(url, {method: "POST", headers: {"X-Postback-Renew": "1",
            "Content-Type": "application/x-www-form-urlencoded"},
            body: "__VIEWSTATE=" + encodeURIComponent(t.vs) + "&__EVENTVALIDATION=" +
            encodeURIComponent(t.ev)}).then((r) => [r.status,
            r.headers.get("X-Postback-Refused")])""", [url, tokens])
    assert answer == [403, "other-user"]
    first.close()
    other.close()


def test_a_held_submission_reaches_the_page_handlers_once_and_posts_once(
    browser_page: Any, site: tuple[CommentsApp, str, list[str]]
) -> None:
    """While its tokens are renewed, the submission is held out of sight: the page's own submit
    handlers see only the one made again (a confirm() asks once, a fetch-submitting page posts
    once), and a second click meanwhile makes no second post."""
    inner, url, _ = site
    page = browser_page
    open_and_type(page, url, "once")
    page.evaluate("""() => { window.seen = 0; document.forms[0].addEventListener("submit",
        () => { window.seen += 1; }); }""")
    with page.expect_navigation():
        page.dblclick("#native")
    assert inner.saved == ["once"]
    page.goto(url)  # (the handler's count was on the page before)
    open_and_type(page, url, "counted")
    page.evaluate("""() => { window.seen = 0; document.forms[0].addEventListener("submit",
        (e) => { window.seen += 1; e.preventDefault(); }); }""")  # a page that cancels
    page.click("#native")
    page.wait_for_function("() => window.seen === 1")
    page.wait_for_timeout(500)
    assert page.evaluate("window.seen") == 1 and inner.saved == ["once"]  # cancelled: no post
