"""Pages in other encodings: found, edited and passed on byte for byte."""

from __future__ import annotations

import base64
import codecs
import json
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import webtest
from webob import Request

from postback_middleware import PostbackMiddleware, Registry
from postback_middleware.charset import Transcoder, form_encoding, sniff

from .helpers import INSERTED as INSERTED_MARKUP
from .helpers import RecordingApp, new_key, without_insertions

PAGE = ('<html><head><title>Café</title></head><body>'
        '<form method="post"><a data-postback="löschen" data-postback-argument="Größe 7">x</a>'
        '<p>🐍 naïve</p></form></body></html>')
INSERTED = re.compile(INSERTED_MARKUP.pattern.decode())  # the same, on decoded text


@pytest.mark.parametrize(
    ("first_bytes", "expected"),
    [
        pytest.param(b"<html>", "utf-8", id="default"),
        pytest.param(codecs.BOM_UTF8 + b"<html>", "utf-8", id="utf-8-bom"),
        pytest.param(codecs.BOM_UTF16_LE + "<".encode("utf-16-le"), "utf-16-le", id="utf-16le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + "<".encode("utf-16-be"), "utf-16-be", id="utf-16be-bom"),
        pytest.param(b'<head><meta charset="ISO-8859-1">', "iso-8859-1", id="meta-charset"),
        pytest.param(b"<head><META CHARSET=windows-1252>", "windows-1252", id="meta-unquoted"),
        pytest.param(b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">',
                     "koi8-r", id="http-equiv"),
        pytest.param(b" " * 1100 + b'<meta charset="latin1">', "utf-8", id="meta-too-late"),
    ],
)
def test_sniff(first_bytes: bytes, expected: str) -> None:
    assert sniff(first_bytes) == expected


def serve(encoding: str, header_charset: str | None, *, bom: bytes = b"",
          streamed: bool = False) -> tuple[webtest.TestApp, RecordingApp, bytes]:
    body = bom + PAGE.encode(encoding)
    content_type = "text/html" + (f"; charset={header_charset}" if header_charset else "")
    recorder = RecordingApp(page="")

    def app(environ: Any, start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST":
            return recorder(environ, start_response)
        start_response("200 OK", [("Content-Type", content_type)])
        if not streamed:
            return [body]
        return (body[i : i + 7] for i in range(0, len(body), 7))

    wrapped = webtest.TestApp(PostbackMiddleware(app, secret_keys=[new_key()]))
    return wrapped, recorder, body


CASES = [
    pytest.param("utf-8", "utf-8", b"", id="utf-8-header"),
    pytest.param("utf-8", None, b"", id="utf-8-default"),
    pytest.param("utf-16-le", "utf-16", codecs.BOM_UTF16_LE, id="utf-16-header-le-bom"),
    pytest.param("utf-16-be", "utf-16", codecs.BOM_UTF16_BE, id="utf-16-header-be-bom"),
    pytest.param("utf-16-le", "utf-16le", b"", id="utf-16le-no-bom"),
    pytest.param("utf-16-be", None, codecs.BOM_UTF16_BE, id="utf-16-sniffed-from-bom"),
]


@pytest.mark.parametrize("streamed", [False, True], ids=["buffered", "streamed"])
@pytest.mark.parametrize(("encoding", "header", "bom"), CASES)
def test_pages_in_any_supported_encoding(encoding: str, header: str | None, bom: bytes,
                                         streamed: bool) -> None:
    app, recorder, original = serve(encoding, header, bom=bom, streamed=streamed)
    response = app.get("/")
    text = response.body[len(bom):].decode(encoding)
    assert response.body.startswith(bom)
    # Faithful: take the (re-encoded) insertions out and the page is the app's, byte for byte.
    assert bom + INSERTED.sub("", text).encode(encoding) == original
    fields = dict(re.findall(r'name="(__VIEWSTATE|__EVENTVALIDATION)"[^>]*value="([^"]*)"', text))
    # The non-ASCII event pair was read from the page in its own encoding.
    app.post("/", {"__EVENTTARGET": "löschen", "__EVENTARGUMENT": "Größe 7", **fields})
    assert recorder.calls[-1].event.argument == "Größe 7"


@pytest.mark.parametrize("size", [1, 3, 7, 8, 64])
def test_a_utf16_page_streamed_with_text_in_a_script_comes_out_whole(size: int) -> None:
    """The scanner keeps a script's last few bytes for the next piece (they may begin its
    end tag), which may cut a character in two: it is turned back into UTF-16 whole."""
    page = ('<html><head><script>var s = "' + "äöü🐍" * 40 + '";</script></head><body>'
            '<form method="post"><script>t = "' + "é" * 50 + '"</script></form>'
            "<script>" + "ß" * 30 + "</script></body></html>")
    body = codecs.BOM_UTF16_LE + page.encode("utf-16-le")

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-16")])
        return (body[i : i + size] for i in range(0, len(body), size))

    response = webtest.TestApp(PostbackMiddleware(app, secret_keys=[new_key()])).get("/")
    text = response.body[2:].decode("utf-16-le")
    assert INSERTED.sub("", text) == page
    assert text.count('name="__VIEWSTATE"') == 1


def test_latin1_page_declared_in_meta() -> None:
    """A Latin-1 page (no charset header): its event pairs are read as Latin-1."""
    page = ('<head><meta charset="iso-8859-1"></head><form method="post">'
            '<a data-postback="café">x</a></form>').encode("iso-8859-1")

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [page]

    response = Request.blank("/").get_response(PostbackMiddleware(app, secret_keys=[new_key()]))
    assert INSERTED.sub("", response.body.decode("iso-8859-1")).encode("iso-8859-1") == page
    ev = re.search(rb'name="__EVENTVALIDATION"[^>]*value="([^".]*)', response.body).group(1)
    assert "café" in base64.urlsafe_b64decode(ev + b"==").decode()


def test_utf16_transcoder_keeps_unpaired_surrogates() -> None:
    raw = codecs.BOM_UTF16_LE + "<p>".encode("utf-16-le") + b"\x00\xd8" + ">".encode("utf-16-le")
    transcoder = Transcoder("utf-16", raw)
    scanned = transcoder.to_scanner(raw, final=True)
    assert transcoder.from_scanner(scanned) == raw


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def test_utf16_transcoder_across_odd_pieces() -> None:
    raw = codecs.BOM_UTF16_BE + PAGE.encode("utf-16-be")
    transcoder = Transcoder("utf-16", raw)
    scanned = b"".join(transcoder.to_scanner(piece) for piece in chunks_of(raw, 3))
    assert scanned.decode("utf-8") == "\ufeff" + PAGE


# -- ISO-2022-JP: an ESC byte may turn markup into text (and back) for a browser -----------------

ESC_JIS, ESC_ASCII = b"\x1b$B", b"\x1b(B"  # to JIS X 0208 (two bytes a kanji), back to ASCII


@pytest.mark.parametrize(
    ("content_types", "first_bytes", "inert"),
    [
        pytest.param(["text/html; charset=utf-8"], b"<p>", True, id="utf-8"),
        pytest.param(['text/html;charset="Shift_JIS"'], b"<p>", True, id="quoted-known-label"),
        pytest.param(["text/html; charset=utf-16le"], b"<\x00", True, id="utf-16le"),
        pytest.param(["text/html; charset=iso-2022-jp"], b"<p>", False, id="iso-2022-jp"),
        pytest.param(["text/html; charset=CSISO2022JP"], b"<p>", False, id="csiso2022jp"),
        pytest.param(["text/html"], b"<p>", False, id="no-charset: a meta decides"),
        pytest.param(["text/html; charset=utf-7"], b"<p>", False,
                     id="label-browsers-ignore: a meta decides"),
        pytest.param(["text/html; charset = utf-8"], b"<p>", False,
                     id="spaces-around-equals: ignored by Chromium"),
        pytest.param(["text/html; charset=iso-2022-jp; charset=utf-8"], b"<p>", False,
                     id="two-charsets: Chromium takes the first"),
        pytest.param(["text/html; charset=utf-8", "text/html"], b"<p>", False,
                     id="two-content-types"),
        pytest.param(["text/html"], codecs.BOM_UTF8 + b"<p>", True, id="utf-8-bom"),
        pytest.param(["text/html; charset=iso-2022-jp"], codecs.BOM_UTF16_LE, True,
                     id="bom-before-the-header"),
    ],
)
def test_escapes_are_inert(content_types: list[str], first_bytes: bytes, inert: bool) -> None:
    from postback_middleware.charset import escapes_are_inert

    assert escapes_are_inert(content_types, first_bytes) is inert


def _jis_page(evil: bytes = b"https://evil.example/steal") -> bytes:
    """One form tag read two ways: the scanner's first action is "/ok", a browser's (which
    reads data-a's value on to the quote after ESC ( B) the other origin's."""
    return (b'<html><head><title>t</title></head><body><form method="post" data-a="' + ESC_JIS
            + b'" action="/ok" data-b="' + ESC_ASCII + b'" action="' + evil + b'">'
            b'<input name="q"></form></body></html>')




# -- URLs in multi-byte encodings, read as browsers read them -----------------------------------

# "http://evil.example" + two bytes + "localhost/ok": to a browser the two bytes are one
# character ("①" in Shift_JIS), the host "evil.example①localhost"; Python's older tables
# ("shift_jis", "big5", "gb2312") read an unknown character and "@", the host localhost.
def _serve_bytes(content_type: str, pieces: list[bytes], *, streamed: bool) -> webtest.TestApp:
    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", content_type)])
        return iter(pieces) if streamed else [b"".join(pieces)]

    return webtest.TestApp(PostbackMiddleware(app, secret_keys=[new_key()]))


@pytest.mark.parametrize("streamed", [False, True], ids=["buffered", "streamed"])
@pytest.mark.parametrize(
    ("content_type", "pieces"),
    [
        pytest.param("text/html; charset=iso-2022-jp", [_jis_page()], id="header-iso-2022-jp"),
        pytest.param("text/html; charset=csiso2022jp", [_jis_page()], id="header-csiso2022jp"),
        pytest.param("text/html", [b'<meta charset="iso-2022-jp">' + _jis_page()],
                     id="meta-iso-2022-jp"),
        pytest.param("text/html", [b"<!-- " + b"x" * 1100 + b' --><meta charset="iso-2022-jp">'
                                   + _jis_page()], id="meta-past-1024-bytes"),
        pytest.param("text/html; charset=iso-2022-jp; charset=utf-8", [_jis_page()],
                     id="two-charsets-iso-2022-jp-first"),
        pytest.param("text/html; charset=iso-2022-jp", [_jis_page()[:60], _jis_page()[60:]],
                     id="esc-in-the-first-piece"),
    ],
)
def test_a_page_a_browser_may_read_as_iso_2022_jp_with_escapes_is_not_edited(
        content_type: str, pieces: list[bytes], streamed: bool) -> None:
    response = _serve_bytes(content_type, pieces, streamed=streamed).get("/")
    assert response.body == b"".join(pieces)
    assert b"__VIEWSTATE" not in response.body


def test_a_streamed_page_is_edited_up_to_its_first_esc_byte() -> None:
    """A form before the ESC byte (read alike by the scanner and a browser) keeps its tokens;
    from the ESC on the page is passed on unedited."""
    before = b'<html><body><form method="post" action="/first"><input name="a"></form>'
    pieces = [before, b"<p>" + _jis_page() + b"</p>"]
    body = _serve_bytes("text/html", pieces, streamed=True).get("/").body
    assert body.count(b'name="__VIEWSTATE"') == 1
    assert body.index(b'name="__VIEWSTATE"') < body.index(b"</form>")
    assert without_insertions(body) == b"".join(pieces)


@pytest.mark.parametrize("streamed", [False, True], ids=["buffered", "streamed"])
@pytest.mark.parametrize(
    ("content_type", "page"),
    [
        # a charset browsers know from the header decides: the ESC bytes are inert there
        pytest.param("text/html; charset=utf-8", _jis_page(b"/ok2"), id="utf-8-header"),
        pytest.param("text/html; charset=shift_jis", _jis_page(b"/ok2"), id="shift_jis-header"),
        pytest.param("text/html", codecs.BOM_UTF8 + _jis_page(b"/ok2"), id="utf-8-bom"),
        # no ESC byte: ISO-2022-JP reads it as ASCII
        pytest.param("text/html; charset=iso-2022-jp",
                     b'<form method="post" action="/ok"></form>', id="iso-2022-jp-ascii-only"),
        pytest.param("text/html", b'<form method="post" action="/ok"></form>', id="no-charset"),
    ],
)
def test_pages_whose_escapes_are_inert_are_edited(content_type: str, page: bytes,
                                                  streamed: bool) -> None:
    body = _serve_bytes(content_type, [page], streamed=streamed).get("/").body
    assert body.count(b'name="__VIEWSTATE"') == 1
    assert without_insertions(body) == page


# -- labels and declarations as browsers read them ----------------------------------------------

ASCII_PAGE = b'<html><head><title>t</title></head><body><form method="post"></form></body></html>'


@pytest.mark.parametrize(
    ("content_type", "first_bytes", "expected"),
    [
        pytest.param("text/html; charset=utf-8", b"<p>", "utf-8", id="header"),
        pytest.param('text/html; charset="Shift_JIS"', b"<p>", "shift_jis", id="header-quoted"),
        pytest.param("text/html; charset=iso-8859-5; charset=utf-8", b"<p>", "iso-8859-5",
                     id="header-twice: the first"),
        pytest.param("text/html; charset = koi8-r", b"<p>", "utf-8",
                     id="header-spaces-around-equals: none"),
        pytest.param("text/html; charset=utf16", b"<p>", "utf-8", id="header-not-a-whatwg-label"),
        pytest.param("text/html; charset=hex", b"<p>", "utf-8", id="header-python-bytes-codec"),
        pytest.param("text/html; charset=unicode", b"<\x00", "unicode",
                     id="header-whatwg-utf-16-label"),
        pytest.param("text/html; charset=utf-16", codecs.BOM_UTF8 + b"<p>", "utf-8",
                     id="bom-beats-header"),
        pytest.param("text/html; charset=utf-8", codecs.BOM_UTF16_BE, "utf-16-be",
                     id="utf-16-bom-beats-header"),
        pytest.param("text/html", b'<meta charset="utf-16">', "utf-8", id="meta-utf-16-is-utf-8"),
        pytest.param("text/html", b'<meta name="description" content="charset=base64">', "utf-8",
                     id="meta-not-a-whatwg-label"),
        pytest.param("text/html", b'<meta charset="iso-8859-2">', "iso-8859-2", id="meta"),
        pytest.param(None, b"<p>", "utf-8", id="nothing"),
    ],
)
def test_choose(content_type: str | None, first_bytes: bytes, expected: str) -> None:
    from postback_middleware.charset import choose

    assert choose(content_type, first_bytes) == expected


@pytest.mark.parametrize("streamed", [False, True], ids=["buffered", "streamed"])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("text/html; charset=hex", ASCII_PAGE, id="header-hex"),
        pytest.param("text/html; charset=base64", ASCII_PAGE + b" ", id="header-base64"),
        pytest.param("text/html; charset=utf16", ASCII_PAGE + b" ", id="header-utf16"),
        pytest.param("text/html; charset=utf-16-le", ASCII_PAGE + b" ", id="header-utf-16-le"),
        pytest.param("text/html", b'<meta name="description" content="on charset=hex">'
                     + ASCII_PAGE, id="user-text-in-a-meta-description"),
        pytest.param("text/html", b'<meta charset="utf-16">' + ASCII_PAGE, id="meta-utf-16"),
        pytest.param("text/html", b'<meta charset="utf-16">' + ASCII_PAGE + b" ",
                     id="meta-utf-16-odd-length"),
        pytest.param("text/html; charset=utf-16", codecs.BOM_UTF8 + ASCII_PAGE + b" ",
                     id="utf-8-bom-under-a-utf-16-header"),
    ],
)
def test_a_page_browsers_read_as_ascii_is_edited_as_such(content_type: str, body: bytes,
                                                         streamed: bool) -> None:
    """Not a 500, nor a page read as UTF-16 whose forms then get nothing."""
    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", content_type)])
        return chunks_of(body, 5) if streamed else [body]

    response = webtest.TestApp(PostbackMiddleware(app, secret_keys=[new_key()])).get("/")
    assert response.status_int == 200
    assert response.body.count(b'name="__VIEWSTATE"') == 1
    assert without_insertions(response.body) == body


