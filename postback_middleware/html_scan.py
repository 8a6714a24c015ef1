"""Find the start and end tags of an HTML document, as a browser would, with byte offsets.

The middleware edits pages by inserting bytes at offsets (after a ``<form ...>`` start tag,
before ``</head>`` or ``</form>``); it never re-serializes the page. So it has to see exactly
the tags that a browser's HTML5 tokenizer sees, and nothing that merely looks like a tag:
``<form>`` text in a comment, a ``<script>``, a ``<textarea>``, an attribute value or a
CDATA section is not a form.

Approach
--------
The scanner works on the raw bytes (any ASCII-compatible encoding: UTF-8, Latin-1,
cp1252, ...), because every byte that matters to the tokenizer (``<``, ``>``, quotes, ``=``,
``/``, ``-``, ``!``, ``?``, ``[``, ``]``, ASCII letters and whitespace) is ASCII there.

* In the data state one compiled regex (:data:`_NEXT`) finds the next ``<`` that opens
  something and consumes the whole construct: a tag (a quote-free tag ends at its first
  ``>``; otherwise a grammar that follows the tokenizer's attribute states decides),
  a comment (including the abrupt ``<!-->``, ``<!--->`` and the ``--!>`` closer), a bogus
  comment (``<!...>``, ``<?...>``, ``</3...>``, DOCTYPE) or ``</>``. Every repeated
  sub-match of the tag grammar is made atomic with the ``(?=(X))\\N`` idiom, so a tag
  without its ``>`` (end of file inside a tag: the tag is dropped) fails in linear time.
* After a raw-text start tag the scanner jumps to the appropriate end tag with one regex
  search: RAWTEXT (``style``, ``xmp``, ``iframe``, ``noembed``, ``noframes``, ``noscript`` --
  scripting is assumed enabled, as in a browser), RCDATA (``textarea``, ``title``),
  PLAINTEXT (the rest of the document is text) and script data, whose "escaped" and
  "double escaped" states (``<!-- <script> </script> -->``) are followed with three regexes.
* Streamed pages are read in linear time, however they are cut. A piece that ends inside
  raw text (script data and its escaped states too), a comment, a CDATA section or a bogus
  comment leaves that state with the engine (``_carry``): the next call reads on from there,
  and the caller keeps only the few bytes that could begin the end (``</textarea`` cut short
  is the longest). A piece that ends inside a tag leaves the tag undecided (the caller keeps
  it whole: its attributes are needed), but the engine notes how far it read and the
  tokenizer's state there (``_pending``, :func:`_tag_progress`), so the next calls read only
  the new bytes, and the tag is tokenized whole once, when its ``>`` has come.
* Those state switches are made by the HTML5 *tree builder*, not by the tokenizer, so a
  small model of tree construction (:class:`_Tree`) decides when they happen: the
  foreign-content stack (``<svg>``/``<math>``, where ``<title>``, ``<style>`` and
  ``<script>`` are ordinary elements and ``<![CDATA[`` opens a CDATA section; HTML
  integration points such as ``foreignObject`` and MathML text integration points such as
  ``mi``; the "breakout" elements like ``<p>`` that leave foreign content), the "in select"
  insertion mode (only ``<script>`` switches the tokenizer there; ``<svg>`` is ignored) and
  the form element pointer (a nested ``<form>`` is ignored by the tree builder).
* Attribute mappings are decoded lazily, on first access, because the middleware looks at
  the attributes of a handful of tags only; ``names=`` skips building the other tags at all.

Engines
-------
The work above is done by one of two engines with the same results:

* the **Python engine** (:class:`_PythonEngine`, the regexes and :class:`_Tree` of this module):
  the reference, readable and always there;
* the **compiled engine** (``_cscan.c``, built by ``pip install`` where a C compiler is found):
  the same tokenizer and tree model in C, some 50 times faster at the rewriter's scan
  (``benchmarks/speed.py`` prints both). It takes UTF-8 and the ASCII-compatible single-byte
  encodings (:func:`_compiled_reads`); other encodings use the Python engine.

:class:`TagScanner` and :func:`iter_tags` use the compiled engine when they can (``engine=``
forces one; :data:`ENGINES` lists those built). The rewriter reads pages through
:class:`PostbackScanner`, which also gathers the ``data-postback`` pairs inside the engine, so
a page's hundreds of postback links cost no Python object each. The test suite runs every
scanner test on both engines, holds them equal on generated documents and arbitrary bytes
(``tests/test_scan_engines.py``), and the fuzzer compares them on every input.

Note that the scanner reports *tokens*: a nested ``<form>`` start tag is reported although
the tree builder drops it (no form element is created); callers that insert fields must
skip it themselves (a ``<form>`` seen while a form is open and not yet closed).

Known divergences from a browser
--------------------------------
The tests compare with html5lib (with one correction where html5lib departs from the
standard: "any other end tag" matches HTML elements only). What the model does not follow,
all tree-construction effects that ordinary pages do not exercise:

* Frameset documents: after an accepted ``<frameset>`` a browser ignores ``<script>``,
  ``<style>`` etc. (their content is then markup); here they still switch to raw text.
* An end tag met inside ``<svg>``/``<math>`` whose element is not in the foreign-content
  stack leaves foreign content when an HTML element of that name was opened (and not
  closed) before, else is ignored; a browser decides with the real stack and scope rules
  (e.g. a ``<div>`` between that element and the ``<svg>`` stops ``</span>``).
* "in select in table": end tags of table parts (``</td>``, ``</tr>``...) are assumed to be
  in table scope, so they end the ``<select>``.
* Implied end tags, the adoption agency algorithm and foster parenting are not modelled
  inside integration points (e.g. ``<svg><foreignObject><p><div></p>``).
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import re
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from functools import partial
from html.entities import html5 as _HTML5_ENTITIES
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, Protocol

from .errors import EngineUnavailable, InvalidArgument

try:
    from . import _cscan
except ImportError:  # installed without a C compiler: the Python engine does the same work
    _cscan = None  # type: ignore[assignment]

__all__ = [
    "ENGINES",
    "VOID_ELEMENTS",
    "Pairs",
    "PostbackScanner",
    "Tag",
    "TagScanner",
    "iter_tags",
]


class Tag(NamedTuple):
    """One start or end tag, as the HTML5 tokenizer emits it, with its byte span.

    (A named tuple: the compiled engine builds them directly, as it builds tuples.)
    """

    name: str
    is_end: bool
    start: int
    end: int
    attrs: Mapping[str, str]
    self_closing: bool


# --------------------------------------------------------------------------- regexes

# Tag grammar, one token per tokenizer state. \t \n \f \r and space are whitespace (\r is
# whitespace because the input stream turns CR into LF before tokenizing).
_ATTR = (
    rb"[^\t\n\f\r />][^\t\n\f\r /=>]*"  # attribute name; only its first char may be "="
    # A value follows whenever "=" comes after the name. The spaces after "=" are possessive:
    # given back, an unterminated quoted value would pass for an empty unquoted one.
    rb"(?:[\t\n\f\r ]*=[\t\n\f\r ]*+"
    rb"""(?:"[^"]*"|'[^']*'|(?!["'])[^\t\n\f\r >]*)"""
    rb"|(?![\t\n\f\r ]*=))"
)
_ITEM = rb"[\t\n\f\r ]+|/(?!>)|" + _ATTR
_NAME = rb"(?=([A-Za-z][^\t\n\f\r />]*))\2"  # group 2, atomic
# A tag without quotes before its first ">" ends there (only quoted values hide a ">"):
# group 3 is then its attribute area; else the full grammar gives group 4 (area), group 5
# (atomic helper) and group 6 (the self-closing "/").
_TAG_BODY = _NAME + rb"(?:([^>\"']*)>|((?:(?=(" + _ITEM + rb"))\5)*)(/?)>)"
_NEXT = re.compile(
    rb"<(?:(/?)"
    + _TAG_BODY  # group 1: the "/" of an end tag
    + rb"|!--(?:-?>|[\s\S]*?--!?>)"  # comments, including "<!-->" and "<!--->"
    + rb"|(?!!--|!\[CDATA\[)(?:[!?][^>]*|/[^A-Za-z>][^>]*)>"  # bogus comments, DOCTYPE
    + rb"|/>"  # "</>" emits nothing
    # group 7: "<![CDATA[", or something that runs into the end of the document
    + rb"|([!?/A-Za-z]))"
)
_TAG = re.compile(rb"<(/?)" + _TAG_BODY)
# the full grammar alone, same group numbers (group 3 stays empty)
_FULL_TAG = re.compile(rb"<(/?)" + _NAME + rb"()((?:(?=(" + _ITEM + rb"))\5)*)(/?)>")

