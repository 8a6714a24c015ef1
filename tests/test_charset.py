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
from .helpers import RecordingApp, new_key

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