@pytest.mark.parametrize("streamed", [False, True], ids=["buffered", "streamed"])
@pytest.mark.parametrize("stray", [b"\n", b"\x00\xd8\x41"], ids=["odd-byte", "surrogate-odd-byte"])
def test_a_utf16_page_with_a_stray_last_byte_is_edited_and_keeps_it(stray: bytes,
                                                                     streamed: bool) -> None:
    """A browser shows U+FFFD for it; it is sent back as it came."""
    body = PAGE.encode("utf-16-le") + stray

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-16le")])
        return chunks_of(body, 7) if streamed else [body]

    response = webtest.TestApp(PostbackMiddleware(app, secret_keys=[new_key()])).get("/")
    assert response.body.endswith(stray)
    text = response.body[:-len(stray)].decode("utf-16-le")
    assert INSERTED.sub("", text).encode("utf-16-le") + stray == body


def _post_form(action: bytes) -> bytes:
    return b'<html><body><form method="post" action="' + action + b'"></form></body></html>'


@pytest.mark.parametrize(
    ("charset", "action"),
    [
        pytest.param("shift_jis", b"http://evil.example\x87\x40localhost/ok", id="shift_jis"),
        pytest.param("sjis", b"http://evil.example\xed\x40localhost/ok", id="sjis-ibm-extension"),
        pytest.param("big5", b"http://evil.example\x87\x40localhost/ok", id="big5"),
        pytest.param("gb2312", b"http://evil.example\x81\x40localhost/ok", id="gb2312"),
        pytest.param("gbk", b"http://evil.example\xa1\x40localhost/ok", id="gbk-user-defined"),
        pytest.param("euc-jp", b"http://localhost\x8f@evil.example/ok",
                     id="euc-jp-three-byte-lead"),
        pytest.param("big5", b"//evil.example\x87\x40localhost/ok", id="big5-scheme-relative"),
    ],
)
def test_an_action_a_browser_reads_as_another_host_gets_no_tokens(charset: str,
                                                                  action: bytes) -> None:
    page = _post_form(action)
    body = _serve_bytes(f"text/html; charset={charset}", [page], streamed=False).get("/").body
    assert b'name="__VIEWSTATE"' not in body


