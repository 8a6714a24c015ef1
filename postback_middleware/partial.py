"""Partial postbacks: an UpdatePanel for any app, with no change to the app.

A region marked ``data-update-panel`` (with an ``id``) is a *panel*. When a postback comes from
inside one, the client script sends it by ``fetch`` with ``X-Postback-Panels: ID [ID...]``. The
request is verified and stripped like any postback and the inner app renders its whole page as
usual; the middleware rewrites that page (fresh tokens) and then cuts out just the panels, with
the same scanner that finds forms. The answer (``Cache-Control: no-store``, the app's other
headers such as ``Set-Cookie`` kept):

* ``X-Postback-Partial: panels``, JSON ``{"version": 1, "panels": {ID: inner HTML},
  "forms": [{field: value}, ...]}``: the fresh hidden fields of every post form of the new page,
  in document order, so the next postback (partial or full) verifies; a reserved field left out
  is empty (``__EVENTTARGET``, ``__LASTFOCUS``... usually are);
* ``X-Postback-Partial: navigate``, JSON ``{"version": 1, "navigate": URL}`` when the app
  redirected (the client goes there, as the browser would after a full postback);
* ``X-Postback-Partial: fallback`` on the app's own response, unchanged, for anything else (an
  error, a non-HTML answer, a page without the panel): the postback was processed, so the client
  shows that response instead of posting again. Nothing is lost.

A panel ends at the end tag matching its start tag (same name, counted with nesting), so put
``data-update-panel`` on an element whose end tag is written out (``div``, ``section``,
``tbody``...), not on one whose end tag HTML may imply (``p``, ``li``, ``td``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from . import charset
from . import fields as f
from .errors import BadRequest
from .html_scan import Tag, TagScanner
from .rewrite import Coding, html_page

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PANELS_ENVIRON_KEY = "HTTP_X_POSTBACK_PANELS"
MAX_PANELS = 16
MAX_PANEL_ID = 128
_DROPPED = frozenset(
    {"content-type", "content-length", "content-encoding", "etag", "content-md5", "location",
     "transfer-encoding", "cache-control"}
)

Headers = list[tuple[str, str]]


def requested_panels(environ: WSGIEnvironment) -> list[str] | None:
    """The panel ids a partial postback asks for, or None for a full postback."""
    raw = environ.get(PANELS_ENVIRON_KEY)
    if raw is None:
        return None
    ids = str(raw).split()
    if not ids or len(ids) > MAX_PANELS or any(len(i) > MAX_PANEL_ID for i in ids):
        raise BadRequest("malformed X-Postback-Panels header")
    return list(dict.fromkeys(ids))


def read_page(
    document: bytes, encoding: str, ids: list[str]
) -> tuple[dict[str, str] | None, list[dict[str, str]]]:
    """The panels' inner HTML (None when one of them is not in the page) and the forms' fields.

    One scan finds the panels' start tags and the forms' fields; a second one, for the panels'
    tag names only, finds where each panel ends.
    """
    scanner = TagScanner(encoding=encoding, names=("form", "input"), attr_hints=(b"update-panel",))
    tags = scanner.scan(document, final=True)[0]
    return _cut_panels(document, encoding, ids, tags), _form_fields(tags)


def _cut_panels(
    document: bytes, encoding: str, ids: list[str], tags: list[Tag]
) -> dict[str, str] | None:
    starts: dict[str, tuple[str, int]] = {}
    for tag in tags:
        element_id = tag.attrs.get("id")
        if not tag.is_end and "data-update-panel" in tag.attrs and element_id in ids:
            starts.setdefault(element_id, (tag.name, tag.end))
    if len(starts) != len(ids):
        return None
    names = {name for name, _ in starts.values()}
    same_name = TagScanner(encoding=encoding, names=names).scan(document, final=True)[0]
    panels = {}
    for panel_id, (name, content_start) in starts.items():
        depth = 1
        for tag in same_name:
            if tag.start < content_start or tag.name != name:
                continue
            depth += -1 if tag.is_end else (0 if tag.self_closing else 1)
            if depth == 0:
                panels[panel_id] = document[content_start : tag.start].decode(encoding, "replace")
                break
        else:
            return None  # never closed: the rest of the page is not a panel's content
    return panels


def _form_fields(tags: list[Tag]) -> list[dict[str, str]]:
    """The non-empty reserved hidden fields of each post form, in document order."""
    forms: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for tag in tags:
        if tag.name == "form":
            if tag.is_end:
                if current:
                    forms.append(current)
                current = None
            elif current is None:
                current = {}
        elif tag.name == "input" and current is not None and not tag.is_end:
            name = tag.attrs.get("name", "")
            if name in f.RESERVED and tag.attrs.get("type", "").lower() == "hidden":
                current.setdefault(name, tag.attrs.get("value", ""))
    if current:
        forms.append(current)
    # An empty field is left out (the client empties what is not listed): most are empty.
    return [{k: v for k, v in form.items() if v} for form in forms if f.EVENTTARGET in form]


def _json_reply(
    start_response: StartResponse, kind: str, payload: dict[str, object], headers: Headers
) -> list[bytes]:
    text = json.dumps({"version": 1, **payload}, ensure_ascii=False, separators=(",", ":"))
    body = text.encode("utf-8")
    kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED]
    start_response("200 OK", [
        *kept,
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-Postback-Partial", kind),
    ])
    return [body]


def _page_text(status: str, body: bytes, headers: Headers) -> tuple[bytes, str] | None:
    """The page as ASCII-compatible bytes and their encoding, or None if it is not HTML."""
    page = html_page(status, headers)
    if page is None:
        return None
    body = Coding(page.content_encoding).decode(body)
    transcoder = charset.Transcoder(page.charset or charset.sniff(body), body)
    return transcoder.to_scanner(body, final=True), transcoder.scan_encoding


def answer(
    call_app: Callable[[StartResponse], Iterable[bytes]],
    start_response: StartResponse,
    *,
    page_url: str,
    panel_ids: list[str],
) -> list[bytes]:
    """Run the (rewriting) app, then answer with panels, a navigation, or the page itself."""
    captured: list[tuple[str, Headers]] = []
    chunks: list[bytes] = []

    def capture(status: str, headers: Headers, exc_info: object = None) -> Callable[[bytes], None]:
        captured[:] = [(status, list(headers))]
        return chunks.append

    result = call_app(capture)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = captured[0]
    body = b"".join(chunks)
    code = status.split(" ", 1)[0]
    location = next((v for k, v in headers if k.lower() == "location"), None)
    if code.startswith("3") and location:
        return _json_reply(start_response, "navigate",
                           {"navigate": urljoin(page_url, location)}, headers)
    page = _page_text(status, body, headers)
    if page is not None:
        document, encoding = page
        panels, forms = read_page(document, encoding, panel_ids)
        if panels is not None:
            return _json_reply(start_response, "panels", {"panels": panels, "forms": forms},
                               headers)
    start_response(status, [*headers, ("X-Postback-Partial", "fallback")])
    return [body]
