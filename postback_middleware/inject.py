"""Response side: find the post forms of a page and insert the hidden fields and script tag.

Edits are insertions at byte offsets found by ``html_scan``; the page is never re-serialised, so
every byte the inner app wrote reaches the browser unchanged and in order.

A form gets fields when it is a POST form (``method`` is ``post``, ASCII case-insensitive) whose
``action`` resolves to the page's own origin. Its event validation lists the (target, argument)
pairs declared inside it by ``data-postback`` / ``data-postback-argument`` and by named controls
with ``data-autopostback`` (the scanner gathers them: see ``html_scan.PostbackScanner``), as
``{target: [argument, ...]}`` in page order, each pair once. A ``<form>`` start tag inside an
open form is ignored, as browsers ignore it; a form left open runs to the end of the document.
A control (``html_scan.FORM_ASSOCIATED``) whose ``form="ID"`` names a post form, wherever it
is, gives that form its own pairs too: the client raises its events on its form owner
(``el.form``), as the browser submits it (the first element of that id, matched as written).

ASP.NET's own markup
--------------------
A page ported from WebForms keeps the markup ASP.NET rendered. Its events are not declared
with ``data-postback`` but written as script: ``href="javascript:__doPostBack('T','A')"``,
``onclick="...__doPostBack(...)"`` or ``WebForm_DoPostBackWithOptions(...)``, AutoPostBack's
``onchange="javascript:setTimeout('__doPostBack(...)', 0)"``. The scanner returns the tags
whose ``href`` / ``onclick`` / ``onchange`` mention ``doPostBack``, and ``aspnet.markup``
reads only the anchored shapes ASP.NET writes: the pairs go into the event validation of the
post form open where the tag is (none outside one, as ASP.NET renders them inside its form).
The commonest, a link's bare ``href="javascript:__doPostBack('T','A')"`` (a GridView's), the
scanner reads itself, exactly as ``aspnet.markup`` would: its pair comes in the scanner's
batch, as a ``data-postback`` pair does, and the tag is not returned.

Such a form also holds ASP.NET's hidden inputs (``__VIEWSTATE``, ``__EVENTTARGET``,
``__VIEWSTATEGENERATOR``, ``__EVENTVALIDATION``...), which would post each reserved field
twice. So here, and only here, the injector removes bytes: an ``<input type="hidden">`` whose
name is exactly one of the reserved fields (not ``__CALLBACKID`` / ``__CALLBACKPARAM``),
inside a post form, is cut out (the tag, which is the whole element), and the form gets the
middleware's own fields as any other. Anything else the page holds is kept byte for byte:
a reserved name on another element or type, or outside a post form, stays (and a POST with
it is refused, as before, with the reason).

Pages may arrive in pieces (a streamed response). A form whose start and end tags arrive in the
same piece, as every form of a buffered page does, gets all its fields at the top. A form still
open when its piece ends gets the fields that do not depend on its content at the top at once,
and ``__VIEWSTATE`` / ``__EVENTVALIDATION`` just before its ``</form>`` (or at the end of the
document), when its event pairs are known. The script tag goes before ``</head>`` when that
arrives with the first post form, else just before the first post form.

Tokens never leave the origin
-----------------------------
A post form's ``__VIEWSTATE`` / ``__EVENTVALIDATION`` go wherever the browser submits the form,
so they are withheld (the form keeps its other fields; its postbacks are then refused, and a
warning names the form and the reasons) whenever the page lets the form be submitted elsewhere:

* a ``<base href>`` anywhere in the page makes a non-empty ``action`` resolve to another origin
  (the browser uses the first base element of the tree; here any one counts, for a ``<base>``
  in ``<svg>`` or ``<template>`` is none; an empty or absent action is the document's URL,
  which no base changes; past ``MAX_BASES`` distinct bases, which no page needs, any
  non-empty action or URL is in doubt);
* a submit button (``<button>`` of type submit, ``<input type=submit|image>``) inside the form,
  or anywhere in the page with ``form="ID"`` naming the form's id (before or after the form),
  has a ``formaction`` that resolves (against the page and every base) to another origin, or a
  ``formmethod`` other than ``post`` or ``dialog`` (a GET submission puts the tokens in the URL:
  history, logs, ``Referer``; an invalid value means GET);
* such a submit button where no form is open and naming none: every post form before it. A
  ``</form>`` before the end of an element opened in the form (``<div></form>``) takes the
  form off the parser's stack only, and a button later in that element is in the form; the
  scanner tracks no element but forms, and in a page whose forms nest as written such a
  button has no form owner and does nothing (an element's htmx request is not counted so:
  such elements outside forms are common; the client script leaves the reserved fields out
  of every htmx request that is not a POST to this origin, whatever form htmx took).

The content of ``<noscript>`` counts too: a browser with scripting off (Tor Browser's safest
mode) reads it as markup, so the injector reads it again as markup with a second scanner (a
``<noscript>`` inside it, which that scanner cannot read, puts every form with an action or an
id in doubt).

The decision for a form is taken when its tokens are written, after the whole piece they are
written in has been read: so for a buffered page (and a page that arrives in one piece, as
Flask's and Django's do) everything in the page counts, after the form as well as before. A
streamed page may bring such a ``<base>`` or button in a later piece, after the tokens left:
they cannot be taken back; the injector logs a warning (once a form), and only a check of
the actual submission in the browser (the client script's part) can still keep them home.

What it costs is linear in the page, whatever bases and buttons it holds: each distinct URL
of the page is resolved once against each distinct base (at most ``MAX_BASES``); the
controls that name a form id by ``form="ID"`` are read once for all the forms of that id
(each distinct control once); a streamed page's forms sent are checked again only when the
page's bases change (at most ``MAX_BASES`` + 1 times) or a control names their id; and a
warning lists at most ``MAX_REASONS`` reasons, then how many more.

htmx and fetch()
----------------
A form's fields may also leave by script. htmx (https://htmx.org) sends them with the request
of the form's own ``hx-post`` / ``hx-put`` / ``hx-patch`` / ``hx-delete`` / ``hx-get`` (or
``data-hx-*``), and with the request of any non-GET ``hx-*`` verb of an element inside the form
or naming it by ``form="ID"``; an htmx form's submission goes where its submit button's
``formaction`` says. The injector's scanner cannot return an element for its ``hx-*``
attributes (its engines return tags for the attributes they know by name; a hint does not
change that), so a page that shows it uses htmx (one of htmx's common attributes on a form, or
on another tag the injector reads; a ``<script src>`` naming htmx; a fragment htmx asked for)
is read again by a second scanner (a ``TagScanner`` with the hint ``hx-``), from its start:
every element with an htmx request is then noted on the form open where it is, as a submit
button is. A streamed page that shows htmx only after its first piece is not read again (the
log says so). The rules:

* **Safety first** (the tokens are withheld, as above, when): such a URL resolves (against the
  page and every base; an empty one is the page itself, as in htmx) to another origin; or htmx
  would put the form's fields in a URL: a GET or DELETE request (htmx's
  ``methodsThatUseUrlParams``), unless that element's own ``hx-params`` leaves both tokens out;
  or the form's ``data-postback-action`` leaves the origin.
* **A form that htmx sends only with another verb** (``hx-put``, ``hx-patch``, ``hx-delete``,
  ``hx-get`` on the ``<form>``, no ``hx-post``) is no postback form: the middleware refuses
  reserved fields in any body but a POST's, so it gets no fields at all (like a GET form).
* **The path the tokens are bound to** is the first of: the form's ``data-postback-action``
  (the page's explicit choice, for ``fetch()`` callers); its own ``hx-post``; the ``hx-post``
  of its first submit button that has one (htmx cancels that button's native submission: its
  request is the form's submission); its action. A form can be bound to one path only: when the
  page also sends it to another path (an ``hx-post`` on another element, an htmx form's submit
  button's ``formaction``, the client script's postbacks and callbacks, which go to the
  action) or with PUT, PATCH or DELETE, a warning names those requests, which are refused. A
  plain form's ``formaction`` buttons never move the binding (the client script's postbacks
  always go to the action).

A fragment requested by htmx (``HX-Request``) is edited with ``fragment=True``: no script tag
(the page it goes into has one) and no ``id`` on the hidden fields (they would repeat the
page's); the middleware passes the page's URL (``HX-Current-URL``, when same-origin) as
``page_url``, since the fragment's relative URLs resolve against it.
"""

from __future__ import annotations

import bisect
import functools
import html
import itertools
import logging
import operator
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

from . import fields as f
from .aspnet.markup import references
from .charset import form_encoding
from .choices import MAX_OTHERS_SIZE, Choices, PageChoices
from .html_scan import (
    FORM_ASSOCIATED,
    BareForm,
    Family,
    Pairs,
    PanelEnd,
    PostbackScanner,
    Rows,
    Tag,
    TagScanner,
    closes_itself,
    declared_pairs,
    post_form_finder,
)
from .htmx import (
    REQUEST_NAMES,
    URL_VERBS,
    HxRequest,
    hx_params,
    hx_post,
    hx_requests,
    leaves_out,
    uses_htmx,
)
from .http import origin_of, without_query
from .once import Once
from .page_tokens import MIN_FORMS, Columns, SharedToken, after_index, event_validation
from .partial import panel_ends, panel_starts
from .tokens import INDEX_TAG_CHARS
from .validation import with_rows

try:
    from .html_scan import _cscan  # (splice_forms' compiled twin)
except ImportError:  # installed without a C compiler
    _cscan = None  # type: ignore[assignment]

log = logging.getLogger("postback_middleware")

# what the scanner returns (see html_scan.PostbackScanner)
_Item = Tag | Pairs | Family | Rows | BareForm | PanelEnd
# what splice_forms writes of a piece's bulk-signed forms, after the piece and its insertions:
# their places, the inputs before each index, what follows it, the tags, the inputs' end and
# the first index (see FieldInjector._bare_fields)
_FormsFields = tuple[list[int], bytes, bytes, bytes, bytes, int]

_URL_NOISE = str.maketrans("", "", "\t\n\r")


def action_path(action: str | None, page_url: str, base_url: str | None = None) -> str | None:
    """The path a form posts to, or None when it leaves the page's origin.

    Resolved as a browser does: tabs and newlines dropped, backslashes read as slashes, an
    absent or empty action meaning the page itself, any other resolved against ``base_url``
    (the document's ``<base href>``, resolved: see :func:`base_url`) when there is one.

    An action whose path (up to its query or fragment) is of plain path characters, the
    action of most list pages' forms, is read at a look: from the root
    (``/admin/users/17/delete/``, ``/cart/remove?item=3``) its path is that, on the page's
    origin; relative (``17/delete/``), the page's directory and that; a query or a fragment
    alone (``?item=3``), the page's own path. For a list page's next page brings as many new
    actions as it has rows, each of which the URL parser takes some 15 µs to resolve; what
    it resolves is kept by the page's path (a page asked with another query or fragment is
    the same page to it). (Property tests hold the look to the parser.)
    """
    return _action_path(action, without_query(page_url), base_url)  # (its path's)


@functools.lru_cache(maxsize=1024)  # a site renders the same few actions on the same pages
def _action_path(action: str | None, page_url: str, base_url: str | None) -> str | None:
    if base_url is not None or not action:
        return _resolved_path(action, page_url, base_url)
    path = without_query(action)
    if not path:
        return _page_path(page_url)
    origin = _page_origin(page_url)
    if origin is not None and path.startswith(origin) and path[len(origin):][:1] == "/":
        path = path[len(origin):]  # (the page's origin, spelled as the page's URL spells it)
    if path[0] == "/":
        if _ESCAPED_ROOT_PATH.fullmatch(path) and "/." not in _decoded(path):  # ("%2e": ".")
            return _decoded(path)
        return _resolved_path(action, page_url, base_url)
    while path[:2] == "./":
        path = path[2:]
    directory = _page_directory(page_url)
    if directory is not None and not path:  # ("./")
        return directory
    if (directory is not None and _ESCAPED_RELATIVE_PATH.fullmatch(path) and path[0] != "/"
            and "//" not in path and "/." not in "/" + _decoded(path)):
        return directory + _decoded(path)
    return _resolved_path(action, page_url, base_url)


def _decoded(path: str) -> str:
    """A plain path's escapes decoded, as WSGI gives a path (latin-1 text of the bytes)."""
    return unquote_to_bytes(path).decode("latin-1") if "%" in path else path


@functools.lru_cache(maxsize=256)  # (the pages a site's forms are on)
def _page_origin(page_url: str) -> str | None:
    """``scheme://host[:port]`` as the page's URL spells it (an http(s) URL with a host)."""
    try:
        parts = urlsplit(page_url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _page_directory(page_url: str) -> str | None:
    """The path a plain relative action (``_PLAIN_RELATIVE_PATH``) is resolved in, on the
    page's origin: the page's path up to its last "/" as the URL parser resolves it (its
    empty segments dropped), decoded; None where the parser does not end it so (a page's
    URL with no origin, say). (Whatever the page's query and fragment, which a relative path
    drops: one reading a page, however it is asked.)"""
    return _directory_path(without_query(page_url))


@functools.lru_cache(maxsize=256)  # (the pages a site's forms are on)
def _directory_path(page_url: str) -> str | None:
    path = _resolved_path("x", page_url, None)
    return path[:-1] if path is not None and path.endswith("/x") else None


@functools.lru_cache(maxsize=256)  # (as _directory_path)
def _page_path(page_url: str) -> str | None:
    """The page's own path, where an action of a query or a fragment alone resolves."""
    return _resolved_path(None, page_url, None)


# A path from the root whose characters no step of the URL parser changes or reads (no tab,
# backslash, "%", "?", "#", ";" (urljoin reads path parameters), space, non-ASCII; not "//",
# a host; a dot segment is looked for apart: "/." anywhere).
_PLAIN_ROOT_PATH = re.compile(r"/(?!/)[A-Za-z0-9\-._~!$&'()*+,=:@/]*")
# A relative path of the same characters but ":" (a scheme's end in a first segment); "//"
# (the parser drops an empty segment, and "//" starts a host) and dot segments are looked
# for apart. (One that starts with "/" is the root's, read first.)
_PLAIN_RELATIVE_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,=@/]+")
# The same with "%" escapes (decoded as the parser's caller decodes them: see _decoded), for
# one action read alone (a piece's bare forms are read at once without them).
_ESCAPED_ROOT_PATH = re.compile(r"/(?!/)[A-Za-z0-9\-._~!$&'()*+,=:@/%]*")
_ESCAPED_RELATIVE_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,=@/%]+")
# The same, a line each: the actions of a piece's bare forms, joined by newlines.
_PLAIN_ROOT_PATHS = re.compile(rf"{_PLAIN_ROOT_PATH.pattern}(?:\n{_PLAIN_ROOT_PATH.pattern})*")
_PLAIN_RELATIVE_PATHS = re.compile(
    rf"(?!/){_PLAIN_RELATIVE_PATH.pattern}(?:\n(?!/){_PLAIN_RELATIVE_PATH.pattern})*")


def _plain_paths(items: list[_Item], page_url: str) -> str | None:
    """What goes before the action of each bare form among ``items`` (two or more) to make
    its path, when all are plain alike (see :func:`action_path`): "" when all are from the
    root, the page's directory when all are relative; else None. Read in one step for them
    all: a list page's next page brings as many actions new to action_path's memo as it has
    rows (and a page asked with another query, as many new pairs of action and page)."""
    kind = _plain_actions(items, BareForm)
    if kind == _ROOT:
        return ""
    return _page_directory(page_url) if kind == _RELATIVE else None


