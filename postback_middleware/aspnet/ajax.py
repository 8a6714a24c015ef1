"""Microsoft's ASP.NET AJAX client (``MicrosoftAjaxWebForms.js``), answered in its delta format.

A page ported from WebForms keeps its ScriptManager's markup: the scripts, the inline
``Sys.WebForms.PageRequestManager._initialize(...)`` call and each UpdatePanel's
``<div id="ClientID">``. Microsoft's client, unchanged, then sends a click inside a panel as an
*async postback* (``X-MicrosoftAjax: Delta=true``, :func:`is_async`; the request side cuts the
ScriptManager field and ``__ASYNCPOST`` out and verifies the postback as any other, see
``middleware``). The app renders its whole page as usual; :func:`answer` is the last stage of the
response pipeline for it, as ``partial.answer`` is for the package's own panels: the app runs
once (``partial.run_app``), its page is edited exactly as a full postback's would be (fresh
tokens, ``response.edit_whole``), and that edited page is read into the answer the client
parses: one scan keeps its few scripts, forms and title; a second reads its ``<div>``,
``<span>`` and ``<input>`` tags as they come (``html_scan.iter_tags``), keeping none, so a page
of a hundred thousand of them takes a few times its size, not an object a tag.

The delta format
----------------
A body of records ``LENGTH|TYPE|ID|CONTENT|`` (:func:`delta`), LENGTH counting the **UTF-16
code units** of CONTENT (.NET's ``string.Length``: the client cuts with ``substr`` on the
response text, PageRequestManager.js ``_parseDelta``); TYPE and ID never hold ``|``, CONTENT
may hold anything. Always HTTP 200 with ``Content-Type: text/plain; charset=utf-8`` and
``Cache-Control: no-cache``: any other status only tells the client "server error N"
(PageRequestManager.js ``_onFormSubmitCompleted``). The app's ``Set-Cookie``,
``Set-Cookie2`` and ``Clear-Site-Data`` are kept (they take effect once, here:
``http.ONCE_HEADERS``); its other headers describe a body that is not sent.

What the app answered, and the answer (PageRequestManager.cs ``RenderPageCallback``,
ScriptModule.cs):

* **its page** (200 HTML): the records, in ASP.NET's order:

  - ``#||4``: the version (4: lists in pairs, ``pageRedirect`` unescaped);
  - one ``updatePanel|ClientID|inner HTML`` per refreshed panel: the content of the panel's
    ``<div id="ClientID">`` (or ``<span>``, an inline panel) in the new page, which ends at
    its matching end tag; a panel nested in a refreshed one travels inside it;
  - ``hiddenField|NAME|VALUE`` for the form's fresh fields: ``__EVENTTARGET`` and
    ``__EVENTARGUMENT`` (empty), then every other reserved field the injector wrote into it
    (``__VIEWSTATE``, ``__EVENTVALIDATION``...), so that the next postback verifies. The form
    is the one the page's ``_initialize`` names; when it got no tokens (withheld: it could
    post elsewhere), never another form's are sent: its ``__VIEWSTATE`` and
    ``__EVENTVALIDATION`` are sent empty, so the client does not keep the old ones in a form
    that the new page may send elsewhere;
  - the five lists the client replaces its own with (only when all five come):
    ``asyncPostBackControlIDs``, ``postBackControlIDs`` (``UniqueID,ClientID`` pairs, the
    ClientID empty when derived), ``updatePanelIDs`` (``tUniqueID,ClientID``: ``t``/``f``
    ChildrenAsTriggers), ``childUpdatePanelIDs`` (UniqueIDs of the panels inside refreshed
    ones), ``panelsToRefreshIDs`` (pairs), all read from the new page's ``_initialize``;
  - ``asyncPostBackTimeout`` (seconds, from the same call); ``formAction`` (the form's
    ``action`` attribute as the page has it, when it has one); ``pageTitle`` (the text of the
    first ``<title>``, decoded and with its whitespace collapsed as ``document.title`` reads
    it; left out when empty, as ASP.NET leaves it out);
  - one ``scriptBlock`` per ``<script>`` element inside a refreshed panel, in document order:
    ``scriptBlock|ScriptContentNoTags|<its text>`` for an inline one,
    ``scriptBlock|ScriptPath|<src>`` for an include (which the client loads only if the page
    has no script of that ``src`` yet, so an include runs once per page, as a registered
    include did in ASP.NET). The client sets the panel with ``innerHTML``, which never runs a
    script; these records make them run as they did on the first load. Only scripts the
    browser itself ran are sent: not those of another ``type`` (``module``, a template, JSON)
    or language, ``nomodule`` or ``for``/``event`` ones, none inside a ``<template>``, SVG or
    MathML, and never the ``_initialize`` script.

* **a redirect** (3xx with ``Location``): :func:`redirect_body`, ``#||4`` then
  ``pageRedirect||<location>``: an http(s) or scheme-relative location as written, a relative
  one resolved against the page's path (the client resolves it against its own origin: never
  a host or scheme the server only believed the request had). The client goes there with
  ``window.location``, which would *run* a ``javascript:`` location: any other scheme is an
  ``error`` record (a browser never follows such a redirect after a full postback).
* **anything else** (an error status, a file, JSON, a 204, an HTML page sent as a download
  or under a CSP ``sandbox``: ``http.kept_apart``...): :func:`error_body`, only
  ``error|<status code>|<reason phrase>`` (with HTTP 200, so that the page's ``endRequest``
  handlers get a ``PageRequestManagerServerErrorException`` with it, as from ASP.NET). The
  app's body is closed unread past its first piece and never sent: a file download from
  inside an UpdatePanel did not work in ASP.NET either (make that button a postback
  trigger: a ``PostBackTrigger`` is in the page's ``_initialize`` call, and the client then
  does a full postback).

Which panels are refreshed
--------------------------
The client names them in the ScriptManager field, ``UpdatePanel1,UpdatePanel2|LinkButton1``:
the UniqueIDs before the ``|`` (the middleware hands that value over as ``manager_value``).
When that part is the ScriptManager's own UniqueID, no panel is named (an async trigger
outside any panel, or a panel whose ChildrenAsTriggers is false): then every panel of the page
is refreshed. ASP.NET would also refresh the panels whose ``UpdateMode`` is ``Always``, or
those the code-behind ``Update()``\\s; neither is in the markup, so here a named panel is
refreshed alone, and a postback that names none refreshes them all. To refresh more panels
from inside one, name them in the client (``beginAsyncPostBack([...])``) or put them inside
one panel.

When the answer cannot be panels: the page has no ``_initialize`` call this module reads
(:func:`read_setup`), a named panel is not in it, or a panel to refresh has no element in the
new page, the answer is ``pageRedirect`` to the page's own path: the postback was processed, and
the browser then loads the page by GET, as after a full postback that redirected. (State the
app keeps only in the view state is not in that GET; the app's session and database are.)

The ``_initialize`` call
------------------------
:func:`read_setup` reads the call exactly as ASP.NET renders it (PageRequestManager.cs
``RenderPageRequestManagerScript``) in an inline ``<script>``::

    <script type="text/javascript">
    //<![CDATA[
    Sys.WebForms.PageRequestManager._initialize('ctl00$ScriptManager1', 'aspnetForm',
        ['tctl00$MainContent$UpdatePanel1',''], [], ['ctl00$MainContent$Export',''], 90,
        'ctl00');
    //]]>
    </script>

(one line in a page): the script manager's UniqueID, the form's ClientID, the panels as
``'t'``/``'f'`` + UniqueID then ClientID (``''``: derived, every ``$`` made ``_``), the async
and the postback triggers as UniqueID then ClientID, the timeout in seconds, the root master
page's UniqueID. Whitespace between the tokens is JavaScript's and may differ; everything else
must be exactly that: the CDATA comment lines, single-quoted IDs made of word characters and
``$`` only, the trailing ``;``, nothing else in the script. Anything else, or two such calls
(the client throws on the second), reads as no setup: never evaluated, never guessed. The
tokens are :mod:`.markup`'s (``_lex``, ``_value``).

Not supported
-------------
What the page's markup cannot say: ``UpdateMode``, ``Update()``, ``RegisterDataItem``
(``dataItem``), ``SetFocus`` (``focus``), the ``ScriptManager.Register*`` calls of a
code-behind (``arrayDeclaration``, ``expando``, ``onSubmit``, ``scriptDispose``,
``scriptStartupBlock``): a script that must run after an update goes inside the panel, or in a
``pageLoaded``/``endRequest`` handler of the page. Records are built from the whole page, so
the app renders all of it, as a full postback's; the response is not streamed. Only the form
named by ``_initialize`` gets fresh fields (a WebForms page has one server form); a reserved
field the injector left empty is not sent, so the client keeps its old value.
"""