@pytest.mark.parametrize(
    ("charset", "action"),
    [
        pytest.param("shift_jis", "/検索/①".encode("cp932"), id="shift_jis-nec-character"),
        pytest.param("big5", "/搜尋".encode("big5hkscs"), id="big5"),
        pytest.param("gbk", "/搜索/€".encode("gb18030"), id="gbk"),
        pytest.param("euc-kr", "/검색/갂".encode("cp949"), id="euc-kr-uhc-character"),
        pytest.param("shift_jis", "http://localhost/検索".encode("cp932"), id="absolute-same-host"),
    ],
)
def test_a_same_origin_action_in_a_multibyte_charset_gets_tokens(charset: str,
                                                                 action: bytes) -> None:
    page = _post_form(action)
    body = _serve_bytes(f"text/html; charset={charset}", [page], streamed=False).get("/").body
    assert body.count(b'name="__VIEWSTATE"') == 1
    assert without_insertions(body) == page


# -- postbacks from pages in other charsets ------------------------------------------------------
# A browser submits a form in its encoding (its accept-charset, else the page's): a form of a
# windows-1252 page posts "Müller" as M%FCller. Its tokens record that encoding, and the event
# (and, with validate_choices, the values checked) is read in it once they are verified.


@pytest.mark.parametrize(
    ("page", "accept_charset", "expected"),
    [
        pytest.param("utf-8", None, None, id="utf-8-page"),
        pytest.param("cp1252", None, "cp1252", id="windows-1252-page"),
        pytest.param("iso8859-1", None, "cp1252", id="latin-1-page-posts-windows-1252"),
        pytest.param("ascii", None, "cp1252", id="ascii-page-posts-windows-1252"),
        pytest.param("koi8-r", None, "koi8-r", id="koi8-r-page"),
        pytest.param("cp932", None, "cp932", id="shift_jis-page"),
        pytest.param("gb18030", None, "gb18030", id="gbk-page"),
        pytest.param("iso2022_jp", None, None, id="iso-2022-jp-page-read-as-utf-8"),
        pytest.param("cp1252", "utf-8", None, id="accept-charset-utf-8"),
        pytest.param("utf-8", "windows-1252", "cp1252", id="accept-charset-windows-1252"),
        pytest.param("utf-8", "ISO-8859-1", "cp1252", id="accept-charset-latin-1"),
        pytest.param("cp1252", "x-klingon UTF-8", None, id="first-label-that-is-an-encoding"),
        pytest.param("cp1252", "x-klingon,utf-8", None, id="labels-split-on-commas"),
        pytest.param("utf-8", "koi8-r utf-8", "koi8-r", id="first-label-wins"),
        pytest.param("cp1252", "utf-16", None, id="utf-16-posts-utf-8"),
        pytest.param("cp1252", "x-klingon", "cp1252", id="no-label-the-pages"),
        pytest.param("cp1252", "", "cp1252", id="empty-accept-charset"),
    ],
)
def test_the_encoding_a_form_is_submitted_in(page: str, accept_charset: str | None,
                                             expected: str | None) -> None:
    assert form_encoding(page, accept_charset) == expected