_ROOT, _RELATIVE = 1, 2  # (how a piece's bare forms' actions read, all alike)


def _plain_actions(items: list[_Item], bare_type: type[BareForm]) -> int:
    """How the actions of the items of type ``bare_type`` (exactly) read, all alike:
    ``_ROOT``, ``_RELATIVE``, or 0 (not all alike, one without an action, fewer than two).
    Here the actions joined by newlines are matched once; the compiled twin reads each
    one's characters in place (a property test holds the two equal)."""
    actions = [item.action for item in items if type(item) is bare_type]
    if len(actions) < 2 or None in actions:
        return 0
    joined = "\n".join(cast(list[str], actions))
    if joined.count("\n") != len(actions) - 1:  # (an action's own newline)
        return 0
    if _PLAIN_ROOT_PATHS.fullmatch(joined):
        return _ROOT if "/." not in joined else 0
    if (_PLAIN_RELATIVE_PATHS.fullmatch(joined) and "//" not in joined and "/." not in joined
            and "\n." not in joined and joined[0] != "."):
        return _RELATIVE
    return 0


def _take_bare(items: list[_Item], start: int, before: str, bare_type: type[BareForm],
               tags: list[BareForm], paths: list[str], pairs: list[Pairs],
               ends: list[int]) -> int:
    """Append the items of type ``bare_type`` (exactly) from ``start`` on, up to the first
    other item, to ``tags``, each one's path (``before`` and its action, plain: see
    :func:`_plain_paths`) to ``paths``, its pairs (a new dict for none) to ``pairs`` and its
    start tag's end to ``ends``; how many. (A list page's run of forms: one call of the
    compiled twin, which a property test holds equal to this.)"""
    taken = 0
    for item in itertools.islice(items, start, None):
        if type(item) is not bare_type:
            break
        tags.append(item)
        paths.append(before + cast(str, item.action))
        pairs.append(item.pairs or {})
        ends.append(item.end)
        taken += 1
    return taken


_python_plain_actions, _python_take_bare = _plain_actions, _take_bare  # (the references)
if _cscan is not None:
    _plain_actions, _take_bare = _cscan.plain_actions, _cscan.take_bare  # (their twins)


def _resolved_path(action: str | None, page_url: str, base_url: str | None) -> str | None:
    """:func:`action_path`, by the URL parser, where it reads as a browser's does: an escaped
    dot (``%2e``) in the path is a dot to a browser, so a dot segment; and a relative action
    on a page whose path holds a dot segment (it came escaped, ``%2E%2E%2F``, and the server
    decoded it; a browser resolves against the path it asked for, where it is no segment)
    resolves nowhere (the form gets no tokens), never to where the dots would lead."""
    action = _url_text(action)
    if _lost_among_dots(action, base_url or page_url):
        return None
    if "%" in action:  # (in the path, before a query or a fragment)
        path_end = next((at for at, char in enumerate(action) if char in "?#"), len(action))
        action = _ESCAPED_DOT.sub(".", action[:path_end]) + action[path_end:]
    try:
        target = urljoin(base_url or page_url, action) if action else page_url
        if origin_of(target) != origin_of(page_url) or "\ufffd" in urlsplit(target).netloc:
            # (U+FFFD in the host or user part: bytes the page's codec could not read, which a
            # browser may read as more characters, "@" among them, and so as another host)
            return None
        return unquote_to_bytes(urlsplit(target).path).decode("latin-1")
    except ValueError:  # not a URL a browser could post to either
        return None


def _lost_among_dots(url: str, against: str) -> bool:
    """Whether ``url`` (as :func:`_url_text` gives it) is a relative path and ``against``'s
    path holds a dot segment, which came escaped and which the server decoded: a browser
    resolves it against the path it asked for, where the dots are no segment (see
    :func:`_resolved_path`). A query or a fragment alone is the page itself."""
    return (bool(url) and url[0] not in "/?#" and not _SCHEME.match(url)
            and _DOT_SEGMENT.search(urlsplit(against).path) is not None)


# A dot segment ("/./", "/../", or at the end), a URL's scheme, an escaped dot (see
# _resolved_path).
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_ESCAPED_DOT = re.compile(r"%2e", re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def _url_text(url: str | None) -> str:
    """A URL attribute as the URL parser reads it (no tabs or newlines, no edge C0 controls
    or spaces, backslashes as slashes, and after ``http:`` / ``https:`` (and the other
    special schemes), or at the start, any run of two or more slashes read as two: a
    browser reads ``http:///evil.example/`` and ``///evil.example/`` as host
    ``evil.example``, Python's parser as a path on this host). Only what the URL standard
    strips is stripped: a no-break space (U+00A0) at an edge is part of the URL, not
    nothing (``str.strip`` took it for the page itself)."""
    text = (url or "").translate(_URL_NOISE).strip(_C0_CONTROL_OR_SPACE).replace("\\", "/")
    text = _SLASHES_AFTER_SCHEME.sub(r"\1://", text, count=1)
    return _SLASHES_AT_START.sub("//", text, count=1)


_C0_CONTROL_OR_SPACE = "".join(map(chr, range(0x21)))
_SLASHES_AFTER_SCHEME = re.compile(r"^((?i:https?|wss?|ftp)):/{2,}")
_SLASHES_AT_START = re.compile(r"^/{3,}")  # (a host follows all of them: see _url_text)


def leaves_origin(url: str, page_url: str, bases: list[str]) -> bool:
    """Whether ``url`` resolves off the page's origin against the page or any of ``bases``.
    (What ``FieldInjector`` asks of a page's URLs, which it answers resolving each distinct
    URL against each distinct base once a page: see ``FieldInjector._leaves``.)"""
    return any(action_path(url, page_url, base) is None for base in (None, *bases))


def base_url(href: str, page_url: str) -> str:
    """A ``<base href>`` resolved against the page, as the document's base URL.

    (A base that cannot be resolved is kept as written: nothing resolves to the origin
    against it, so forms it could affect get no tokens.)
    """
    href = _url_text(href)
    if _lost_among_dots(href, page_url):
        return href  # (see _resolved_path)
    try:
        return urljoin(page_url, href)
    except ValueError:
        return href


def hidden_input(name: str, value: str, *, with_id: bool) -> bytes:
    if not value:  # most fields of every form: made once
        return _empty_input(name, with_id)
    if not _as_it_is(value):
        return _input(name, value, with_id)
    # A token (two a form: base64url and a dot): written as it is, between the tag's two
    # parts made once (what _input writes, for it writes each character on its own).
    return _input_start(name, with_id) + value.encode("ascii") + _INPUT_END


_INPUT_END = b'" />'


def _as_it_is(value: str) -> bool:
    """Whether a field's value is written as it is (ASCII, nothing to escape: a token)."""
    return value.isascii() and not (
        "&" in value or "<" in value or ">" in value or '"' in value or "'" in value)


@functools.lru_cache(maxsize=64)  # (as _empty_input)
def _input_start(name: str, with_id: bool) -> bytes:
    return _input(name, "", with_id)[:-len(_INPUT_END)]


def _input(name: str, value: str, with_id: bool) -> bytes:
    id_attr = f' id="{name}"' if with_id else ""
    if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
        value = html.escape(value, quote=True)  # (tokens never need it)
    # Character references keep any value (an element id echoed in __LASTFOCUS) ASCII, so the
    # field reads the same whatever the page's charset.
    text = f'<input type="hidden" name="{name}"{id_attr} value="{value}" />'
    return text.encode("ascii", "xmlcharrefreplace")


@functools.lru_cache(maxsize=64)  # a few reserved names, with and without an id
def _empty_input(name: str, with_id: bool) -> bytes:
    return _input(name, "", with_id)


@dataclass(slots=True)
class PostForm:
    """A form that receives fields, with what the scan learned about it."""

    insert_at: int  # just past its start tag (offset in the piece it arrived in)
    action_path: str  # the path its tokens are bound to (WSGI form: latin-1 text)
    # target -> its arguments, in page order, each pair once
    _pairs: dict[str, list[str]] = field(default_factory=dict, repr=False)
    # target -> set of its arguments, made when a target comes in a second batch (None: no
    # target has yet, as in most forms)
    _seen: dict[str, set[str]] | None = field(default=None, repr=False)
    # Its pairs while they are one batch that the scanner read as a family (a grid's rows):
    # written out (_pairs) only if asked for them, or when another batch comes.
    _family: Family | None = field(default=None, repr=False)
    # Runs of a target's commands the scanner read as Rows (a GridView's, its pager's), by
    # target, each with its place among its arguments in _pairs: written out only if asked
    # for the pairs.
    _rows: dict[str, list[tuple[int, Rows]]] = field(default_factory=dict, repr=False)
    # What add_pairs knows of a target's runs and other arguments, by head (None: no target
    # has rows yet, as in most forms).
    _heads: dict[str, _HeadIndex] | None = field(default=None, repr=False)
    # The callbacks the form offers (its ``data-callbacks`` names): only these may run for it.
    callbacks: tuple[str, ...] = ()
    action: str = ""  # its action attribute as the URL parser reads it ("": the page itself)
    id: str | None = None  # its id, ASCII-lowercased (a control's form="ID" may name it)
    number: int = 0  # its place among the page's post forms, from 1 (for the log)
    # Its submit buttons that set formaction or formmethod (those naming it by form="ID"
    # elsewhere in the page are kept by the injector).
    submitters: list[Submitter] = field(default_factory=list, repr=False)
    # Why its tokens were withheld (empty: it got them, or they are not written yet).
    withheld: tuple[str, ...] = ()
    # Why its tokens, sent in an earlier piece of a streamed page, could now leave the origin.
    late: tuple[str, ...] = ()
    # Why part of it was not read for hx-* (it began before a streamed page showed htmx), or
    # why a browser with scripting off may put its fields in another form (see
    # FieldInjector._hidden_form): its tokens are withheld.
    unread: str | None = None
    # The reserved fields written into it so far, by name (a partial answer sends them on).
    written: dict[str, str] = field(default_factory=dict, repr=False)
    # htmx and fetch() (see the module's docstring): its data-postback-action, its own htmx
    # requests and hx-params, and what chose action_path once its tokens were written.
    postback_action: str | None = None
    hx: tuple[HxRequest, ...] = ()
    hx_params: str | None = None
    bound_by: str = "its action"
    closed_at: int = -1  # where its </form> is, in the piece it came in (-1: not yet)

    # Other same-origin paths the page posts it to (a formaction button, an hx-post): its
    # tokens are bound to these too.
    extra_paths: list[str] = field(default_factory=list, repr=False)
    # It held ASP.NET's own hidden inputs: the page's WebForms form (the fields' ids go there).
    took_over: bool = False
    # Nothing later in the page can send its fields elsewhere than its tokens are bound to,
    # once they are written (see _apply): if it shares its page's token, its index needs no
    # tag of its own (see page_tokens).
    settled: bool = False
    # What its selects and radio groups offer (option validate_choices; None: off).
    choice_log: Choices | None = field(default=None, repr=False)
    # The encoding a browser submits it in, None for UTF-8 (charset.form_encoding: its
    # accept-charset, else the page's): its tokens record it (see form_tokens).
    encoding: str | None = None

    @property
    def choices(self) -> dict[str, list[str]]:
        """The values its selects and radio groups offer, by name (see ``choices``)."""
        return self.choice_log.pairs if self.choice_log is not None else {}

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path its tokens are bound to: its own, then the others the page sends it to."""
        if not self.extra_paths:  # (nearly every form)
            return (self.action_path,)
        return (self.action_path, *self.extra_paths)

    @property
    def posts_elsewhere(self) -> bool:
        """Whether its tokens were withheld: the page could submit it to another origin."""
        return bool(self.withheld)

    @property
    def asks_more(self) -> bool:
        """Whether it holds something of its own that could send it elsewhere than its action
        (a formaction or formmethod button, an htmx request, a data-postback-action) or that
        was not read (``unread``): its tokens are then judged in full (see
        ``FieldInjector._doubts``); else only the page's doubts can touch it."""
        return bool(self.submitters or self.hx or self.postback_action is not None
                    or self.unread is not None)

    def describe(self) -> str:
        """How the log names it."""
        named = f" id={self.id!r}" if self.id else ""
        return f"post form #{self.number}{named} (posting to {self.action_path!r})"

    @property
    def pairs(self) -> dict[str, list[str]]:
        """The event validation data: ``{target: [argument, ...]}``, each pair once."""
        self._write_out_family()
        if self._rows:
            self._pairs = with_rows(self._pairs, self._rows)
            for target in self._rows:
                if self._seen is not None:
                    self._seen.pop(target, None)  # (made without the rows' arguments)
            self._rows = {}
        return self._pairs

    @property
    def family(self) -> Family | None:
        """Its pairs when they are exactly one numbered family (see ``html_scan.Family``):
        what issuing encodes without a string a pair; else None."""
        return self._family

    @property
    def compact_pairs(self) -> tuple[dict[str, list[str]], dict[str, list[tuple[int, Rows]]]]:
        """Its pairs as issuing encodes them without a string a command: the pairs but
        those of its :class:`~.html_scan.Rows`, and the rows by target, each with its place
        among the target's other arguments. (No rows: :attr:`pairs` and ``{}``.)"""
        if self._family is not None:  # (_write_out_family, without a call for most forms)
            self._write_out_family()
        return self._pairs, self._rows

    def _write_out_family(self) -> None:
        """Its family as pairs (asked for the pairs, or given rows or another batch)."""
        if self._family is not None:
            self._pairs, self._family = self._family.pairs(), None

    def add_pairs(self, pairs: Pairs | Family | Rows) -> None:
        """Add the scanner's batch for one stretch of the form (or part of one).

        A batch holds each pair once; a form gets one batch per stretch between the tags the
        scanner returns inside it (a formaction button, an id, a nested ``<form>``), and a
        later stretch may repeat pairs of an earlier one. The batch is the caller's to give:
        the first one is kept as it is (a form with one stretch costs nothing a pair). A
        family or rows stay compact while no other batch repeats their pairs.
        """
        if isinstance(pairs, Family):
            if not self._pairs and self._family is None:
                self._family = pairs
                return
            pairs = pairs.pairs()
        elif isinstance(pairs, Rows):
            self._write_out_family()
            known = self._pairs.get(pairs.target)
            runs = self._rows.setdefault(pairs.target, [])
            if len(runs) <= _FEW_RUNS and (not known or len(known) <= _FEW_ARGUMENTS):
                # (most forms: a run or two, a few other arguments, tried one by one)
                heads = set(pairs.heads)
                clash = (any(not heads.isdisjoint(rows.heads) for _, rows in runs)
                         or bool(known and any(argument in pairs for argument in known)))
            else:  # (by head, not run by run nor argument by argument: a form may hold
                # thousands of short runs of one target)
                index = self._head_index(pairs.target)
                clash = (index.shares_a_head(runs, pairs)
                         or bool(known and index.holds_an_argument(known, pairs)))
            if not clash:
                if known is None:
                    known = self._pairs[pairs.target] = []
                runs.append((len(known), pairs))
                return
            if not runs:
                del self._rows[pairs.target]
            # (another run of the same commands, or one repeating its pairs: written out)
            pairs = pairs.pairs()
        self._write_out_family()
        if not self._pairs:
            self._pairs = pairs
            return
        for target, arguments in pairs.items():
            known = self._pairs.get(target)
            if known is None:
                self._pairs[target] = list(arguments)
                continue
            kept_apart = self._rows.get(target)
            if kept_apart is not None and len(kept_apart) <= _FEW_RUNS:
                arguments = [a for a in arguments
                             if not any(a in rows for _, rows in kept_apart)]
            elif kept_apart is not None:
                in_a_run = self._head_index(target).in_a_run
                arguments = [a for a in arguments if not in_a_run(kept_apart, a)]
            if self._seen is None:
                self._seen = {}
            seen = self._seen.get(target)
            if seen is None:
                seen = self._seen[target] = set(known)
            if not seen.isdisjoint(arguments):
                arguments = [a for a in arguments if a not in seen]
            seen.update(arguments)
            known.extend(arguments)

    def _head_index(self, target: str) -> _HeadIndex:
        heads = self._heads
        if heads is None:
            heads = self._heads = {}
        index = heads.get(target)
        if index is None:
            index = heads[target] = _HeadIndex()
        return index


_DIGITS = "0123456789"
# Up to these, add_pairs tries a target's runs and other arguments one by one (most forms:
# cheaper than an index); past them, it finds them by head (_HeadIndex).
_FEW_RUNS = 4
_FEW_ARGUMENTS = 32


def _numbered(argument: str) -> tuple[str, int] | None:
    """An argument as ``Rows.__contains__`` reads it: its head and its number, or None when
    it is no row's (no digits, a leading zero, too many digits)."""
    head = argument.rstrip(_DIGITS)
    digits = len(argument) - len(head)
    if not digits or (digits > 1 and argument[len(head)] == "0") or digits > 15:
        return None
    return head, int(argument[len(head):])


@dataclass(slots=True)
class _HeadIndex:
    """One target's kept runs and other arguments by head, for :meth:`PostForm.add_pairs`:
    which run may hold an argument, which arguments a new run may hold, found in a dict
    rather than by trying each (a form may hold thousands of short runs of one target).

    Each part indexes a list the form holds (the target's runs in ``_rows``, its other
    arguments in ``_pairs``), read on from where it stopped as the list grows; other code
    may put a new list in its place (``PostForm.pairs`` writes the runs out), which is then
    read from its start."""

    runs: list[tuple[int, Rows]] | None = None
    runs_read: int = 0
    run_of: dict[str, Rows] = field(default_factory=dict)  # kept runs share no head
    arguments: list[str] | None = None
    arguments_read: int = 0
    numbers: dict[str, set[int]] = field(default_factory=dict)

    def _read_runs(self, runs: list[tuple[int, Rows]]) -> dict[str, Rows]:
        if self.runs is not runs:
            self.runs, self.runs_read, self.run_of = runs, 0, {}
        run_of = self.run_of
        for _, rows in runs[self.runs_read:]:
            for head in rows.heads:
                run_of[head] = rows
        self.runs_read = len(runs)
        return run_of

    def shares_a_head(self, runs: list[tuple[int, Rows]], rows: Rows) -> bool:
        """Whether ``rows`` has a head of one of ``runs``."""
        run_of = self._read_runs(runs)
        return any(head in run_of for head in rows.heads)

    def in_a_run(self, runs: list[tuple[int, Rows]], argument: str) -> bool:
        """Whether ``argument`` is one of ``runs``' (only the run of its head may hold it)."""
        rows = self._read_runs(runs).get(argument.rstrip(_DIGITS))
        return rows is not None and argument in rows

    def holds_an_argument(self, arguments: list[str], rows: Rows) -> bool:
        """Whether one of ``arguments`` is one of ``rows``': a number of one of its heads
        in its range (looked for among the fewer of the numbers and the range)."""
        if self.arguments is not arguments:
            self.arguments, self.arguments_read, self.numbers = arguments, 0, {}
        numbers = self.numbers
        for argument in arguments[self.arguments_read:]:
            numbered = _numbered(argument)
            if numbered is not None:
                numbers.setdefault(numbered[0], set()).add(numbered[1])
        self.arguments_read = len(arguments)
        first, end = rows.first, rows.first + rows.count
        for head in rows.heads:
            taken = numbers.get(head)
            if taken is None:
                continue
            if len(taken) < rows.count:
                if any(first <= number < end for number in taken):
                    return True
            elif any(number in taken for number in range(first, end)):
                return True
        return False


@dataclass(slots=True)
class _BareForms:
    """The plain post forms of one piece of a page (the whole page, when it comes whole) that
    the scanner returned bare (a list page's delete buttons), signed in bulk: they share one
    page token and their fields are written around it in one pass
    (:meth:`FieldInjector._bare_fields`). The page's first post form, if it is one of them, is
    a PostForm as ever (the script tag and the fields' ids go there); the others are kept as
    they came, not as PostForms, which they become when the page turns out to need more of
    them (a ``<base>``, a ``form="ID"`` button, htmx: see :meth:`FieldInjector._apply`),
    when their page token cannot be made, or when someone asks for
    :attr:`FieldInjector.forms`."""

    first: PostForm | None = None  # the page's first post form, if bare (index 0)
    tags: list[BareForm] = field(default_factory=list)  # the others
    # What their page token describes of those: each one's path and pairs.
    paths: list[str] = field(default_factory=list)
    pairs: list[Pairs] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)  # where each one's fields go (its tag's end)
    numbers: list[int] = field(default_factory=list)  # each one's PostForm.number
    signed: SharedToken | None = None  # their page token, once made
    final: bool = True  # the page's last piece: no later one can send them elsewhere
    encoding: str | None = None  # the page's forms' (a bare form has no accept-charset)

    def __len__(self) -> int:  # (the others: falsy when there are none)
        return len(self.tags)

    def post_forms(self) -> list[PostForm]:
        """The others as the PostForms the injector would have made of them (with their
        fields, once written)."""
        forms = []
        index = 0 if self.first is None else 1  # (each one's index in the page token)
        for tag, path, number in zip(self.tags, self.paths, self.numbers, strict=True):
            form = PostForm(tag.end, path, action=_url_text(tag.action), number=number,
                            closed_at=tag.closed_at, encoding=self.encoding)
            if tag.pairs is not None:
                form.add_pairs(tag.pairs)
            if self.signed is not None:
                form.written = {
                    f.EVENTTARGET: "", f.EVENTARGUMENT: "", f.VIEWSTATE: self.signed.token,
                    f.EVENTVALIDATION: event_validation(
                        index, self.signed.signature, self.signed.tag(index))}
                form.settled = self.final or not form.action
            forms.append(form)
            index += 1
        return forms