_ATTR_PARTS = re.compile(
    rb"([^\t\n\f\r />][^\t\n\f\r /=>]*)"
    rb"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r >]*)))?"""
)

_COMMENT_END = re.compile(rb"--!?>")
_SCRIPT_DATA = re.compile(rb"<(?:!--|/script[\t\n\f\r />])", re.IGNORECASE)
_SCRIPT_ESCAPED = re.compile(rb"-->|<(/?)script[\t\n\f\r />]", re.IGNORECASE)
_SCRIPT_DOUBLE_ESCAPED = re.compile(rb"-->|</script[\t\n\f\r />]", re.IGNORECASE)

_RAWTEXT = frozenset({"style", "xmp", "iframe", "noembed", "noframes", "noscript"})
_RCDATA = frozenset({"textarea", "title"})
_RAW_END: dict[str, re.Pattern[bytes]] = {
    name: re.compile(b"</" + name.encode("ascii") + rb"[\t\n\f\r />]", re.IGNORECASE)
    for name in _RAWTEXT | _RCDATA
}
_SWITCHES = _RAWTEXT | _RCDATA | {"script", "plaintext"}
# start tags that change the tree model (everything else only counts open elements)
_TREE_NAMES = _SWITCHES | {"svg", "math", "select", "table", "form"}

# --------------------------------------------------------------------------- tree model

_HTML, _SVG, _MATH = 0, 1, 2
# fmt: off
_BREAKOUT = frozenset({
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
    "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing",
    "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong", "strike",
    "sub", "sup", "table", "tt", "u", "ul", "var",
})
_MATH_TEXT_IP = frozenset({"mi", "mo", "mn", "ms", "mtext"})
_SVG_HTML_IP = frozenset({"foreignobject", "desc", "title"})
VOID_ELEMENTS = frozenset({
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
})
# Elements that stop the search for an end tag's element (scope boundaries).
_HTML_BOUNDARY = frozenset({
    "applet", "caption", "html", "marquee", "object", "table", "td", "th", "template",
})
_TABLE_PARTS = frozenset({"caption", "table", "tbody", "tfoot", "thead", "tr", "td", "th"})
_NOT_COUNTED = frozenset({"html", "head", "body"})
# start tags "in body" ignores (so they never become the current node)
_IGNORED_IN_BODY = frozenset({
    "caption", "col", "colgroup", "frame", "head", "tbody", "td", "tfoot", "th", "thead", "tr",
    "html", "body",
})
# fmt: on


