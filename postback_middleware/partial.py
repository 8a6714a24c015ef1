"""Partial postbacks: an UpdatePanel for any app, with no change to the app.

A region marked ``data-update-panel`` (with an ``id``) is a *panel*. When a postback comes from
inside one, the client script sends it by ``fetch`` with ``X-Postback-Panels: ID [ID...]``. The
request is verified and stripped like any postback and the inner app renders its whole page as
usual; the middleware rewrites that page (fresh tokens) and then cuts out just the panels, with
the same scanner that finds forms. The answer (``Cache-Control: no-store``, the app's other
headers such as ``Set-Cookie`` kept):

* ``X-Postback-Partial: panels``, JSON ``{"version": 1, "panels": {ID: content},
  "forms": [{field: value}, ...]}``: the fresh hidden fields of every post form of the new page,
  in document order, so the next postback (partial or full) verifies; a reserved field left out
  is empty (``__EVENTTARGET``, ``__LASTFOCUS``... usually are). A panel's content is its inner
  HTML, or a list of pieces (below);
* ``X-Postback-Partial: navigate``, JSON ``{"version": 1, "navigate": URL}`` when the app
  redirected (the client goes there, as the browser would after a full postback);
* ``X-Postback-Partial: fallback`` on the app's own response, unchanged, for anything else (an
  error, a non-HTML answer, a page without the panel): the postback was processed, so the client
  shows that response instead of posting again. Nothing is lost.

Only what changed travels
--------------------------
Deleting one row of a list should not send the other rows back. The client may say what each
panel holds now: ``X-Postback-Children``, one group per id of ``X-Postback-Panels`` in the same
order, separated by spaces; a group is ``-`` or the digests of the panel's child nodes as it
serializes them (``outerHTML`` for an element), comma-separated; a digest is the first 16 bytes
of the SHA-256 of the child's markup in UTF-8, base64url without padding. The middleware splits
each new panel's markup into its top-level pieces (an element with its content, a run of text)
and answers with a list: an integer ``i`` stands for the markup of the client's child ``i`` of
that panel (the one whose digest matched), a string is markup. The client joins the pieces:
the result is the new inner HTML exactly, byte for byte, so the swap is the same as with a
whole panel. (A piece matches only what hashes equal, so a client that serializes differently
only gets more bytes, never other content.) With no match, the content is a string as above.

A panel ends at the end tag matching its start tag (same name, counted with nesting), so put
``data-update-panel`` on an element whose end tag is written out (``div``, ``section``,
``tbody``...), not on one whose end tag HTML may imply (``p``, ``li``, ``td``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from itertools import pairwise
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
CHILDREN_ENVIRON_KEY = "HTTP_X_POSTBACK_CHILDREN"
MAX_PANELS = 16
MAX_PANEL_ID = 128
MAX_CHILDREN = 2000  # digests in all: more than a server lets into one header line anyway
_DIGEST = re.compile(r"[A-Za-z0-9_-]{22}\Z")
# Elements without content: each is a piece of its own.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})
_DROPPED = frozenset(
    {"content-type", "content-length", "content-encoding", "etag", "content-md5", "location",
     "transfer-encoding", "cache-control"}
)

Headers = list[tuple[str, str]]
# What a partial postback asks for: each panel's id, with the digests of the children it has.
PanelRequest = dict[str, tuple[str, ...]]
# A panel's new content: its inner HTML, or pieces (an int: the client's child of that index).
PanelContent = str | list[int | str]


def requested_panels(environ: WSGIEnvironment) -> PanelRequest | None:
    """The panels a partial postback asks for, or None for a full postback."""
    raw = environ.get(PANELS_ENVIRON_KEY)
    if raw is None:
        return None
    ids = str(raw).split()
    if not ids or len(ids) > MAX_PANELS or any(len(i) > MAX_PANEL_ID for i in ids):
        raise BadRequest("malformed X-Postback-Panels header")
    raw_children = environ.get(CHILDREN_ENVIRON_KEY)  # none: no children named, "-" for each
    groups = ["-"] * len(ids) if raw_children is None else str(raw_children).split()
    digests = [() if group == "-" else tuple(group.split(",")) for group in groups]
    if (len(groups) != len(ids) or sum(map(len, digests)) > MAX_CHILDREN
            or not all(_DIGEST.match(d) for group in digests for d in group)):
        raise BadRequest("malformed X-Postback-Children header")
    request: PanelRequest = {}
    for panel_id, have in zip(ids, digests, strict=True):
        request.setdefault(panel_id, have)
    return request


def read_page(
    document: bytes, encoding: str, ids: Collection[str]
) -> tuple[dict[str, bytes] | None, list[dict[str, str]]]:
    """The panels' inner markup (None when one is not in the page) and the forms' fields.

    One scan finds the panels' start tags and the forms' fields; a second one, for the panels'
    tag names only, finds where each panel ends.
    """
    scanner = TagScanner(encoding=encoding, names=("form", "input"), attr_hints=(b"update-panel",))
    tags = scanner.scan(document, final=True)[0]
    return _cut_panels(document, encoding, ids, tags), _form_fields(tags)


def _cut_panels(
    document: bytes, encoding: str, ids: Collection[str], tags: list[Tag]
) -> dict[str, bytes] | None:
    starts: dict[str, tuple[str, int]] = {}
    for tag in tags:
        element_id = tag.attrs.get("id", "")
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
                panels[panel_id] = document[content_start : tag.start]
                break
        else:
            return None  # never closed: the rest of the page is not a panel's content
    return panels


def split_children(markup: bytes, encoding: str) -> list[str]:
    """A panel's markup cut into its top-level pieces: each element with its content, text runs.

    The cuts only decide how much can be matched with what the client has; joined again, the
    pieces are the markup, whatever the cuts. So a rough model of nesting serves: an end tag
    closes the nearest open element of its name, a void or self-closing tag (``<br>``,
    ``<svg/>``) is whole; implied end tags (``<li>`` after ``<li>``) leave the rest of the panel
    in one piece.
    """
    tags = TagScanner(encoding=encoding).scan(markup, final=True)[0]
    cuts = [0]
    open_names: list[str] = []
    for tag in tags:
        if not open_names and tag.start > cuts[-1]:
            cuts.append(tag.start)  # text before a top-level tag
        if tag.is_end:
            if tag.name in open_names:
                while open_names.pop() != tag.name:
                    pass  # elements left open inside it end with it
                if not open_names:
                    cuts.append(tag.end)
        elif tag.name in _VOID or tag.self_closing:
            if not open_names:
                cuts.append(tag.end)
        else:
            open_names.append(tag.name)
    cuts.append(len(markup))
    return [markup[a:b].decode(encoding, "replace") for a, b in pairwise(cuts) if b > a]


def digest(markup: str) -> str:
    """What names a piece of markup in ``X-Postback-Children``."""
    sha = hashlib.sha256(markup.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(sha[:16]).rstrip(b"=").decode("ascii")


def panel_content(markup: bytes, encoding: str, have: Sequence[str]) -> PanelContent:
    """A panel's new content for a client that has children ``have`` (digests) in it."""
    if not have:
        return markup.decode(encoding, "replace")
    index = {d: i for i, d in reversed(list(enumerate(have)))}  # the first of equal children
    pieces: list[int | str] = []
    for piece in split_children(markup, encoding):
        known = index.get(digest(piece))
        if known is not None:
            pieces.append(known)
        elif pieces and isinstance(pieces[-1], str):
            pieces[-1] += piece  # markup next to markup: one string
        else:
            pieces.append(piece)
    # Nothing the client has (markup next to markup is one string): the inner HTML itself.
    if not pieces:
        return ""
    if len(pieces) == 1 and isinstance(pieces[0], str):
        return pieces[0]
    return pieces


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
    panels: PanelRequest,
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
        markup, forms = read_page(document, encoding, panels)
        if markup is not None:
            contents = {panel_id: panel_content(markup[panel_id], encoding, have)
                        for panel_id, have in panels.items()}
            return _json_reply(start_response, "panels", {"panels": contents, "forms": forms},
                               headers)
    start_response(status, [*headers, ("X-Postback-Partial", "fallback")])
    return [body]