@dataclass(frozen=True)
class Submitter:
    """A control that can send its form elsewhere than its action, or by another method: a
    submit button that sets ``formaction`` or ``formmethod``, or any element the injector sees
    with an htmx request that sends the form (a non-GET ``hx-*`` verb)."""

    formaction: str | None  # (a submit button's only)
    formmethod: str | None
    form: str | None  # its form="ID" attribute, if counted for the form it names
    hx: tuple[HxRequest, ...] = ()  # its htmx requests that send the form: (verb, URL)
    hx_params: str | None = None  # its own hx-params
    tag: str = "button"  # its element's name (for the log)
    names_other: bool = False  # inside the form, but with a form="ID" (it binds that form)
    submit: bool = False  # a submit button (its hx-post is then the form's submission)
    # ASP.NET's PostBackUrl: a reference whose WebForm_PostBackOptions has an actionUrl (its
    # formaction), which the client script posts the form to.
    cross_page: bool = False
    # after a form's end where no form is open (see FieldInjector._stray_submitter)
    after_end: bool = False

    def doubts(self, leaves: Callable[[str], bool]) -> list[str]:
        """Why it could send its form's tokens off the origin or into a URL (``leaves``: whether
        a URL resolves off the origin against the page or any of its bases)."""
        who = "a submit button inside it" if self.form is None else (
            f"a submit button elsewhere in the page with form={self.form!r}")
        if self.after_end:
            who = (f"a submit <{self.tag}> after its end that no form holds (a </form> before"
                   " the end of an element opened in the form leaves it in the form)")
        if self.cross_page:
            who = f"a <{self.tag}> inside it posting it elsewhere (ASP.NET's PostBackUrl)"
        found = []
        if self.formmethod is not None and self.formmethod.lower() not in ("post", "dialog"):
            found.append(f"{who} has formmethod={self.formmethod!r}: that submission puts the"
                         " tokens in the URL")
        if self.formaction is not None and leaves(self.formaction):
            found.append(f"{who} has a formaction that leaves the origin: {self.formaction!r}")
        if self.hx:
            element = f"a <{self.tag}> " + ("inside it" if self.form is None else (
                f"elsewhere in the page with form={self.form!r}"))
            for verb, url in self.hx:
                if leaves(url):
                    found.append(f"{element} has hx-{verb}={url!r}, which leaves the origin")
                elif verb in URL_VERBS and not leaves_out(self.hx_params, _TOKEN_FIELDS):
                    found.append(f"{element} has hx-{verb}: htmx sends the form's fields in the"
                                 f" URL of a {verb.upper()} request")
        return found

    def hx_post(self) -> str | None:
        """The URL of its ``hx-post`` (the one htmx reads), if it has one."""
        return hx_post(self.hx)


@dataclass(slots=True)
class _Resolved:
    """One URL of the page (an action, a formaction, an hx-* URL) as resolved so far: against
    the page, and against the first ``checked`` of its distinct bases, ``off`` those against
    which it leaves the origin (each (URL, base) is resolved once a page, however many forms
    and buttons share them)."""

    off_page: bool
    checked: int = 0
    off: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Named:
    """The controls that name one form id by ``form="ID"``, gathered once for every form of
    that id (a page may give many forms one id, and many buttons may name it): what they do
    to such a form depends on them and the page's bases only, never on the form."""

    senders: dict[Submitter, None] = field(default_factory=dict)  # distinct, in page order
    hx_post: Submitter | None = None  # the first submit button with an hx-post (see _bind)
    # Why they could send the form elsewhere: the doubts of the first ``read`` senders, under
    # the page's bases as they were (``FieldInjector._state``) when read.
    doubts: dict[str, None] = field(default_factory=dict)
    read: int = 0
    state: tuple[int, bool] = (-1, False)
    # The same-origin paths they post the form to (see _bind_other_paths), each distinct path
    # once with what posts there first (None: off the origin), resolved against ``base``
    # (the page's first base); and their requests refused whatever the form.
    paths: dict[str | None, str] = field(default_factory=dict)
    refused: dict[str, None] = field(default_factory=dict)
    paths_read: int = 0
    base: str | None = None


TokenPair = tuple[str, str]
# What the injector reads by name (any tag with a form, formaction or formmethod attribute too);
# a <script src> naming htmx says the page uses it (see FieldInjector._read_htmx).
_NAMES = ("form", "head", "base", "noscript", "script")
# What the second scanner of a page that uses htmx returns: the tags with "hx-" in their
# attributes. (The injector's scanner cannot: its engines return a tag for the attributes they
# know by name, and hints do not change that.)
_HTMX_HINTS = (b"hx-",)
# The tags of _NAMES whose branch in FieldInjector._apply does not read them as controls
# (a form's hx-* are its own: PostForm.hx): the second scanner's reading notes their hx-*.
_OWN_BRANCHES = frozenset({"head", "base", "noscript", "script"})
# The most paths a form's tokens are bound to besides its own (formaction buttons, hx-posts):
# each travels in both tokens; requests to more paths than that are refused and logged.
MAX_EXTRA_PATHS = 16
# The most distinct <base href>s a page's URLs are resolved against: past them (no page needs
# more than one), any non-empty action or URL of the page is in doubt, so that a page's cost
# is its URLs times at most this, not times its bases.
MAX_BASES = 16
# The most reasons a warning lists (then "and N more"): a page of many bases or buttons must
# not make a log line (or a form's reasons) of all of them.
MAX_REASONS = 8
# The most distinct submit buttons with a formaction or formmethod after forms' ends, outside
# any form, that are told apart (see FieldInjector._stray_submitter): past them, every form
# with an action or an id is in doubt.
MAX_STRAYS = 64
# A form's attributes the injector reads beyond method, action, id and data-callbacks.
_FORM_EXTRAS = REQUEST_NAMES | {"data-postback-action"}
# A form start tag's attributes that change nothing the injector decides about the form (its
# method and action are read; none is an id, a data-callbacks, htmx's or _FORM_EXTRAS'):
# a form with no others takes FieldInjector._plain_post_form (a test holds them apart). Not
# accept-charset: it decides the encoding the form is submitted in, which its tokens record.
_PLAIN_FORM_ATTRS = frozenset({
    "method", "action", "class", "style", "title", "role", "name", "target", "enctype",
    "autocomplete", "novalidate", "lang", "dir",
})
_TOP_FIELDS = (f.EVENTTARGET, f.EVENTARGUMENT)
_TOKEN_FIELDS = (f.VIEWSTATE, f.EVENTVALIDATION)
_ALL_FIELDS = (*_TOP_FIELDS, *_TOKEN_FIELDS)  # (a form whose start and end come together)
_TOP_INPUTS = b"".join(_empty_input(name, False) for name in _TOP_FIELDS)  # (without ids)
_EV_START = _input_start(f.EVENTVALIDATION, False)
_CLIENT_FIELDS = (f.LASTFOCUS, f.SCROLLPOSITIONX, f.SCROLLPOSITIONY)
# ASP.NET's own hidden inputs that a post form may already hold: removed, for the injector
# writes its own (every reserved field but those of callbacks and async postbacks, which are
# never inputs).
_TAKEN_OVER = f.RESERVED - {f.CALLBACKID, f.CALLBACKPARAM, f.ASYNCPOST}
# What the injector reads as well with validate_choices (see choices).
_CHOICE_TAGS = ("select", "option", "input", "textarea", "button")
_TAG_OPEN = re.compile(rb"<[!/?A-Za-z]")  # where an option's text ends
# Where ASP.NET renders a postback reference (the scanner returns such tags, but a link whose
# bare href it reads itself: see html_scan.PostbackScanner and aspnet.markup).
_SCRIPTED = frozenset({"href", "onclick", "onchange"})
# Bytes after which a removed input leaves nothing that could join the text around it.
_SEPARATES = frozenset(b">\t\n\f\r ")
_EMPTY_COMMENT = b"<!---->"


