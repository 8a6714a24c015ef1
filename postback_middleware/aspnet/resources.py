"""``WebResource.axd``: the URL ASP.NET pages load WebForms.js (and Focus.js...) from.

A page ported from WebForms keeps lines like::

    <script src="/WebResource.axd?d=pynGkmcFUV13He1Qd6_TZA2&amp;t=638286137964787378"></script>
    ...
    <script>WebForm_InitCallback(); WebForm_AutoFocus('TextBox1');</script>

The first is synchronous: the inline startup scripts after it, run while the page is parsed,
expect the ``WebForm_*`` functions to exist already (the middleware's own script is deferred,
so it comes too late for them). A WSGI app has no such URL, so its 404 would leave the page
with a ReferenceError. The middleware therefore answers it with the compatibility script
(``static/webforms.js``: the same functions its client script bundles), whatever ``d`` names:
every WebForms.js function a control or a startup script calls is in it.

**Transparency.** The app is asked first, through the whole middleware as for any request (a
reserved name in the query string is refused, a page it answers is handled as usual), and only
its ``404`` is replaced: its body is closed and the script is sent. An app that serves its own
``WebResource.axd`` (a real WebForms.js, say) keeps it, and so does every method but GET and
HEAD. The path is matched on its last segment, ``WebResource.axd`` in any ASCII case (IIS's
paths are case-insensitive), under any directory (``/app/WebResource.axd``).

The answer: ``application/javascript; charset=utf-8``, ``Cache-Control: no-cache`` with an ETag
(the URL is the page's, not versioned by the package: browsers revalidate and get a 304 while
the script is unchanged), ``nosniff``, gzip to browsers that accept it, with an ETag of its own
(``client.Asset``).

``ScriptResource.axd`` (MicrosoftAjax.js and its kin) is left to the app: its 404 only logs an
error in the browser's console, and the middleware's own script does what the page needs from
it for postbacks and callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from ..client import compat_script
from ..http import ONCE_HEADERS

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

WEB_RESOURCE = "webresource.axd"
# Set while the app is asked: the middleware called again for the same request (``app`` is the
# middleware itself) goes its ordinary way.
_ASKED_KEY = "postback.web_resource"


def is_web_resource(environ: WSGIEnvironment) -> bool:
    """A GET or HEAD of ``…/WebResource.axd`` (ASCII case-insensitive) not being answered yet."""
    if environ.get(_ASKED_KEY) or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return False
    segment = str(environ.get("PATH_INFO", "")).rpartition("/")[2]
    return segment.isascii() and segment.lower() == WEB_RESOURCE


def web_resource(
    environ: WSGIEnvironment, start_response: StartResponse, app: WSGIApplication
) -> Iterable[bytes]:
    """Ask ``app`` (the whole middleware: it is called again for this request and goes its
    ordinary way); its answer is passed on, unless it is a 404: then the compatibility script.
    """
    held = _HeldNotFound(start_response)
    environ[_ASKED_KEY] = True
    try:
        result = app(environ, held)
    finally:
        environ.pop(_ASKED_KEY, None)
    if held.status is None:  # a generator: it starts its response when first iterated
        return _decide_when_started(result, held, environ)
    if not held.not_found:
        return result  # the app's own iterable (wsgi.file_wrapper keeps working)
    _close(result)
    return compat_script().respond(environ, start_response, held.kept)


class _HeldNotFound:
    """Stands in for ``start_response``: passes every answer on at once but a 404, held back
    (with what it writes) until the caller knows it replaces it."""

    def __init__(self, start_response: StartResponse) -> None:
        self.downstream = start_response
        self.status: str | None = None
        self.kept: list[tuple[str, str]] = []  # the 404's headers that the answer keeps
        self.passed_on = False  # an answer went downstream: what follows goes there too

    @property
    def not_found(self) -> bool:
        return not self.passed_on and (self.status or "").startswith("404")

    def __call__(self, status: str, headers: list[tuple[str, str]],
                 exc_info: OptExcInfo | None = None) -> Callable[[bytes], object]:
        self.status = status
        if self.not_found:
            # (a cookie the app set must not be lost with its 404)
            self.kept = [(k, v) for k, v in headers if k.lower() in ONCE_HEADERS]
            return _discard
        self.passed_on = True
        return self.downstream(status, headers, exc_info)


def _discard(data: bytes) -> None:
    """The ``write`` of a held 404: its body is not sent."""


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


def _decide_when_started(
    result: Iterable[bytes], held: _HeldNotFound, environ: WSGIEnvironment
) -> Iterator[bytes]:
    """The app's iterable, once its first piece (and so its status) is known: passed on, or
    replaced by the script when it is a 404. The app's iterable is closed when this one is."""
    try:
        iterator = iter(result)
        first = next(iterator, None)
        if not held.not_found:
            if first is not None:
                yield first
            yield from iterator
            return
    finally:
        _close(result)
    yield from compat_script().respond(environ, held.downstream, held.kept)