CUSTOMERS = ('<!DOCTYPE html><html><head><title>Kunden</title></head><body>'
             '<form method="post" action="/customers"{attrs}>'
             '<a data-postback="pick" data-postback-argument="Smith">Smith</a>'
             '<a data-postback="pick" data-postback-argument="Müller">Müller</a>'
             '<a data-postback="Größe">Größe</a><a data-postback="検索">検索</a>'
             '{inside}</form>{more}</body></html>')
ROWS = ''.join(f'<form method="post" action="/customers/{n}/"><a data-postback="pick" '
               f'data-postback-argument="Müller {n}">x</a></form>' for n in range(1, 4))


def _customers(charset: str, attrs: str = "", more: str = "", inside: str = "",
               **options: Any) -> tuple[webtest.TestApp, RecordingApp]:
    """A page of customers in ``charset`` (its Content-Type says so), and what reached it:
    ``attrs`` on its form, ``inside`` it, ``more`` forms after it."""
    recorder = RecordingApp(page="")
    # (what the charset lacks, as character references)
    page = CUSTOMERS.format(attrs=attrs, more=more, inside=inside).encode(
        charset, "xmlcharrefreplace")

    def app(environ: Any, start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST":
            return recorder(environ, start_response)
        start_response("200 OK", [("Content-Type", f"text/html; charset={charset}")])
        return [page]

    return webtest.TestApp(PostbackMiddleware(app, secret_keys=[new_key()], **options)), recorder


def _fields(body: bytes, index: int = 0) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in re.findall(
        rb'name="(__VIEWSTATE|__EVENTVALIDATION)"[^>]*value="([^"]*)"', body)[2 * index:
                                                                             2 * index + 2]}