class FieldInjector:
    """Inserts fields and the script tag into one page, given whole or in pieces.

    ``sign_forms(forms)`` returns the (view state, event validation) tokens of each form whose
    pairs are known, once a piece is read (plain forms may share a page token: see
    ``page_tokens``). ``sign_bare(forms, keyed)``, if given, returns the page token shared by
    the plain forms of a piece that the scanner returned bare (each its path and pairs; its
    indices ``keyed``: see ``page_tokens``), or None (they then take ``sign_forms``' way): a
    list page's forms are written without a :class:`PostForm` each (see :class:`_BareForms`).
    ``client_fields`` are the scroll/focus values to add (None: option off).
    ``fragment``: the page is a piece of another page (an htmx request), which has the script
    tag and the fields' ids already: neither is written.
    """

    # The state of a page's reading that starts the same on every page, as class attributes
    # (immutable values, replaced on the instance when they change): a page that never
    # changes them (most pages have no <select>, <noscript> or htmx) costs no store each.
    # A partial postback's panels' start tags and ends, after edit() (see _keep_panel_tags).
    panel_tags: list[Tag | PanelEnd] | None = None
    _select: str | None = None  # the name of the select being read (choices only)
    _select_disabled = False  # it is disabled: none of its options is posted
    _open: PostForm | None = None  # the post form being read
    _inside_form = False  # also inside a GET or cross-origin form
    # The end of the last piece, which the scanner left undecided: a few bytes, or a tag
    # still open, kept in a bytearray that the next pieces are added to in place (a long
    # tag costs no copy per piece; the scanner reads on in it from where it left off).
    _kept: bytes | bytearray = b""
    # The content of the <noscript> being read, and what its own scan left undecided: a
    # browser with scripting off (Tor Browser's safest mode) reads it as markup, so its
    # <base> and buttons count too (a scripting-on scanner sees text there).
    _noscript: PostbackScanner | None = None
    _noscript_kept: bytes | bytearray = b""
    # With scripting off, the parser's form element pointer is set inside the <noscript> being
    # read (by a form open around it, or one started in it); and why, with scripting off, it
    # may be set where the injector sees no form open: a <form> left open in a <noscript>
    # (</noscript> pops it, but the pointer stays until the next </form>), whose next form's
    # start tag the browser ignores, putting that form's fields, tokens too, in it.
    _noscript_pointer = False
    _hidden_form: str | None = None
    _blind: str | None = None  # why the page may hold what the injector cannot see
    # Submit buttons that set formaction or formmethod where no form is open and that name
    # none (see _stray_submitter): a </form> before the end of an element opened inside the
    # form (<div></form>) leaves what follows in that element in the form, so each counts
    # for every post form before it (up to the ``_strays_upto``th): None until one comes.
    _strays: _Named | None = None
    _strays_upto = 0
    _stray_events = False  # data-postback / data-autopostback outside any post form
    _other_forms = 0  # forms that get nothing (GET, or posting to another origin)
    # htmx: a page that uses it (an hx-* attribute on a tag read here, a <script src>
    # naming htmx, or a fragment htmx asked for) is read again by a second scanner, for the
    # hx-* attributes of every element: from its start, or from the piece of a streamed page
    # where it showed, in the state the page's scanner had there (see _read_htmx).
    _htmx: TagScanner | None = None
    _htmx_late = False  # the second scanner could not read on: not read any more
    # (a streamed page's: the second scanner, in the state the page's had where this piece
    # starts, and whether it could be put in it; see _ready_htmx)
    _htmx_ready: TagScanner | None = None
    _htmx_restart: Callable[[], bool] | None = None  # (puts it in that state)
    _htmx_can_start = False
    _htmx_unread: str | None = None  # why the forms after that get no tokens (see _doubts)
    _started = False  # some of the page was sent already
    _ids_on: PostForm | None = None  # the form whose fields have ids (see _id_form)
    _count = 0  # post forms found so far (numbers), bare ones kept apart included
    # Bare forms signed in bulk, each piece's (see _BareForms), until they are made PostForms.
    _bare: tuple[_BareForms, ...] = ()
    # The last __VIEWSTATE written without an id, and its inputs (see _inputs_before_validation).
    _shared_input: tuple[str | None, bytes] = (None, b"")
    # The last byte sent (an input cut out at the start of a piece must not join it to
    # what follows: see _edit); a ">" stands for the start of the document.
    _last_byte = ord(">")
    # Reading ahead (see _feed_ahead): until a post form may start, a streamed page's bytes
    # are sent before the scanner reads them. Those sent and not edited yet (how many of them
    # the scanner has not decided), what find_post_form saw in them, the places found to be
    # text so far, and how many bytes at the start of _kept were sent already (once it stops).
    _ahead = True
    _unread_size = 0
    _unread_seen = 0
    _false_starts = 0
    _sent_ahead = 0
    # What the scanner gave for the bytes sent ahead, not yet edited (_apply): its items, and
    # how far it decided, in offsets from the first of those bytes.
    _unapplied: tuple[list[_Item], int] = ([], 0)

    def __init__(
        self,
        *,
        page_url: str,
        encoding: str,
        sign_forms: Callable[[list[PostForm]], list[TokenPair]],
        script_tag: bytes,
        client_fields: dict[str, str] | None,
        sign_bare: Callable[[Sequence[tuple[str, Pairs]], bool], SharedToken | None] | None = None,
        fragment: bool = False,
        choices: bool = False,
        panels: Collection[str] = (),
    ) -> None:
        self._scanner = PostbackScanner(encoding=encoding,
                                        names=_NAMES + _CHOICE_TAGS if choices else _NAMES,
                                        panels=panels, families=True, bare_forms=True)
        self._scan = self._scanner.reader()  # (one call a piece: see feed)
        self._find = post_form_finder()  # (html_scan.find_post_form: see edit)
        # A partial postback's panels (ids): the scanner returns their tags as well, which
        # edit() keeps for partial, in the edited page's offsets (see panel_tags).
        self._panels = bool(self._scanner.panels)
        self._choices = choices  # validate_choices: read what each post form's controls offer
        self._page_choices = PageChoices()  # (the names the page's forms check: see choices)
        self._encoding = encoding
        # The encoding the page's forms are submitted in, but where an accept-charset says
        # otherwise (see charset.form_encoding); None for UTF-8.
        self._form_encoding = form_encoding(encoding)
        self._page_url = page_url
        self._sign_forms = sign_forms
        self._sign_bare = sign_bare
        self._script_tag = script_tag
        self._client_fields = client_fields
        self._fragment = fragment
        self._ahead = not (self._panels or fragment)
        self._unread: list[bytes | bytearray | memoryview] = []
        self._forms: list[PostForm] = []  # every post form found so far, but bare ones apart
        self._taken_ids: set[str] = set()  # reserved ids the page itself uses
        # every distinct <base href> so far, resolved (the browser's: the 1st), up to MAX_BASES;
        # and whether the page had more (then every non-empty URL is in doubt)
        self._bases: list[str] = []
        self._too_many_bases = False
        # each URL of the page as resolved against the page and its bases (see _leaves)
        self._resolved: dict[str, _Resolved] = {}
        # the controls that name a form by form="ID", by ID (ASCII-lowercased); the ids named
        # since the forms sent were last checked (see _check_sent)
        self._named: dict[str, _Named] = {}
        self._grown: set[str] = set()
        # A control's own events where its form="ID" names another form (see _owned_elsewhere):
        # the page's forms by id as written (the first of an id; None: not a post form), and
        # the events waiting for a form of their id to come.
        self._forms_by_id: dict[str, PostForm | None] = {}
        self._owned_pairs: dict[str, Pairs] = {}
        self._sent: list[PostForm] = []  # forms whose tokens were sent in an earlier piece
        # those with an id, not said to be late yet, by id; and what the page held when the
        # forms sent were last checked (see _check_sent)
        self._sent_by_id: dict[str, list[PostForm]] = {}
        self._checked: tuple[int, bool, bool, bool, int] = self._page_state()
        self._htmx_seen = fragment

    @property
    def changed(self) -> bool:
        return bool(self._forms)  # (bare forms are kept apart after a first form only)

    @property
    def forms(self) -> list[PostForm]:
        """Every post form found so far, in document order."""
        self._unbare()
        return self._forms

    def written_fields(self) -> list[dict[str, str]]:
        """The non-empty reserved fields written into each post form, in document order (an
        empty one is left out: most are empty, and the client empties what is not listed)."""
        return [{name: value for name, value in form.written.items() if value}
                for form in self.forms]

    def edit(self, document: bytes) -> bytes:
        """A whole page at once (:attr:`changed` then says whether anything was added).

        The page is scanned up to the first place where a post form may start (what
        ``html_scan.find_post_form`` finds without a scan), and on from there if a tag does
        start there; where each such place is text (a script's string, a comment), the scan
        goes on to the next. A page where none is left gets nothing, and the rest of it is
        not scanned (a blog page: issue #18). What the injector says of a page that gets
        nothing, it says once a path (see :meth:`_explain_what_was_left`): a page that could
        give it something to say is scanned whole while its path and what its bytes show
        (``html_scan.FORM_TAGS``, ``POSTBACK_WORDS``) are new (see :func:`_read_whole`).
        """
        if self._panels:  # (a partial postback: the panels' tags are read to their ends)
            return self._edit(document, final=True)
        at, seen = self._find(document, 0)
        at, items, decided, also = self._read_to_a_post_form(memoryview(document), document,
                                                             0, at, [], 0)
        seen |= also
        if at < 0 and not (seen and _read_whole(self._page_url, seen)):
            return document  # (no post form: nothing to write, nor to say)
        more, decided = self._scan(document, True, decided)
        return self._apply(document, items + more if items else more, decided, final=True)

    def _read_to_a_post_form(self, view: memoryview, data: bytes, ahead: int, at: int,
                             items: list[_Item], decided: int
                             ) -> tuple[int, list[_Item], int, int]:
        """Scan ``view`` (``data`` from offset ``ahead`` on) up to the place ``at`` in
        ``data`` where a post form may start, and up to each next one while the last is
        text (a script's string, a comment): (where a tag may start, -1 when no place is
        left; the scanner's items, added to ``items``; how far it decided; what
        ``html_scan.find_post_form`` saw on the way). Past _MOST_FALSE_STARTS places that
        are text a page is read as if a tag started at the next."""
        seen = 0
        while at >= 0:
            more, decided = self._scan(view[:ahead + at], False, decided)
            items = items + more if more else items
            if self._scanner.in_data or self._false_starts >= _MOST_FALSE_STARTS:
                break  # (a tag may start at ``at``: a post form, maybe)
            self._false_starts += 1
            at, also = self._find(data, at + 1)
            seen |= also
        return at, items, decided, seen

    def _keep_panel_tags(self, page: bytes, tags: list[_Item],
                         insertions: list[tuple[int, bytes]],
                         removals: Sequence[tuple[int, int]]) -> None:
        """Each panel's start tag and the :class:`PanelEnd` where it ends, as a page's scan
        returned them (see ``PostbackScanner``: the tags of a panel's name in between cost
        nothing), with their offsets moved as :func:`splice` moved the bytes: an insertion at
        a tag's start lands before the tag, one at its end after it.

        The panels end there in the edited page too when what was inserted inside one (a
        form's fields, the script tag) adds and takes away as many elements of its name,
        never more taken than added (a field is ``<input ... />``, which a count of inputs
        passes over; the script tag ends itself) and what was removed (ASP.NET's own inputs)
        counts for nothing there; else (an ``<input>`` panel whose ASP.NET input, counted,
        is cut out) they are not kept: ``partial`` reads the edited page again, in a light
        scan. (``page``: what was scanned; a tag whose bytes lack "update-panel", in any case,
        opens no panel, and its attributes are not decoded.)"""
        starts = panel_starts(tags, self._scanner.panels, page)
        ends = panel_ends(tags)
        if not starts:
            self.panel_tags = []
            return
        removed = set(removals)
        # The edits in splice's order (by offset; insertions, in the order given, before a
        # removal at the same offset), and how far each moves what follows it.
        edits = sorted([(at, 0, len(text), text) for at, text in insertions]
                       + [(end, 1, start - end, page[start:end]) for start, end in removals],
                       key=lambda edit: (edit[0], edit[1]))
        offsets = [edit[0] for edit in edits]
        shifts = list(itertools.accumulate([edit[2] for edit in edits], initial=0))
        # Where each panel's content lies (to its end, or to the page's), and its name.
        found: list[Tag | PanelEnd] = list(ends.values())
        spans = []
        for panel, index in starts.items():
            start = tags[index]
            assert isinstance(start, Tag)  # (panel_starts' are)
            if (start.start, start.end) in removed:
                self.panel_tags = None  # (its own start cut out: another opens it now)
                return
            found.append(start)
            end = ends.get(panel)
            spans.append((start.end, end.start if end is not None else len(page), start.name))
        for at, kind, _, text in edits:
            begin = at if kind == 0 else at - len(text)  # (a removal's start)
            names = {name for first, last, name in spans if first <= begin and at <= last}
            if names and not _counts_for_nothing(text, names, self._encoding,
                                                 removed=kind == 1):
                self.panel_tags = None
                return
        found.sort(key=lambda item: item.start)
        self.panel_tags = [
            item._replace(start=item.start + shifts[bisect.bisect_right(offsets, item.start)],
                          end=item.end + shifts[bisect.bisect_left(offsets, item.end)])
            for item in found
        ]

    def feed(self, piece: bytes) -> bytes:
        """The next piece of a streamed page; returns what can be sent now."""
        if type(piece) is not bytes:  # (a bytearray the app may fill again, a memoryview)
            piece = bytes(memoryview(piece))
        if self._ahead:
            return self._feed_ahead(piece)
        if self._htmx is None:
            self._ready_htmx()
        if self._sent_ahead:
            return self._unsent(self._feed(piece))
        return self._feed(piece)

    def _feed(self, piece: bytes) -> bytes:
        kept = self._kept
        if kept:
            if isinstance(kept, bytearray):  # a tag still open
                kept += piece
                return self._edit(kept, final=False)
            piece = kept + piece
        tags, decided = self._scan(piece, False)
        if tags or not decided or self._noscript is not None or self._htmx_seen:
            return self._apply(piece, tags, decided, final=False)
        # Most pieces of a long page: nothing to read or write in them (their pairs come with
        # the next tag), sent up to where the scanner decided. What _apply does, in short.
        if decided == len(piece):
            self._kept, self._started, self._last_byte = b"", True, piece[-1]
            return piece
        self._kept, piece = piece[decided:], piece[:decided]
        self._started, self._last_byte = True, piece[-1]
        return piece

    def finish(self) -> bytes:
        """The end of a streamed page."""
        if self._ahead:
            return self._feed_ahead(b"", final=True)
        if self._htmx is None:
            self._ready_htmx()
        if self._sent_ahead:
            return self._unsent(self._finish())
        return self._finish()

    def _finish(self) -> bytes:
        if self._kept or not self._started or self._open is not None \
                or self._noscript is not None or self._htmx_seen:
            return self._edit(bytes(self._kept), final=True)
        # Everything was decided and sent, and no form is left open: unless the end of the
        # document brings the pairs read since the last tag, there is nothing to write. What
        # _apply does then, in short.
        tags, decided = self._scanner.scan(b"", final=True)
        if tags:
            return self._apply(b"", tags, decided, final=True)
        self._kept = b""
        self._explain_what_was_left()
        return b""

    def _feed_ahead(self, piece: bytes, *, final: bool = False) -> bytes:
        """:meth:`feed` (or, ``final``, :meth:`finish`) until a post form may start.

        No byte before the first place where a post form may start (what
        ``html_scan.find_post_form`` finds) gets anything, so they are sent at once, before
        the scanner reads them; only the first bytes of a ``<form`` or a ``postback`` that
        the piece's end may cut in two wait for the next piece (:func:`_cut_word`: most
        pieces end on ">" or a newline). At such a place the scanner reads up to it, the
        unread bytes sent ahead first, as :meth:`edit` reads a page: if a tag may start
        there, it reads on, and the bytes sent since the page's start and the piece are
        edited as one piece (:meth:`_apply` once, from the page's start: what they hold, a
        ``<base href>``, htmx, counts as in a first piece), the bytes sent ahead left out of
        what comes out (:meth:`_unsent`); if not (a script's string, a comment), the next
        place is looked for. So a page where none comes gets nothing, and is read only up to
        its last such place (whole, at its end, where :meth:`edit` would read it whole: see
        :func:`_read_whole`; and 1 MB at a time, so that the bytes kept stay few). A
        ``</head>`` sent ahead is not where the client script goes: it goes before the first
        post form, as when a streamed page's head came in an earlier piece.
        """
        data = bytes(self._kept) + piece if self._kept else piece  # (not sent yet)
        found, seen = self._find(data, 0)
        self._unread_seen |= seen
        if found < 0 and not final and self._unread_size + len(data) <= _MOST_UNREAD:
            send = len(data) - len(_cut_word(data))  # (most pieces: sent whole, unread)
            sent = data if send == len(data) else data[:send]
            self._unread.append(sent)
            self._unread_size += send
            self._kept = data[send:]
            return sent
        if found < 0 and final and not (self._unread_seen and _read_whole(
                self._page_url, self._unread_seen)):
            self._unread, self._unread_size, self._kept = [], 0, b""
            return data  # (the end: nothing to write, nor to say)
        # The bytes sent since the last _apply, the piece, and what the scanner gave for them
        # (a tag left open past _MOST_UNREAD: one buffer, added to in place, see below)
        unread = self._unread
        if len(unread) == 1 and type(unread[0]) is bytearray:
            whole: bytes | bytearray = unread[0]
            whole += data
        else:
            whole = b"".join([*unread, data]) if unread else data
        ahead = len(whole) - len(data)
        items, decided = self._unapplied
        view = memoryview(whole)  # (what is left unread is kept as a view of it, uncopied)
        if found >= 0:
            found, items, decided, seen = self._read_to_a_post_form(view, data, ahead, found,
                                                                    items, decided)
            self._unread_seen |= seen
        if found >= 0:  # a tag may start there: read on, and edit what was sent ahead and
            more, decided = self._scan(whole, final, decided)  # the piece
            self._ahead, self._unread, self._unread_size = False, [], 0
            self._kept, self._sent_ahead, self._unapplied = b"", ahead, ([], 0)
            return self._unsent(self._apply(whole, items + more if more else items,
                                            decided, final=final))
        send = len(whole) if final else len(whole) - len(_cut_word(data))
        if not final and send <= _MOST_UNREAD:
            # nothing read yet counts for a form: kept for the first piece _apply edits
            self._unread, self._unread_size = [view[:send]], send
            self._kept, self._unapplied = whole[send:], (items, decided)
            return data[:send - ahead]
        # (read whole: for what the injector says of the page, or to keep few bytes)
        more, decided = self._scan(view[:send], final, decided)
        if decided or final:  # (none: a tag still open, read on; _apply would only keep it,
            # and the page's scanner is where the last _ready_htmx found it)
            # (_apply is given what the scanner was given: htmx's scanner reads the same bytes)
            self._apply(whole if send == len(whole) else whole[:send],
                        items + more if more else items, decided, final=final)
            if self._htmx is None:  # (the next _apply's bytes start where it decided)
                self._ready_htmx()
        send = max(send, decided)
        self._unapplied = ([], 0)
        if self._htmx_seen:  # (its second scanner reads every piece: see _read_htmx)
            self._ahead, self._kept = False, whole[decided:]
            self._sent_ahead, self._unread, self._unread_size = send - decided, [], 0
        else:
            self._kept = bytes(view[send:])
            self._unread_size = send - decided
            # The tag left open (sent, not decided), in a buffer that the next pieces are
            # added to in place while it stays open, as _feed's _kept: a tag of megabytes (an
            # inline data: image) costs no copy of it per piece.
            if decided >= send:
                self._unread = []
            elif decided or type(whole) is not bytearray:
                self._unread = [bytearray(view[decided:send])]
            else:  # (the buffer itself: no view of it may be left to resize it)
                view.release()
                del whole[send:]
                self._unread = [whole]
        return data[:send - ahead]

    def _unsent(self, out: bytes) -> bytes:
        """What the scanner's edits gave, without the bytes at its start that were sent
        ahead (:meth:`_feed_ahead`): nothing is written among them, so they come first."""
        sent = min(self._sent_ahead, len(out))
        self._sent_ahead -= sent
        return out[sent:] if sent else out

    def _edit(self, whole: bytes | bytearray, *, final: bool) -> bytes:
        tags, decided = self._scanner.scan(whole, final=final)
        return self._apply(whole, tags, decided, final=final)

    def _apply(self, whole: bytes | bytearray, tags: list[_Item], decided: int, *,
               final: bool) -> bytes:
        """Edit what the scan of ``whole`` decided (``tags``, up to ``decided``); keep the rest
        for the next piece."""
        if not decided and not final:  # all of it undecided (a tag still open)
            self._kept = whole if isinstance(whole, bytearray) else bytearray(whole)
            return b""
        if isinstance(whole, bytes):
            self._kept, data = whole[decided:], whole[:decided]
        else:
            with memoryview(whole) as view:
                self._kept, data = bytes(view[decided:]), bytes(view[:decided])
        at_start, self._started = not self._started, True
        if not tags and not final and self._noscript is None and not self._htmx_seen:
            if data:
                self._last_byte = data[-1]
            return data  # most pieces of a long page (their pairs come with the next tag)
        # What goes where: the script tag, or fields of a form. The fields are made once the
        # whole piece is read, so that a <base> or a form="ID" button after a form counts
        # (and the page's own reserved ids are known, which the fields then leave out).
        plan: list[tuple[int, PostForm | None, tuple[str, ...]]] = []
        taken_over: list[tuple[int, int]] = []  # ASP.NET's own hidden fields, removed
        started_here: list[PostForm] = []  # forms whose start tag is in this piece
        head_end = None
        redirects = False  # a <base> or a form="ID" button: forms sent earlier are checked
        noscript_from = 0  # where the content of an open <noscript> starts in this piece
        # (which form an element is in, for the htmx scanner's: see _read_htmx)
        open_at_start, known = self._open, len(self._forms)
        # The piece's bare forms, kept apart when the middleware signs them in bulk (see
        # _BareForms; the page's other forms take the way below).
        bare = (_BareForms(final=final, encoding=self._form_encoding)
                if self._sign_bare is not None
                and not (self._fragment or self._panels or self._choices or self._htmx_seen
                         or self._client_fields is not None) else None)
        # (a list page's bare forms' actions, read at once where all are plain alike: the
        # text before each that makes its path; read at the first bare form, if any)
        before_actions: str | None = None
        actions_read = False
        items = enumerate(tags)  # (the bare forms _take_bare takes are skipped in one step)
        for index, tag in items:
            if not isinstance(tag, Tag):
                if isinstance(tag, BareForm):  # a plain post form: its tags and pairs
                    if self._inside_form:  # (its start ignored, as browsers do: its pairs
                        if tag.pairs is not None:  # and its end are the open form's)
                            self._add_pairs(tag.pairs)
                        self._form_ends(tag.closed_at, plan, started_here)
                        continue
                    self._select = None
                    hidden, self._hidden_form = self._hidden_form, None  # (its end clears it)
                    if not actions_read:
                        before_actions, actions_read = _plain_paths(tags, self._page_url), True
                    path = (f"{before_actions}{tag.action}" if before_actions is not None
                            else action_path(tag.action, self._page_url))
                    if path is None:  # (no post form: its pairs are the page's, stray)
                        self._other_forms += 1
                        if tag.pairs is not None:
                            self._add_pairs(tag.pairs)
                        continue
                    self._count += 1
                    if bare is not None and self._forms and hidden is None:  # (see _BareForms)
                        if before_actions is not None:  # (all plain alike: it and the bare
                            # forms right after it, with nothing between, kept in one step)
                            taken = _take_bare(tags, index, before_actions, BareForm,
                                               bare.tags, bare.paths, bare.pairs, bare.ends)
                            bare.numbers += range(self._count, self._count + taken)
                            self._count += taken - 1
                            next(itertools.islice(items, taken - 1, taken - 1), None)
                            continue
                        bare.tags.append(tag)
                        bare.paths.append(path)
                        bare.pairs.append(tag.pairs or {})
                        bare.ends.append(tag.end)
                        bare.numbers.append(self._count)
                        continue
                    post_form = PostForm(tag.end, path, action=_url_text(tag.action),
                                         encoding=self._form_encoding)
                    if not self._forms and not self._fragment:
                        plan.append((_script_at(head_end, tag.start, self._sent_ahead),
                                     None, ()))
                    self._forms.append(post_form)
                    post_form.number = self._count
                    post_form.closed_at = tag.closed_at
                    if tag.pairs is not None:
                        post_form.add_pairs(tag.pairs)
                    if hidden is not None:
                        post_form.unread = hidden
                        plan.append((post_form.insert_at, post_form, _ALL_FIELDS))
                    elif bare is not None and post_form.number == 1:  # (the page's first)
                        bare.first = post_form
                    else:
                        plan.append((post_form.insert_at, post_form, _ALL_FIELDS))
                elif not isinstance(tag, PanelEnd):  # (a panel's: see _keep_panel_tags)
                    self._add_pairs(tag)  # the pairs declared since the previous tag
                continue
            if tag.is_end:
                if tag.name == "form":
                    self._form_ends(tag.start, plan, started_here)
                elif tag.name == "head" and head_end is None:
                    head_end = tag.start
                elif tag.name == "select":
                    self._select = None
                elif tag.name == "noscript" and self._noscript is not None:
                    redirects |= self._read_noscript(data[noscript_from:tag.start], final=True)
                    self._noscript = None
                continue
            name = tag.name
            # (most forms of a list page: a method, an action, a class; no id, nothing for
            # htmx: only what the branch for forms below does is done)
            plain = name == "form" and _PLAIN_FORM_ATTRS.issuperset(tag.attrs)
            if not plain:
                if self._open is not None and name == "input" and _aspnet_field(tag.attrs):
                    taken_over.append((tag.start, tag.end))  # (see the module's docstring)
                    self._open.took_over = True
                    continue
                reserved_id = tag.attrs.get("id")
                if reserved_id in f.RESERVED:  # (the scanner returns every tag whose id has "__")
                    self._taken_ids.add(reserved_id)
                if self._choices and name in _CHOICE_TAGS:
                    self._read_choice(tag, data, final)
                    # (returned whole for what it offers, so the scanner gathered none of its
                    # own events: a <select data-autopostback>, a <button data-postback>)
                    declared = declared_pairs(name, tag.attrs)
                    if declared:
                        pairs: Pairs = {}
                        for target, argument in declared:
                            pairs.setdefault(target, []).append(argument)
                        self._add_pairs(pairs)
            if name == "form":
                if not plain and not self._htmx_seen and uses_htmx(tag.attrs):
                    self._htmx_seen = True
                if self._inside_form:
                    continue  # browsers ignore a form start tag inside a form
                self._inside_form = True
                form = self._open = (self._plain_post_form(tag.attrs, tag.end) if plain
                                     else self._post_form(tag.attrs, tag.end))
                if not plain and tag.attrs.get("id"):
                    self._owner_found(tag.attrs["id"], form)
                if form is None:
                    self._other_forms += 1
                    continue
                if self._hidden_form is not None:
                    form.unread = self._hidden_form
                if not self._forms and not self._fragment:
                    plan.append((_script_at(head_end, tag.start, self._sent_ahead), None, ()))
                self._forms.append(form)
                self._count += 1
                form.number = self._count
                started_here.append(form)
            elif name == "base":
                redirects |= self._base(tag.attrs)
            elif name == "noscript":
                self._noscript = PostbackScanner(encoding=self._encoding, names=_NAMES)
                self._noscript_kept, noscript_from = b"", tag.end
                self._noscript_pointer = self._inside_form or self._hidden_form is not None
            elif name == "script":
                if not self._htmx_seen and "htmx" in tag.attrs.get("src", "").lower():
                    self._htmx_seen = True
            elif name != "head":
                redirects |= self._submitter(name, tag.attrs, self._open)
                self._aspnet_references(name, tag.attrs)
                if name in FORM_ASSOCIATED and tag.attrs.get("form"):
                    self._owned_elsewhere(tag.attrs["form"], name, tag.attrs)
        if bare is not None and not bare:  # (most pieces: no bare form to keep apart, or
            if bare.first is not None:  # the page's first alone, which no page token serves:
                plan.append((bare.first.insert_at, bare.first, _ALL_FIELDS))  # _keep_bare's)
            bare = None
        if self._noscript is not None:  # its content goes on in the next piece (read
            redirects |= self._read_noscript(data[noscript_from:], final=final)  # first:
            # htmx it shows is read in this piece too, as in one that closes it)
        if bare is not None and self._htmx_seen:  # (read below with the page's other forms)
            self._keep_bare(bare, plan)
            bare = None
        if self._htmx_seen and not self._htmx_late:
            redirects |= self._read_htmx(whole, decided, final, at_start, tags, open_at_start,
                                         self._forms[known:])
        for form in started_here:
            # At the end of the document an open form's pairs are all known: all fields on top.
            plan.append((form.insert_at, form,
                         _ALL_FIELDS if final else _TOP_FIELDS))
        if final and self._open is not None and self._open not in started_here:
            plan.append((len(data), self._open, _TOKEN_FIELDS))
        if final:
            self._explain_what_was_left()
        if redirects and (self._sent or self._bare):
            self._unbare()  # (what was sent in bulk is checked as the rest)
            self._check_sent()
        if bare is not None:
            # Signed in bulk when nothing on the page so far could send them elsewhere (what
            # _prepare asks of each form: no <base>, no form="ID" button, nothing unread; and
            # no htmx, which the <noscript> read above may have shown) and their page
            # token can be made; else they take the way of the page's other forms, below.
            # What a later piece could do to them, keyed indices answer, as for any form of
            # a piece (keyed where a form's settled would be False: see the signing below).
            if (len(bare) + (bare.first is not None) >= MIN_FORMS and self._sign_bare
                    and not (self._page_in_doubt or self._htmx_seen)):
                keyed = not final and (any(_url_text(tag.action) for tag in bare.tags) or (
                    bare.first is not None and bool(bare.first.action)))
                bare.signed = self._sign_bare(
                    Columns(bare.paths, bare.pairs) if bare.first is None else
                    Columns([bare.first.action_path, *bare.paths],
                            [bare.first.pairs, *bare.pairs]), keyed)
            if bare.signed is None:
                self._keep_bare(bare, plan)
                bare = None
            else:
                self._bare += (bare,)
        if not plan and not taken_over and not self._panels and bare is None:
            # (a piece whose tags ask for nothing to be written: a script, a GET form, a form
            # whose start came in an earlier piece and whose end comes in a later one)
            if data:
                self._last_byte = data[-1]
            return data
        signing = []  # (the forms whose tokens this piece writes: signed all at once, as
        # plain forms share a page token)
        # (what _prepare does when neither the page nor the form asks for more, in short)
        doubtless = not (self._page_in_doubt or self._choices)
        for index, (at, form, names) in enumerate(plan):
            if form is not None and f.VIEWSTATE in names:
                if not doubtless or form.asks_more:
                    names = self._prepare(form, names)
                    plan[index] = (at, form, names)
                if f.VIEWSTATE in names:
                    signing.append(form)
        if signing:
            # A form whose fields a later piece of a streamed page could still send elsewhere
            # (its relative or root-relative action, after a <base href> there; anything, on a
            # page that uses htmx, whose hx-include reaches any form) must get tokens that name
            # no other form: if it shares its page's token, its index gets a tag.
            for form in signing:
                form.settled = not self._htmx_seen and (final or not form.action)
            for form, (viewstate, validation) in zip(signing, self._sign_forms(signing),
                                                     strict=True):
                form.written[f.VIEWSTATE] = viewstate
                form.written[f.EVENTVALIDATION] = validation
            self._sent += signing
            for form in signing:  # (checked when a control names their id: see _check_sent)
                if form.id is not None:
                    self._sent_by_id.setdefault(form.id, []).append(form)
        insertions = [(at, self._script_tag if form is None else self._fields(form, names))
                      for at, form, names in plan]
        # (the bulk-signed forms' fields, written in one pass with the rest: see splice_forms)
        bare_fields = None
        if bare is not None:
            bare_fields = self._bare_fields(bare)
            if bare.first is not None:  # (written with the others of the plan: ids and all)
                insertions.append((bare.first.insert_at, self._fields(bare.first,
                                                                      _ALL_FIELDS)))
        if taken_over:
            # Where what comes before a removed input would join what comes after ("<" and
            # "img ...>" make a tag), an empty comment keeps them apart, as the input did.
            insertions += [(start, _EMPTY_COMMENT) for start, _ in taken_over
                           if (data[start - 1] if start else self._last_byte) not in _SEPARATES]
        if self._panels and final and at_start:  # (a whole page: see edit)
            self._keep_panel_tags(data, tags, insertions, taken_over)
        if taken_over:
            if bare_fields is not None:  # (a WebForms form and a list's forms: all at once)
                insertions += _forms_fields(*bare_fields)
            data = splice(data, insertions, removals=taken_over)
        elif bare_fields is not None:
            data = splice_forms(data, sorted(insertions, key=_first), *bare_fields)
        elif insertions:
            data = splice(data, insertions)
        if data:
            self._last_byte = data[-1]
        return data

    def _explain_what_was_left(self) -> None:
        """Say (at INFO, once a page path) why a page that looks meant for postbacks got none
        of them: its events lie outside any post form, or its forms are all GET."""
        if not (self._stray_events or (self._other_forms and not self._forms)):
            return  # (the common case: nothing to say)
        path = urlsplit(self._page_url).path
        if self._stray_events:
            _log_once(path, "events", "%r has data-postback / data-autopostback elements (or "
                      "ASP.NET's __doPostBack references) outside any same-origin post form: "
                      'they raise no postback (put them inside a <form method="post">)', path)
        if self._other_forms and not self._forms:
            _log_once(path, "forms", "%r has %d forms and none is a same-origin POST form: "
                      "nothing was inserted", path, self._other_forms)

    def _keep_bare(self, bare: _BareForms,
                   plan: list[tuple[int, PostForm | None, tuple[str, ...]]]) -> None:
        """Bare forms that take the way of the page's other forms after all: as PostForms
        among them, their fields planned as a whole form's."""
        others = bare.post_forms()
        self._join(others)
        first = () if bare.first is None else (bare.first,)  # (among the page's forms already)
        plan += [(form.insert_at, form, _ALL_FIELDS) for form in (*first, *others)]

    def _join(self, forms: list[PostForm]) -> None:
        """Bare forms made PostForms among the page's others, in the page's order: merged
        into the forms from the first one's number on (the page's forms are in order of
        their numbers), so that a piece's costs what the piece holds, not the page."""
        if not forms:
            return
        start = bisect.bisect_left(self._forms, min(form.number for form in forms),
                                   key=_number)
        self._forms[start:] = sorted([*self._forms[start:], *forms], key=_number)

    def _unbare(self) -> None:
        """The bare forms signed in bulk so far made PostForms among the others, all in one
        merge; those of a piece before the last among the forms whose tokens were sent, which
        a later piece's <base> or form="ID" button is checked against (see _check_sent)."""
        if not self._bare:
            return
        forms: list[PostForm] = []
        for bare in self._bare:
            made = bare.post_forms()
            forms += made
            if not bare.final:
                self._sent += made
        self._bare = ()
        self._join(forms)

    def _bare_fields(self, bare: _BareForms) -> _FormsFields:
        """The fields of the bulk-signed forms as :func:`splice_forms` writes them: each
        form's place, the inputs up to its event validation's value (made once), what
        follows its index there (the token's signature, then each form's tag where the
        indices are keyed: the token's tags as they are, and the inputs' end), and the first
        form's index. The page's first form, if one of them, is given its share of the page
        token here, for :meth:`_fields` to write (ids and all)."""
        assert bare.signed is not None
        token, signature, tags = bare.signed
        first = bare.first
        if first is not None:
            first.written = {f.VIEWSTATE: token,
                             f.EVENTVALIDATION: event_validation(0, signature,
                                                                 bare.signed.tag(0))}
            first.settled = bare.final or not first.action
            if not bare.final:
                self._sent.append(first)
        start = self._inputs_before_validation(token)
        offsets = bare.ends
        index = 0 if first is None else 1
        if tags is None:
            return offsets, start, after_index(signature).encode("ascii"), b"", _INPUT_END, index
        return (offsets, start, after_index(signature, "").encode("ascii"),
                tags[index * INDEX_TAG_CHARS:] if index else tags, _INPUT_END, index)

    def _add_pairs(self, pairs: Pairs | Family | Rows) -> None:
        """Give ``pairs`` to the form open; outside any post form they raise nothing."""
        if self._open is None:
            self._stray_events = True
        else:
            self._open.add_pairs(pairs)

    def _owned_elsewhere(self, owner_id: str, name: str, attrs: Mapping[str, str]) -> None:
        """A control's own events (``data-postback``, ``data-autopostback``) where its
        ``form="ID"`` names its form owner: the client raises them on that form (``el.form``),
        so that form offers them too. (The scanner gave them to the form around the control,
        which keeps them: the pairs of a stretch come as one batch.) Ids match as written, as
        the browser matches them; a form already signed in an earlier piece of a streamed
        page cannot take them (logged: those postbacks are refused)."""
        declared = declared_pairs(name, attrs)
        if not declared:
            return
        pairs: Pairs = {}
        for target, argument in declared:
            pairs.setdefault(target, []).append(argument)
        if owner_id not in self._forms_by_id:  # (its form comes later in the page)
            waiting = self._owned_pairs.setdefault(owner_id, {})
            for target, arguments in pairs.items():
                waiting.setdefault(target, []).extend(arguments)
            return
        owner = self._forms_by_id[owner_id]
        if owner is None or owner is self._open:  # (not a post form: the client raises nothing)
            return
        if f.VIEWSTATE in owner.written:
            log.warning("%s: a <%s> later in this streamed page names it by form=%r and raises"
                        " %s there, but its tokens were sent in an earlier piece: those"
                        " postbacks are refused (put the control before the form's end)",
                        owner.describe(), name, owner_id, ", ".join(map(repr, pairs)))
            return
        owner.add_pairs(pairs)

    def _owner_found(self, form_id: str, form: PostForm | None) -> None:
        """A form with an id (``form``; None when it is no post form): the form owner of the
        controls that name that id, if it is the first element of the id the page gives (the
        one the browser's ``el.form`` finds); their events waiting for it are its own."""
        if form_id in self._forms_by_id:
            return
        self._forms_by_id[form_id] = form
        waiting = self._owned_pairs.pop(form_id, None)
        if waiting and form is not None:
            form.add_pairs(waiting)

    def _form_ends(self, at: int, plan: list[tuple[int, PostForm | None, tuple[str, ...]]],
                   started_here: list[PostForm]) -> None:
        """A form's end tag at ``at``: the form open ends there (its fields go on top if its
        start came in this piece, else just before its end)."""
        self._inside_form, self._select, self._hidden_form = False, None, None
        form, self._open = self._open, None
        if form is None:
            return
        form.closed_at = at
        if form in started_here:
            started_here.remove(form)
            plan.append((form.insert_at, form, _ALL_FIELDS))
        else:
            plan.append((at, form, _TOKEN_FIELDS))

    def _plain_post_form(self, attrs: Mapping[str, str], insert_at: int) -> PostForm | None:
        """:meth:`_post_form` of a form whose attributes are all in _PLAIN_FORM_ATTRS (no id,
        no callbacks, nothing of htmx's): what it does for such a form, in short."""
        if attrs.get("method", "").lower() != "post":
            return None
        action = attrs.get("action")
        path = action_path(action, self._page_url)
        return None if path is None else PostForm(insert_at, path, action=_url_text(action),
                                                  encoding=self._form_encoding)

    def _post_form(self, attrs: Mapping[str, str], insert_at: int) -> PostForm | None:
        if attrs.get("method", "").lower() != "post":
            return None
        action = attrs.get("action")
        path = action_path(action, self._page_url)
        if path is None:
            return None
        form_id = attrs.get("id")
        callbacks = attrs.get("data-callbacks")
        accept_charset = attrs.get("accept-charset")
        encoding = (self._form_encoding if accept_charset is None
                    else form_encoding(self._encoding, accept_charset))
        if _FORM_EXTRAS.isdisjoint(attrs):  # (nearly every form)
            return PostForm(insert_at, path,
                            callbacks=tuple(callbacks.split()) if callbacks else (),
                            action=_url_text(action),
                            id=None if form_id is None else form_id.lower(), encoding=encoding)
        hx = hx_requests(attrs)
        if hx and not any(verb == "post" for verb, _ in hx):
            # htmx sends it with another verb, whose body or URL may hold no reserved field
            path = urlsplit(self._page_url).path
            _log_once(path, "htmx-verbs", "%r has a post form that htmx sends with %s only: it "
                      "gets no fields (postbacks come by POST)", path,
                      ", ".join(f"hx-{verb}" for verb, _ in hx))
            return None
        return PostForm(insert_at, path, callbacks=tuple(attrs.get("data-callbacks", "").split()),
                        action=_url_text(action), id=None if form_id is None else form_id.lower(),
                        postback_action=attrs.get("data-postback-action"), hx=hx,
                        hx_params=hx_params(attrs) if hx else None, encoding=encoding)

    def _read_choice(self, tag: Tag, data: bytes, final: bool) -> None:
        """Note what a control of the open post form can post (option ``validate_choices``:
        see ``choices``)."""
        name, attrs, form = tag.name, tag.attrs, self._open
        if name != "option":
            self._select = None  # (a select, an input or a textarea ends an open select)
        if form is None or "form" in attrs:
            return
        offered = form.choice_log
        if offered is None:
            offered = form.choice_log = Choices(self._page_choices)
        if name == "option":
            if self._select is None:
                return  # (in a datalist: a suggestion, not a choice)
            if self._select_disabled or "disabled" in attrs:
                offered.option_none(self._select)  # (never posted: the browser skips it)
                return
            value = attrs.get("value")
            if value is not None:
                offered.option(self._select, value)
                return
            text_end = _TAG_OPEN.search(data, tag.end)
            if text_end is None and not final:
                offered.unknown(self._select)  # (its text goes on in the next piece)
            else:
                end = len(data) if text_end is None else text_end.start()
                offered.option_text(self._select,
                                    data[tag.end:end].decode(self._encoding, "replace"))
            return
        control = attrs.get("name")
        if not control:
            return
        if name == "select":
            self._select, self._select_disabled = control, "disabled" in attrs
            offered.option_none(control)
        elif name == "input":
            if "disabled" in attrs:
                offered.disabled(control, attrs.get("type", "").lower())
                return
            offered.input(control, attrs.get("type", "").lower(), attrs.get("value"))
        elif name == "textarea":
            offered.unknown(control)
        elif _submits(name, attrs):  # a submit <button>
            offered.submit_button(control, attrs.get("value"))

    def _aspnet_references(self, name: str, attrs: Mapping[str, str]) -> None:
        """Register the postback pairs of the references ASP.NET rendered in a tag's
        ``href``, ``onclick`` or ``onchange`` (``aspnet.markup``), on the post form open
        where it is: the pairs the page visibly offers, as ``data-postback`` ones."""
        if not _SCRIPTED.intersection(attrs):
            return  # (a formaction button, an id: returned for another reason)
        found = references(name, attrs)
        form = self._open
        if not found:
            return
        if form is None:  # (ASP.NET renders them inside its one form only)
            self._stray_events = True
            return
        batch: Pairs = {}
        for reference in found:
            arguments = batch.setdefault(reference.target, [])
            if reference.posts_event and reference.argument not in arguments:
                arguments.append(reference.argument)
            if reference.action_url:  # PostBackUrl: the form goes there, like a formaction
                form.submitters.append(Submitter(reference.action_url, None, None, tag=name,
                                                 submit=True, cross_page=True))
        form.add_pairs({target: arguments for target, arguments in batch.items() if arguments})

    def _read_noscript(self, content: bytes, *, final: bool) -> bool:
        """Read on in a ``<noscript>``'s content as markup (see ``_noscript``): note its
        ``<base>`` elements and submit buttons. Returns whether it had any."""
        assert self._noscript is not None
        # (what its scan left undecided, a tag still open, is added to in place, as _kept:
        # a long tag in a <noscript> costs no copy of it per piece)
        data = self._noscript_kept
        if data:
            data += content
        else:
            data = content
        found, decided = self._noscript.scan(data, final=final)
        if decided == len(data):
            self._noscript_kept = b""
        elif isinstance(data, bytearray):
            del data[:decided]  # (after a tag that ended: a few bytes, at most the piece's)
        else:
            self._noscript_kept = bytearray(data[decided:])
        redirects = False
        for tag in found:
            if not isinstance(tag, Tag) or tag.name == "head":
                continue
            if tag.name == "form":  # (the parser's form element pointer, scripting off)
                if tag.is_end:  # it clears it, and ends the form open around the <noscript>
                    self._noscript_pointer, self._hidden_form = False, None
                    self._form_ended_in_noscript("a </form> inside a <noscript> ends it")
                elif not self._noscript_pointer:
                    self._noscript_pointer, self._hidden_form = True, (
                        "a <form> left open inside a <noscript> before it: with scripting off,"
                        " browsers put this form's fields in that one")
                continue
            if tag.is_end:
                continue
            if tag.name == "noscript":  # (its content is text to this scanner: not read)
                self._blind = "a <noscript> inside a <noscript> may hide a <base> or a button"
                # (or a <form> left open, or a </form>: see _hidden_form)
                self._noscript_pointer, self._hidden_form = True, (
                    "a <noscript> inside a <noscript> before it may leave a <form> open, which"
                    " with scripting off takes this form's fields")
                self._form_ended_in_noscript("a <noscript> inside a <noscript> may end it")
                redirects = True
            elif tag.name == "base":
                redirects |= self._base(tag.attrs)
            else:
                redirects |= self._submitter(tag.name, tag.attrs, self._open)
        return redirects

    def _form_ended_in_noscript(self, why: str) -> None:
        """With scripting off, the post form open may end inside a <noscript>: its tokens
        written after that (at its end, when its start came in an earlier piece or this piece
        is not the last) would be in no form, or in a form started after: withheld."""
        if self._open is not None and self._open.unread is None:
            self._open.unread = (f"{why} early with scripting off (its tokens could join"
                                 " another form)")

    def _base(self, attrs: Mapping[str, str]) -> bool:
        """Note a ``<base href>`` (the browser uses the first; any one counts here), each
        distinct one once, past MAX_BASES as "too many". Returns whether it had an href."""
        href = attrs.get("href")
        if href is None:
            return False
        base = base_url(href, self._page_url)
        if base not in self._bases and not self._too_many_bases:  # (each once: see _leaves)
            if len(self._bases) < MAX_BASES:
                self._bases.append(base)
            else:
                self._too_many_bases = True
        return True

    def _submitter(self, name: str, attrs: Mapping[str, str], form: PostForm | None) -> bool:
        """Note a control that may send a form elsewhere (a submit button that sets formaction
        or formmethod, an element with an htmx request that sends its form): on ``form``, the
        one open where it is, and on the form its ``form="ID"`` names. Returns whether it
        names one."""
        if "formaction" not in attrs and "formmethod" not in attrs \
                and REQUEST_NAMES.isdisjoint(attrs):
            return False  # (a control with a form="ID" and nothing else)
        submits = _submits(name, attrs)
        formaction = attrs.get("formaction") if submits else None
        formmethod = attrs.get("formmethod") if submits else None
        # (a GET sends the element's own value only, not its form's, unless it includes more:
        # hx-include="closest form" puts the form's fields, tokens too, in the URL)
        includes = "hx-include" in attrs or "data-hx-include" in attrs
        hx = tuple(request for request in hx_requests(attrs)
                   if request[0] != "get" or includes)
        if hx:
            self._htmx_seen = True
        elif formaction is None and formmethod is None:
            return False
        params = hx_params(attrs) if hx else None
        named = attrs.get("form")
        if form is None and not named and submits and not self._inside_form and (
                formaction is not None or formmethod is not None):
            return self._stray_submitter(Submitter(formaction, formmethod, None, (), None,
                                                   name, submit=True, after_end=True))
        if form is not None:
            # (with a form="ID", it belongs to that form instead: counted for both, in doubt)
            form.submitters.append(Submitter(formaction, formmethod, None, hx, params, name,
                                             names_other=named is not None, submit=submits))
        if not named:
            return False
        group = self._named.get(named.lower())
        if group is None:
            group = self._named[named.lower()] = _Named()
        sender = Submitter(formaction, formmethod, named, hx, params, name, submit=submits)
        if sender not in group.senders:  # (one like it does the same to the form)
            group.senders[sender] = None
            if group.hx_post is None and sender.submit and sender.hx_post() is not None:
                group.hx_post = sender
            self._grown.add(named.lower())
        return True

    def _stray_submitter(self, sender: Submitter) -> bool:
        """A submit button that sets formaction or formmethod where no form is open and that
        names none by form="ID": in a page whose forms nest as written it has no form owner
        and does nothing, but a form's </form> before the end of an element opened inside it
        (``<div></form>``, a table cell's, an ``<object>``'s) only takes the form off the
        parser's stack: the element stays in the form, and a button in it later submits
        the form. The scanner tracks no element but forms, so such a button counts for
        every post form before it (when its submission could leave: see _doubts). Returns
        whether anything changed for them (forms already sent are checked again)."""
        if not self._count:
            return False  # (no post form before it)
        strays = self._strays
        if strays is None:
            strays = self._strays = _Named()
        if sender not in strays.senders:
            if len(strays.senders) >= MAX_STRAYS:  # (no page needs them: all in doubt)
                self._blind = (f"the page has more than {MAX_STRAYS} distinct submit buttons"
                               " with a formaction or formmethod after a form's end")
            else:
                strays.senders[sender] = None
        self._strays_upto = self._count
        return True

    def _ready_htmx(self) -> None:
        """Where the bytes the next :meth:`_apply` gets start (the page's scanner decided
        there), put the second scanner in the page's scanner's state, if it can read on from
        there as that one does (see :meth:`_read_htmx`): the scanner and the engine's method
        that does it are made once a page, then called for each piece until htmx shows."""
        restart = self._htmx_restart
        if restart is None:
            self._htmx_ready = TagScanner(encoding=self._encoding, names=(),
                                          attr_hints=_HTMX_HINTS)
            restart = self._htmx_restart = self._scanner.restarter(self._htmx_ready)
        self._htmx_can_start = restart()

    def _read_htmx(
        self,
        whole: bytes | bytearray,
        decided: int,
        final: bool,
        at_start: bool,
        tags: list[_Item],
        open_at_start: PostForm | None,
        begun: list[PostForm],
    ) -> bool:
        """On a page that uses htmx, read this piece again for the hx-* attributes of every
        element (the injector's scanner returns only the tags it knows): note each element
        with an htmx request on the form open where it is. The second scanner reads the page
        from its start; on a streamed page that shows htmx only after its first piece, from
        the piece where it did, in the state the page's scanner had there (see
        :meth:`_ready_htmx`, ``PostbackScanner.restart_into``). The pieces before it went out
        unread for hx-* (logged once a path), so a form open where it starts, whose tokens are
        written from there on, gets none (``PostForm.unread``); where it cannot start (that
        piece starts in a script, a comment, an ``<svg>`` or a ``<select>``), neither does any
        form whose tokens are written from then on (see :meth:`_doubts`). Returns whether an
        element named a form by form="ID"."""
        if self._htmx is None:
            if final and at_start and not self._forms:
                return False  # (a whole page without a post form: nothing to read it for)
            if at_start:
                self._htmx = TagScanner(encoding=self._encoding, names=(),
                                        attr_hints=_HTMX_HINTS)
            else:
                path = urlsplit(self._page_url).path
                _log_once(path, "htmx-late", "%r is streamed and shows that it uses htmx only "
                          "after its first piece: the hx-* attributes of the elements before "
                          "that piece are not read (load htmx in the <head>)", path)
                if not self._htmx_can_start or self._htmx_ready is None:
                    self._htmx_late, self._htmx_unread = True, (
                        "the page is streamed and shows that it uses htmx only in a piece that"
                        " starts where the hx-* attributes of its elements cannot be read "
                        "(load htmx in the <head>)")
                    return False
                self._htmx = self._htmx_ready
                if open_at_start is not None:  # (its tokens are written from here on)
                    open_at_start.unread = (
                        "it began in a piece sent before the page showed that it uses htmx, "
                        "whose hx-* attributes were not read (load htmx in the <head>)")
        found, done = self._htmx.scan(whole, final=final)
        if done != decided:  # (the same tokenizer on the same bytes: never seen)
            self._htmx, self._htmx_late = None, True
            self._htmx_unread = "the hx-* attributes of the page's elements could not be read"
            log.warning("the htmx scanner lost its place in %r: hx-* attributes not read",
                        urlsplit(self._page_url).path)
            return False
        found = [tag for tag in found if not tag.is_end and tag.name != "form"
                 and not REQUEST_NAMES.isdisjoint(tag.attrs)]
        if not found:
            return False
        # (a tag the injector's scanner returned too was noted already, but for those its
        # own branches take: a <script>, <noscript> or <base> with hx-* is one too)
        read = {tag.start for tag in tags
                if isinstance(tag, Tag) and tag.name not in _OWN_BRANCHES}
        # The post forms open in this piece, in order, from where: the one open at its start
        # (from 0), then each that began in it; none after one's end (forms do not nest).
        forms, starts = [open_at_start, *begun], [0, *(form.insert_at for form in begun)]
        redirects = False
        for tag in found:
            if tag.start in read:
                continue
            form = forms[bisect.bisect_right(starts, tag.start) - 1]
            if form is not None and 0 <= form.closed_at <= tag.start:
                form = None  # (after its end)
            redirects |= self._submitter(tag.name, tag.attrs, form)
        return redirects

    @property
    def _page_in_doubt(self) -> bool:
        """Whether the page so far holds something that could send any form elsewhere than
        its action, or by GET, whatever the form holds: a ``<base href>``, a control naming a
        form by ``form="ID"``, a submit button after a form's end (``_strays``), markup the
        injector cannot see (``_blind``), hx-* attributes it could not read. Where it is False
        and the form does not :attr:`~PostForm.asks_more`, :meth:`_doubts` finds nothing: the
        places that judge a form (or a piece's bare forms, in bulk) ask this, in one list."""
        return bool(self._bases or self._named or self._blind or self._htmx_unread
                    or self._strays_upto)

    def _doubts(self, form: PostForm) -> list[str]:
        """Why the page could submit ``form`` elsewhere than its origin, or by GET. (Its URLs
        are resolved once a page each, against each distinct base (see :meth:`_leaves`), and
        the controls naming its id are read once for all the forms of that id (see
        :meth:`_named_doubts`): a form costs what it holds, not the page's bases and
        buttons.)"""
        found: dict[str, None] = {}  # (in order, each once)
        if form.action and self._bases:  # (an empty action is the document's URL, whatever
            for base in self._off_bases(form.action):  # the base)
                found[f"its action {form.action!r} resolved against <base href={base!r}>"
                      " leaves the origin"] = None
            if self._too_many_bases:
                found[f"the page has more than {MAX_BASES} distinct <base href>s: its action"
                      f" {form.action!r} is in doubt"] = None
        if self._blind is not None and (form.action or form.id is not None):
            found[self._blind] = None
        if self._htmx_unread is not None:  # (any form: hx-include can take its fields)
            found[self._htmx_unread] = None
        if form.unread is not None:
            found[form.unread] = None
        leaves = self._leaves
        for verb, url in form.hx:
            if leaves(url):
                found[f"its hx-{verb}={url!r} leaves the origin"] = None
            elif verb in URL_VERBS and not leaves_out(form.hx_params, _TOKEN_FIELDS):
                found[f"its hx-{verb}: htmx sends its fields in the URL of a {verb.upper()}"
                      " request"] = None
        if form.postback_action is not None and leaves(form.postback_action):
            found[f"its data-postback-action {form.postback_action!r} leaves the origin"] = None
        for submitter in form.submitters:
            found.update(dict.fromkeys(submitter.doubts(leaves)))
        if self._strays is not None and form.number <= self._strays_upto:
            doubts = self._named_doubts(self._strays)
            found.update(dict.fromkeys(itertools.islice(doubts, MAX_REASONS)))
            if len(doubts) > MAX_REASONS:
                found[f"and {len(doubts) - MAX_REASONS} more of the submit buttons after its"
                      " end"] = None
        group = self._named.get(form.id) if form.id is not None else None
        if group is not None:
            doubts = self._named_doubts(group)
            found.update(dict.fromkeys(itertools.islice(doubts, MAX_REASONS)))
            if len(doubts) > MAX_REASONS:
                found[f"and {len(doubts) - MAX_REASONS} more of the controls naming it by"
                      f" form={form.id!r}"] = None
        return list(found)

    def _off_bases(self, url: str) -> list[str]:
        """The page's bases (distinct, so far) against which ``url`` leaves the origin: each
        (URL, base) resolved once a page."""
        seen = self._resolved.get(url)
        if seen is None:
            seen = self._resolved[url] = _Resolved(action_path(url, self._page_url) is None)
        bases = self._bases
        if seen.checked < len(bases):
            page_url = self._page_url
            for base in itertools.islice(bases, seen.checked, None):
                if action_path(url, page_url, base) is None:
                    seen.off.append(base)
            seen.checked = len(bases)
        return seen.off

    def _leaves(self, url: str) -> bool:
        """:func:`leaves_origin` of ``url`` against the page and its bases so far, each
        (URL, base) resolved once a page; any non-empty URL past MAX_BASES bases."""
        off = self._off_bases(url)
        return (self._resolved[url].off_page or bool(off)
                or (self._too_many_bases and bool(_url_text(url))))

    def _bases_state(self) -> tuple[int, bool]:
        """What the doubts of a page's URLs depend on, as it grows: its bases."""
        return len(self._bases), self._too_many_bases

    def _page_state(self) -> tuple[int, bool, bool, bool, int]:
        """What every form's doubts depend on, beyond what it holds and the controls naming
        its id: the bases, and why the page may hold what the injector cannot read."""
        return (len(self._bases), self._too_many_bases, self._blind is not None,
                self._htmx_unread is not None,
                0 if self._strays is None else len(self._strays.senders))

    def _named_doubts(self, group: _Named) -> dict[str, None]:
        """Why the controls of ``group`` could send a form of their id elsewhere: read anew
        when the page's bases changed since (at most MAX_BASES + 1 times a page), else only
        the controls that came since."""
        state = self._bases_state()
        if group.state != state:
            group.doubts, group.read, group.state = {}, 0, state
        if group.read < len(group.senders):
            leaves = self._leaves
            for sender in itertools.islice(group.senders, group.read, None):
                group.doubts.update(dict.fromkeys(sender.doubts(leaves)))
            group.read = len(group.senders)
        return group.doubts

    def _bind(self, form: PostForm) -> None:
        """Bind ``form``'s tokens to the path its requests go to (no doubt is left: every URL
        below stays on the origin): its data-postback-action, else its hx-post, else the
        hx-post of its first submit button that has one (htmx cancels that button's native
        submission: its request is the form's submission), else its action."""
        base = self._bases[0] if self._bases else None  # (the browser's base: the first)
        chosen: tuple[str, str] | None = None
        if form.postback_action is not None:
            chosen = (form.postback_action, "its data-postback-action")
        elif (own := hx_post(form.hx)) is not None:
            chosen = (own, "its hx-post")
        else:
            group = self._named.get(form.id) if form.id is not None else None
            named = () if group is None or group.hx_post is None else (group.hx_post,)
            for sender in (*form.submitters, *named):  # (those naming it: the first's)
                url = sender.hx_post()
                if url is not None and sender.submit and not sender.names_other:
                    chosen = (url, f"the hx-post of a submit <{sender.tag}>")
                    break
        if chosen is not None:
            path = action_path(chosen[0], self._page_url, base)
            if path is not None:
                form.action_path, form.bound_by = path, chosen[1]
                return
        if form.action and base is not None:  # bound to where the browser will post it
            form.action_path = action_path(form.action, self._page_url, base) or form.action_path

    def _reserved(self) -> tuple[str, ...]:
        """The reserved fields a form's requests carry (hx-params may leave them out)."""
        return (*_TOP_FIELDS, *_TOKEN_FIELDS,
                *(_CLIENT_FIELDS if self._client_fields is not None else ()))

    def _bind_other_paths(self, form: PostForm) -> list[str]:
        """Bind ``form``'s tokens also to the other same-origin paths the page posts it to
        (``extra_paths``: formaction buttons, hx-posts, the action the client script uses), and
        return the requests with them that will still be refused: past MAX_EXTRA_PATHS, or by
        PUT, PATCH or DELETE. (The controls naming its id are read once for all the forms of
        that id, each distinct path once: see :meth:`_named_paths`.)"""
        page_url, bound = self._page_url, form.action_path
        base = self._bases[0] if self._bases else None
        reserved = self._reserved()
        found: dict[str, None] = {}

        def other_path(what: str, path: str | None) -> None:
            # Another same-origin path the page posts the form to: bound to it as well.
            if path is None:
                found[f"{what} (off the origin)"] = None
            elif path != bound and path not in form.extra_paths:
                if len(form.extra_paths) < MAX_EXTRA_PATHS:
                    form.extra_paths.append(path)
                else:  # (a token lists a few paths, not a grid's worth)
                    found[f"{what} (to {path!r}: past the {MAX_EXTRA_PATHS} paths a form's"
                          " tokens may list)"] = None

        def other(what: str, url: str) -> None:
            other_path(what, action_path(url, page_url, base))

        # (a request whose hx-params leaves every reserved field out is a plain one: not ours)
        if not leaves_out(form.hx_params, reserved):
            for verb, url in form.hx:
                if verb == "post":
                    other("its hx-post", url)
                elif verb in ("put", "patch"):
                    found[f"its hx-{verb} (reserved fields are refused in a {verb.upper()}"
                          " body: the client script leaves them out, as hx-params can)"] = None
        htmx_bound = form.bound_by != "its action"
        for sender in form.submitters:
            if sender.names_other:
                continue  # (it sends the form it names)
            for what, url in _other_requests(sender, reserved, found):
                other(what, url)
        group = self._named.get(form.id) if form.id is not None else None
        if group is not None:
            paths, refused = self._named_paths(group)
            left = len(paths)
            for path, what in paths.items():  # (each path once: its first request's)
                if len(form.extra_paths) >= MAX_EXTRA_PATHS and len(found) >= MAX_REASONS:
                    found[f"and up to {left} more requests of the controls naming it by"
                          f" form={form.id!r}"] = None  # (they change nothing: listed no more)
                    break
                other_path(what, path)
                left -= 1
            found.update(dict.fromkeys(itertools.islice(refused, MAX_REASONS)))
            if len(refused) > MAX_REASONS:
                found[f"and {len(refused) - MAX_REASONS} more requests of the controls naming"
                      f" it by form={form.id!r}"] = None
        if htmx_bound and (form.family is not None or form.compact_pairs[0] or form.callbacks):
            other("the postbacks and callbacks the client script sends itself (data-postback"
                  " links, data-autopostback, __doPostBack, WebForm_DoCallback), which go to its"
                  " action", form.action)
        return list(found)

    def _named_paths(self, group: _Named) -> tuple[dict[str | None, str], dict[str, None]]:
        """What :meth:`_bind_other_paths` reads of the controls of ``group``, for any form of
        their id: each distinct path they post it to (against the page's first base) with
        what posts there first, and their requests refused whatever the form. Read once (anew
        if the first base came since), then only the controls that came since."""
        base = self._bases[0] if self._bases else None
        if group.base != base:
            group.paths, group.refused, group.paths_read, group.base = {}, {}, 0, base
        if group.paths_read < len(group.senders):
            reserved, page_url = self._reserved(), self._page_url
            for sender in itertools.islice(group.senders, group.paths_read, None):
                for what, url in _other_requests(sender, reserved, group.refused):
                    group.paths.setdefault(action_path(url, page_url, base), what)
            group.paths_read = len(group.senders)
        return group.paths, group.refused

    def _check_sent(self) -> None:
        """Forms whose tokens left in an earlier piece, checked against what came since: all of
        them when the page's bases (or what it may hide) changed, which happens at most
        MAX_BASES + 3 times a page; else those whose id a control named since. Each is said
        to be late once (its tokens are gone: more reasons change nothing)."""
        grown, self._grown = self._grown, set()
        state = self._page_state()
        if state != self._checked:
            self._checked = state
            late = [form for form in self._sent if not form.late]
        else:
            late = []
            for form_id in grown:  # (only the controls naming it changed for a form of it)
                group = self._named[form_id]
                if form_id in self._sent_by_id and self._named_doubts(group):
                    late += self._sent_by_id.pop(form_id)  # (no form of it is sent from now
                    # on: the doubts of a control stay)
        for form in late:
            if form.late:
                continue
            doubts = tuple(self._doubts(form))
            if doubts:
                form.late = doubts
                log.warning(
                    "%s: its tokens were sent in an earlier piece of this streamed page, and now"
                    " %s; they cannot be taken back", form.describe(), _said(doubts))

    def _prepare(self, form: PostForm, names: tuple[str, ...]) -> tuple[str, ...]:
        """The hidden inputs of ``names`` (which hold its tokens) that ``form`` gets in this
        piece: its tokens withheld when the page could send them elsewhere (its other fields
        written all the same), else bound to where its requests go, and its choices
        gathered."""
        # (most pages have no <base>, no button that sets formaction or formmethod, and no
        # htmx or data-postback-action)
        doubts = self._doubts(form) if self._page_in_doubt or form.asks_more else ()
        if doubts:  # when in doubt, withhold
            form.withheld = tuple(doubts)
            log.warning("%s gets no tokens, so its postbacks are refused: %s",
                        form.describe(), _said(doubts))
            return tuple(name for name in names if name not in _TOKEN_FIELDS)
        if self._bases or form.submitters or self._named or form.hx \
                or form.postback_action is not None:
            self._bind(form)  # bound to where the browser will post it
            refused = self._bind_other_paths(form)
            if refused:
                log.warning(
                    "%s: its tokens are bound to that path (by %s), so the page's other"
                    " requests with them are refused: %s; give them one path, or choose"
                    " it with data-postback-action", form.describe(), form.bound_by,
                    _said(refused))
        if self._choices:  # (see choices.Choices.others)
            if form.choice_log is None:
                form.choice_log = Choices(self._page_choices)
            if not form.choice_log.others():  # (too many to list: fail closed)
                form.withheld = (f"the names its page's other forms check with validate_choices"
                                 f" are more than its token holds ({MAX_OTHERS_SIZE} bytes)",)
                log.warning("%s gets no tokens, so its postbacks are refused: %s (give"
                            " the rows' selects one name, or leave validate_choices off)",
                            form.describe(), form.withheld[0])
                return tuple(name for name in names if name not in _TOKEN_FIELDS)
        return names

    def _fields(self, form: PostForm, names: tuple[str, ...]) -> bytes:
        """The hidden inputs ``names`` of ``form`` (ids on the first form, when unique): its
        tokens as signed for this piece (see _apply)."""
        written = form.written
        if names is _ALL_FIELDS and self._client_fields is None and (
                self._fragment or form is not (self._ids_on or self._id_form())):
            # (most forms of a page of many: no ids, no scroll fields; and the forms that
            # share a page token share their __VIEWSTATE input, made once)
            viewstate, validation = written[f.VIEWSTATE], written[f.EVENTVALIDATION]
            written[f.EVENTTARGET] = written[f.EVENTARGUMENT] = ""
            start = self._inputs_before_validation(viewstate)
            if validation and _as_it_is(validation):  # (a token: as hidden_input writes it)
                return start + validation.encode("ascii") + _INPUT_END
            return b"".join((start[:-len(_EV_START)],
                             hidden_input(f.EVENTVALIDATION, validation, with_id=False)))
        values = {f.EVENTTARGET: "", f.EVENTARGUMENT: ""}
        if f.VIEWSTATE in names:
            values[f.VIEWSTATE] = written[f.VIEWSTATE]
            values[f.EVENTVALIDATION] = written[f.EVENTVALIDATION]
        if self._client_fields is not None and f.EVENTTARGET in names:
            names = (*names, *_CLIENT_FIELDS)
            values.update((name, self._client_fields.get(name, "")) for name in _CLIENT_FIELDS)
        written.update(values)  # (what it holds and names do not is empty: left out)
        if form is self._id_form() and not self._fragment:
            taken = self._taken_ids
            return b"".join([hidden_input(name, values[name], with_id=name not in taken)
                             for name in names])
        return b"".join([hidden_input(name, values[name], with_id=False) for name in names])

    def _inputs_before_validation(self, viewstate: str) -> bytes:
        """A form's inputs (without ids) up to its event validation's value: the same for
        every form that shares ``viewstate`` (a page token), made once for them."""
        if self._shared_input[0] != viewstate:
            self._shared_input = (viewstate, b"".join((
                _TOP_INPUTS, hidden_input(f.VIEWSTATE, viewstate, with_id=False), _EV_START)))
        return self._shared_input[1]

    def _id_form(self) -> PostForm:
        """The form whose fields carry ids (they must be unique): the page's WebForms form
        (the first that held ASP.NET's own fields, whose ids scripts look up: Microsoft's AJAX
        client updates fields by id), else the first post form; fixed once ids are written."""
        if self._ids_on is None:
            self._ids_on = next((form for form in self._forms if form.took_over),
                                self._forms[0])
        return self._ids_on


