"""The Python port of an ASP.NET AJAX page (issue #17): a ScriptManager's UpdatePanel, kept as
ASP.NET rendered it, run by Microsoft's own client scripts.

The page is :func:`tests.aspnet_pages.ajax_page`, served at ``/Ajax.aspx`` (its form's
``action="./Ajax.aspx"`` posts back to it). Microsoft's ``MicrosoftAjax.js`` and
``MicrosoftAjaxWebForms.js`` are served at the ``ScriptResource.axd`` URLs the page names, read
from ``../shared/aspnet-ajax/`` next to this repository (:data:`SHARED`: third-party test data,
never copied into the project; :func:`scripts_missing` says why they cannot be served). Any
other URL is 404, ``WebResource.axd`` included (the middleware then answers it with its
WebForms.js compatibility script).

The code-behind, behind :class:`postback_middleware.PostbackMiddleware` with ``aspnet_ajax``:

* ``LinkButton1_Click`` counts clicks in the view state (``environ["postback.viewstate"]``, so
  a second click counts only if the first answer's fresh tokens came back); the panel's
  ``CountLabel`` shows the count with non-ASCII and emoji text (:data:`PANEL_TEXT`);
* ``GoButton_Click`` redirects (302) to :data:`LANDING` (``Response.Redirect``);
* ``ErrorButton_Click`` (the async trigger outside the panel) fails: a 500;
* every handler's name (and the ``NoteBox`` text, if any) is shown in the panel's
  ``EventLabel``: ``RefreshButton`` (the other trigger), the GridView's ``GridView1: Sort$Name``.

Each POST is recorded (:class:`AjaxPost`: the verified event, the fields in order, the
``X-MicrosoftAjax`` header), so tests assert what the app got; and what must never reach it
(the ScriptManager's field, ``__ASYNCPOST``, any reserved field) is counted in
:attr:`AjaxApp.leaks` as well. :attr:`AjaxApp.delay` makes a postback slow (the
UpdateProgress shows).
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from postback_middleware import fields as reserved_fields

from .. import aspnet_pages
from .webforms_app import posted

# ../shared/aspnet-ajax/ next to the repository (tests/apps/ -> tests/ -> the repository).
SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared" / "aspnet-ajax").resolve()
SCRIPTS = tuple(aspnet_pages.SCRIPT_RESOURCES.values())

PAGE = "/Ajax.aspx"
# Where GoButton redirects: a query with percent-encoded UTF-8 (ASP.NET's client unescape()s
# the pageRedirect location as Latin-1, so a location must be ASCII: README of the shared
# folder, "Redirects").
LANDING = "/Landing.aspx?from=ajax&city=Z%C3%BCrich"
LANDING_CITY = "Zürich"
# Non-ASCII, emoji outside the BMP (UTF-16 surrogate pairs: the delta format counts UTF-16
# code units), a skin-tone modifier, CJK.
PANEL_TEXT = "Grüße aus Zürich — 東京 — naïve café 😀👍🏽"
ERROR_PAGE = (b"<!DOCTYPE html><html><head><title>Runtime Error</title></head><body>"
              b"<h1>Server Error in '/' Application.</h1><p>ErrorButton_Click failed.</p>"
              b"</body></html>")


# What the middleware must strip before the app: the ScriptManager's field (its value names
# the panels and the element that posted), ASP.NET AJAX's flag, and every reserved field.
NEVER_SEEN = frozenset({aspnet_pages.SCRIPT_MANAGER, "__ASYNCPOST", *reserved_fields.RESERVED})


def scripts_missing(folder: Path = SHARED) -> str | None:
    """Why Microsoft's scripts cannot be served from ``folder``, or ``None``."""
    absent = [name for name in SCRIPTS if not (folder / name).is_file()]
    if absent:
        return f"Microsoft's ASP.NET AJAX scripts not found: {', '.join(absent)} in {folder}"
    return None


def count_label(count: int) -> str:
    return html.escape(f"Clicks: {count} · {PANEL_TEXT}")


@dataclass
class AjaxPost:
    """One postback as the inner app received it (after the middleware)."""

    path: str
    event: tuple[str, str] | None
    fields: list[tuple[str, str]]
    handled: str  # what the code-behind ran ("" when nothing)
    microsoft_ajax: str | None  # the X-MicrosoftAjax header, if it reached the app

    @property
    def form(self) -> dict[str, str]:
        return dict(self.fields)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.fields]


def code_behind(event: tuple[str, str] | None, form: dict[str, str]) -> str:
    """The handler that ran: an event's target (and argument), or the submit button's name."""
    if event is not None:
        target, argument = event
        return f"{target}: {argument}" if argument else target
    for button in aspnet_pages.ASYNC_TRIGGERS:
        if button in form:
            return button
    return ""


@dataclass
class AjaxApp:
    scripts: Path = SHARED
    posts: list[AjaxPost] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)  # names that must never reach the app
    delay: float = 0.0  # seconds each postback takes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.posts.clear()
            self.leaks.clear()
        self.delay = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/ScriptResource.axd":
            return self._script_resource(environ, start_response)
        if path == "/favicon.ico":
            return _send(start_response, "204 No Content", "text/plain", b"")
        if path == LANDING.split("?")[0]:
            query = parse_qs(environ.get("QUERY_STRING", ""))
            city = html.escape(query.get("city", [""])[0])
            return _send(start_response, "200 OK", "text/html; charset=utf-8",
                         (f'<!DOCTYPE html><html><head><title>Landed</title></head><body>'
                          f'<h1 id="Landed">Landed</h1><p id="City">{city}</p></body></html>'
                          ).encode())
        if path != PAGE:
            return _send(start_response, "404 Not Found", "text/plain", b"not found")

        state = environ["postback.viewstate"]
        handled = note = ""
        if environ["REQUEST_METHOD"] == "POST":
            fields, event = posted(environ)
            form = dict(fields)
            handled = code_behind(event, form)
            note = form.get("NoteBox", "")
            leaked = [name for name, _ in fields if name in NEVER_SEEN]
            with self.lock:
                self.posts.append(AjaxPost(path, event, fields, handled,
                                           environ.get("HTTP_X_MICROSOFTAJAX")))
                self.leaks.extend(leaked)
            if self.delay:
                time.sleep(self.delay)
            if handled == "GoButton":  # Response.Redirect
                start_response("302 Found", [("Location", LANDING), ("Content-Length", "0")])
                return [b""]
            if handled == "ErrorButton":  # an unhandled exception: ASP.NET's 500
                return _send(start_response, "500 Internal Server Error",
                             "text/html; charset=utf-8", ERROR_PAGE)
            if handled == "LinkButton1":
                state["count"] = int(state.get("count", 0)) + 1

        event_label = html.escape(handled + (f" ({note})" if note else ""))
        page = aspnet_pages.ajax_page(count_label(int(state.get("count", 0))), event_label)
        return _send(start_response, "200 OK", "text/html; charset=utf-8", page.encode("utf-8"))

    def _script_resource(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """Microsoft's script the URL's ``d`` names, read from :attr:`scripts`."""
        d = parse_qs(environ.get("QUERY_STRING", "")).get("d", [""])[0]
        name = aspnet_pages.SCRIPT_RESOURCES.get(d)
        if name is None or not (self.scripts / name).is_file():
            return _send(start_response, "404 Not Found", "text/plain", b"not found")
        return _send(start_response, "200 OK", "application/javascript; charset=utf-8",
                     (self.scripts / name).read_bytes())


def _send(start_response: Any, status: str, content_type: str, body: bytes,
          headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            ("Cache-Control", "private"), *headers])
    return [body]
