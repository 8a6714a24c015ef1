"""Charset declarations as Chromium reads them: a page is edited in the encoding it is shown in.

Chromium (the WHATWG rules) takes a byte order mark before the ``Content-Type`` charset, ignores
a charset the Encoding Standard does not list (``utf16``, Python's ``hex``), reads a ``<meta>``
naming UTF-16 as UTF-8 and only a ``charset`` attribute (not a ``charset=`` in a description).
Each page is served by waitress through the middleware: it must come out (no 500), read in the
charset Chromium reads the bare page in, with the same text, and its post form must post back.
"""

from __future__ import annotations

import codecs
import secrets
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

pytestmark = pytest.mark.browser

PAGE = ('<!DOCTYPE html><html><head>{head}<title>t</title></head><body><p>Hello</p>'
        '<form method="post" action="/save"><button id="go">Save</button></form></body></html>')

# name -> (Content-Type, body, the charset Chromium reads it in)
PAGES: dict[str, tuple[str, bytes, str]] = {
    "header-hex": ("text/html; charset=hex", PAGE.format(head="").encode(), "windows-1252"),
    "description-says-charset": ("text/html", PAGE.format(
        head='<meta name="description" content="Why charset=base64 is no charset">').encode(),
        "windows-1252"),
    "meta-utf-16": ("text/html", PAGE.format(head='<meta charset="utf-16">').encode() + b" ",
                    "UTF-8"),
    "header-utf16-ignored": ("text/html; charset=utf16", PAGE.format(head="").encode() + b" ",
                             "windows-1252"),
    "utf-8-bom-beats-header": ("text/html; charset=utf-16",
                               codecs.BOM_UTF8 + PAGE.format(head="").encode() + b" ", "UTF-8"),
    "utf-16le-stray-byte": ("text/html; charset=utf-16le",
                            PAGE.format(head="").encode("utf-16-le") + b"\n", "UTF-16LE"),
}


@pytest.fixture(scope="module")
def app_url(serve: Any) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"posted"]
        content_type, body, _ = PAGES[environ["PATH_INFO"].strip("/")]
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]

    with serve(PostbackMiddleware(app, secret_keys=[secrets.token_urlsafe(48)])) as url:
        yield url


@pytest.mark.parametrize("name", list(PAGES))
def test_a_page_is_edited_in_the_charset_chromium_reads(browser_page: Any, app_url: str,
                                                        name: str) -> None:
    response = browser_page.goto(f"{app_url}/{name}")
    assert response.status == 200
    assert browser_page.evaluate("document.characterSet") == PAGES[name][2]
    assert browser_page.inner_text("body").startswith("Hello\n")
    with browser_page.expect_request(lambda r: r.method == "POST") as sent:
        browser_page.click("#go")
    assert sent.value.url == f"{app_url}/save"
    assert "__VIEWSTATE=" in (sent.value.post_data or "")