_EXPLAINED = Once()  # (path, what): said already
# (path, what its bytes showed): a page without post forms read whole
_READ_WHOLE = Once()
# The most places where a post form may start that FieldInjector.edit finds to be text (a
# page of JavaScript templates), before it scans the rest of the page in one call (and
# FieldInjector._feed_ahead stops reading ahead).
_MOST_FALSE_STARTS = 8
# The most bytes _feed_ahead sends before the scanner reads them (then it reads them).
_MOST_UNREAD = 1 << 20


def _said(reasons: Sequence[str]) -> str:
    """``reasons`` as a warning lists them: the first MAX_REASONS, then how many more."""
    if len(reasons) <= MAX_REASONS:
        return "; ".join(reasons)
    return "; ".join((*reasons[:MAX_REASONS], f"and {len(reasons) - MAX_REASONS} more"))


def _other_requests(sender: Submitter, reserved: tuple[str, ...],
                    refused: dict[str, None]) -> list[tuple[str, str]]:
    """The requests of ``sender`` that post its form to a URL, as (what, URL) (see
    FieldInjector._bind_other_paths); its requests that are refused whatever the path go
    into ``refused``."""
    found = []
    if sender.hx and not leaves_out(sender.hx_params, reserved):
        for verb, url in sender.hx:
            if verb == "post":
                found.append((f"the hx-post of a <{sender.tag}>", url))
            else:
                refused[f"the hx-{verb} of a <{sender.tag}> (reserved fields are refused in"
                        f" a {verb.upper()} request: the client script leaves them out, as"
                        " hx-params can)"] = None
    if sender.formaction is not None and sender.submit and (
            sender.formmethod is None or sender.formmethod.lower() == "post"):
        found.append(("a submit button's formaction", sender.formaction))
    return found