def _body(fields: dict[str, str], encoding: str, **posted: str) -> bytes:
    """A urlencoded body as a browser writes a form in ``encoding``."""
    return urllib.parse.urlencode({**fields, **posted}, encoding=encoding,
                                  errors="xmlcharrefreplace").encode("ascii")


@pytest.mark.parametrize(
    ("charset", "attrs", "sent_in", "content_type", "event"),
    [
        pytest.param("windows-1252", "", "cp1252", "", ("pick", "Müller"),
                     id="windows-1252-argument"),
        pytest.param("windows-1252", "", "cp1252", "", ("Größe", ""), id="windows-1252-target"),
        pytest.param("iso-8859-1", "", "cp1252", "", ("pick", "Müller"), id="latin-1"),
        pytest.param("windows-1252", ' accept-charset="utf-8"', "utf-8", "", ("pick", "Müller"),
                     id="accept-charset-utf-8-on-a-windows-1252-page"),
        pytest.param("utf-8", ' accept-charset="windows-1252"', "cp1252", "",
                     ("pick", "Müller"), id="accept-charset-windows-1252-on-a-utf-8-page"),
        pytest.param("shift_jis", "", "cp932", "", ("検索", ""), id="shift_jis"),
        pytest.param("utf-8", "", "utf-8", "", ("pick", "Müller"), id="utf-8-as-ever"),
        pytest.param("windows-1252", "", "utf-8", "; charset=utf-8", ("pick", "Müller"),
                     id="a-script-names-utf-8"),
    ],
)
def test_a_postback_from_a_page_in_another_charset(charset: str, attrs: str, sent_in: str,
                                                  content_type: str,
                                                  event: tuple[str, str]) -> None:
    """The browser's own submission, in the form's encoding (or a script's, which says UTF-8):
    the event is read in it, and the app gets the page's text."""
    app, recorder = _customers(charset, attrs)
    fields = _fields(app.get("/customers").body)
    app.post("/customers", _body(fields, sent_in, __EVENTTARGET=event[0],
                                 __EVENTARGUMENT=event[1], note="Straße"),
             content_type="application/x-www-form-urlencoded" + content_type)
    seen = recorder.calls[-1]
    assert (seen.event.target, seen.event.argument) == event
    assert seen.body == _body({}, sent_in, note="Straße")  # (the app's field, as it came)


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
def test_an_htmx_postback_from_a_windows_1252_page_is_read_as_utf_8(kind: str) -> None:
    """htmx sends UTF-8 whatever the page's charset (``encodeURIComponent``, ``FormData``) and
    names no charset: its ``HX-Request`` says so, and its event is read as UTF-8. (A request
    can choose UTF-8 so, never another encoding: the default it had before.)"""
    app, recorder = _customers("windows-1252")
    fields = _fields(app.get("/customers").body)
    posted = {**fields, "__EVENTTARGET": "pick", "__EVENTARGUMENT": "Müller"}
    if kind == "urlencoded":
        body, content_type = _body(posted, "utf-8"), "application/x-www-form-urlencoded"
    else:
        body = b"".join(b'--B\r\nContent-Disposition: form-data; name="' + name.encode()
                        + b'"\r\n\r\n' + value.encode() + b"\r\n"
                        for name, value in posted.items()) + b"--B--\r\n"
        content_type = "multipart/form-data; boundary=B"
    app.request("/customers", method="POST", body=body, content_type=content_type,
                headers={"HX-Request": "true"})
    assert recorder.calls[-1].event.argument == "Müller"


