"""An answer that comes late never undoes fresher tokens a partial postback wrote meanwhile.

A callback, or a renewal of tokens past ``max_age``, is answered with tokens for the form as it
was when the request left: its ``__EVENTVALIDATION`` (and the renewal's ``__VIEWSTATE``) of the
form's old id. The client wrote them into the form whenever they came. Where a partial postback
answered in between (an autocomplete's slow callback beside an update panel; a renewal held up
by the network), its fresh tokens were overwritten: after a callback, the form held a view
state of one form id and an event validation of another, and its next postback was refused
(what the user typed lost to a reload); after a renewal, the old view state came back, and the
partial postback's effect silently went with it. The client now writes a late answer's tokens
only while the form still holds the tokens that request sent. Chromium, through the real
middleware; each request is held on the server until the test lets it go.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware, Registry

from ..helpers import new_key
from .assertions import expect

pytestmark = pytest.mark.browser

MAX_AGE = 3  # seconds: the client renews tokens older than 3/4 of it before it sends
PAGE = """<!DOCTYPE html><html><head><meta charset=utf-8><title>t</title></head><body>
<form method="post" data-callbacks="Lookup">
  <div id="panel" data-update-panel><span id="n">{n}</span>
    <a href="#" id="inc" data-postback="inc">add one</a></div>
</form></body></html>"""


class Held:
    """Requests of one kind, held on the server until the test releases them."""

    def __init__(self) -> None:
        self.arrived, self.go = threading.Event(), threading.Event()

    def wait(self) -> None:
        self.arrived.set()
        assert self.go.wait(10)


class Site:
    def __init__(self) -> None:
        self.postback, self.callback, self.renewal = Held(), Held(), Held()
        self.hold: set[str] = set()
        registry = Registry()
        registry.add_postback("inc", self.inc)
        registry.add_callback("Lookup", self.lookup)
        self.app = PostbackMiddleware(self.page, secret_keys=[new_key()], registry=registry,
                                      max_age=MAX_AGE)

    def page(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [PAGE.format(n=environ["postback.viewstate"].get("n", 0)).encode()]

    def inc(self, event: Any, request: Any) -> None:
        if "postback" in self.hold:
            self.postback.wait()
        state = request.environ["postback.viewstate"]
        state["n"] = state.get("n", 0) + 1

    def lookup(self, argument: str, request: Any) -> str:
        if "callback" in self.hold:
            self.callback.wait()
        return "found " + argument

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if "renewal" in self.hold and environ.get("HTTP_X_POSTBACK_RENEW"):
            self.renewal.wait()  # (the network holds the renewal up)
        return self.app(environ, start_response)


@pytest.fixture
def site(serve: Any) -> Iterator[tuple[Site, str]]:
    site = Site()
    with serve(site) as base_url:
        yield site, base_url


def open_page(page: Any, url: str) -> list[str]:
    """The page, opened; the refusals it shows (alerts), as they come."""
    refusals: list[str] = []
    page.on("dialog", lambda dialog: (refusals.append(dialog.message), dialog.dismiss()))
    page.goto(url + "/")
    page.wait_for_function("typeof Postback === 'object'")
    return refusals


def test_a_callback_answered_after_a_partial_postback_leaves_the_form_posting(
    browser_page: Any, site: tuple[Site, str], browser_log: Any
) -> None:
    server, url = site
    refusals = open_page(browser_page, url)
    server.hold.add("callback")
    browser_page.evaluate("() => { window.looked = Postback.callback('Lookup', 'ada'); }")
    assert server.callback.arrived.wait(10)
    browser_page.click("#inc")  # a partial postback, answered while the callback waits
    expect(browser_page.locator("#n")).to_have_text("1")
    server.callback.go.set()
    assert browser_page.evaluate("() => window.looked") == "found ada"
    browser_page.click("#inc")  # the form's next postback: with the partial answer's tokens
    expect(browser_page.locator("#n")).to_have_text("2")
    assert browser_page.evaluate("() => Postback.callback('Lookup', 'bob')") == "found bob"
    assert refusals == [] and browser_log.errors == []


def test_a_renewal_answered_after_a_partial_postback_keeps_its_effect(
    browser_page: Any, site: tuple[Site, str], browser_log: Any
) -> None:
    server, url = site
    refusals = open_page(browser_page, url)
    server.hold.update({"postback", "renewal"})
    browser_page.click("#inc")  # fresh tokens: a partial postback, held on the server
    assert server.postback.arrived.wait(10)
    browser_page.wait_for_timeout(MAX_AGE * 1000)  # the page's tokens grow old meanwhile
    browser_page.evaluate("() => { window.looked = Postback.callback('Lookup', 'ada'); }")
    assert server.renewal.arrived.wait(10)  # (old tokens: renewed before the callback goes)
    server.postback.go.set()
    expect(browser_page.locator("#n")).to_have_text("1")  # the partial answer's fresh tokens
    server.renewal.go.set()  # the renewal of the old ones comes after
    assert browser_page.evaluate("() => window.looked") == "found ada"
    browser_page.click("#inc")
    expect(browser_page.locator("#n")).to_have_text("2")  # not 1 again: nothing rolled back
    assert refusals == [] and browser_log.errors == []