def _cut_word(data: bytes) -> bytes:
    """The bytes at the end of ``data`` that may begin a ``<form`` or a ``postback`` (ASCII
    case-insensitive) that the next piece ends, which _feed_ahead holds back for it (most
    pieces end on ">" or a newline: none)."""
    if not data or data[-1] not in _WORD_BYTES:
        return b""
    cut = _CUT_WORD.search(data, max(0, len(data) - 7))
    return b"" if cut is None else data[cut.start():]


_WORD_BYTES = frozenset(b"<forpstbacFORPSTBAC")  # (what ends such a beginning)
# the first bytes of "<form" or "postback", up to all but the last, at the end
_CUT_WORD = re.compile(rb"(?:<(?:f(?:o(?:r)?)?)?|p(?:o(?:s(?:t(?:b(?:a(?:c)?)?)?)?)?)?)\Z",
                       re.IGNORECASE)


def _script_at(head_end: int | None, form_start: int, sent: int) -> int:
    """Where the client script goes: before the ``</head>`` of the piece of the page's first
    post form, else before that form (the head came in an earlier piece, or was sent ahead:
    before ``sent``; see FieldInjector._feed_ahead)."""
    return head_end if head_end is not None and head_end >= sent else form_start


def _read_whole(page_url: str, seen: int) -> bool:
    """Whether a page at ``page_url`` without post forms, whose bytes showed ``seen`` (see
    ``html_scan.find_post_form``), is to be read whole: the first such page of a path (what
    the injector says of it is said once a path: see _log_once), where what it says is
    logged (INFO): else a site of more pages than the memo holds, or a crawler, would have
    each new path's page read whole for nothing."""
    return log.isEnabledFor(logging.INFO) and _READ_WHOLE.first((urlsplit(page_url).path, seen))