def test_a_multipart_postback_from_a_windows_1252_page() -> None:
    app, recorder = _customers("windows-1252")
    fields = _fields(app.get("/customers").body)
    parts = [*fields.items(), ("__EVENTTARGET", "pick"), ("__EVENTARGUMENT", "Müller")]
    body = b"".join(b'--B\r\nContent-Disposition: form-data; name="' + name.encode()
                    + b'"\r\n\r\n' + value.encode("cp1252") + b"\r\n" for name, value in parts)
    app.request("/customers", method="POST", body=body + b"--B--\r\n",
                content_type="multipart/form-data; boundary=B")
    assert recorder.calls[-1].event.argument == "Müller"


def test_the_forms_of_a_list_page_share_a_page_token_that_names_their_encoding() -> None:
    app, recorder = _customers("windows-1252", more=ROWS)
    body = app.get("/customers").body
    for index in (1, 3):
        fields = _fields(body, index)
        assert fields["__EVENTVALIDATION"][:1].isdigit()  # (a page token's form)
        claims = _claims(fields["__VIEWSTATE"])
        assert claims["s"] == "cp1252"
        app.post(f"/customers/{index}/", _body(fields, "cp1252", __EVENTTARGET="pick",
                                               __EVENTARGUMENT=f"Müller {index}"),
                 content_type="application/x-www-form-urlencoded")
        assert recorder.calls[-1].event.argument == f"Müller {index}"


