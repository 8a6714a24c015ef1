"""Response side, HTTP semantics: which responses are edited and how their headers change.

Edited: status 200, ``text/html`` or ``application/xhtml+xml`` (a HEAD's as a GET's, so that its
length agrees), given once (see :func:`html_page`), shown in the app's origin (not a download nor
a sandbox: ``http.kept_apart``), not opted out (the
``postback.skip`` environ key or an ``X-Postback-Skip`` response header, which is removed:
:func:`opted_out`). A gzip/deflate body is decoded, edited and re-encoded; any other content
coding is passed on untouched (and the request side only offers the inner app codings it can
undo). The editing itself is a :class:`PageEditor`'s (``inject.FieldInjector``).

Everything else passes straight through: the inner app's iterable is returned as it is, so
``wsgi.file_wrapper`` keeps working. A page is edited in one of two ways
(:func:`edit_response`):

* **buffered**, when the app returns a list or tuple (the whole page is there anyway): it gets a
  fresh ``Content-Length``; ``ETag`` / ``Content-MD5`` are dropped when the page changed;
* **streamed**, for any other iterable: each piece is edited and sent as it comes, so the
  first bytes leave before the app has finished and memory stays about one piece. The length
  is not known in advance, so ``Content-Length``, ``ETag`` and ``Content-MD5`` are dropped.

A caller that must read the page as well as send it (a partial postback, see ``partial``) gets
it from :func:`edit_whole`: decoded and edited once, with the decoded page and the fields the
editor wrote beside the bytes to send.

A page that received tokens is bound to one browser or user (see ``csrf``): the caller's
``bound_headers`` finishes the headers of every edited page (``Vary: Cookie``,
``Cache-Control: private``, the browser's cookie; see ``http.private_headers``), told whether a
form got tokens and whether the page is streamed (a later piece may still bring a form). The
inner iterable is closed exactly once. Bytes the app gives the ``write()`` callable go out where
it gave them: before the piece its iterable was making then (or after the last one).
"""

from __future__ import annotations

import functools
import logging
import secrets
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from . import charset
from .errors import InvalidType
from .html_scan import PanelEnd, Tag
from .http import (
    Headers,
    disagreeing,
    is_number,
    kept_apart,
    media_parameter,
    media_type,
    only_codings,
    text_response,
)

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("postback_middleware")

SKIP_ENVIRON_KEY = "postback.skip"
SKIP_HEADER = "x-postback-skip"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
DECODABLE_CODINGS = frozenset({"gzip", "x-gzip", "deflate"})
# Headers the page is read by, each to be given once (or twice alike): see http.disagreeing.
_READ_ONCE = frozenset({"content-type", "content-encoding"})
# What describes the app's own bytes, which the edited page no longer is: its length, its
# validators (a Range with If-Range would splice the app's bytes into the edited page) and
# digests.
_DROPPED_WHEN_CHANGED = frozenset({"content-length", "etag", "last-modified", "accept-ranges",
                                   "content-md5", "content-digest", "repr-digest", "digest"})
# A page whose declared Content-Length is at most this is read whole (and keeps a length); a
# larger one, or one of unknown length, is streamed piece by piece.
WHOLE_PAGE_LIMIT = 4 * 1024 * 1024