class _Node:
    """An element of the foreign-content stack (only what the tokenizer depends on)."""

    __slots__ = ("boundary", "html_ip", "name", "ns", "text_ip")

    def __init__(self, ns: int, name: str, html_ip: bool = False) -> None:
        self.ns = ns
        self.name = name
        self.html_ip = html_ip or (ns == _SVG and name in _SVG_HTML_IP)
        self.text_ip = ns == _MATH and name in _MATH_TEXT_IP
        self.boundary = (
            self.html_ip
            or self.text_ip
            or (ns == _MATH and name == "annotation-xml")
            or (ns == _HTML and name in _HTML_BOUNDARY)
        )


class _Tree:
    """Just enough tree construction to know when the tokenizer changes state."""

    __slots__ = (
        "foreign",
        "form_open",
        "in_select",
        "open_counts",
        "select_in_table",
        "table_depth",
    )

    def __init__(self) -> None:
        self.foreign: list[_Node] = []  # empty: plain HTML content
        self.in_select = False
        self.select_in_table = False
        self.table_depth = 0
        self.open_counts: dict[str, int] = {}
        self.form_open = False  # the form element pointer: a nested <form> is ignored

    def cdata_allowed(self) -> bool:
        """``<![CDATA[`` is a CDATA section only when the current node is foreign."""
        return bool(self.foreign) and self.foreign[-1].ns != _HTML

    def start(self, tag: Tag) -> str | None:
        """Process a start tag; return the raw-text element name it opens, if any."""
        name = tag.name
        stack = self.foreign
        while stack:
            top = stack[-1]
            if (
                top.ns == _HTML
                or top.html_ip
                or (top.text_ip and name not in ("mglyph", "malignmark"))
                or (top.ns == _MATH and top.name == "annotation-xml" and name == "svg")
            ):
                break  # processed with the HTML rules
            if name in _BREAKOUT or (
                name == "font" and not {"color", "face", "size"}.isdisjoint(tag.attrs)
            ):
                while (
                    stack and stack[-1].ns != _HTML and not (stack[-1].html_ip or stack[-1].text_ip)
                ):
                    stack.pop()
                continue
            if not tag.self_closing:
                html_ip = (
                    top.ns == _MATH
                    and name == "annotation-xml"
                    and tag.attrs.get("encoding", "").lower()
                    in ("text/html", "application/xhtml+xml")
                )
                stack.append(_Node(top.ns, name, html_ip))
            return None
        return self._html_start(tag)

    def _html_start(self, tag: Tag) -> str | None:
        name = tag.name
        stack = self.foreign
        if self.in_select:
            if name == "script":
                return name
            if name in ("select", "input", "keygen", "textarea") or (
                self.select_in_table and name in _TABLE_PARTS
            ):
                self._close_select()
                if name == "select":
                    return None
                return self._html_start(tag)
            return None  # ignored by the "in select" insertion mode
        if name == "svg" or name == "math":
            if not tag.self_closing:
                stack.append(_Node(_SVG if name == "svg" else _MATH, name))
            return None
        if name in _SWITCHES:
            return name
        if name == "form":
            if self.form_open:
                return None
            self.form_open = True
        if name == "select":
            self.in_select = True
            self.select_in_table = not stack and self.table_depth > 0
        if stack:
            if name not in VOID_ELEMENTS and name not in _IGNORED_IN_BODY:
                stack.append(_Node(_HTML, name))
            return None
        if name == "table":
            self.table_depth += 1
        if name not in VOID_ELEMENTS and name not in _NOT_COUNTED:
            self.open_counts[name] = self.open_counts.get(name, 0) + 1
        return None

    def _close_select(self) -> None:
        self.in_select = False
        stack = self.foreign
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].ns == _HTML and stack[i].name == "select":
                del stack[i:]
                return

    def end(self, name: str) -> None:
        """Process an end tag (only its effect on the state the tokenizer depends on)."""
        if self.in_select:
            # "in select" only listens to </select> (and, in a table, to table parts)
            if name != "select" and not (self.select_in_table and name in _TABLE_PARTS):
                return
            self._close_select()
            if name == "select":
                return
        stack = self.foreign
        if name == "form":
            self.form_open = False
        if stack:
            i = len(stack) - 1
            if stack[i].ns != _HTML:
                # foreign content: close the nearest foreign element of that name, until
                # an HTML element is met (that one is handled by the HTML rules)
                while i >= 0:
                    if stack[i].name == name:
                        del stack[i:]
                        return
                    i -= 1
                    if i >= 0 and stack[i].ns == _HTML:
                        break
            while i >= 0:
                node = stack[i]
                if node.ns == _HTML and node.name == name:
                    if name == "form":
                        del stack[i]  # </form> removes the form element alone
                    else:
                        del stack[i:]
                    return
                if node.boundary:
                    return
                i -= 1
            if name != "form" and self.open_counts.get(name, 0) > 0:
                stack.clear()  # an element opened before the <svg>/<math> closes it
            else:
                return
        if name == "table" and self.table_depth:
            self.table_depth -= 1
        count = self.open_counts.get(name, 0)
        if count:
            self.open_counts[name] = count - 1