from __future__ import annotations

import bisect
import html
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin, urlsplit

from .. import fields as f
from ..errors import InvalidArgument
from ..html_scan import Tag, TagScanner, closes_itself, iter_tags
from ..http import ONCE_HEADERS, Headers, header, is_number, kept_apart
from ..partial import end_tag, run_app
from ..response import BoundHeaders, EditorFactory, WholePage, edit_whole, opted_out
from .markup import _lex, _Token, _value

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["ASYNC_HEADER", "Panel", "Setup", "Trigger", "answer", "delta", "error_body",
           "is_async", "read_setup", "redirect_body"]

log = logging.getLogger("postback_middleware")

ASYNC_HEADER = "HTTP_X_MICROSOFTAJAX"
_DELTA_TRUE = "Delta=true"
VERSION = "4"  # the delta format's version (PageRequestManager.cs UpdatePanelVersionNumber)
_SEPARATOR = "|"

# read_setup's limits: a script longer than this, or with more tokens, is not read.
MAX_SETUP_SCRIPT = 1 << 20
MAX_SETUP_TOKENS = 1 << 16
# An ID as ASP.NET writes it: a control's ID is an identifier, a UniqueID joins IDs with "$".
_ID = re.compile(r"[\w$]+\Z")
_TIMEOUT = re.compile(r"(?:0|[1-9][0-9]{0,8})\Z")  # a .NET int, as Int32.ToString writes it
_CDATA_OPEN = "//<![CDATA[\n"
_CDATA_CLOSE = "\n//]]>"
_CALL_HEAD: tuple[_Token, ...] = (
    ("id", "Sys"), ("punct", "."), ("id", "WebForms"), ("punct", "."),
    ("id", "PageRequestManager"), ("punct", "."), ("id", "_initialize"), ("punct", "("),
)
_COMMA: _Token = ("punct", ",")
# The script types a browser runs as a classic script (HTML's JavaScript MIME type essences).
_CLASSIC_TYPES = frozenset(
    {"", "text/javascript", "application/javascript", "application/ecmascript",
     "application/x-ecmascript", "application/x-javascript", "text/ecmascript",
     "text/javascript1.0", "text/javascript1.1", "text/javascript1.2", "text/javascript1.3",
     "text/javascript1.4", "text/javascript1.5", "text/jscript", "text/livescript",
     "text/x-ecmascript", "text/x-javascript"}
)
# The tags the answer reads: scripts, the form, the title (a few a page: one scan, kept)...
_NAMES = ("script", "form", "title", "template", "svg", "math")
# ... and the panels' elements and the form's fields, read as they come (a page may hold a
# hundred thousand: an object each took 29 times the page, see _elements_and_tokens).
_STREAMED_NAMES = ("div", "span", "input")
# Where a <script> is not run as the page's (inert in a <template>, another language's in SVG
# or MathML): scripts inside them are never sent to run.
_INERT = ("template", "svg", "math")
_PANEL_TAGS = frozenset({"div", "span"})
_ASCII_WHITESPACE = re.compile(r"[\t\n\f\r ]+")