@dataclass
class Page:
    """A response chosen for editing, as the pipeline sees it."""

    status: str
    headers: Headers
    charset: str  # from Content-Type; "" until the first bytes are sniffed (see ``charset``)
    content_encoding: str
    # The first value of each header, by lower-cased name: made on the first lookup (a page's
    # headers are looked up four or five times, and never change once chosen).
    _first: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), as ``http.header``."""
        return self._names().get(name.lower())

    def _names(self) -> dict[str, str]:
        """The first value of each header, by lower-cased name."""
        first = self._first
        if first is None:
            first = self._first = {}
            for key, value in self.headers:
                first.setdefault(key.lower(), value)
        return first


class BoundHeaders(Protocol):
    """Finishes an edited page's headers: ``tokens`` if a form got some, ``streamed`` if
    more pieces (and forms) may follow the headers."""

    def __call__(self, headers: Headers, *, tokens: bool, streamed: bool) -> Headers: ...


class PageEditor(Protocol):
    """What edits one page (see ``inject.FieldInjector``)."""

    @property
    def changed(self) -> bool: ...

    def written_fields(self) -> list[dict[str, str]]:
        """The non-empty reserved fields written into each post form, in document order."""
        ...

    @property
    def panel_tags(self) -> list[Tag | PanelEnd] | None:
        """After :meth:`edit`, the start tag of each panel a partial postback asked for and
        the :class:`~.html_scan.PanelEnd` where it ends, as its scan found them, in the edited
        page's offsets (None: not asked, or to be read from the edited page again)."""
        ...

    def edit(self, document: bytes) -> bytes: ...

    def feed(self, piece: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


EditorFactory = Callable[[Page], PageEditor]


def opted_out(environ: WSGIEnvironment, headers: Headers) -> tuple[Headers, bool]:
    """The headers without ``X-Postback-Skip``, and whether the response must pass unedited
    (that header, or the ``postback.skip`` environ key). A HEAD request is edited like a GET,
    so that its headers (the length) agree with the GET's."""
    kept, _, skipped = _read_headers(headers)
    return kept, skipped or bool(environ.get(SKIP_ENVIRON_KEY))


def _read_headers(headers: Headers) -> tuple[Headers, dict[str, str], bool]:
    """One pass over an app's headers for :class:`_Capture`: those kept (a copy, without
    ``X-Postback-Skip``, as :func:`opted_out`), the first value of each by lower-cased name
    (a :class:`Page`'s lookups), and whether the skip header was there."""
    kept: Headers = []
    first: dict[str, str] = {}
    skipped = False
    for key, value in headers:
        name = key.lower()
        if name == SKIP_HEADER:
            skipped = True
            continue
        kept.append((key, value))
        if name not in first:
            first[name] = value
    return kept, first, skipped


@functools.lru_cache(maxsize=256)  # an app sends the same few Content-Types
def _html_charset(content_type: str | None) -> str | None:
    """The charset of an HTML ``Content-Type`` ("" when it names none), None when the type is
    not HTML."""
    if media_type(content_type) not in HTML_TYPES:
        return None
    return media_parameter(content_type, "charset") or ""


def html_page(status: str, headers: Headers, *, first: dict[str, str] | None = None
              ) -> Page | None:
    """The response as a page whose HTML can be read (decoded), or None. ``first``: the
    first value of each header by lower-cased name, when the caller made it already."""
    if status.partition(" ")[0] != "200":
        return None
    page = Page(status, headers, "", "")
    page._first = first
    page_charset = _html_charset(page.header("content-type"))
    if page_charset is None:
        return None
    twice = disagreeing(headers, _READ_ONCE)
    if twice is not None:  # (a browser reads the last: the page is read as it may not be)
        log.warning("not rewriting a page with two different %s headers", twice)
        return None
    maybe_apart = (page.header("content-disposition") is not None
                   or page.header("content-security-policy") is not None)
    if maybe_apart and kept_apart(headers):  # (a download, a sandbox: the app's bytes as sent)
        return None
    page.charset = page_charset
    if page_charset.startswith(charset.UNSUPPORTED):
        log.info("not rewriting a %r page (browsers do not support it)", page_charset)
        return None
    coding = page.header("content-encoding")
    if coding:
        coding = coding.strip().lower()
        if coding not in ("", "identity") and coding not in DECODABLE_CODINGS:
            log.warning("not rewriting a page with Content-Encoding %r", coding)
            return None
        page.content_encoding = "" if coding == "identity" else coding
    return page


def limit_accept_encoding(environ: WSGIEnvironment) -> None:
    """Offer the inner app only content codings the editor can undo (``*`` is dropped too)."""
    accept = environ.get("HTTP_ACCEPT_ENCODING")
    if not accept:
        return
    environ["HTTP_ACCEPT_ENCODING"] = only_codings(accept, DECODABLE_CODINGS | {"identity"})


def _has_zlib_header(data: bytes) -> bool:
    """RFC 1950: method 8 (deflate) and CMF * 256 + FLG divisible by 31 (``data``: two bytes
    or more)."""
    return data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


class Coding:
    """Undoes and redoes a page's gzip/deflate content coding, whole or piece by piece.

    A gzip page goes out as one member whose header holds a file name of random length (see
    :func:`gzip_header`), so its compressed length varies from response to response, as
    Django's ``GZipMiddleware`` makes it against BREACH: editing a page keeps that defence, and
    gives it to every gzip page."""

    def __init__(self, coding: str) -> None:
        gzip_coding = coding in ("gzip", "x-gzip")
        self._decoder: Any = zlib.decompressobj(31 if gzip_coding else 15) if coding else None
        # (gzip: raw deflate between a header and a trailer of ours)
        self._encoder: Any = (zlib.compressobj(wbits=-zlib.MAX_WBITS if gzip_coding else 15)
                              if coding else None)
        self._gzip_header = gzip_header() if gzip_coding else b""  # (until it is sent)
        self._gzip_crc = self._gzip_size = 0
        self._gzip = gzip_coding
        self._header_checked = coding != "deflate"
        self._head = b""  # a deflate body's first byte, until the second tells how it is wrapped
        self._members = gzip_coding  # (a gzip body may be several members: see decode)

    @property
    def is_identity(self) -> bool:
        """Whether the body is sent as it is (no content coding to undo)."""
        return self._decoder is None

    def decode(self, data: bytes) -> bytes:
        if self._decoder is None or not data:
            return data
        if not self._header_checked:
            # "deflate" should be zlib-wrapped (RFC 1950), but some servers send raw deflate:
            # told by the first two bytes (a first piece of one byte waits for the next).
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return b""
            self._header_checked = True
            if not _has_zlib_header(data):
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
        out = self._decoder.decompress(data)
        # A gzip body may be several members one after another (RFC 1952; ``cat a.gz b.gz``),
        # zero bytes between them skipped as gzip does: each is decoded in turn (the page goes
        # out re-encoded as one). What follows a member and is no gzip is ignored, as gzip and
        # browsers ignore it.
        while self._members and self._decoder.eof:
            rest = self._decoder.unused_data.lstrip(b"\0")
            if len(rest) < 2:
                break  # (nothing, or one byte so far: the next piece tells)
            if not rest.startswith(b"\x1f\x8b"):
                self._members = False
                break
            self._decoder = zlib.decompressobj(31)
            out += self._decoder.decompress(rest)
        return bytes(out)

    def encode(self, data: bytes, *, flush: bool) -> bytes:
        """Compress; with ``flush`` everything given so far can be decoded by the browser."""
        if self._encoder is None:
            return data
        out = bytes(self._encoder.compress(data))
        if flush and data:
            out += self._encoder.flush(zlib.Z_SYNC_FLUSH)
        if self._gzip:
            self._gzip_crc = zlib.crc32(data, self._gzip_crc)
            self._gzip_size += len(data)
            if out and self._gzip_header:
                out, self._gzip_header = self._gzip_header + out, b""
        return out

    def end(self) -> bytes:
        if self._encoder is None:
            return b""
        out = bytes(self._encoder.flush())
        if self._gzip:  # (RFC 1952: the CRC-32 and the size modulo 2**32, little-endian)
            out = (self._gzip_header + out + self._gzip_crc.to_bytes(4, "little")
                   + (self._gzip_size & 0xFFFFFFFF).to_bytes(4, "little"))
            self._gzip_header = b""
        return out


GZIP_PADDING = 100
"""The file name of an edited gzip page's header is 0 to ``GZIP_PADDING - 1`` bytes long, at
random (Django's ``GZipMiddleware.max_random_bytes``)."""


def gzip_header() -> bytes:
    """A gzip member's header (RFC 1952: deflate, no time, unknown system) with a file name
    field (``FNAME``) of random length: the padding of "Heal The Breach" (Paulsen et al.),
    which makes a compressed page's length, BREACH's oracle, differ from one response to the
    next by more than a guess changes it. Browsers ignore the name."""
    name = b"a" * secrets.randbelow(GZIP_PADDING)
    return b"\x1f\x8b\x08\x08\x00\x00\x00\x00\x00\xff" + name + b"\x00"


def check_body(result: Iterable[bytes]) -> Iterable[bytes]:
    """The app's response iterable, refused when it is a single ``bytes`` or ``str`` (its
    items would be numbers or characters): the app's mistake, said as such."""
    body: object = result  # (typed as the app should have returned it)
    if isinstance(body, bytes | bytearray | str):
        raise InvalidType(
            f"the inner app returned a {type(body).__name__} object as its body; a WSGI app "
            "returns an iterable of bytes: return [body]" + (
                " (encoded: [body.encode()])" if isinstance(body, str) else "")
        )
    return result


def _check_items(items: Iterable[object]) -> None:
    """Say which of the app's body items is not bytes (called once something failed)."""
    for item in items:
        if not isinstance(item, bytes):
            raise InvalidType(not_bytes(item))


def not_bytes(chunk: object) -> str:
    """What is wrong with a body item that is not bytes."""
    hint = " (encode it: chunk.encode())" if isinstance(chunk, str) else ""
    return (f"the inner app's body gave a {type(chunk).__name__} item; WSGI bodies are made of "
            f"bytes{hint}")


class _Pipeline:
    """One page's way through: content coding, charset, the editor, and back again."""

    def __init__(self, page: Page, make_editor: EditorFactory) -> None:
        self.page = page
        self._make_editor = make_editor
        self._coding = Coding(page.content_encoding)
        self._charset: charset.Transcoder | None = None
        self._editor: PageEditor | None = None
        # The editor's feed, once known to take the pieces as they are (the common case:
        # no content coding, an ASCII-compatible charset): each piece then costs one call.
        self._feed_as_is: Callable[[bytes], bytes] | None = None
        # Whether an ESC byte leaves the page's reading alone (see charset.escapes_are_inert):
        # where it may not, the page is edited only up to its first ESC byte.
        self._escapes_inert = True
        self._escaped = False  # an ESC byte came: the rest of the page passes unedited

    def _begin(self, first: bytes) -> tuple[charset.Transcoder, PageEditor]:
        """Settle the charset as a browser does (``charset.choose``: from the headers and the
        first bytes) and start."""
        if self._charset is None or self._editor is None:
            content_types = [v for k, v in self.page.headers if k.lower() == "content-type"]
            label = charset.choose(content_types[0] if content_types else None, first)
            self._charset = charset.Transcoder(label, first)
            self.page.charset = self._charset.scan_encoding
            self._editor = self._make_editor(self.page)
            self._escapes_inert = charset.escapes_are_inert(content_types, first)
            if self._coding.is_identity and self._charset.is_identity and self._escapes_inert:
                self._feed_as_is = self._editor.feed
        return self._charset, self._editor

    def whole(self, body: bytes) -> bytes | None:
        """A buffered page edited, or None when it has nothing to edit (or must not be)."""
        document = self._coding.decode(body)
        transcoder, editor = self._begin(document)
        if self._shifts(document):
            return None
        edited = editor.edit(transcoder.to_scanner(document, final=True))
        return self._last(transcoder.from_scanner(edited, final=True)) if editor.changed else None

    def edited(self, body: bytes) -> bytes:
        """A whole page decoded and edited, in the scanner's encoding (``page.charset``)."""
        document = self._coding.decode(body)
        transcoder, editor = self._begin(document)
        if self._shifts(document):
            self._editor = editor = _Unedited()
        return editor.edit(transcoder.to_scanner(document, final=True))

    def _shifts(self, data: bytes) -> bool:
        """Whether ``data`` holds an ESC byte a browser may read as ISO-2022-JP's (logged)."""
        if self._escapes_inert or charset.ESC not in data:
            return False
        log.warning("not rewriting a page (from its first ESC byte on) that a browser may read "
                    "as ISO-2022-JP: its escape sequences make markup text, and the reverse")
        return True

    def encoded(self, edited: bytes) -> bytes:
        """What :meth:`edited` gave, back in the page's charset and content coding."""
        transcoder, _ = self._begin(b"")
        return self._last(transcoder.from_scanner(edited, final=True))

    @property
    def written_fields(self) -> list[dict[str, str]]:
        return [] if self._editor is None else self._editor.written_fields()

    @property
    def panel_tags(self) -> list[Tag | PanelEnd] | None:
        return None if self._editor is None else self._editor.panel_tags

    def feeder(self) -> Callable[[bytes], bytes]:
        """What takes the next pieces, once the first has started the pipeline: the editor's
        own feed when the pieces reach it as they are (one call a piece), else :meth:`feed`."""
        return self._feed_as_is or self.feed

    def feed(self, chunk: bytes) -> bytes:
        """A piece of a streamed page: what can be sent now."""
        if self._feed_as_is is not None:
            return self._feed_as_is(chunk)
        data = self._coding.decode(chunk)
        if not data and self._editor is None:
            return b""  # e.g. only a gzip header so far: nothing to sniff yet
        started = self._editor is not None
        transcoder, editor = self._begin(data)
        if self._escaped or self._shifts(data):
            edited = b""
            if not self._escaped and started:
                # Sent already: the bytes before the ESC are read alike; the rest is not edited.
                cut = data.index(charset.ESC)
                edited = editor.feed(transcoder.to_scanner(data[:cut])) + editor.finish()
                data = data[cut:]
            elif not self._escaped:
                self._editor = _Unedited()  # (nothing sent yet: the whole page is left alone)
            self._escaped = True
            edited += transcoder.to_scanner(data)
        elif self._coding.is_identity and transcoder.is_identity:  # (see feeder)
            return editor.feed(data)
        else:
            edited = editor.feed(transcoder.to_scanner(data))
        return self._coding.encode(transcoder.from_scanner(edited), flush=True)

    def finish(self) -> bytes:
        if self._feed_as_is is not None:  # (nothing to transcode or re-encode)
            assert self._editor is not None
            return self._editor.finish()
        transcoder, editor = self._begin(b"")
        # (what the transcoder still held, if anything: an empty piece would only make the
        # editor read its undecided tail again, to decide nothing more)
        tail = transcoder.to_scanner(b"", final=True)
        if self._escaped:
            edited = tail
        else:
            edited = editor.feed(tail) + editor.finish() if tail else editor.finish()
        return self._last(transcoder.from_scanner(edited, final=True))

    @property
    def changed(self) -> bool:
        """Whether the page received anything (tokens) so far."""
        return self._editor is not None and self._editor.changed

    def _last(self, data: bytes) -> bytes:
        """The final bytes, with whatever the content coding still holds."""
        return self._coding.encode(data, flush=False) + self._coding.end()


def _declared_whole(page: Page) -> bool:
    """Whether a page the app hands over piece by piece is read whole and sent with a length:
    when the app declared its ``Content-Length`` (Flask and Django do, for a rendered page) up
    to :data:`WHOLE_PAGE_LIMIT`. Its length then survives, and with it keep-alive (a server
    closes the connection after a body of unknown length)."""
    declared = page.header("content-length")
    return declared is not None and is_number(declared.strip()) and (
        int(declared) <= WHOLE_PAGE_LIMIT)


def _output_headers(page: Page, length: int | None) -> Headers:
    """Headers of an edited page: its length if known, no validators."""
    if _DROPPED_WHEN_CHANGED.isdisjoint(page._names()):
        headers = list(page.headers)  # none to drop (a streamed page's usual headers)
    else:
        headers = [(k, v) for k, v in page.headers if k.lower() not in _DROPPED_WHEN_CHANGED]
    if length is not None:
        headers.append(("Content-Length", str(length)))
    return headers


def _kept(piece: bytes | bytearray | memoryview) -> bytes:
    """A piece to keep until the page is whole: a copy where the app may fill its buffer again
    (a ``bytearray`` or ``memoryview`` it reads into), else the piece itself."""
    return bytes(piece) if isinstance(piece, bytearray | memoryview) else piece


class _Capture:
    """Stands in for ``start_response``: passes untouched responses on, holds back the rest.

    A response passed on stays so: the app's own iterable carries it, so a later call (with
    ``exc_info``) goes to the server too, which replaces the headers it has not sent yet or
    raises again (PEP 3333)."""

    def __init__(self, environ: WSGIEnvironment, start_response: StartResponse) -> None:
        self.environ = environ
        self.downstream = start_response
        self.started = False
        self.headers_sent = False  # set once the edited response's headers went downstream
        self.page: Page | None = None
        self.buffer: list[bytes] = []

    def __call__(
        self, status: str, headers: Headers, exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        if self.started and exc_info is None:
            raise AssertionError("start_response called a second time without exc_info")
        if exc_info is not None and exc_info[1] is not None and self.headers_sent:
            raise exc_info[1].with_traceback(exc_info[2])  # PEP 3333: too late for new headers
        passed_on = self.started and self.page is None
        self.started = True
        headers, first, skip = _read_headers(headers)
        if passed_on:
            return self.downstream(status, headers, exc_info)
        skip = skip or bool(self.environ.get(SKIP_ENVIRON_KEY))
        self.page = None if skip else html_page(status, headers, first=first)
        self.buffer.clear()
        if self.page is None:
            return self.downstream(status, headers, exc_info)
        return self._write

    def _write(self, data: bytes) -> None:
        self.buffer.append(_kept(data))

    def written(self, piece: bytes) -> bytes:
        """``piece`` after what ``write()`` was given since the last piece (PEP 3333 lets an
        app write while its iterable makes a piece: those bytes come first), which is let go."""
        if not self.buffer:
            return piece
        pieces = [*self.buffer, piece]
        self.buffer.clear()
        try:
            return b"".join(pieces)
        except TypeError:
            _check_items(pieces)  # the app's mistake, said as such
            raise


class EditedResponse:
    """The iterable returned for a response that may be edited; see the module docstring."""

    def __init__(
        self,
        result: Iterable[bytes],
        capture: _Capture,
        make_editor: EditorFactory,
        *,
        bound_headers: BoundHeaders,
    ) -> None:
        self._result = result
        self._capture = capture
        self._make_editor = make_editor
        self._bound_headers = bound_headers
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        capture = self._capture
        iterator = iter(self._result)
        # Known once the headers are (a generator app calls start_response when first asked).
        buffered: bool | None = isinstance(self._result, list | tuple) or None
        pipeline: _Pipeline | None = None
        # Once the headers are out, the rest of the pieces take the quick loop below: nothing
        # is left to decide for them but the editor's output (see _Pipeline.feeder).
        feed: Callable[[bytes], bytes] | None = None
        for chunk in iterator:
            page = capture.page
            if page is None:  # start_response chose to pass the response through
                yield chunk
                yield from iterator
                return
            if buffered is None:
                buffered = _declared_whole(page)
            if buffered:
                capture.buffer.append(_kept(chunk))
                continue
            chunk = capture.written(chunk)
            if pipeline is not None and pipeline.page is not page:
                pipeline = None  # (replaced by exc_info before a byte went out: read anew)
            try:
                if pipeline is None:
                    pipeline = _Pipeline(page, self._make_editor)
                out = pipeline.feed(chunk)
            except Exception:
                _check_items([chunk])  # the app's mistake, rather than ours
                yield self._failed()
                return
            if out:
                self._send_streaming_headers(page, pipeline)
                yield out
                feed = pipeline.feeder()
                break
        if feed is not None:
            written = capture.buffer  # (what write() is given between pieces)
            for chunk in iterator:
                if written:
                    chunk = capture.written(chunk)
                try:
                    out = feed(chunk)
                except Exception:
                    _check_items([chunk])  # the app's mistake, rather than ours
                    yield self._failed()
                    return
                if out:
                    yield out
        page = capture.page
        if page is None:
            return
        self._close_early()
        if buffered or pipeline is None:  # a list, or an iterable that gave nothing
            try:
                body = b"".join(capture.buffer)
            except TypeError:
                _check_items(capture.buffer)
                raise
            # Let the app's pieces go now: only the joined page and its edited copy stay in memory.
            capture.buffer.clear()
            del iterator
            self._result = ()
            yield self._whole(page, body)
            return
        last = capture.written(b"")  # (what write() was given after the last piece)
        try:
            out = (pipeline.feed(last) if last else b"") + pipeline.finish()
        except Exception:
            yield self._failed()
            return
        self._send_streaming_headers(page, pipeline)
        if out:
            yield out

    def _whole(self, page: Page, body: bytes) -> bytes:
        try:
            encoded = _Pipeline(page, self._make_editor).whole(body)
        except Exception:
            return self._failed()
        if encoded is None:
            headers = page.headers
            if not body and self._capture.environ.get("REQUEST_METHOD") == "HEAD":
                headers = _output_headers(page, None)  # the GET's length is not known here
            self._send(page.status, headers)
            return body
        headers = _output_headers(page, len(encoded))
        self._send(page.status, self._bound_headers(headers, tokens=True, streamed=False))
        return encoded

    def _send_streaming_headers(self, page: Page, pipeline: _Pipeline) -> None:
        """A streamed page's headers, once, when its first bytes are ready."""
        if not self._capture.headers_sent:
            headers = self._bound_headers(_output_headers(page, None), tokens=pipeline.changed,
                                          streamed=True)
            self._send(page.status, headers)

    def _send(self, status: str, headers: Headers) -> None:
        self._capture.headers_sent = True
        self._capture.downstream(status, headers, None)

    def _failed(self) -> bytes:
        """A 500 if nothing was sent yet; otherwise the connection must be cut short."""
        if self._capture.headers_sent:
            log.exception("rewriting a streamed page failed after it started; cutting it short")
            raise
        log.exception("rewriting the response failed; answering 500")
        status, message = "500 Internal Server Error", "Internal Server Error"
        return text_response(self._capture.downstream, status, message)[0]

    def _close_early(self) -> None:
        """Close the app's iterable once its last piece is read, before the edited page (or
        its last bytes) goes out: what it holds is let go at once. A ``close()`` that fails
        is logged, as a server logs it after the response, and the page still goes out."""
        try:
            self.close()
        except Exception:
            log.exception("the app's iterable failed to close; its page is sent all the same")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._result, "close", None)
        if close is not None:
            close()


def edit_response(
    app: WSGIApplication,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    make_editor: EditorFactory,
    *,
    bound_headers: BoundHeaders,
) -> Iterable[bytes]:
    """Call ``app`` and edit its response when it is an HTML page (:func:`html_page`) that
    has not opted out (:func:`opted_out`).

    ``bound_headers`` finishes the headers of an edited page (see the module docstring).
    """
    capture = _Capture(environ, start_response)
    result = check_body(app(environ, capture))
    if capture.started and capture.page is None:
        return result  # decided already: untouched, the app's own iterable
    return EditedResponse(result, capture, make_editor, bound_headers=bound_headers)


# -- a whole page for a reader ------------------------------------------------------------------


class _Unedited:
    """The editor of a page that opted out: reads it, changes nothing."""

    changed = False
    panel_tags = None

    def edit(self, document: bytes) -> bytes:
        return document

    def feed(self, piece: bytes) -> bytes:
        return piece

    def finish(self) -> bytes:
        return b""

    def written_fields(self) -> list[dict[str, str]]:
        return []


def _unedited(page: Page) -> PageEditor:
    return _Unedited()


@dataclass
class WholePage:
    """A buffered page after editing: what is sent, and the decoded page a reader cuts from.

    A partial answer (``partial``) reads ``document`` and ``fields``: the page is decoded and
    scanned once, by the editor, whatever is done with it next.
    """

    status: str
    headers: Headers  # as they are sent (length, and ``bound_headers`` when it changed)
    body: bytes  # as it is sent (content coding and charset of the app's page)
    document: bytes  # the edited page in ``encoding``, as the scanner reads it
    encoding: str
    fields: list[dict[str, str]]  # the reserved fields written into each post form
    # The start tags and ends of the panels a partial postback asked for, found by the
    # editor's scan (None: that scan did not look for them, e.g. the page opted out).
    panel_tags: list[Tag | PanelEnd] | None = None


def edit_whole(
    status: str,
    headers: Headers,
    body: bytes,
    *,
    make_editor: EditorFactory | None = None,
    bound_headers: BoundHeaders | None = None,
) -> WholePage | None:
    """A whole response edited as :func:`edit_response` would send it (``make_editor`` None:
    read, not edited), or None when it is not an HTML page."""
    page = html_page(status, headers)
    if page is None:
        return None
    pipeline = _Pipeline(page, make_editor or _unedited)
    document = pipeline.edited(body)
    if pipeline.changed:
        body = pipeline.encoded(document)
        headers = _output_headers(page, len(body))
        if bound_headers is not None:
            headers = bound_headers(headers, tokens=True, streamed=False)
    return WholePage(status, headers, body, document, page.charset, pipeline.written_fields,
                     pipeline.panel_tags)
