"""The client script runs under a strict policy sent as several policies, in Chromium.

A browser enforces every ``Content-Security-Policy`` of a response: two headers (each added by
its own middleware or extension: ``frame-ancestors`` here, the script policy there), or one
header whose value joins policies with commas. The middleware read the nonce from the first
header only, so its script tag got none when the script policy came second: Chromium blocked
the script (a violation report on every page view) and every ``data-postback`` did nothing
(found by a red-team pass). Through the real middleware, on a real server.
"""

from __future__ import annotations

import html
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from ..helpers import new_key
from .assertions import expect

pytestmark = pytest.mark.browser

PAGE = """<!DOCTYPE html><html><head><meta charset=utf-8><title>csp</title>
<script nonce="{nonce}">document.addEventListener("DOMContentLoaded", function () {{
  document.getElementById("own").textContent = "ran"; }});</script></head><body>
<p id="own">not run</p><p id="event">{event}</p>
<form method="post"><a href="#" id="delete" data-postback="Delete" data-postback-argument="7">
Delete 7</a></form></body></html>"""

SCRIPT_POLICY = "script-src 'nonce-{nonce}' 'strict-dynamic'; object-src 'none'; base-uri 'none'"
# How the page's policies are sent (each a list of header values, the nonce to fill in).
POLICIES = {
    "two-headers": ["frame-ancestors 'none'", SCRIPT_POLICY],
    "comma-joined": ["frame-ancestors 'none', " + SCRIPT_POLICY],
}


class PolicyApp:
    """Renders PAGE with a fresh nonce under the policies its path names; keeps the events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        policies = POLICIES.get(environ["PATH_INFO"].strip("/"))
        if policies is None:
            start_response("204 No Content", [])
            return []
        event = environ["postback.event"]
        if event is not None:
            with self.lock:
                self.events.append((event.target, event.argument))
        nonce = secrets.token_urlsafe(12)
        shown = "none" if event is None else f"{event.target}|{event.argument}"
        start_response("200 OK", [
            ("Content-Type", "text/html; charset=utf-8"),
            *(("Content-Security-Policy", policy.format(nonce=nonce)) for policy in policies),
        ])
        return [PAGE.format(nonce=nonce, event=html.escape(shown)).encode()]


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[PolicyApp, str]]:
    inner = PolicyApp()
    with serve(PostbackMiddleware(inner, secret_keys=[new_key()])) as base_url:
        yield inner, base_url


@pytest.mark.parametrize("sent_as", list(POLICIES))
def test_the_script_runs_and_posts_back_under_every_policy(
    browser_page: Any, browser_log: Any, server: tuple[PolicyApp, str], sent_as: str
) -> None:
    app, base_url = server
    page = browser_page
    # (locators only: a string predicate is an eval, which the policy blocks and reports)
    page.goto(f"{base_url}/{sent_as}")
    expect(page.locator("#own")).to_have_text("ran")  # (the app's own nonce'd script)
    with page.expect_navigation():
        page.click("#delete")
    expect(page.locator("#event")).to_have_text("Delete|7")
    with app.lock:
        assert ("Delete", "7") in app.events
    assert browser_log.csp_violations() == []
    assert browser_log.errors == []