def is_async(environ: Mapping[str, object]) -> bool:
    """Whether a request is an async postback of Microsoft's client: an ``X-MicrosoftAjax``
    value, split on commas and trimmed, is exactly ``Delta=true`` (PageRequestManager.cs
    ``IsAsyncPostBackRequest``; a server joins repeated headers with commas)."""
    raw = environ.get(ASYNC_HEADER)
    if not isinstance(raw, str):
        return False
    return any(part.strip() == _DELTA_TRUE for part in raw.split(","))


# -- the page's setup ----------------------------------------------------------------------------


def client_id_of(unique_id: str) -> str:
    """The ClientID the client derives from a UniqueID (PageRequestManager.js
    ``_uniqueIDToClientID``): every ``$`` made ``_``."""
    return unique_id.replace("$", "_")


@dataclass(frozen=True)
class Panel:
    """An UpdatePanel, as ``_initialize`` declares it."""

    unique_id: str
    client_id: str  # its element's id (derived from the UniqueID when the page gives '')
    children_as_triggers: bool

    @property
    def pair(self) -> str:
        """``UniqueID,ClientID`` as the delta lists write it (ClientID empty when derived)."""
        return _pair(self.unique_id, self.client_id)


@dataclass(frozen=True)
class Trigger:
    """A control that posts back asynchronously, or fully, whatever panel it is in."""

    unique_id: str
    client_id: str  # derived when the page gives ''

    @property
    def pair(self) -> str:
        return _pair(self.unique_id, self.client_id)


def _pair(unique_id: str, client_id: str) -> str:
    return f"{unique_id},{'' if client_id == client_id_of(unique_id) else client_id}"


@dataclass(frozen=True)
class Setup:
    """What a page's ``Sys.WebForms.PageRequestManager._initialize(...)`` call declares."""

    manager_id: str  # the ScriptManager's UniqueID (the name of the field the client sends)
    form_id: str  # the ClientID of the form the client posts
    panels: tuple[Panel, ...]
    async_triggers: tuple[Trigger, ...]
    postback_triggers: tuple[Trigger, ...]
    timeout: int  # seconds
    master_page_id: str  # the root master page's UniqueID, or ""

    def panel(self, unique_id: str) -> Panel | None:
        """The first panel of that UniqueID (a dict: a request may name every panel of a page
        with a panel per row)."""
        return self._by_unique_id.get(unique_id)

    @cached_property
    def _by_unique_id(self) -> dict[str, Panel]:
        by_id: dict[str, Panel] = {}
        for panel in self.panels:
            by_id.setdefault(panel.unique_id, panel)
        return by_id


