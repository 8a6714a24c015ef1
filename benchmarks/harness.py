"""What the benchmarks share: a minimal WSGI GET, the inner apps, a consumer, and the timing.

Everything goes through the public API (``PostbackMiddleware`` called as a WSGI app), so the
scripts keep working whatever the response engine looks like inside.
"""

from __future__ import annotations

import html.parser
import io
import math
import os
import platform
import re
import secrets
import sys
import time
import timeit
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from postback_middleware import PostbackMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CHUNK_SIZE = 8192
PATH = "/orders"
VIEWSTATE_FIELD = b'name="__VIEWSTATE"'
# The yardstick of the speed targets: one findall of this over the page's bytes.
FORM_TAG = re.compile(rb"<form\b[^>]*>", re.I)

_BASE_ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": PATH,
    "QUERY_STRING": "",
    "SERVER_NAME": "localhost",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "localhost",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.input": io.BytesIO(),
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}


def make_environ() -> WSGIEnvironment:
    """A fresh minimal environ for ``GET /orders`` (the middleware writes into it)."""
    return dict(_BASE_ENVIRON)


def _headers(length: int | None) -> list[tuple[str, str]]:
    headers = [("Content-Type", "text/html; charset=utf-8")]
    if length is not None:
        headers.append(("Content-Length", str(length)))
    return headers


def buffered_app(page: bytes, *, pieces: bool = False, render: bool = False) -> WSGIApplication:
    """An app that returns the whole page at once: ``[page]``, or (``pieces``) a list of
    CHUNK_SIZE pieces. With ``render`` it builds them afresh on every call, like a real app
    renders a page, so their memory is part of the call's peak; else they are built once."""
    length = len(page)

    def build() -> list[bytes]:
        if pieces:
            return list(_chunks(page, CHUNK_SIZE))
        return [bytes(memoryview(page))] if render else [page]  # (a fresh copy: rendered)

    body = [] if render else build()

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", _headers(length))
        return build() if render else body

    return app


def streamed_app(page: bytes, chunk_size: int = CHUNK_SIZE) -> WSGIApplication:
    """An app that yields the page from a generator, ``chunk_size`` bytes at a time."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", _headers(None))
        return _chunks(page, chunk_size)

    return app


def _chunks(page: bytes, chunk_size: int) -> Iterator[bytes]:
    for start in range(0, len(page), chunk_size):
        yield page[start : start + chunk_size]


def wrap(app: WSGIApplication) -> WSGIApplication:
    """The app behind the middleware, with a fresh random key (no key is ever hard-coded)."""
    return PostbackMiddleware(app, secret_keys=[secrets.token_urlsafe(48)])


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


def consume(app: WSGIApplication) -> int:
    """One GET, as a server does it: read each piece and drop it, then close. Returns the size."""
    result = app(make_environ(), _start_response)
    size = 0
    try:
        for piece in result:
            size += len(piece)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return size


def call(app: WSGIApplication, environ: WSGIEnvironment
         ) -> tuple[str, list[tuple[str, str]], bytes]:
    """One request: its status, headers and whole body (to check what the middleware did)."""
    got: list[Any] = ["", []]

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        got[:] = [status, headers]
        return None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return got[0], got[1], body


def fetch(app: WSGIApplication) -> tuple[str, bytes]:
    """One GET, keeping the status and the whole body."""
    status, _, body = call(app, make_environ())
    return status, body


def check_rewritten(app: WSGIApplication, page: bytes, forms: int) -> str | None:
    """None when every post form of ``page`` got its fields, else what went wrong."""
    status, body = fetch(app)
    fields = body.count(VIEWSTATE_FIELD)
    if status.startswith("200") and fields == forms and (len(body) > len(page) or not forms):
        return None
    return (f"status {status!r}, {len(body):,} bytes out of {len(page):,}, "
            f"{fields} __VIEWSTATE fields (expected {forms}): the page was not rewritten")


# -- timing (speed.py, shapes.py) ---------------------------------------------------------

# How the app hands over the page: name -> (app factory, what the bare app does).
MODES: dict[str, tuple[Callable[[bytes], WSGIApplication], str]] = {
    "buffered": (buffered_app, "[page]"),
    # Flask (Werkzeug's ClosingIterator) and Django hand over a rendered page like this.
    "iterable": (lambda page: streamed_app(page, chunk_size=len(page)),
                 "one piece from a generator"),
    "streamed": (streamed_app, "8 KB pieces from a generator"),
}

Thunk = Callable[[], object]
Key = TypeVar("Key", bound=Hashable)


def measure(funcs: dict[Key, Thunk], *, repeat: int = 7,
            round_seconds: float = 0.1) -> dict[Key, float]:
    """CPU seconds per call of each function, the fastest of ``repeat`` interleaved rounds of
    about ``round_seconds`` each, after a warm-up (timeit-style, ``time.process_time``)."""
    timers = []
    for label, func in funcs.items():
        timer = timeit.Timer(func, timer=time.process_time)
        timer.timeit(3)  # warm-up
        once = max(timer.timeit(1), 1e-7)
        number = math.ceil(round_seconds / once)  # calls per round
        timers.append((label, timer, number))
    best = dict.fromkeys(funcs, math.inf)
    for _ in range(repeat):
        for label, timer, number in timers:
            best[label] = min(best[label], timer.timeit(number) / number)
    return best


def parse(text: str) -> None:
    """One pass of the standard library's html.parser (the other yardstick)."""
    parser = html.parser.HTMLParser()
    parser.feed(text)
    parser.close()


def machine() -> str:
    """Python version, machine, CPU count and load average, for the header of a report."""
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return (f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
            f"load average {load}")


def fmt(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:9.3f} ms"
    return f"{seconds * 1e6:9.1f} µs"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"