# --------------------------------------------------------------------------- attributes

_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_ALNUM_EQ = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=")


def _cp1252_table() -> dict[int, str]:
    """The spec's replacements for numeric references to C1 controls (cp1252 bytes)."""
    table = {0: "\ufffd"}
    for n in range(0x80, 0xA0):
        with contextlib.suppress(UnicodeDecodeError):  # 0x81, 0x8D, 0x8F, 0x90, 0x9D stay
            table[n] = bytes([n]).decode("cp1252")
    return table


_NUMERIC_REPLACEMENTS = _cp1252_table()


def _replace_charref(match: re.Match[str]) -> str:
    ref = match.group(1)
    if ref[0] == "#":
        digits = ref[1:].rstrip(";")
        num = int(digits[1:], 16) if digits[0] in "xX" else int(digits)
        if num in _NUMERIC_REPLACEMENTS:
            return _NUMERIC_REPLACEMENTS[num]
        if num > 0x10FFFF or 0xD800 <= num <= 0xDFFF:
            return "\ufffd"
        return chr(num)
    if ref in _HTML5_ENTITIES:
        return _HTML5_ENTITIES[ref]
    # The longest legacy name (without ";") that prefixes the reference. In an attribute
    # value it is not decoded when followed by an ASCII alphanumeric or "=".
    for x in range(len(ref) - 1, 1, -1):
        if ref[:x] in _HTML5_ENTITIES:
            if ref[x] in _ALNUM_EQ:
                return match.group(0)
            return _HTML5_ENTITIES[ref[:x]] + ref[x:]
    return match.group(0)