def _string(token: _Token, *, empty: bool) -> str | None:
    """A string token's value when it is an ID as ASP.NET writes one (single-quoted)."""
    value = _value(token) if token[1][:1] == "'" else None
    if value is None or not (_ID.match(value) or (empty and value == "")):
        return None
    return value


def _list(tokens: Sequence[_Token], at: int) -> tuple[list[_Token], int] | None:
    """``[ 'a', 'b', ... ]`` at ``at``: its string tokens, and the index after ``]``."""
    if tokens[at:at + 1] != [("punct", "[")]:
        return None
    at += 1
    items: list[_Token] = []
    if tokens[at:at + 1] == [("punct", "]")]:
        return items, at + 1
    while at < len(tokens):
        if tokens[at][0] != "str":
            return None
        items.append(tokens[at])
        at += 1
        if tokens[at:at + 1] == [("punct", "]")]:
            return items, at + 1
        if tokens[at:at + 1] != [_COMMA]:
            return None
        at += 1
    return None


def _pairs(items: list[_Token]) -> list[tuple[str, str]] | None:
    """A flat list of IDs read as (UniqueID, ClientID or '') pairs."""
    if len(items) % 2:
        return None
    pairs: list[tuple[str, str]] = []
    for unique, client in zip(items[::2], items[1::2], strict=True):
        unique_id, client_id = _string(unique, empty=False), _string(client, empty=True)
        if unique_id is None or client_id is None:
            return None
        pairs.append((unique_id, client_id))
    return pairs


def _triggers(items: list[_Token]) -> tuple[Trigger, ...] | None:
    pairs = _pairs(items)
    if pairs is None:
        return None
    return tuple(Trigger(unique_id, client_id or client_id_of(unique_id))
                 for unique_id, client_id in pairs)


def _panels(items: list[_Token]) -> tuple[Panel, ...] | None:
    """The panels: pairs whose UniqueID is prefixed with ``t`` or ``f`` (ChildrenAsTriggers)."""
    pairs = _pairs(items)
    if pairs is None:
        return None
    panels: list[Panel] = []
    for prefixed, client_id in pairs:
        flag, unique_id = prefixed[:1], prefixed[1:]
        if flag not in ("t", "f") or not _ID.match(unique_id):
            return None
        panels.append(Panel(unique_id, client_id or client_id_of(unique_id), flag == "t"))
    return tuple(panels)


def _parse_call(tokens: list[_Token]) -> Setup | None:
    """The setup of a script that is exactly ASP.NET's ``_initialize`` call."""
    head = len(_CALL_HEAD)
    if tuple(tokens[:head]) != _CALL_HEAD or len(tokens) < head + 4:
        return None
    manager = _string(tokens[head], empty=False)
    form = _string(tokens[head + 2], empty=False)
    if manager is None or form is None or tokens[head + 1] != _COMMA \
            or tokens[head + 3] != _COMMA:
        return None
    at = head + 4
    lists: list[list[_Token]] = []
    for _ in range(3):
        parsed = _list(tokens, at)
        if parsed is None or tokens[parsed[1]:parsed[1] + 1] != [_COMMA]:
            return None
        lists.append(parsed[0])
        at = parsed[1] + 1
    rest = tokens[at:]
    if len(rest) != 5 or rest[0][0] != "num" or not _TIMEOUT.match(rest[0][1]) \
            or rest[1] != _COMMA or rest[3:] != [("punct", ")"), ("punct", ";")]:
        return None
    master = _string(rest[2], empty=True)
    panels, async_triggers, postback_triggers = (
        _panels(lists[0]), _triggers(lists[1]), _triggers(lists[2]))
    if master is None or panels is None or async_triggers is None or postback_triggers is None:
        return None
    return Setup(manager, form, panels, async_triggers, postback_triggers, int(rest[0][1]),
                 master)