def _claims(token: str) -> dict[str, Any]:
    """A token's claims, read without checking it (its payload: base64url JSON)."""
    payload = token.rpartition(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@pytest.mark.parametrize(
    ("charset", "more", "recorded"),
    [
        pytest.param("utf-8", "", None, id="utf-8-form"),
        pytest.param("utf-8", ROWS, None, id="utf-8-page-token"),
        pytest.param("windows-1252", "", "cp1252", id="windows-1252-form"),
        pytest.param("windows-1252", ROWS, "cp1252", id="windows-1252-page-token"),
    ],
)
def test_only_a_form_in_another_encoding_has_it_in_its_tokens(charset: str, more: str,
                                                              recorded: str | None) -> None:
    """A UTF-8 page's tokens are as they were: no claim of an encoding, anywhere."""
    app, _ = _customers(charset, more=more)
    body = app.get("/customers").body
    if not more:  # (one form: tokens of its own)
        own = _claims(_fields(body)["__EVENTVALIDATION"])
        assert set(own) == {"v", "t", "p", "u", "f", "n", "d"}
        assert own["d"].get("s") == recorded
        return
    shared = _claims(_fields(body, 1)["__VIEWSTATE"])  # (the page's forms share one)
    assert set(shared) == {"v", "t", "u", "f", "n", "F", "d"} | ({"s"} if recorded else set())
    assert shared.get("s") == recorded


@pytest.mark.parametrize(
    ("charset", "sent", "content_type", "status"),
    [
        pytest.param("windows-1252", "Müller".encode(), "", 403,
                     id="utf-8-bytes-without-a-charset-are-read-in-windows-1252"),
        pytest.param("windows-1252", "Müller".encode("cp1252"), "; charset=utf-8", 400,
                     id="windows-1252-bytes-said-to-be-utf-8"),
        pytest.param("windows-1252", b"M\x81ller", "", 400, id="not-windows-1252"),
        pytest.param("utf-8", "Müller".encode("cp1252"), "", 400, id="utf-8-page-as-ever"),
        pytest.param("windows-1252", b"Mayer", "", 403, id="not-offered"),
    ],
)
def test_a_postback_in_another_charset_is_read_strictly(charset: str, sent: bytes,
                                                        content_type: str, status: int) -> None:
    """Strict: bytes that are not the form's encoding are a 400, never replaced; a text that
    decodes is still an event only if the form offered it exactly."""
    app, recorder = _customers(charset)
    fields = _fields(app.get("/customers").body)
    body = _body(fields, "ascii", __EVENTTARGET="pick") + b"&__EVENTARGUMENT=" + (
        urllib.parse.quote_from_bytes(sent).encode())
    app.post("/customers", body, status=status,
             content_type="application/x-www-form-urlencoded" + content_type)
    assert recorder.calls == []


def test_an_event_not_in_the_forms_encoding_waits_for_its_tokens() -> None:
    """The tokens are verified before anything posted is read: without them, bytes no
    encoding could read are refused as a postback without tokens (403), not read first."""
    app, recorder = _customers("windows-1252")
    app.post("/customers", b"__EVENTTARGET=pick&__EVENTARGUMENT=M%81ller&__VIEWSTATE=x",
             content_type="application/x-www-form-urlencoded", status=403)
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("claimed", "status"),
    [
        pytest.param("utf-8", 403, id="utf-8"),
        pytest.param("koi8-r", 403, id="another-encoding"),
        pytest.param(None, 403, id="none"),
    ],
)
@pytest.mark.parametrize("more", ["", ROWS], ids=["own-tokens", "page-token"])
def test_a_token_edited_to_claim_another_encoding_is_refused(claimed: str | None, status: int,
                                                            more: str) -> None:
    """The encoding is signed: a token whose claim is edited (and so whose bytes read
    otherwise) no longer verifies."""
    app, recorder = _customers("windows-1252", more=more)
    body = app.get("/customers").body
    fields = _fields(body, 1 if more else 0)
    name = "__VIEWSTATE" if more else "__EVENTVALIDATION"
    claims = _claims(fields[name])
    where = claims if more else claims["d"]
    assert where["s"] == "cp1252"
    if claimed is None:
        del where["s"]
    else:
        where["s"] = claimed
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":"),
                                                  ensure_ascii=False).encode()).rstrip(b"=")
    fields[name] = payload.decode() + "." + fields[name].rpartition(".")[2]
    path = "/customers/1/" if more else "/customers"
    app.post(path, _body(fields, "utf-8", __EVENTTARGET="pick",
                         __EVENTARGUMENT="Müller 1" if more else "Müller"),
             content_type="application/x-www-form-urlencoded", status=status)
    assert recorder.calls == []


