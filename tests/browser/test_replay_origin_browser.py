"""A partial postback's replay goes to the URL the postback went to, never elsewhere (Chromium).

A partial postback answered by a file (a PDF statement, an attachment) comes back as a
*replay*: the client submits the replay token and the answer's body (base64) in a form of its
own, and the middleware answers it with the stored response. The client checked the form's
action when it sent the postback, but read it again for the replay: a ``<base href>`` that
reached the page meanwhile (a user's comment added by the page's live update while the report
was being made; a sanitizer that keeps ``<base>``) made the form's relative action another
origin, and the statement's bytes and the token were posted there. The replay now goes to the
very URL the postback was sent to.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from ..helpers import new_key
from .apps import OtherOrigin

pytestmark = pytest.mark.browser

PAGE = b"""<!DOCTYPE html><html><head><meta charset=utf-8><title>t</title></head><body>
<form method="post" id="main" action="/statement">
  <div id="panel" data-update-panel>
    <a href="#" id="export" data-postback="Export">Export my statement (PDF)</a>
  </div>
  <section id="comments"></section>
</form></body></html>"""
STATEMENT = b"%PDF-1.4 statement of account 12345: balance 9,999.00"


@dataclass
class App:
    exports: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        event = environ.get("postback.event")
        if event is not None and event.target == "Export":
            with self.lock:
                self.exports += 1
            time.sleep(1.0)  # the report takes a while
            start_response("200 OK", [
                ("Content-Type", "application/pdf"),
                ("Content-Disposition", 'attachment; filename="statement.pdf"')])
            return [STATEMENT]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [PAGE]


@pytest.fixture(scope="module")
def servers(serve: Any) -> Iterator[tuple[App, str, OtherOrigin, str]]:
    app, other = App(), OtherOrigin()
    with serve(PostbackMiddleware(app, secret_keys=[new_key()])) as app_url, \
            serve(other) as other_url:
        yield app, app_url, other, other_url


def test_a_base_that_arrives_during_the_postback_does_not_take_its_replay_away(
    browser: Any, servers: tuple[App, str, OtherOrigin, str]
) -> None:
    app, app_url, other, other_url = servers
    context = browser.new_context(accept_downloads=True)
    downloads: list[Any] = []
    try:
        page = context.new_page()
        page.on("download", lambda download: downloads.append(download))
        page.goto(app_url + "/statement")
        page.wait_for_function("typeof Postback === 'object'")  # the deferred script ran
        with page.expect_response(lambda r: "x-postback-panels" in r.request.headers) as answer:
            page.click("#export")
            page.wait_for_timeout(300)  # the report is being made; a comment arrives
            page.evaluate("""other => document.getElementById('comments').insertAdjacentHTML(
                'beforeend', '<p>nice</p><base href="' + other + '/landing/">')""", other_url)
        assert answer.value.headers["x-postback-partial"] == "replay"
        page.wait_for_timeout(1500)  # the replay is submitted at once
        sent = base64.b64encode(STATEMENT).decode()
        assert not any("__POSTBACKREPLAY" in body or sent in body
                       for _, _, body in other.requests())
        # replayed at home: the statement, as the full postback gives it (a download)
        assert [d.suggested_filename for d in downloads] == ["statement.pdf"]
    finally:
        context.close()
    assert app.exports == 1
