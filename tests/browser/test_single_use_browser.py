"""Single-use postbacks in Chromium: a form sent twice in quick succession (the second
navigation dropping the first request, as a double click or an impatient second click does)
runs once, and the person sees the first request's answer, not an error; so does a form with a
file input (multipart: the browser picks a new boundary for each submission)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from postback_middleware import CallbackError, PostbackMiddleware, Registry
from postback_middleware.stores import MemoryStore

from ..helpers import new_key
from .assertions import expect

pytestmark = pytest.mark.browser


class Shop:
    """Places an order per postback, slowly; its page says how many were placed."""

    def __init__(self) -> None:
        self.placed = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            time.sleep(0.4)  # (long enough for the second request to arrive meanwhile)
            with self.lock:
                self.placed += 1
        page = (f'<!DOCTYPE html><html><head><title>Shop</title></head><body>'
                f'<p id="placed">Orders placed: {self.placed}</p>'
                f'<form method="post" action="/shop"><input name="item" value="tea">'
                f'<button id="buy">Buy</button></form></body></html>')
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page.encode()]


def submit_twice(page: Any, app: Shop) -> None:
    """form.submit() twice, 150 ms apart: the second navigation cancels the first one's, whose
    request the server has and runs (the client script's own guard against double clicks sees
    neither: this is what a browser without it, or a reload, sends); back when both are done."""
    page.evaluate("""() => {
        const form = document.forms[0];
        HTMLFormElement.prototype.submit.call(form);
        setTimeout(() => HTMLFormElement.prototype.submit.call(form), 150);
    }""")
    deadline = time.monotonic() + 10
    while app.placed == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)  # (both requests done)


@pytest.fixture(params=[True, False], ids=["single-use", "reusable"])
def shop(request: pytest.FixtureRequest, serve: Any) -> Iterator[tuple[str, Shop, bool]]:
    shop = Shop()
    options: dict[str, Any] = {"single_use": True, "store": MemoryStore()} if request.param else {}
    with serve(PostbackMiddleware(shop, secret_keys=[new_key()], **options)) as url:
        yield url, shop, request.param


def test_a_form_sent_twice_runs_once_and_shows_the_first_answer(
    browser_page: Any, shop: tuple[str, Shop, bool]
) -> None:
    url, app, single_use = shop
    browser_page.goto(url + "/shop")
    expect(browser_page.locator("#placed")).to_have_text("Orders placed: 0")
    submit_twice(browser_page, app)
    if single_use:
        assert app.placed == 1
        expect(browser_page.locator("#placed")).to_have_text("Orders placed: 1")
    else:  # what the option is for: without it, the order is placed twice
        assert app.placed == 2
        expect(browser_page.locator("#placed")).to_have_text("Orders placed: 2")


def basket(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A list in an update panel: each row's Remove link is a partial postback."""
    state = environ["postback.viewstate"]
    event = environ["postback.event"]
    removed = state.setdefault("removed", [])
    if event is not None:
        removed.append(event.argument)
    rows = "".join(f'<li>item {n} <a href="#" data-postback="remove" '
                   f'data-postback-argument="{n}" id="remove-{n}">Remove</a></li>'
                   for n in range(1, 6) if str(n) not in removed)
    page = (f'<!DOCTYPE html><html><head><title>Basket</title></head><body>'
            f'<form method="post" action="/basket"><div id="items" data-update-panel>'
            f'<ul>{rows}</ul><p id="count">{5 - len(removed)} items</p></div></form>'
            f'</body></html>')
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [page.encode()]


def test_partial_postbacks_one_after_another_each_use_the_fresh_tokens(
    browser_page: Any, serve: Any
) -> None:
    """After a partial postback the form has fresh tokens: the next one is not a replay."""
    middleware = PostbackMiddleware(basket, secret_keys=[new_key()], single_use=True,
                                    store=MemoryStore())
    with serve(middleware) as url:
        browser_page.goto(url + "/basket")
        for n, left in ((2, 4), (4, 3), (1, 2)):
            browser_page.click(f"#remove-{n}")
            expect(browser_page.locator("#count")).to_have_text(f"{left} items")
        assert browser_page.url == url + "/basket"  # partial all along: no navigation


def search_page(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    page = ('<!DOCTYPE html><html><head><title>Search</title></head><body>'
            '<form method="post" action="/search" data-callbacks="suggest">'
            '<input name="q" value="te"></form></body></html>')
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [page.encode()]


def test_single_use_callbacks_one_after_another_each_use_the_next_token(
    browser_page: Any, serve: Any
) -> None:
    def suggest(argument: str, request: Any) -> str:
        if argument == "?":
            raise CallbackError("type a letter")
        return f"{argument}a, {argument}e"

    registry = Registry()
    registry.add_callback("suggest", suggest)
    middleware = PostbackMiddleware(search_page, secret_keys=[new_key()], registry=registry,
                                    single_use_callbacks=True, store=MemoryStore())
    with serve(middleware) as url:
        browser_page.goto(url + "/search")
        browser_page.wait_for_function("typeof window.Postback === 'object'")
        for prefix in ("t", "te", "tea"):
            result = browser_page.evaluate(f"Postback.callback('suggest', '{prefix}')")
            assert result == f"{prefix}a, {prefix}e"
        # An error answer brings the next token too (in a header): the page goes on.
        failed = browser_page.evaluate("Postback.callback('suggest', '?').catch(e => 'e:' + e)")
        assert failed == "e:type a letter"
        assert browser_page.evaluate("Postback.callback('suggest', 'c')") == "ca, ce"
        # The documented limit: two at the same moment send the same token; one is refused.
        outcomes = browser_page.evaluate("""Promise.allSettled([
            Postback.callback('suggest', 'x'), Postback.callback('suggest', 'y')
        ]).then(all => all.map(o => o.status))""")
        assert sorted(outcomes) == ["fulfilled", "rejected"]


class UploadShop(Shop):
    """The shop's page with a file input: its form is sent as multipart/form-data."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        def start(status: str, headers: list[tuple[str, str]]) -> Any:
            return start_response(status, headers)

        body = b"".join(super().__call__(environ, start))
        return [body.replace(b'<form method="post"',
                             b'<form method="post" enctype="multipart/form-data"').replace(
            b'<button id="buy">', b'<input type="file" name="receipt"><button id="buy">')]


def test_a_multipart_form_sent_twice_runs_once_and_shows_the_first_answer(
    browser_page: Any, serve: Any
) -> None:
    app = UploadShop()
    middleware = PostbackMiddleware(app, secret_keys=[new_key()], single_use=True,
                                    store=MemoryStore())
    with serve(middleware) as url:
        browser_page.goto(url + "/shop")
        browser_page.set_input_files("input[type=file]", files=[
            {"name": "r.txt", "mimeType": "text/plain", "buffer": b"receipt 42"}])
        submit_twice(browser_page, app)
        assert app.placed == 1
        expect(browser_page.locator("#placed")).to_have_text("Orders placed: 1")
