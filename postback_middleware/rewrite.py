"""Response side, HTTP semantics: which responses are rewritten and how their headers change.

Rewritten: status 200, ``text/html`` or ``application/xhtml+xml``, not HEAD, not opted out (the
``postback.skip`` environ key or an ``X-Postback-Skip`` response header, which is removed).
A gzip/deflate body is decoded, rewritten and re-encoded; any other content coding is passed on
untouched (and the request side only offers the inner app codings it can undo).

Everything else passes straight through: the inner app's iterable is returned as it is, so
``wsgi.file_wrapper`` and streaming keep working. A rewritten body is buffered (this first engine
needs the whole page), gets a fresh ``Content-Length``, loses ``ETag`` / ``Content-MD5``, and
gains ``Vary: Cookie`` when tokens depend on the user. The inner iterable is closed exactly once.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("postback_middleware")

SKIP_ENVIRON_KEY = "postback.skip"
SKIP_HEADER = "x-postback-skip"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
DECODABLE_CODINGS = frozenset({"gzip", "x-gzip", "deflate"})
# Not ASCII-compatible: tags cannot be found by scanning bytes (left untouched for now).
_UNICODE_WIDE = ("utf-16", "utf-32", "utf16", "utf32", "ucs-2", "ucs2")
_DROPPED_WHEN_CHANGED = frozenset({"content-length", "etag", "content-md5"})

Headers = list[tuple[str, str]]


@dataclass
class Page:
    """A response chosen for rewriting, as the transform sees it."""

    status: str
    headers: Headers
    charset: str
    content_encoding: str

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)


# Returns the new document, or None to leave the page as it was.
Transform = Callable[[bytes, Page], "bytes | None"]


def choose_page(environ: WSGIEnvironment, status: str, headers: Headers) -> Page | None:
    """The page to rewrite, or None when the response must pass untouched."""
    if environ.get("REQUEST_METHOD") == "HEAD" or environ.get(SKIP_ENVIRON_KEY):
        return None
    if status.split(" ", 1)[0] != "200":
        return None
    page = Page(status, headers, "utf-8", "")
    content_type = page.header("content-type") or ""
    mime, _, params = content_type.partition(";")
    if mime.strip().lower() not in HTML_TYPES:
        return None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset":
            page.charset = value.strip().strip('"').lower() or "utf-8"
    if page.charset.startswith(_UNICODE_WIDE):
        log.info("not rewriting a %s page (only ASCII-compatible charsets)", page.charset)
        return None
    coding = (page.header("content-encoding") or "").strip().lower()
    if coding not in ("", "identity") and coding not in DECODABLE_CODINGS:
        log.warning("not rewriting a page with Content-Encoding %r", coding)
        return None
    page.content_encoding = "" if coding == "identity" else coding
    return page


def limit_accept_encoding(environ: WSGIEnvironment) -> None:
    """Offer the inner app only content codings the rewriter can undo (``*`` is dropped too)."""
    accept = environ.get("HTTP_ACCEPT_ENCODING")
    if not accept:
        return
    offered = DECODABLE_CODINGS | {"identity"}
    kept = [item for item in accept.split(",") if item.split(";")[0].strip().lower() in offered]
    environ["HTTP_ACCEPT_ENCODING"] = ",".join(kept).strip() or "identity"


def _decode(body: bytes, coding: str) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    if coding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send
    return body


def _encode(body: bytes, coding: str) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return gzip.compress(body)
    if coding == "deflate":
        return zlib.compress(body)
    return body


def _changed_headers(page: Page, length: int, vary_cookie: bool) -> Headers:
    headers = [(k, v) for k, v in page.headers if k.lower() not in _DROPPED_WHEN_CHANGED]
    headers.append(("Content-Length", str(length)))
    if vary_cookie:
        vary = [(i, v) for i, (k, v) in enumerate(headers) if k.lower() == "vary"]
        if not vary:
            headers.append(("Vary", "Cookie"))
        elif not any(
            token.strip().lower() in ("cookie", "*") for _, v in vary for token in v.split(",")
        ):
            index, value = vary[0]
            headers[index] = ("Vary", f"{value}, Cookie")
    return headers


def text_response(
    start_response: StartResponse,
    status: str,
    text: str,
    extra_headers: Headers | None = None,
) -> list[bytes]:
    """A short ``text/plain`` answer that no cache keeps (errors, refusals, callbacks)."""
    body = text.encode("utf-8")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
    start_response(status, headers + (extra_headers or []))
    return [body]


class _Capture:
    """Stands in for ``start_response``: passes untouched responses on, holds back the rest."""

    def __init__(self, environ: WSGIEnvironment, start_response: StartResponse) -> None:
        self.environ = environ
        self.downstream = start_response
        self.started = False
        self.page: Page | None = None
        self.buffer: list[bytes] = []

    def __call__(
        self, status: str, headers: Headers, exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        if self.started and exc_info is None:
            raise AssertionError("start_response called a second time without exc_info")
        self.started = True
        opted_out = any(k.lower() == SKIP_HEADER for k, _ in headers)
        headers = [(k, v) for k, v in headers if k.lower() != SKIP_HEADER]
        self.page = None if opted_out else choose_page(self.environ, status, headers)
        self.buffer = []
        if self.page is None:
            return self.downstream(status, headers, exc_info)
        return self.buffer.append


class RewritingResponse:
    """The iterable returned for a response that may be rewritten; see module docstring."""

    def __init__(
        self,
        result: Iterable[bytes],
        capture: _Capture,
        transform: Transform,
        *,
        vary_cookie: bool,
    ) -> None:
        self._result = result
        self._capture = capture
        self._transform = transform
        self._vary_cookie = vary_cookie
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        capture = self._capture
        iterator = iter(self._result)
        for chunk in iterator:
            if capture.page is None:  # start_response chose to pass this response through
                yield chunk
                yield from iterator
                return
            capture.buffer.append(chunk)
        if capture.page is None:
            return
        self.close()
        yield self._finish(capture.page, b"".join(capture.buffer))

    def _finish(self, page: Page, body: bytes) -> bytes:
        try:
            document = _decode(body, page.content_encoding)
            rewritten = self._transform(document, page)
        except Exception:
            log.exception("rewriting the response failed; answering 500")
            status, message = "500 Internal Server Error", "Internal Server Error"
            return text_response(self._capture.downstream, status, message)[0]
        if rewritten is None:
            self._capture.downstream(page.status, page.headers, None)
            return body
        encoded = _encode(rewritten, page.content_encoding)
        headers = _changed_headers(page, len(encoded), self._vary_cookie)
        self._capture.downstream(page.status, headers, None)
        return encoded

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._result, "close", None)
        if close is not None:
            close()


def rewrite_response(
    app: WSGIApplication,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    transform: Transform,
    *,
    vary_cookie: bool,
) -> Iterable[bytes]:
    """Call ``app`` and rewrite its response with ``transform`` when :func:`choose_page` says so."""
    capture = _Capture(environ, start_response)
    result = app(environ, capture)
    if capture.started and capture.page is None:
        return result  # decided already: untouched, the app's own iterable
    return RewritingResponse(result, capture, transform, vary_cookie=vary_cookie)


class ClosingIterable:
    """Wraps an iterable so that extra clean-up runs when the server closes it."""

    def __init__(self, iterable: Iterable[bytes], *cleanups: Callable[[], Any]) -> None:
        self._iterable = iterable
        self._cleanups = cleanups

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._iterable)

    def close(self) -> None:
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            for cleanup in self._cleanups:
                cleanup()