def _text(raw: bytes, encoding: str) -> str:
    """Decode like the input stream: CR LF and CR become LF, NUL becomes U+FFFD."""
    text = raw.decode(encoding, "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return text


def _value(raw: bytes, encoding: str) -> str:
    """An attribute value: decoded text with its character references replaced."""
    value = _text(raw, encoding)
    if "&" in value:
        value = _CHARREF.sub(_replace_charref, value)
    return value


def _parse_attrs(area: bytes, encoding: str) -> dict[str, str]:
    """Attributes of a tag's attribute area; the first of duplicated names wins."""
    result: dict[str, str] = {}
    for m in _ATTR_PARTS.finditer(area):
        name = _text(m.group(1).lower(), encoding)
        if name in result:
            continue
        raw = m.group(2)
        if raw is None:
            raw = m.group(3)
            if raw is None:
                raw = m.group(4) or b""
        result[name] = _value(raw, encoding)
    return result


class _LazyAttrs(Mapping[str, str]):
    """A read-only attribute mapping, parsed on first access (most tags are never asked)."""

    __slots__ = ("_area", "_encoding", "_parsed")

    def __init__(self, area: bytes, encoding: str) -> None:
        self._area = area
        self._encoding = encoding
        self._parsed: dict[str, str] | None = None

    def _dict(self) -> dict[str, str]:
        parsed = self._parsed
        if parsed is None:
            parsed = self._parsed = _parse_attrs(self._area, self._encoding)
        return parsed

    def __getitem__(self, key: str) -> str:
        return self._dict()[key]

    def get(self, key: str, default: Any = None) -> Any:  # the dict's, not Mapping's slow one
        return self._dict().get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __contains__(self, key: object) -> bool:
        return key in self._dict()

    def __repr__(self) -> str:
        return repr(self._dict())


_NO_ATTRS: Mapping[str, str] = MappingProxyType({})

# --------------------------------------------------------------------------- scanner


def _script_end(document: bytes, pos: int, state: int) -> tuple[int, int, int]:
    """Where the ``</script`` that ends script data is, reading from ``pos`` in ``state``
    (0: script data, 1: escaped, 2: double escaped): (its offset, or -1 when the data ends
    first, the state there, and the offset the state holds from)."""
    while True:
        if state == 0:
            m = _SCRIPT_DATA.search(document, pos)
            if m is None:
                return -1, state, pos
            if document[m.start() + 1] != 0x21:  # not "<!--": the end tag
                return m.start(), state, m.start()
            state, pos = 1, m.start() + 2  # the "--" of "<!--" may close it again: "<!-->"
        elif state == 1:
            m = _SCRIPT_ESCAPED.search(document, pos)
            if m is None:
                return -1, state, pos
            if document[m.start()] == 0x2D:  # "-->"
                state, pos = 0, m.end()
            elif m.group(1):
                return m.start(), state, m.start()
            else:
                state, pos = 2, m.end()
        else:
            m = _SCRIPT_DOUBLE_ESCAPED.search(document, pos)
            if m is None:
                return -1, state, pos
            state = 0 if document[m.start()] == 0x2D else 1
            pos = m.end()


# Constructs a piece can end inside of, whose state the engine carries to the next piece.
_CARRY_SCRIPT, _CARRY_RAW, _CARRY_COMMENT, _CARRY_CDATA, _CARRY_BOGUS = range(5)
_PENDING_TAG = -1  # (what _unterminated says of a tag without its ">")

# The tokenizer's states inside a tag, for a tag still open when a piece ends: tag name,
# before attribute name (also after "/" and after a quoted value), attribute name, after
# attribute name, before attribute value, double/single-quoted and unquoted value.
_T_NAME, _T_BEFORE, _T_ANAME, _T_AFTER, _T_VALUE, _T_DQ, _T_SQ, _T_UNQ = range(8)
_T_STOP = (  # by state: the next byte that changes the state
    re.compile(rb"[\t\n\f\r />]"),
    re.compile(rb"[^\t\n\f\r /]"),
    re.compile(rb"[\t\n\f\r />=]"),
    re.compile(rb"[^\t\n\f\r ]"),
    re.compile(rb"[^\t\n\f\r ]"),
    re.compile(rb'"'),
    re.compile(rb"'"),
    re.compile(rb"[\t\n\f\r >]"),
)


def _tag_progress(data: Any, pos: int, state: int) -> tuple[int, int]:
    """Read a tag on from ``pos`` in ``state``: (just past its ``>``, -1), or, when the data
    ends first, (its length, the state there). The same states as :data:`_TAG_BODY` follows;
    ``data`` is any bytes-like object (the rewriter's growing buffer is not copied)."""
    while True:
        m = _T_STOP[state].search(data, pos)
        if m is None:
            return len(data), state
        pos = m.end()
        c = data[pos - 1]
        if state in (_T_DQ, _T_SQ):
            state = _T_BEFORE  # (after a quoted value: as before an attribute name)
        elif c == 0x3E:  # ">"
            return pos, -1
        elif state in (_T_NAME, _T_UNQ):
            state = _T_BEFORE  # whitespace, or "/" after the tag name
        elif state == _T_BEFORE:
            state = _T_ANAME  # any other byte begins a name, even "=" or a quote
        elif state == _T_VALUE:
            state = _T_DQ if c == 0x22 else _T_SQ if c == 0x27 else _T_UNQ
        elif c == 0x3D:  # "=" after an attribute name
            state = _T_VALUE
        elif c == 0x2F:  # "/"
            state = _T_BEFORE
        else:  # whitespace after a name; or a byte after that whitespace begins a name
            state = _T_AFTER if state == _T_ANAME else _T_ANAME


def _unterminated(document: bytes, start: int) -> int | None:
    """What the unterminated ``<`` construct at ``start`` is, once the bytes there tell:
    a comment (once the two bytes after ``<!--`` rule out ``<!-->`` and ``<!--->``), a bogus
    comment, a tag (:data:`_PENDING_TAG`), or None (too few bytes to tell)."""
    n = len(document)
    c = document[start + 1]
    if c == 0x21:  # "!"
        if document.startswith(b"<!--", start):
            return _CARRY_COMMENT if n >= start + 6 else None
        # neither "<!--" nor "<![CDATA[" (handled by the caller) can follow any more
        return _CARRY_BOGUS if n >= start + 9 else None
    if c == 0x3F:  # "?"
        return _CARRY_BOGUS
    if c == 0x2F and start + 2 < n:
        return _PENDING_TAG if document[start + 2 : start + 3].isalpha() else _CARRY_BOGUS
    return _PENDING_TAG if c != 0x2F else None  # ("<" and a letter, as the caller matched)


def _self_closing(document: bytes, start: int) -> bool:
    """Whether a tag whose quote-free area ends with "/" is self-closing (``<a href=/x/>``
    is not: the "/" belongs to the value); rare enough to re-match with the full grammar."""
    m = _FULL_TAG.match(document, start)
    return m is not None and bool(m.group(6))


def _make_tag(
    m: re.Match[bytes],
    name: str,
    is_end: bool,
    area: bytes | None,
    full_area: bytes | None,
    closing: bytes | None,
    encoding: str,
) -> Tag:
    """Build a Tag from a match of :data:`_NEXT` (or :data:`_TAG`)."""
    if area is None:
        area = full_area or b""
        self_closing = bool(closing)
    else:
        self_closing = area.endswith(b"/") and _self_closing(m.string, m.start())
    if is_end or not area:
        return Tag(name, is_end, m.start(), m.end(), _NO_ATTRS, self_closing)
    return Tag(name, False, m.start(), m.end(), _LazyAttrs(area, encoding), self_closing)


def iter_tags(
    document: bytes, *, encoding: str = "utf-8", names: Collection[str] | None = None
) -> Iterator[Tag]:
    """Every start and end tag an HTML5 tokenizer would emit, in document order.

    ``encoding`` only decodes names and attribute values; the structure is found on the
    bytes, so it must be ASCII-compatible. ``names`` is the fast path: when given, only tags
    with those (lowercase) names are yielded, the others are still tokenized (they decide
    what is markup) but cost no object.
    """
    tags, _ = TagScanner(encoding=encoding, names=names).scan(document, final=True)
    return iter(tags)


# --------------------------------------------------------------------------- engines

Pairs = dict[str, list[str]]
"""(target, argument) pairs met in a stretch of a page: target -> arguments, in page order."""

Engine = Literal["python", "compiled"]
ENGINES: tuple[Engine, ...] = ("python", "compiled") if _cscan is not None else ("python",)
"""The engines this installation has (the compiled one is built when a C compiler is there)."""

_default_engine: Engine | None = None  # None: the compiled one where it can read the page
_POSTBACK_HINTS = (b"postback", b"formaction", b"__")


class _Engine(Protocol):
    """What both engines are: :class:`_PythonEngine` and ``_cscan.Scanner``."""

    def scan(self, data: bytes | bytearray, final: bool) -> tuple[list[Any], int]: ...


def _engine(
    engine: Engine | None,
    encoding: str,
    names: Collection[str] | None,
    hints: Collection[bytes],
    postbacks: bool,
) -> _Engine:
    """The scanning engine for these settings."""
    if names is not None and not isinstance(names, tuple | frozenset):
        names = tuple(names)
    return _engine_maker(engine or _default_engine, encoding, names, tuple(hints), postbacks)()


@functools.lru_cache(maxsize=256)  # a process scans with a few kinds of scanner, page after page
def _engine_maker(
    engine: Engine | None,
    encoding: str,
    names: tuple[str, ...] | frozenset[str] | None,
    hints: tuple[bytes, ...],
    postbacks: bool,
) -> Callable[[], _Engine]:
    """What makes an engine of this kind: the choice and its lookups, done once per kind."""
    hints = tuple(hint.lower() for hint in hints)
    name_bytes = None if names is None else _name_bytes(names)
    if engine is None:
        usable = (_cscan is not None and _compiled_reads(encoding)
                  and (names is None or name_bytes is not None))
        engine = "compiled" if usable else "python"
    if engine == "python":
        return partial(_PythonEngine, encoding=encoding, names=names, hints=hints,
                       postbacks=postbacks)
    if _cscan is None:
        raise EngineUnavailable(
            "the compiled scanner is not built (no C compiler at install time?)")
    if not _compiled_reads(encoding):
        raise InvalidArgument(f"the compiled scanner cannot read {encoding!r}")
    if names is not None and name_bytes is None:
        raise InvalidArgument("the compiled scanner takes ASCII tag names only")
    return partial(
        _cscan.Scanner,
        encoding=codecs.lookup(encoding).name,
        names=name_bytes,
        hints=hints,
        postbacks=postbacks,
        decode_text=partial(_text, encoding=encoding),
        decode_value=partial(_value, encoding=encoding),
        tag_type=Tag,
    )


def _name_bytes(names: tuple[str, ...] | frozenset[str]) -> tuple[bytes, ...] | None:
    """Tag names as the compiled engine takes them, or None if one is not plain ASCII."""
    if not all(name.isascii() and "\x00" not in name for name in names):
        return None
    return tuple(name.encode("ascii") for name in names)


@functools.lru_cache(maxsize=64)  # encodings a site serves: a handful
def _compiled_reads(encoding: str) -> bool:
    """Whether the compiled engine decodes ``encoding`` exactly as the Python one does.

    It compares ASCII names as bytes and decodes all-ASCII text without the codec, so it
    takes UTF-8 and the single-byte encodings in which ASCII bytes are ASCII characters and
    no other byte is (Latin-1, cp1252, the ISO 8859 family, KOI8...).
    """
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        return False
    if info.name in ("utf-8", "ascii", "iso8859-1"):
        return True
    codec = getattr(info.decode, "__self__", None)
    table = getattr(sys.modules.get(type(codec).__module__), "decoding_table", None)
    return (
        isinstance(table, str)
        and len(table) == 256
        and table[:128] == "".join(map(chr, range(128)))
        and all(ord(char) >= 128 for char in table[128:])
    )


class TagScanner:
    """Tokenizes a document that arrives in pieces (a streamed response).

    :meth:`scan` tokenizes as much of the data as can be decided and says how far that is:
    what more bytes could change (a tag without its ``>``, the last bytes of raw text, a
    comment or CDATA section that could begin its end, a trailing ``<``) is left for the next
    call, which gets it again at the start of its data. The tree model, the state of raw
    text, comments and CDATA sections, and how far an open tag was read carry over between
    calls, so the engine reads on rather than again: it relies on the caller passing exactly
    the undecided bytes again (the data may be a ``bytearray`` the caller grows in place).

    ``names`` limits the tags returned by name (as in :func:`iter_tags`); ``attr_hints`` also
    returns any tag whose attribute text contains one of those words (ASCII case-insensitive),
    so a caller that looks for a few attributes (``data-postback``) never decodes the
    attributes of the other tags. ``engine`` picks the implementation (see :data:`ENGINES`);
    by default the compiled one, where it can read the encoding.
    """

    def __init__(
        self,
        *,
        encoding: str = "utf-8",
        names: Collection[str] | None = None,
        attr_hints: Collection[bytes] = (),
        engine: Engine | None = None,
    ) -> None:
        self._engine = _engine(engine, encoding, names, attr_hints, postbacks=False)

    def scan(self, data: bytes | bytearray, *, final: bool) -> tuple[list[Tag], int]:
        """The tags of ``data`` (offsets into it) and how far it is tokenized.

        With ``final`` the data runs to the end of the document and is tokenized to its end;
        otherwise the caller keeps ``data[safe:]`` and passes it again, followed by more.
        """
        return self._engine.scan(data, final)


class PostbackScanner:
    """What the rewriter needs from a page: the tags named ``names`` and the postback pairs.

    :meth:`scan` works as :meth:`TagScanner.scan`, but returns, in document order, the tags
    named ``names``, :data:`Pairs` dicts of the pairs declared since the previous returned
    tag (``data-postback`` is the target, ``data-postback-argument`` the argument, empty by
    default; an ``input``, ``select`` or ``textarea`` marked ``data-autopostback`` gives
    its ``name`` with an empty argument), and, after its pairs, any start tag that has a
    ``form``, ``formaction`` or ``formmethod`` attribute (the caller decides where that
    control may send a form's tokens) or an ``id`` beginning with ``__`` (the caller's own
    field ids must stay unique). The compiled engine tells these attributes by name as it
    reads a tag, so a ``class="form-control"`` costs it nothing.

    The pairs of a stretch between two returned tags come in one dict, each pair once, just
    before the tag that ends the stretch (or at the end of the document), however many calls
    the stretch spans: the pieces in the middle of a long streamed form return nothing at
    all. Both engines gather the pairs themselves, so a page's hundreds of postback links
    cost no Python object each.
    """

    def __init__(
        self,
        *,
        encoding: str = "utf-8",
        names: Collection[str] = (),
        engine: Engine | None = None,
    ) -> None:
        self._engine = _engine(engine, encoding, names, _POSTBACK_HINTS, postbacks=True)

    def scan(self, data: bytes | bytearray, *, final: bool) -> tuple[list[Tag | Pairs], int]:
        return self._engine.scan(data, final)


_NAME_CACHE: dict[str, dict[bytes, str]] = {}
_NAME_CACHE_SIZE = 4096  # distinct spellings of tag names; pages make up few
_AUTOPOSTBACK_TAGS = frozenset({"input", "select", "textarea"})


class _PythonEngine:
    """The reference engine: the regexes and tree model above (``_cscan.c`` follows it)."""

    def __init__(
        self,
        *,
        encoding: str,
        names: Collection[str] | None,
        hints: Collection[bytes],
        postbacks: bool,
    ) -> None:
        self._encoding = encoding
        self._wanted = None if names is None else frozenset(names)
        self._tree = _Tree()
        self._plaintext = False  # after <plaintext> nothing is markup any more
        # The construct a piece ended inside, carried over to the next call (see _CARRY_*):
        # (kind, script state or raw-text element name).
        self._carry: tuple[int, Any] | None = None
        # A tag the last piece ended inside (it starts the next data): how far it was read,
        # and the tokenizer's state there (see _tag_progress).
        self._pending: tuple[int, int] | None = None
        # Tag names decoded once per encoding for the life of the process (bounded).
        self._decoded = _NAME_CACHE.setdefault(encoding, {})
        if postbacks and hints:
            # The rewriter also reads form, formaction and formmethod attributes (the compiled
            # engine tells them by name as it reads a tag; here the text search finds them).
            hints = (*hints, b"form")
        self._hint_search = (
            re.compile(b"|".join(map(re.escape, hints)), re.IGNORECASE).search
            if hints
            else None
        )
        self._postbacks = postbacks
        # Postbacks mode: the pairs met since the last returned tag, and the same as a set.
        self._batch: Pairs | None = None
        self._in_scope: set[tuple[str, str]] = set()

    def scan(self, data: bytes | bytearray, final: bool) -> tuple[list[Any], int]:
        out: list[Any] = []
        if self._pending is not None:  # read on in the open tag, from where it was left
            pos, state = self._pending
            end, state = _tag_progress(data, pos, state)
            if state >= 0 and not final:
                self._pending = (end, state)
                return out, 0
            self._pending = None  # complete (or the document ends): tokenized whole, once
        if not isinstance(data, bytes):
            data = bytes(data)
        decided = len(data) if self._plaintext else self._scan(data, final, out)
        if final:  # the end of the document ends the stretch
            if self._batch is not None:
                out.append(self._batch)
                self._batch = None
            self._in_scope.clear()
        return out, decided

    def _wants(self, name: str, area: bytes | None, full_area: bytes | None) -> int:
        """1: return the tag; 2: gather its pairs (postbacks mode); 0: neither."""
        if self._wanted is None or name in self._wanted:
            return 1
        search = self._hint_search
        if search is None:
            return 0
        text = area if area is not None else full_area
        if text is None or search(text) is None:
            return 0
        return 2 if self._postbacks else 1

    def _emit(self, tag: Tag, want: int, out: list[Any]) -> None:
        """Return a wanted tag (``want`` from :meth:`_wants`), or gather its pairs."""
        if want == 2:
            if tag.is_end:
                return
            attrs = tag.attrs
            target = attrs.get("data-postback")
            if target:
                self._add_pair(target, attrs.get("data-postback-argument", ""))
            if "data-autopostback" in attrs and tag.name in _AUTOPOSTBACK_TAGS:
                control = attrs.get("name")
                if control:
                    self._add_pair(control, "")
            if (
                "formaction" not in attrs
                and "form" not in attrs
                and "formmethod" not in attrs
                and not attrs.get("id", "").startswith("__")
            ):
                return
        if self._batch is not None:
            out.append(self._batch)
            self._batch = None
        out.append(tag)
        self._in_scope.clear()  # a returned tag starts a new scope for the pairs

    def _add_pair(self, target: str, argument: str) -> None:
        """Add a pair to the batch, unless already in it."""
        if (target, argument) not in self._in_scope:
            self._in_scope.add((target, argument))
            if self._batch is None:
                self._batch = {}
            self._batch.setdefault(target, []).append(argument)

    def _scan(self, document: bytes, final: bool, out: list[Any]) -> int:
        """The scanning loop; returns the offset up to which ``document`` is tokenized."""
        decoded = self._decoded
        encoding = self._encoding
        tree = self._tree
        counts = tree.open_counts
        wants = self._wants
        emit = self._emit
        pos = 0
        if self._carry is not None:  # the last piece ended inside raw text, a comment...
            pos, more = self._resume(document, 0, final, out)
            if not more:
                return pos
        while True:
            for m in _NEXT.finditer(document, pos):
                slash, raw_name, area, full_area, _, closing, fallback = m.groups()
                if raw_name is None:
                    if fallback is None:
                        continue  # comment, bogus comment, DOCTYPE or "</>": skipped
                    # A comment, bogus comment, CDATA section or tag without its end.
                    start = m.start()
                    if document.startswith(b"<![CDATA[", start):
                        self._carry = (_CARRY_CDATA if tree.cdata_allowed() else _CARRY_BOGUS,
                                       None)
                        pos, more = self._resume(document, start + 9, final, out)
                    else:
                        kind = _unterminated(document, start)
                        if final:
                            return len(document)  # it runs to the end of the document
                        if kind is None:  # too little to tell: more bytes decide
                            return start
                        if kind == _PENDING_TAG:
                            return self._pend(document, start)
                        self._carry = (kind, None)
                        pos, more = self._resume(
                            document, start + (4 if kind == _CARRY_COMMENT else 1), final, out)
                    if not more:
                        return pos
                    break
                name = decoded.get(raw_name)
                if name is None:
                    name = _text(raw_name.lower(), encoding)
                    if len(decoded) < _NAME_CACHE_SIZE:
                        decoded[raw_name] = name
                want = wants(name, area, full_area)
                if slash:
                    if want:
                        emit(_make_tag(m, name, True, area, full_area, closing, encoding), want,
                             out)
                    if tree.foreign or tree.in_select or name == "table" or name == "form":
                        tree.end(name)
                    else:
                        count = counts.get(name)
                        if count:
                            counts[name] = count - 1
                    continue
                if not (tree.foreign or tree.in_select or name in _TREE_NAMES):
                    if want:
                        emit(_make_tag(m, name, False, area, full_area, closing, encoding), want,
                             out)
                    if name not in VOID_ELEMENTS and name not in _NOT_COUNTED:
                        counts[name] = counts.get(name, 0) + 1
                    continue
                tag = _make_tag(m, name, False, area, full_area, closing, encoding)
                raw = tree.start(tag)
                if want:
                    emit(tag, want, out)
                if raw is None:
                    continue
                if raw == "plaintext":
                    self._plaintext = True
                    return len(document)
                # Raw text: its state is carried over when the piece ends inside it, so a long
                # inline script streamed in pieces is read once (each piece from where the
                # last one left off), and the start tag is given once.
                self._carry = (_CARRY_SCRIPT, 0) if raw == "script" else (_CARRY_RAW, raw)
                pos, more = self._resume(document, m.end(), final, out)
                if not more:
                    return pos
                break
            else:
                # A "<" at the very end may open a tag once more bytes come.
                if not final and document.endswith(b"<"):
                    return len(document) - 1
                return len(document)

    def _pend(self, document: bytes, start: int) -> int:
        """A tag at ``start`` runs past the data: note how far it is read (the next data
        starts with it), so that the next pieces read on instead of starting it again."""
        name = start + (2 if document[start + 1] == 0x2F else 1)
        end, state = _tag_progress(document, name, _T_NAME)
        self._pending = (end - start, state)
        return start

    def _resume(self, document: bytes, pos: int, final: bool, out: list[Any]) -> tuple[int, bool]:
        """Read on in the carried construct from ``pos``: (where it ends, True), or, when the
        data ends first, (how far the data is decided, False), the construct still carried.

        What is left undecided is only what could begin the construct's end (a cut
        ``</scrip``, ``--``, ``]]``), so the caller keeps a few bytes, never the construct.
        """
        assert self._carry is not None
        kind, arg = self._carry
        n = len(document)
        if kind in (_CARRY_SCRIPT, _CARRY_RAW):
            if kind == _CARRY_SCRIPT:
                close, state, pos = _script_end(document, pos, arg)
                self._carry = (kind, state)
                keep, raw = 8, "script"  # "</script" and one more byte decide
            else:
                close, raw = _raw_end(_RAW_END[arg], document, pos), arg
                keep = len(arg) + 2
            if close < 0:
                if final:
                    self._carry = None
                    return n, False
                return max(pos, n - keep), False
            t = _TAG.match(document, close)
            if t is None:  # the end tag runs to the end of the data
                if final:
                    self._carry = None
                    return n, False
                return self._pend(document, close), False  # (found again there, same state)
            self._carry = None
            end_want = self._wants(raw, t.group(3), t.group(4))
            if end_want:
                self._emit(_make_tag(t, raw, True, t.group(3), t.group(4), t.group(6),
                                     self._encoding), end_want, out)
            # (the end tag only closes the raw-text element, which the model never opened)
            return t.end(), True
        if kind == _CARRY_COMMENT:
            m = _COMMENT_END.search(document, pos)
            end, keep = (-1, 3) if m is None else (m.end(), 0)
        elif kind == _CARRY_CDATA:
            end, keep = document.find(b"]]>", pos), 2
            end = end if end < 0 else end + 3
        else:  # a bogus comment
            end, keep = document.find(b">", pos), 0
            end = end if end < 0 else end + 1
        if end >= 0:
            self._carry = None
            return end, True
        if final:
            self._carry = None
            return n, False
        return max(pos, n - keep), False


def _raw_end(pattern: re.Pattern[bytes], document: bytes, pos: int) -> int:
    """Offset of the end tag of RAWTEXT/RCDATA content starting at ``pos``, or -1."""
    m = pattern.search(document, pos)
    return -1 if m is None else m.start()