def _log_once(path: str, what: str, message: str, *args: object) -> None:
    if _EXPLAINED.first((path, what)):
        log.info(message, *args)


def _submits(name: str, attrs: Mapping[str, str]) -> bool:
    """Whether the element is a submit button (the only place ``formaction`` matters).

    ``type`` is matched as HTML does (ASCII case-insensitive, not trimmed); a button's missing
    or unknown type means submit.
    """
    kind = attrs.get("type", "").lower()
    if name == "button":
        return kind not in ("button", "reset")
    return name == "input" and kind in ("submit", "image")



def _aspnet_field(attrs: Mapping[str, str]) -> bool:
    """Whether an input is one of ASP.NET's own hidden fields, which the injector takes over
    (see the module's docstring): ``type="hidden"``, named exactly as a reserved field."""
    return attrs.get("name") in _TAKEN_OVER and attrs.get("type", "").lower() == "hidden"


def _counts_for_nothing(text: bytes, names: Collection[str], encoding: str, *,
                        removed: bool) -> bool:
    """Whether bytes inserted inside panels of ``names`` (or ``removed`` from them) leave each
    panel's count of elements of its name as it was after them, and (inserted) never bring it
    lower on the way: then each panel ends on the same end tag (see
    :meth:`FieldInjector._keep_panel_tags`)."""
    lowest: dict[str, int] = {}
    depth: dict[str, int] = {}
    for tag in TagScanner(encoding=encoding, names=names).scan(text, final=True)[0]:
        delta = -1 if tag.is_end else (0 if closes_itself(tag) else 1)
        if delta and removed:
            return False
        depth[tag.name] = depth.get(tag.name, 0) + delta
        lowest[tag.name] = min(lowest.get(tag.name, 0), depth[tag.name])
    return not any(depth.values()) and not any(lowest.values())


