"""Partial postbacks: an UpdatePanel for any app, with no change to the app.

A region marked ``data-update-panel`` (with an ``id``) is a *panel*. When a postback comes from
inside one, the client script sends it by ``fetch`` with ``X-Postback-Panels: ID [ID...]``. The
request is verified and stripped like any postback and the inner app renders its whole page as
usual. :func:`answer` is the last stage of the response pipeline for it: the page is decoded and
edited once, exactly as a full postback's would be (fresh tokens, see ``response``), the panels
are cut from that edited page with one scan of its tags, and each form's fresh fields are those
the injector wrote. The answer (``Cache-Control: no-store``, the app's other headers such as
``Set-Cookie`` kept):

* ``X-Postback-Partial: panels`` (a page that is neither a download nor sandboxed by its own
  CSP: ``http.kept_apart``), JSON ``{"version": 1, "panels": {ID: content},
  "forms": [{field: value}, ...]}``: the fresh hidden fields of every post form the middleware
  gave fields in the new page, in document order, so the next postback (partial or full)
  verifies; a reserved field left out is empty (``__EVENTTARGET``, ``__LASTFOCUS``... usually
  are). A panel's content is its inner HTML, or a list of pieces (below);
* ``X-Postback-Partial: navigate``, JSON ``{"version": 1, "navigate": URL}`` when the app
  redirected (the client goes there, as the browser would after a full postback);
* anything else (an error, a file, a page without the panel) was processed all the same, so it
  is never posted again; it must end as the full postback would have ended (below):

  - ``X-Postback-Partial: fallback`` on the app's own response, unchanged, when it is plain
    inline HTML (:func:`inline_html`: ``text/html``, not an attachment, no CSP of its own): the
    client writes it into the page;
  - ``X-Postback-Partial: replay``, JSON ``{"version": 1, "replay": TOKEN, "body": BASE64}``,
    for every other answer (an attachment, SVG, XML, PDF, a page with its own CSP, a 204...):
    the client submits both in a form of its own (a real navigation) to the postback's URL, and
    :class:`Replayer` answers that with the very response, the app not called again;
  - ``X-Postback-Partial: download`` (``application/octet-stream``, the name in
    ``X-Postback-Filename``), streamed, for an answer too large to replay: saved as a file.

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
import binascii
import codecs
import functools
import hashlib
import hmac
import logging
import re
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from hashlib import sha256
from itertools import chain, pairwise
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from .csrf import check_site
from .errors import (
    BadRequest,
    InvalidType,
    LengthRequired,
    TokenError,
    TokenExpired,
    TooLarge,
)
from .html_scan import (
    BareForm,
    Family,
    Pairs,
    PanelEnd,
    Rows,
    Tag,
    closes_itself,
    scan_panels,
    top_level_cuts,
)
from .http import (
    ONCE_HEADERS,
    ClosingIterable,
    Headers,
    disagreeing,
    header,
    is_number,
    json_response,
    kept_apart,
    media_type,
    request_media_type,
    shown_inline,
    text_response,
)
from .response import (
    BoundHeaders,
    EditorFactory,
    check_body,
    edit_whole,
    html_page,
    not_bytes,
    opted_out,
)
from .tokens import Purpose, TokenSigner

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger("postback_middleware")

PANELS_ENVIRON_KEY = "HTTP_X_POSTBACK_PANELS"
CHILDREN_ENVIRON_KEY = "HTTP_X_POSTBACK_CHILDREN"
MAX_PANELS = 16
MAX_PANEL_ID = 128
MAX_CHILDREN = 2000  # digests in all: more than a server lets into one header line anyway
_DIGESTS = re.compile(r"[A-Za-z0-9_-]{22}(?:,[A-Za-z0-9_-]{22})*\Z")  # a panel's group
# The app's headers a JSON answer does not keep (it has its own body, length and caching).
_DROPPED = frozenset(
    {"content-type", "content-length", "content-encoding", "etag", "content-md5", "location",
     "transfer-encoding", "cache-control"}
)

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
            or not all(group == "-" or _DIGESTS.match(group) for group in groups)):
        raise BadRequest("malformed X-Postback-Children header")
    request: PanelRequest = {}
    for panel_id, have in zip(ids, digests, strict=True):
        request.setdefault(panel_id, have)
    return request


def read_panels(
    document: bytes, encoding: str, panels: PanelRequest,
    tags: Sequence[Tag | PanelEnd] | None = None,
) -> dict[str, PanelContent] | None:
    """Each requested panel's new content, cut from the page by its start tag and the end
    tag that closes it; None when one is not in the page, or never ends.

    ``tags``: what a scan watching the panels found, each panel's start tag and its
    :class:`~.html_scan.PanelEnd` among them: the editor's (``inject.FieldInjector.panel_tags``,
    in the edited page's offsets), so the page is not scanned again; without them it is read
    in one light scan (``html_scan.scan_panels``). Either way a panel of thousands of tags
    of its name costs two objects, not one a tag. A panel's children, where the client has
    some, are cut from the panel's own markup (:func:`panel_content`): only a partial answer
    pays for reading them, and only over the panel.
    """
    if tags is None:
        tags = scan_panels(document, panels, encoding=encoding)
    starts = panel_starts(tags, panels, document)
    if len(starts) != len(panels):
        return None
    ends = panel_ends(tags)
    contents: dict[str, PanelContent] = {}
    view = memoryview(document)  # (a panel is decoded from the page: no copy of its bytes)
    for panel_id, first in starts.items():
        last = ends.get(panel_id)
        if last is None:
            return None  # never closed: the rest of the page is not a panel's content
        markup = view[tags[first].end : last.start]
        contents[panel_id] = panel_content(markup, encoding, panels[panel_id])
    return contents


_UPDATE_PANEL = re.compile(rb"update-panel", re.IGNORECASE)  # (ASCII case-insensitive)


def panel_starts(tags: Sequence[Tag | Pairs | Family | Rows | BareForm | PanelEnd],
                 panels: Collection[str], document: bytes | None = None) -> dict[str, int]:
    """Where in ``tags`` each panel asked for starts (the first start tag with
    ``data-update-panel`` and that id), by id, in document order. ``document``: what the tags
    were read from, so that a tag whose bytes lack "update-panel" (in any case: attribute
    names are, as the scanners read them) is passed over without its attributes being
    decoded. The first is the one the scanners open a panel's region for (``PostbackScanner``
    counts the tags of no later one, and gives its end: :func:`panel_ends`)."""
    starts: dict[str, int] = {}
    for index, tag in enumerate(tags):
        if (isinstance(tag, Tag) and not tag.is_end
                and (document is None
                     or _UPDATE_PANEL.search(document, tag.start, tag.end) is not None)
                and "data-update-panel" in tag.attrs and tag.attrs.get("id", "") in panels):
            starts.setdefault(tag.attrs["id"], index)
    return starts


def panel_ends(tags: Iterable[object]) -> dict[str, PanelEnd]:
    """Where each panel that a scan watching the panels found ends, by id (a scanner gives one
    :class:`~.html_scan.PanelEnd` at most an id: the end of the region its first start tag,
    :func:`panel_starts`', opened)."""
    return {item.panel: item for item in tags if isinstance(item, PanelEnd)}


def end_tag(tags: Sequence[Tag], first: int) -> int | None:
    """The index of the end tag matching ``tags[first]`` (same name, counted with nesting,
    among every tag of that name: as the scanners end a panel)."""
    name = tags[first].name
    depth = 1
    for index in range(first + 1, len(tags)):
        tag = tags[index]
        if tag.name != name:
            continue
        depth += -1 if tag.is_end else (0 if closes_itself(tag) else 1)
        if depth == 0:
            return index
    return None


def split_children(markup: bytes, encoding: str) -> list[str]:
    """A panel's markup (read on its own) cut into its top-level pieces (see
    ``html_scan.top_level_cuts``)."""
    cuts = top_level_cuts(markup, encoding=encoding)
    return [markup[a:b].decode(encoding, "replace") for a, b in pairwise(cuts) if b > a]


def digest(markup: str) -> str:
    """What names a piece of markup in ``X-Postback-Children``: the first 16 bytes of the
    SHA-256 of its UTF-8, in base64url without padding (22 characters)."""
    sha = hashlib.sha256(markup.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(sha[:DIGEST_BYTES]).rstrip(b"=").decode("ascii")


DIGEST_BYTES = 16


def _raw_digests(have: Sequence[str]) -> list[bytes]:
    """The 16 bytes each digest of ``have`` (checked by :func:`requested_panels`) spells,
    decoded in one call: each is 22 characters, and "AA" makes it 24 (18 bytes, the first 16
    its own), so they decode one after the other."""
    text = "AA".join(have) + "AA"
    raw = binascii.a2b_base64(text.translate(_FROM_URLSAFE))
    return [raw[at : at + DIGEST_BYTES] for at in range(0, len(raw), DIGEST_BYTES + 2)]


_FROM_URLSAFE = str.maketrans("-_", "+/")


def panel_content(markup: bytes | memoryview, encoding: str, have: Sequence[str]
                  ) -> PanelContent:
    """A panel's new content for a client that has children ``have`` (digests) in it.

    A child the client has is named by its index (see the module's docstring), so each
    top-level piece is hashed; a page in UTF-8 (most are) is hashed as it is, without
    decoding a piece the client has: only the markup sent is decoded. (``markup``: a view of
    the page, where the client has none, is decoded without a copy of its bytes.)

    Memory (any visitor may name children): the pieces are hashed in place and the markup
    sent is kept as runs of offsets, decoded once a run; only small pieces are remembered,
    and a bounded number of them (:data:`_SEEN_BYTES`, :data:`_MAX_SEEN`), so a panel of
    thousands of children takes a few times its size, not an object a child.
    """
    if not have:
        return str(markup, encoding, "replace")
    view = memoryview(markup)  # (pieces are read in place: no copy of the panel)
    # (raw digests: a piece's own is then not spelled in base64)
    index = {d: i for i, d in reversed(list(enumerate(_raw_digests(have))))}  # the first of
    as_is = _is_utf8(view, encoding)  # equal children
    seen: dict[bytes, int | None] = {}  # (a panel's rows repeat the same white space)
    content: list[int | list[int]] = []  # a child the client has, or [start, end] of markup
    for start, end in pairwise(top_level_cuts(view, encoding=encoding)):
        if end <= start:
            continue
        small = end - start <= _SEEN_BYTES
        piece = bytes(view[start:end]) if small else None
        if piece is not None and piece in seen:
            known = seen[piece]
        else:
            utf8 = view[start:end] if as_is else (
                str(view[start:end], encoding, "replace").encode("utf-8"))
            known = index.get(sha256(utf8).digest()[:DIGEST_BYTES])
            if piece is not None and len(seen) < _MAX_SEEN:
                seen[piece] = known
        if known is not None:
            content.append(known)
        elif content and type(last := content[-1]) is list and last[1] == start:
            last[1] = end  # (markup next to markup: one run, one string)
        else:
            content.append([start, end])
    # Nothing the client has (markup next to markup is one string): the inner HTML itself.
    if not content:
        return ""
    if len(content) == 1 and type(content[0]) is list:
        return str(view, encoding, "replace")
    return [part if isinstance(part, int) else str(view[part[0]:part[1]], encoding, "replace")
            for part in content]


_SEEN_BYTES = 64
"""A piece of at most this many bytes (white space between rows, a short row) is remembered
with what it matched, so that its repeats are not hashed again."""
_MAX_SEEN = 1024
"""At most this many pieces are remembered (a panel of distinct short rows keeps no more)."""


def _is_utf8(markup: bytes | memoryview, encoding: str) -> bool:
    """Whether ``markup`` is valid UTF-8 in a UTF-8 page: then each piece (cut at an ASCII
    ``<`` or ``>``) is valid too, and its bytes are what the client hashes."""
    if codecs.lookup(encoding).name != "utf-8":
        return False
    try:
        str(markup, "utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json_reply(
    start_response: StartResponse, kind: str, payload: dict[str, object], headers: Headers
) -> list[bytes]:
    """A partial answer of ``kind``: JSON, with the app's headers that still apply."""
    kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED]
    return json_response(start_response, {"version": 1, **payload},
                         [*kept, ("X-Postback-Partial", kind)])


# -- answers that are not panels: shown inline, replayed as a navigation, or saved --------------

# A partial postback's answer that is not panels nor a redirect must end exactly as the same
# postback done the full way: a download stays a download, a PDF, SVG or XML document opens
# as a document of its own, a CSP (``sandbox`` included) applies. Only plain inline HTML without
# a policy of its own may be written into the page (``fallback``). Anything else is *replayed*:
# the middleware answers ``X-Postback-Partial: replay`` with a short-lived signed token holding
# the app's status and headers and the SHA-256 of its body, plus the body; the client submits
# both in a form of its own (a real navigation, to the very URL of the postback), and the
# middleware, seeing the token, answers with the stored response without calling the app again.

REPLAY_FIELD = "__POSTBACKREPLAY"
# The replay request: ``enctype="text/plain"``, so no form parser (the middleware's nor the
# app's) reads it, and its body begins with these bytes. Then ``\r\nbody=<base64>\r\n``.
REPLAY_PREFIX = (REPLAY_FIELD + "=").encode("ascii")
REPLAY_MAX_AGE = 60  # s: the client submits the replay at once
# Largest body replayed: it travels to the browser and back (base64, a third more), held in
# memory meanwhile. A larger answer is saved as a file (``download``), never rendered.
MAX_REPLAY_SIZE = 16 * 1024 * 1024
# Headers never replayed: framing (recomputed), and effects that the fetch answer has already
# carried out (http.ONCE_HEADERS: a cookie set twice could undo a change made in between;
# Set-Cookie values also must never sit in a token page script can read: HttpOnly cookies
# would leak).
_NOT_REPLAYED = ONCE_HEADERS | frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
     "upgrade", "proxy-connection", "date", "server", "x-postback-partial",
     "x-postback-skip"}
)
_REPLAY_DATA_KEYS = frozenset({"s", "h", "b", "n"})


