"""Inner apps the browser suites share (a module, not a fixture: import what you use).

A browser test serves a page through the real middleware on a real server, which answers on
threads: these record what reached the app (or another origin) under a lock, and a test reads
it back once the browser is done.
"""

from __future__ import annotations

import contextlib
import html
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from postback_middleware import Event, PostbackMiddleware

from ..helpers import new_key


@dataclass(frozen=True)
class Visit:
    """One request as the inner app got it."""

    method: str
    path: str  # PATH_INFO
    event: Event | None  # the verified postback event, if any
    partial: bool  # sent by the client script as a partial postback (X-Postback-Panels)
    body: bytes  # the body the middleware handed on (its own fields stripped)

    @property
    def shown(self) -> str:
        """The event as a page shows it, escaped: ``target|argument``, or ``none``."""
        event = self.event
        return "none" if event is None else html.escape(f"{event.target}|{event.argument}")


# What renders a page: the visit and the events so far (this one's included), to the page's
# HTML text (sent as UTF-8), or None for a 204 (a favicon, a path the test does not serve).
Render = Callable[[Visit, int], "str | Iterable[str] | None"]


@dataclass
class EventApp:
    """An app that renders ``render``'s page on every request and keeps each visit. A render
    may give its page in pieces (an iterable of str): the app then streams them."""

    render: Render
    visits: list[Visit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH")
        visit = Visit(environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["postback.event"],
                      "HTTP_X_POSTBACK_PANELS" in environ,
                      environ["wsgi.input"].read(int(length)) if length else b"")
        with self.lock:
            self.visits.append(visit)
            count = sum(seen.event is not None for seen in self.visits)
        page = self.render(visit, count)
        if page is None:
            start_response("204 No Content", [])
            return []
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        if isinstance(page, str):
            return [page.encode()]
        return (piece.encode() for piece in page)

    def events(self, *, partial: bool | None = None) -> list[tuple[str, str]]:
        """The events that reached the app, as (target, argument), in order; ``partial``: of
        partial postbacks only (True) or of full ones only (False)."""
        with self.lock:
            return [(visit.event.target, visit.event.argument) for visit in self.visits
                    if visit.event is not None and partial in (None, visit.partial)]

    def count(self, *, method: str | None = None, partial: bool | None = None) -> int:
        """How many requests came (by ``method``; partial postbacks, or other requests)."""
        with self.lock:
            return sum(method in (None, visit.method) and partial in (None, visit.partial)
                       for visit in self.visits)

    def clear(self) -> None:
        with self.lock:
            self.visits.clear()


@contextlib.contextmanager
def served(serve: Callable[..., Any], render: Render) -> Iterator[tuple[EventApp, str]]:
    """An :class:`EventApp` of ``render`` behind the middleware (a fresh key), on a real server
    (``serve``: the suites' fixture): the app and the server's URL."""
    inner = EventApp(render)
    with serve(PostbackMiddleware(inner, secret_keys=[new_key()])) as base_url:
        yield inner, base_url


@dataclass
class OtherOrigin:
    """Another site, on a server of its own: keeps what reached it as (method, path, body) and
    answers with an empty page."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with self.lock:
            self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"],
                              body.decode("latin-1")))
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<!DOCTYPE html><title>other</title>"]

    def requests(self) -> list[tuple[str, str, str]]:
        with self.lock:
            return list(self.seen)

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()