SELECT = ('<select name="who"><option>Smith</option><option selected>Müller</option>'
          '</select>')


@pytest.mark.parametrize(
    ("sent", "content_type", "status"),
    [
        pytest.param("Müller".encode("cp1252"), "", 200, id="as-a-browser-sends-it"),
        pytest.param(b"Smith", "", 200, id="ascii"),
        pytest.param("Müller".encode(), "; charset=utf-8", 200, id="a-script-says-utf-8"),
        pytest.param("Müller".encode(), "", 403, id="utf-8-bytes-read-in-windows-1252"),
        pytest.param("Mayer".encode("cp1252"), "", 403, id="not-offered"),
        pytest.param(b"M\x81ller", "", 403, id="not-windows-1252"),
    ],
)
def test_a_choice_on_a_windows_1252_page(sent: bytes, content_type: str, status: int) -> None:
    """validate_choices: a value is read as the page's forms send it, in their encoding (as
    the app reads a body that names no charset): what a browser sends for an offered option
    passes, any other bytes are refused."""
    app, recorder = _customers("windows-1252", inside=SELECT, validate_choices=True)
    fields = _fields(app.get("/customers").body)
    body = _body(fields, "ascii") + b"&who=" + urllib.parse.quote_from_bytes(sent).encode()
    app.post("/customers", body, status=status,
             content_type="application/x-www-form-urlencoded" + content_type)
    assert len(recorder.calls) == (status == 200)


def test_forwarded_event_fields_are_in_the_forms_encoding() -> None:
    """forward_event_fields: the event goes into the body as the form's other fields are,
    so the app reads it as it reads them."""
    app, recorder = _customers("windows-1252", forward_event_fields=True)
    fields = _fields(app.get("/customers").body)
    app.post("/customers", _body(fields, "cp1252", __EVENTTARGET="pick",
                                 __EVENTARGUMENT="Müller", note="Straße"),
             content_type="application/x-www-form-urlencoded")
    assert recorder.calls[-1].body == b"note=Stra%DFe&__EVENTTARGET=pick&__EVENTARGUMENT=M%FCller"


@pytest.mark.parametrize("content_type", ["; charset=utf-8", ""], ids=["says-utf-8", "says-none"])
def test_a_callback_from_a_windows_1252_page_is_read_as_utf_8(content_type: str) -> None:
    """WebForm_DoCallback sends UTF-8 (encodeURIComponent), whatever the page's charset: a
    callback, and the form's fields it carries, are read so."""
    registry = Registry()
    registry.add_callback("Lookup", lambda argument, request: f"{argument}|{request.POST['note']}")
    app, _ = _customers("windows-1252", attrs=' data-callbacks="Lookup"', registry=registry)
    fields = _fields(app.get("/customers").body)
    body = urllib.parse.urlencode({"__VIEWSTATE": fields["__VIEWSTATE"], "note": "Straße",
                                   "__CALLBACKID": "Lookup", "__CALLBACKPARAM": "Müller",
                                   "__EVENTVALIDATION": fields["__EVENTVALIDATION"]})
    response = app.post("/customers", body,
                        content_type="application/x-www-form-urlencoded" + content_type)
    assert response.text.endswith("Müller|Straße")