def inline_html(status: str, headers: Headers) -> bool:
    """Whether an answer may be written into the page (``document.write``) as it is.

    Plain HTML only: not an attachment, no policy of its own (its CSP would be lost: the page's
    stays in force), not a 204/205 (a browser keeps the page then).
    """
    return (
        media_type(header(headers, "content-type")) == "text/html"
        and disagreeing(headers, ("content-type",)) is None  # (a browser reads the last)
        and shown_inline(headers)
        and header(headers, "content-security-policy") is None
        and header(headers, "content-security-policy-report-only") is None
        and status.split(" ", 1)[0] not in ("204", "205")
    )


def _sha256(body: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode("ascii")


class Replayer:
    """Issues replay tokens for partial-postback answers, and serves the replays.

    A token (``Purpose.REPLAY``) holds the app's status, its headers but those in
    ``_NOT_REPLAYED``, and the SHA-256 and length of its body. It is bound to the path of the
    postback and to the browser (``binding``, the ``user`` of the signer), and lives
    ``REPLAY_MAX_AGE`` seconds. The body travels with it through the browser, so no state is
    kept on the server.
    """

    def __init__(
        self,
        signer: TokenSigner,
        *,
        max_body_size: int,
        max_size: int = MAX_REPLAY_SIZE,
        max_age: int = REPLAY_MAX_AGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.max_age = max_age
        self.clock = clock
        # The replay request (the token, then the body in base64) must fit max_body_size.
        self.max_request = max_body_size
        self.max_size = max(0, min(max_size, (max_body_size - signer.max_size - 64) // 4 * 3))

    def issuer(
        self, *, path: str, binding: str | Callable[[], str | None] | None
    ) -> ReplayIssuer:
        """What :func:`answer` needs to replay the answer to the postback to ``path``.

        ``binding``: who the token is for, or a function that says it, asked when the token is
        signed, after the app ran (a login postback changes the user; as for a page's tokens).
        """
        return ReplayIssuer(self, path, binding)

    def token(self, status: str, headers: Headers, body: bytes, *, path: str,
              binding: str | None) -> str | None:
        """A replay token for this response, or None if it cannot be replayed (too large)."""
        if len(body) > self.max_size:
            return None
        data = {
            "s": status,
            "h": [[k, v] for k, v in headers if k.lower() not in _NOT_REPLAYED],
            "b": _sha256(body),
            "n": len(body),
        }
        try:
            return self.signer.sign(Purpose.REPLAY, data, path=path, user=binding,
                                    form_id=self.signer.new_form_id())
        except ValueError:  # headers too large for max_state_size
            return None

    def serve(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        *,
        path: str,
        binding: str | None,
    ) -> Iterable[bytes]:
        """Answer a replay request (see :func:`is_replay`) with the response its token holds.

        The app is never called. The token is read (at most ``max_state_size``) and verified
        before the body: an unsigned request costs no more than a token, and the body is then
        streamed through SHA-256 into a spooled file, never held whole. Raises
        :class:`Rejected` (403 for a token that fails: bad signature, expired, another path or
        browser, a body that is not the one signed, or a request from another site;
        400/411/413 for a malformed or oversized request).
        """
        # Only this site's own pages replay (no trusted_origins here): the client script
        # submits the replay from the page that made the partial postback.
        check_site(environ, ())
        raw_length = str(environ.get("CONTENT_LENGTH") or "")
        if not is_number(raw_length):
            raise LengthRequired("replay request without CONTENT_LENGTH")
        remaining = int(raw_length) - len(REPLAY_PREFIX)
        if remaining > self.max_request:
            raise TooLarge(f"replay request of {remaining} bytes exceeds max_body_size")
        stream = environ["wsgi.input"]
        head = _read_until(stream, _BODY_SEPARATOR,
                           min(remaining, self.signer.max_size + len(_BODY_SEPARATOR)))
        token_end = head.find(_BODY_SEPARATOR)
        try:
            token = bytes(head[:token_end]).decode("ascii")
        except UnicodeDecodeError:
            raise BadRequest("malformed replay request") from None
        claims = self.signer.verify(Purpose.REPLAY, token, path=path, user=binding)
        age = self.clock() - claims.issued_at
        if age > self.max_age:
            raise TokenExpired(f"REPLAY token expired {int(age - self.max_age)}s ago")
        data = claims.data
        if not (isinstance(data, dict) and set(data) == _REPLAY_DATA_KEYS
                and isinstance(data["s"], str) and isinstance(data["h"], list)
                and type(data["n"]) is int and data["n"] >= 0
                and all(isinstance(h, list) and len(h) == 2
                        and all(isinstance(x, str) for x in h) for h in data["h"])):
            raise TokenError("REPLAY token holds no response")
        # Authentic from here on: the body must be exactly the signed one's base64, then CRLF.
        size, encoded_size = data["n"], (data["n"] + 2) // 3 * 4
        after = token_end + len(_BODY_SEPARATOR)
        if remaining != after + encoded_size + 2:
            raise BadRequest("replay request is not the length its token says")
        rest = bytes(head[after:])  # what was read past the token: the body's start (or all)
        first, ending = rest[:encoded_size], rest[encoded_size:]
        body = tempfile.SpooledTemporaryFile(max_size=_REPLAY_SPOOL)  # noqa: SIM115 - returned
        try:
            sha = _stream_base64(first, stream, encoded_size - len(first), body)
            if ending + _read_exactly(stream, 2 - len(ending)) != b"\r\n":
                raise BadRequest("malformed replay request")
            if body.tell() != size or not hmac.compare_digest(sha, str(data["b"])):
                raise TokenError("REPLAY body is not the one signed")
        except BaseException:
            body.close()
            raise
        body.seek(0)
        headers = [(k, v) for k, v in data["h"]]
        start_response(data["s"], [*headers, ("Content-Length", str(size))])
        return ClosingIterable(iter(functools.partial(body.read, _CHUNK), b""), body.close)


@dataclass(frozen=True)
class ReplayIssuer:
    """A :class:`Replayer` with the path and browser binding of one postback."""

    replayer: Replayer
    path: str
    binding: str | Callable[[], str | None] | None

    @property
    def max_size(self) -> int:
        return self.replayer.max_size

    def __call__(self, status: str, headers: Headers, body: bytes) -> str | None:
        binding = self.binding() if callable(self.binding) else self.binding
        return self.replayer.token(status, headers, body, path=self.path, binding=binding)


_BODY_SEPARATOR = b"\r\nbody="
_CHUNK = 64 * 1024
_REPLAY_SPOOL = 1024 * 1024  # a replayed body past this waits on disk


def _read_until(stream: Any, separator: bytes, limit: int) -> bytearray:
    """Read until ``separator`` has been read, at most ``limit`` bytes; else BadRequest."""
    data = bytearray()
    while data.find(separator) < 0:
        if len(data) >= limit:
            raise BadRequest("malformed replay request")
        chunk = _read(stream, min(_CHUNK, limit - len(data)))
        if not chunk:
            raise BadRequest("replay request ended early")
        data += chunk
    return data


def _stream_base64(first: bytes, stream: Any, left: int, out: IO[bytes]) -> str:
    """Decode base64 (``first``, then ``left`` more characters from the stream) into ``out``, a
    piece at a time; return the SHA-256 of the decoded bytes as the token spells it."""
    sha = hashlib.sha256()
    pending = first
    while True:
        whole = len(pending) - len(pending) % 4
        try:
            decoded = base64.b64decode(pending[:whole], validate=True)
        except binascii.Error:
            raise BadRequest("malformed replay request") from None
        sha.update(decoded)
        out.write(decoded)
        pending = pending[whole:]
        if left <= 0:
            break
        chunk = _read(stream, min(_CHUNK, left))
        if not chunk:
            raise BadRequest("replay request ended early")
        left -= len(chunk)
        pending += chunk
    if pending:
        raise BadRequest("malformed replay request")
    return base64.urlsafe_b64encode(sha.digest()).rstrip(b"=").decode("ascii")


def _read(stream: Any, size: int) -> bytes:
    """``stream.read(size)``; a client that went away (the server's OSError) is a 400, as
    ``body.read_body`` answers it, not a failure of ours (500)."""
    try:
        return bytes(stream.read(size))
    except OSError as exc:
        raise BadRequest(f"client went away while sending the body: {exc}") from None


def _read_exactly(stream: Any, size: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        chunk = _read(stream, min(size, 1 << 16))
        if not chunk:
            break
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


class PrefixedStream:
    """``wsgi.input`` with bytes already read put back in front."""

    def __init__(self, head: bytes, stream: Any) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            head, self._head = self._head, b""
            return head + bytes(self._stream.read())
        head, self._head = self._head[:size], self._head[size:]
        if len(head) == size:
            return head
        return head + bytes(self._stream.read(size - len(head)))  # apps read(CONTENT_LENGTH)

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        if not self._head:
            return bytes(self._stream.readline(limit))
        end = self._head.find(b"\n") + 1 or len(self._head)
        cut = end if limit < 0 else min(end, limit)
        line, self._head = self._head[:cut], self._head[cut:]
        if line.endswith(b"\n") or self._head or len(line) == limit:
            return line
        return line + bytes(self._stream.readline(limit if limit < 0 else limit - len(line)))

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


def is_replay(environ: WSGIEnvironment) -> bool:
    """Whether the request is a replay (a ``text/plain`` POST beginning with the token field).

    To tell, the first bytes of a ``text/plain`` POST are read; if it is not a replay they are
    put back in front of ``wsgi.input``, so the app reads the body whole as before. Other
    requests are not touched.
    """
    if environ.get("REQUEST_METHOD") != "POST":
        return False
    mime = request_media_type(environ)
    raw_length = str(environ.get("CONTENT_LENGTH") or "")
    if mime != "text/plain" or not is_number(raw_length) or int(raw_length) < len(REPLAY_PREFIX):
        return False
    stream = environ["wsgi.input"]
    head = _read_exactly(stream, len(REPLAY_PREFIX))
    if head == REPLAY_PREFIX:
        return True
    environ["wsgi.input"] = PrefixedStream(head, stream)
    return False


def download_name(headers: Headers, page_url: str) -> str:
    """The name a browser would save the answer under: Content-Disposition's, else the URL's."""
    disposition = header(headers, "content-disposition") or ""
    extended = re.search(r"""filename\*\s*=\s*([\w!#$&+.^`|~-]+)'[^']*'([^;\s]+)""",
                         disposition, re.IGNORECASE)
    if extended:
        try:
            return unquote(extended.group(2), extended.group(1), errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass
    plain = re.search(r"""filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))""",
                      disposition, re.IGNORECASE)
    if plain:
        return re.sub(r"\\(.)", r"\1", plain.group(1)) if plain.group(1) is not None \
            else plain.group(2)
    return unquote(urlsplit(page_url).path.rsplit("/", 1)[-1]) or "download"


def answer(
    call_app: Callable[[StartResponse], Iterable[bytes]],
    start_response: StartResponse,
    *,
    page_url: str,
    panels: PanelRequest,
    replay: ReplayIssuer | None = None,
    environ: WSGIEnvironment | None = None,
    make_editor: EditorFactory | None = None,
    bound_headers: BoundHeaders | None = None,
) -> Iterable[bytes]:
    """Run the app, edit its page as a full postback's would be (``make_editor``, told by
    ``environ`` whether the page opted out; ``bound_headers`` finishes its headers, see
    ``response``), then answer with panels, a navigation, the page itself (plain inline HTML),
    a replay token, or the answer to save as a file.

    This is the response pipeline's last stage for a partial postback: the page is decoded and
    edited once, the panels are cut from that edited page with one scan, and the forms' fresh
    fields are those the editor wrote (not read back from the page).

    ``replay``: from :meth:`Replayer.issuer`; without it, what would be replayed is saved as a
    file (``download``), never rendered.
    """
    ran = run_app(call_app, limit=replay.max_size if replay is not None else 0)
    chunks, rest, close = ran.chunks, ran.rest, ran.close
    status = ran.status
    headers, skip = opted_out(environ or {}, ran.headers)
    code = status.split(" ", 1)[0]
    location = header(headers, "location")
    if rest is None and code.startswith("3") and location:
        return _json_reply(start_response, "navigate",
                           {"navigate": urljoin(page_url, location)}, headers)
    body = b"".join(chunks) if rest is None else b""
    if rest is None:
        chunks[:] = [body]  # (the app's pieces, joined: they are not held twice)
        try:
            page = edit_whole(status, headers, body, make_editor=None if skip else make_editor,
                              bound_headers=bound_headers)
        except Exception:
            log.exception("editing the page of a partial postback failed; answering 500")
            return text_response(start_response, "500 Internal Server Error",
                                 "Internal Server Error")
        if page is not None:
            # (the app's page is not read again: only the edited one is held from here on,
            # and not while the answer is written; a partial postback takes a few times the
            # page's size, whatever it holds)
            body = b""
            chunks.clear()
            if not kept_apart(page.headers):  # (a download, a sandbox: see below)
                contents = read_panels(page.document, page.encoding, panels, page.panel_tags)
                if contents is not None:
                    fields, kept = page.fields, page.headers
                    page = None
                    return _json_reply(start_response, "panels",
                                       {"panels": contents, "forms": fields}, kept)
            # No such panel (or a page not to be written into this one: a download, a
            # sandbox): the page as a full postback would have got it.
            headers, body, chunks = page.headers, page.body, [page.body]
    if inline_html(status, headers):
        start_response(status, [*headers, ("X-Postback-Partial", "fallback")])
        return _stream(chunks, rest, close)
    token = None if replay is None or rest is not None else replay(status, headers, body)
    if token is not None:
        return _json_reply(
            start_response, "replay",
            {"replay": token, "body": base64.b64encode(body).decode("ascii")},
            [(k, v) for k, v in headers if k.lower() in ONCE_HEADERS],
        )
    # Too large to replay (or no replayer): the browser saves it as a file; nothing renders it.
    kept = [(k, v) for k, v in headers
            if k.lower() in ONCE_HEADERS or k.lower() in ("content-length", "content-encoding")]
    start_response("200 OK", [
        *kept,
        ("Content-Type", "application/octet-stream"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", "no-store"),
        ("X-Postback-Filename", quote(download_name(headers, page_url), safe="")),
        ("X-Postback-Partial", "download"),
    ])
    return _stream(chunks, rest, close)


@dataclass
class AppAnswer:
    """The app's answer to a postback answered in parts (:func:`run_app`)."""

    status: str
    headers: Headers
    chunks: list[bytes]  # its body, whole or up to the limit (``write()`` calls first)
    rest: Iterator[bytes] | None  # what is left past the limit; None: read whole, closed
    close: Callable[[], None]  # closes the app's iterable (done already when read whole)


def run_app(call_app: Callable[[StartResponse], Iterable[bytes]], *, limit: int) -> AppAnswer:
    """Run the app once and read its answer: whole when it may become panels or a navigation
    (a page or a redirect: the page is edited whole), else only up to ``limit`` bytes, the
    rest left in the iterator for the caller to stream or to close unread.

    Shared by the partial stages (this module's :func:`answer`, ``aspnet.ajax``): each sees
    the very bytes, headers and ``write()`` calls a full postback's pipeline would.
    """
    captured: list[tuple[str, Headers]] = []
    chunks: list[bytes] = []

    def capture(status: str, headers: Headers, exc_info: object = None) -> Callable[[bytes], None]:
        captured[:] = [(status, list(headers))]
        return chunks.append

    result = check_body(call_app(capture))

    def close() -> None:
        close_result = getattr(result, "close", None)
        if close_result is not None:
            close_result()

    rest: Iterator[bytes] | None = None  # what is left to stream, past the limit
    try:
        iterator = iter(result)
        size = 0
        for chunk in iterator:
            if not isinstance(chunk, bytes):
                raise InvalidType(not_bytes(chunk))
            chunks.append(chunk)
            size += len(chunk)
            if size > limit and captured and not _held_whole(*captured[0]):
                rest = iterator  # neither panels nor a redirect: no need to hold it all
                break
    except BaseException:
        close()
        raise
    if rest is None:
        close()
    status, headers = captured[0]
    return AppAnswer(status, headers, chunks, rest, close)


def _held_whole(status: str, headers: Headers) -> bool:
    """Whether the answer may become panels or a navigation (read whole, as before)."""
    redirect = status.startswith("3") and header(headers, "location") is not None
    return redirect or html_page(status, headers) is not None


def _stream(chunks: list[bytes], rest: Iterator[bytes] | None,
            close: Callable[[], None]) -> Iterable[bytes]:
    if rest is None:
        return chunks
    return ClosingIterable(chain(chunks, rest), close)