def _input_text(raw: bytes, encoding: str) -> str:
    """Text as the HTML input stream reads it: CR LF and CR made LF, NUL made U+FFFD."""
    text = raw.decode(encoding, "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def _setup_script(text: str) -> Setup | None:
    """The setup an inline script's text declares, if it is exactly ASP.NET's script."""
    if "_initialize" not in text or len(text) > MAX_SETUP_SCRIPT:
        return None
    body = text.strip(" \t\n\f")
    if not (body.startswith(_CDATA_OPEN) and body.endswith(_CDATA_CLOSE)):
        return None
    call = body[len(_CDATA_OPEN):len(body) - len(_CDATA_CLOSE)]
    tokens = _lex(call, MAX_SETUP_TOKENS)
    return None if tokens is None else _parse_call(tokens)


def _classic_script(tag: Tag) -> bool:
    """Whether a ``<script>`` start tag is one a browser surely runs as a classic script:
    a JavaScript type, and none of the attributes that make it another language's
    (``language``), an old event binding (``for``, ``event``) or skipped (``nomodule``)."""
    attrs = tag.attrs
    if "nomodule" in attrs or "for" in attrs or "event" in attrs:
        return False
    language = (attrs.get("language") or "").strip().lower()
    if language and not language.startswith("javascript"):
        return False
    kind = attrs.get("type")  # (an essence: with parameters it is not run)
    return kind is None or kind.strip("\t\n\f\r ").lower() in _CLASSIC_TYPES


def _scripts(tags: list[Tag], document: bytes) -> Iterable[tuple[int, bytes]]:
    """Each ``<script>`` element (its start tag's index) with the bytes of its text, but
    those inside a ``<template>``, ``<svg>`` or ``<math>`` (counted by their tags: in doubt,
    a script is left out)."""
    inert = 0
    for index, tag in enumerate(tags[:-1]):
        if tag.name in _INERT:
            if not tag.is_end and not (tag.self_closing and tag.name != "template"):
                inert += 1  # (<template/> opens a template: HTML ignores its slash)
            elif tag.is_end and inert:
                inert -= 1
            continue
        after = tags[index + 1]
        if tag.name == "script" and not tag.is_end and after.is_end and after.name == "script" \
                and not inert:
            yield index, document[tag.end:after.start]


def _find_setup(tags: list[Tag], document: bytes, encoding: str
                ) -> tuple[Setup | None, int]:
    """The page's setup and the index of its script's start tag (-1: none, or two)."""
    found: tuple[Setup, int] | None = None
    for index, raw in _scripts(tags, document):
        tag = tags[index]
        if b"_initialize" not in raw or "src" in tag.attrs or not _classic_script(tag):
            continue
        setup = _setup_script(_input_text(raw, encoding))
        if setup is not None:
            if found is not None:
                return None, -1  # a second call throws in the client: not ASP.NET's page
            found = setup, index
    return found if found is not None else (None, -1)


def _scan(document: bytes, encoding: str) -> list[Tag]:
    return TagScanner(encoding=encoding, names=_NAMES).scan(document, final=True)[0]


def read_setup(document: bytes, encoding: str) -> Setup | None:
    """The setup the page's ``_initialize`` call declares (see the module docstring), or None
    when it has none that reads exactly as ASP.NET writes it. Never raises."""
    try:
        return _find_setup(_scan(document, encoding), document, encoding)[0]
    except Exception:  # hostile input must never break a response
        log.exception("reading the page's _initialize call failed")
        return None


# -- the delta format ----------------------------------------------------------------------------

Record = tuple[str, str, str]  # (type, id, content)


def utf16_length(text: str) -> int:
    """``text``'s length in UTF-16 code units (JavaScript's and .NET's ``length``)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def delta(records: Iterable[Record]) -> str:
    """The records framed as ``LENGTH|TYPE|ID|CONTENT|`` each.

    A TYPE or ID holding ``|`` (or an empty TYPE) is a bug of ours: InvalidArgument. Content
    is any text; once encoded as UTF-8 (:func:`_encode`) a lone surrogate becomes ``?``, one
    code unit for one, so the lengths hold.
    """
    parts: list[str] = []
    for kind, record_id, content in records:
        if not kind or _SEPARATOR in kind or _SEPARATOR in record_id:
            raise InvalidArgument(f"a delta record's type and id must not hold '|': "
                                  f"{kind!r}, {record_id!r}")
        parts.append(f"{utf16_length(content)}|{kind}|{record_id}|{content}|")
    return "".join(parts)


def error_body(code: int, message: str) -> str:
    """ASP.NET's answer to a failed async postback (ScriptModule.cs, PageRequestManager.cs
    ``OnPageError``): the ``error`` record alone, no version."""
    return delta([("error", str(int(code)), message)])


# What HttpUtility.UrlEncode keeps (ScriptModule.cs encodes the redirect location with it).
_URL_ENCODE_SAFE = "-_.!*()"
# An ASCII URL: what stays as it is when non-ASCII characters, controls and spaces are
# percent-encoded (as UTF-8).
_ASCII_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


def redirect_body(location: str) -> str:
    """ASP.NET's answer to a redirected async postback (ScriptModule.cs): the version, then
    ``pageRedirect`` to ``location``.

    The client ``unescape()``\\s the location (a Latin-1 decoder): so the location is first
    made ASCII (non-ASCII characters percent-encoded as UTF-8, the browser's way), then
    encoded as ASP.NET encodes it (``%`` too), and ``unescape()`` gives back that ASCII URL.
    """
    ascii_url = quote(location, safe=_ASCII_URL_SAFE, errors="replace")
    return delta([("#", "", VERSION),
                  ("pageRedirect", "", quote(ascii_url, safe=_URL_ENCODE_SAFE))])


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "replace")


# -- the answer ----------------------------------------------------------------------------------


@dataclass
class _Element:
    """A panel's element in the new page: where its content begins and ends (bytes)."""

    start: int  # of its start tag
    begin: int  # of its content
    end: int  # of its content (where its end tag starts)

    def holds(self, other: _Element) -> bool:
        return self.begin <= other.start < self.end


def _elements_and_tokens(document: bytes, encoding: str, panels: Sequence[Panel],
                         form_span: tuple[int, int] | None
                         ) -> tuple[dict[str, _Element], dict[str, str]]:
    """Each panel's element found in the page (the first of its id, as getElementById), by
    ClientID, a panel whose element is not there, or never ends, left out; and the token
    fields (``__VIEWSTATE``, ``__EVENTVALIDATION``: the first of each name) of the inputs
    whose start tags begin within ``form_span`` (the setup's form's content), if any.

    One pass, whatever the number of panels (a page may have a panel per row), over the
    page's ``<div>``, ``<span>`` and ``<input>`` tags as ``html_scan.iter_tags`` reads them,
    a step of the page at a time: a page of a hundred thousand of them holds no object
    each. Each ``<div>``/``<span>``'s id is looked up in a set, and each start tag's
    matching end tag (``partial.end_tag``: same name, counted with nesting) is found with a
    stack per name rather than by reading on from every panel (nested panels would read the
    page again each)."""
    wanted = {p.client_id for p in panels}
    found: dict[str, _Element] = {}
    open_ids: dict[str, list[str | None]] = {name: [] for name in _PANEL_TAGS}
    tokens: dict[str, str] = {}
    for tag in iter_tags(document, encoding=encoding, names=_STREAMED_NAMES):
        if tag.name == "input":
            if form_span is not None and form_span[0] <= tag.start < form_span[1] \
                    and not tag.is_end:
                name = tag.attrs.get("name")
                if name in _TOKENS and name not in tokens:
                    tokens[name] = tag.attrs.get("value", "")
            continue
        stack = open_ids[tag.name]
        if tag.is_end:
            if stack:
                element_id = stack.pop()
                if element_id is not None:
                    found[element_id].end = tag.start
            continue
        element_id = tag.attrs.get("id")
        if element_id not in wanted or element_id in found:
            element_id = None  # (the first of an id is its element)
        else:
            found[element_id] = _Element(tag.start, tag.end, -1)  # -1 until it ends
        if not closes_itself(tag):
            stack.append(element_id)
    return {key: element for key, element in found.items() if element.end >= 0}, tokens


def _form_span(tags: list[Tag], form_index: int, size: int) -> tuple[int, int] | None:
    """Where the content of the form whose start tag is ``tags[form_index]`` lies (to its
    end tag, or the page's end), or None for no form."""
    if form_index < 0:
        return None
    last = end_tag(tags, form_index)
    return tags[form_index].end, tags[last].start if last is not None else size


def _form_fields(tokens: dict[str, str], fields: list[dict[str, str]]) -> dict[str, str]:
    """The fields the injector wrote into the setup's form, told apart by the ``tokens``
    found in it (its ``__VIEWSTATE`` and ``__EVENTVALIDATION``, which together are unique
    to each form: forms that share a page token share their view state, see
    ``page_tokens``); none when it got no tokens (another form's must never move into it:
    they were withheld from it for a reason)."""
    if not (tokens.get(f.VIEWSTATE) and tokens.get(f.EVENTVALIDATION)):
        return {}
    for written in fields:
        if all(written.get(name) == value for name, value in tokens.items()):
            return written
    return {}


_TOKENS = frozenset({f.VIEWSTATE, f.EVENTVALIDATION})


def _title(tags: list[Tag], document: bytes, encoding: str) -> str:
    """The page's title as ``document.title`` reads it (the first ``<title>``)."""
    for index, tag in enumerate(tags[:-1]):
        after = tags[index + 1]
        if tag.name == "title" and not tag.is_end:
            if not (after.is_end and after.name == "title"):
                return ""
            text = html.unescape(_input_text(document[tag.end:after.start], encoding))
            return _ASCII_WHITESPACE.sub(" ", text).strip(" ")
    return ""


def panel_records(page: WholePage, manager_value: str) -> list[Record] | None:
    """The records answering an async postback with the edited ``page`` (see the module
    docstring), or None when it cannot be panels (no setup, a panel missing)."""
    document, encoding = page.document, page.encoding
    tags = _scan(document, encoding)
    setup, setup_index = _find_setup(tags, document, encoding)
    if setup is None:
        log.info("async postback: the new page has no _initialize call as ASP.NET writes it")
        return None
    named = manager_value.partition("|")[0]
    if named == setup.manager_id:
        requested = list(setup.panels)  # no panel named: all of them
    else:
        requested = []
        for unique_id in dict.fromkeys(named.split(",")):
            panel = setup.panel(unique_id)
            if panel is None:
                log.info("async postback: panel %r is not in the new page", unique_id[:200])
                return None
            requested.append(panel)
    form_index = next((i for i, tag in enumerate(tags)
                       if tag.name == "form" and not tag.is_end
                       and tag.attrs.get("id") == setup.form_id), -1)
    form = tags[form_index] if form_index >= 0 else None
    elements, tokens = _elements_and_tokens(document, encoding, setup.panels,
                                            _form_span(tags, form_index, len(document)))
    missing = [p.client_id for p in requested if p.client_id not in elements]
    if missing:
        log.info("async postback: no element for panel(s) %r in the new page", missing[:8])
        return None
    # A requested panel inside another requested one travels inside it: in document order,
    # a panel that starts before the last refreshed one's content ends is inside it (elements
    # nest), so one pass over the sorted panels decides (a page may have a panel per row).
    refreshed: list[Panel] = []
    for panel in sorted(requested, key=lambda p: elements[p.client_id].start):
        element = elements[panel.client_id]
        if not refreshed or not elements[refreshed[-1].client_id].holds(element):
            refreshed.append(panel)
    regions = [elements[p.client_id] for p in refreshed]
    begins = [region.begin for region in regions]
    chosen = {p.client_id for p in refreshed}

    def inside_a_region(element: _Element) -> bool:
        at = bisect.bisect_right(begins, element.start) - 1
        return at >= 0 and regions[at].holds(element)

    children = [p for p in setup.panels if p.client_id not in chosen and p.client_id in elements
                and inside_a_region(elements[p.client_id])]

    records: list[Record] = [("#", "", VERSION)]
    view = memoryview(document)  # (a panel is decoded from the page: no copy of its bytes)
    for panel, region in zip(refreshed, regions, strict=True):
        content = str(view[region.begin:region.end], encoding, "replace")
        records.append(("updatePanel", panel.client_id, content))

    written = _form_fields(tokens, page.fields)
    if not written:
        # No fresh tokens for it in the new page (withheld: a <base href> a panel brought, say,
        # now sends it to another origin): the tokens the client holds are emptied, never left
        # in it, as the full postback's page holds none (the client posts form.action, and
        # sends disabled fields too: only an empty field keeps them home).
        written = dict.fromkeys((f.VIEWSTATE, f.EVENTVALIDATION), "")
    records += [("hiddenField", f.EVENTTARGET, written.get(f.EVENTTARGET, "")),
                ("hiddenField", f.EVENTARGUMENT, written.get(f.EVENTARGUMENT, ""))]
    records += [("hiddenField", name, value) for name, value in written.items()
                if name not in (f.EVENTTARGET, f.EVENTARGUMENT)]

    records += [
        ("asyncPostBackControlIDs", "", ",".join(t.pair for t in setup.async_triggers)),
        ("postBackControlIDs", "", ",".join(t.pair for t in setup.postback_triggers)),
        ("updatePanelIDs", "", ",".join(("t" if p.children_as_triggers else "f") + p.pair
                                        for p in setup.panels)),
        ("childUpdatePanelIDs", "", ",".join(p.unique_id for p in children)),
        ("panelsToRefreshIDs", "", ",".join(p.pair for p in refreshed)),
        ("asyncPostBackTimeout", "", str(setup.timeout)),
    ]
    action = form.attrs.get("action") if form is not None else None
    if action is not None:
        records.append(("formAction", "", action))
    title = _title(tags, document, encoding)
    if title:
        records.append(("pageTitle", "", title))

    for index, raw in _scripts(tags, document):
        tag = tags[index]
        if index == setup_index or not _classic_script(tag) \
                or not inside_a_region(_Element(tag.start, tag.end, tag.end)):
            continue
        src = tag.attrs.get("src")
        if src is None:
            records.append(("scriptBlock", "ScriptContentNoTags", _input_text(raw, encoding)))
        elif src.strip():
            records.append(("scriptBlock", "ScriptPath", src))
    return records


def _reply(start_response: StartResponse, body: str, kept: Headers, *,
           finish: Callable[[Headers], Headers] | None = None) -> list[bytes]:
    """A delta answer: 200, text/plain, no-cache, with the app's once-only headers."""
    data = _encode(body)
    headers = [
        *kept,
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(data))),
        ("Cache-Control", "no-cache"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    start_response("200 OK", finish(headers) if finish is not None else headers)
    return [data]


def _header_text(value: str) -> str:
    """A header value as a browser reads a ``Location``: the WSGI string's bytes (Latin-1)
    as UTF-8 when they are, else as they are."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:  # (not Latin-1: an app's own string; not UTF-8: single bytes)
        return value


_URL_SPACE = "".join(map(chr, range(0x21)))


def _path_of(url: str) -> str:
    """A URL's path and query: where the client goes on this page's origin, as it resolves
    it (never a host or scheme this server believed the request had: behind a proxy those
    may not be the browser's)."""
    parts = urlsplit(url)
    path = parts.path
    if path[1:2] in ("/", "\\"):  # ("//evil.example/x": another host to a browser, as is "/\\")
        path = "/" + quote(path[1], safe="") + path[2:]  # (the same path to the app, escaped)
    return path + (f"?{parts.query}" if parts.query else "")


def _redirect_target(location: str, page_url: str) -> str | None:
    """Where ``pageRedirect`` sends the client: an http(s) or scheme-relative location as the
    app wrote it, a relative one resolved against the page's path; None for any other scheme
    (``javascript:``, ``data:``...: the client would run it, a browser never follows it)."""
    text = location.strip(_URL_SPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    try:
        scheme = urlsplit(text.replace("\\", "/")).scheme.lower()
    except ValueError:
        return None
    if scheme:
        return text if scheme in ("http", "https") else None
    if ":" in text.split("/", 1)[0]:
        return None  # (what a browser could read as a scheme the parser did not)
    return urljoin(_path_of(page_url), text)


def _status(status: str) -> tuple[int, str]:
    """The code and reason phrase of a status line (the standard phrase if it has none)."""
    code_text, _, reason = status.strip().partition(" ")
    code = int(code_text) if is_number(code_text) and len(code_text) == 3 else 500
    if not reason.strip():
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = "Error"
    return code, reason.strip()


def answer(
    call_app: Callable[[StartResponse], Iterable[bytes]],
    start_response: StartResponse,
    *,
    page_url: str,
    manager_value: str,
    environ: WSGIEnvironment,
    make_editor: EditorFactory | None,
    bound_headers: BoundHeaders | None,
) -> Iterable[bytes]:
    """Run the app once and answer an async postback in the delta format: panels, a
    redirect, or an error (see the module docstring).

    ``manager_value`` is the ScriptManager field's value (``UpdatePanel1|LinkButton1``);
    ``make_editor`` edits the page as a full postback's (told by ``environ`` whether it opted
    out) and ``bound_headers`` finishes the headers of an answer carrying fresh tokens.
    """
    ran = run_app(call_app, limit=0)
    if ran.rest is not None:
        ran.close()  # neither a page nor a redirect: its body is never sent
    headers, skip = opted_out(environ, ran.headers)
    kept = [(k, v) for k, v in headers if k.lower() in ONCE_HEADERS]
    code, reason = _status(ran.status)
    location = header(headers, "location")
    if ran.rest is None and 300 <= code < 400 and location:
        target = _redirect_target(_header_text(location), page_url)
        if target is None:  # (javascript:, data:... a browser never follows such a redirect)
            log.warning("async postback: the app redirected to %r, which a browser does not "
                        "follow; answering an error record", location[:200])
            return _reply(start_response, error_body(500, "Bad redirect"), kept)
        return _reply(start_response, redirect_body(target), kept)
    page = None
    # (A download, or a page the app sandboxed, is never written into this one: a file.)
    if ran.rest is None and not kept_apart(headers):
        try:
            page = edit_whole(ran.status, headers, b"".join(ran.chunks),
                              make_editor=None if skip else make_editor)
            records = None if page is None else panel_records(page, manager_value)
        except Exception:
            log.exception("answering an async postback failed; answering its error record")
            return _reply(start_response, error_body(500, "Internal Server Error"), kept)
        if page is not None:
            if records is None:  # not panels: the browser loads the page again
                return _reply(start_response, redirect_body(_path_of(page_url)), kept)
            tokens = bool(page.fields)

            def finish(headers: Headers) -> Headers:
                if bound_headers is None:
                    return headers
                return bound_headers(headers, tokens=tokens, streamed=False)

            return _reply(start_response, delta(records), kept, finish=finish)
    return _reply(start_response, error_body(code, reason), kept)