def splice(
    document: bytes,
    insertions: list[tuple[int, bytes]],
    removals: Sequence[tuple[int, int]] = (),
) -> bytes:
    """Insert byte strings at offsets (ties keep the order given), and cut out the ``[start,
    end)`` ranges of ``removals``, which never overlap (an insertion at a removal's start
    goes before it).

    Slices are taken through a memoryview, so the page is copied once, into the result.
    """
    view = memoryview(document)
    if not removals and len(insertions) == 1:
        # (most streamed pieces that are edited: one form's fields, or the script tag)
        offset, text = insertions[0]
        return b"".join((view[:offset], text, view[offset:]))
    pieces: list[bytes | memoryview] = []
    cursor = 0
    if not removals:  # (nearly every page)
        for offset, text in sorted(insertions, key=_first):
            pieces.append(view[cursor:offset])
            pieces.append(text)
            cursor = offset
    else:
        edits = [(offset, offset, text) for offset, text in insertions]
        edits += [(start, end, b"") for start, end in removals]
        for start, end, text in sorted(edits, key=lambda item: (item[0], item[1] > item[0])):
            pieces.append(view[cursor:start])
            pieces.append(text)
            cursor = end
    pieces.append(view[cursor:])
    return b"".join(pieces)


def splice_forms(document: bytes, insertions: list[tuple[int, bytes]], offsets: list[int],
                 start: bytes, middle: bytes, tags: bytes, end: bytes, first: int) -> bytes:
    """:func:`splice` of ``insertions`` (in order of offset) and, at each of ``offsets`` (in
    order, after an insertion at the same offset), ``start + str(first + i) + middle + tag +
    end``, where ``tag`` is the ``i``-th of ``tags`` cut in ``len(offsets)`` equal parts
    (b"": none): a piece's bulk-signed forms' fields (see :class:`_BareForms`) written in one
    pass. The compiled scanner's module has a twin of it, used where it is built (property
    tests hold the two equal)."""
    return splice(document, [*insertions, *_forms_fields(offsets, start, middle, tags, end,
                                                         first)])


def _forms_fields(offsets: list[int], start: bytes, middle: bytes, tags: bytes, end: bytes,
                  first: int) -> list[tuple[int, bytes]]:
    """The insertions :func:`splice_forms` writes at ``offsets``, for :func:`splice`."""
    size, rest = divmod(len(tags), len(offsets) or 1)
    if rest or (tags and not offsets):
        raise ValueError("splice_forms: the tags are not one a form, of one size")
    return [(at, b"%b%d%b%b%b" % (start, first + place, middle,
                                  tags[size * place:size * (place + 1)], end))
            for place, at in enumerate(offsets)]


python_splice_forms = splice_forms  # (the reference, whichever one the injector uses)
if _cscan is not None:
    splice_forms = _cscan.splice_forms  # (its compiled twin)

_first = operator.itemgetter(0)
_number = operator.attrgetter("number")
