"""Pages in other encodings: found, edited and passed on byte for byte."""

from __future__ import annotations

import base64
import codecs
import re
from collections.abc import Iterator
from typing import Any

import pytest
import webtest
from webob import Request

from postback_middleware import PostbackMiddleware
from postback_middleware.charset import Transcoder, sniff

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
