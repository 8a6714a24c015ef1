"""Red-team check in Chromium: a double click on a form with a file input (multipart, a new
random boundary for each submission) runs once and shows the first answer, not a 409."""

from __future__ import annotations

import time
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware
from postback_middleware.stores import MemoryStore

from ..helpers import new_key
from .assertions import expect
from .test_single_use_browser import Shop

pytestmark = pytest.mark.browser


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
        browser_page.evaluate("""() => {
            const form = document.forms[0];
            HTMLFormElement.prototype.submit.call(form);
            setTimeout(() => HTMLFormElement.prototype.submit.call(form), 150);
        }""")
        deadline = time.monotonic() + 10
        while app.placed == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        assert app.placed == 1
        expect(browser_page.locator("#placed")).to_have_text("Orders placed: 1")
