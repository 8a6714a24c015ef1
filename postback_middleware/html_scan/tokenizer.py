"""The tokenizer's grammar on bytes: the regexes and small state machines the Python engine runs.

Everything the HTML5 tokenizer looks at is ASCII in the encodings the scanner reads, so the
constructs are found on the raw bytes: :data:`_NEXT` finds the next construct in the data
state and consumes it whole (a tag through the tokenizer's attribute states, a comment, a
bogus comment); the ends of raw text (:data:`_RAW_END`, and script data's escaped states in
:func:`_script_end`) are searched for; a tag or construct cut by the end of a piece is told
apart (:func:`_unterminated`) and an open tag is read on state by state (:func:`_tag_progress`).
The functions here keep no state: the engine (``python_engine``) carries it between pieces.
``_cscan.c`` follows the same grammar (``tag_end``, ``script_end``, ``tag_progress``).
"""

from __future__ import annotations

import re
from typing import Any

from .tree import _RAWTEXT, _RCDATA

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

_COMMENT_END = re.compile(rb"--!?>")
_SCRIPT_DATA = re.compile(rb"<(?:!--|/script[\t\n\f\r />])", re.IGNORECASE)
_SCRIPT_ESCAPED = re.compile(rb"-->|<(/?)script[\t\n\f\r />]", re.IGNORECASE)
_SCRIPT_DOUBLE_ESCAPED = re.compile(rb"-->|</script[\t\n\f\r />]", re.IGNORECASE)

# the end tag of each RAWTEXT / RCDATA element (see tree._RAWTEXT, tree._RCDATA)
_RAW_END: dict[str, re.Pattern[bytes]] = {
    name: re.compile(b"</" + name.encode("ascii") + rb"[\t\n\f\r />]", re.IGNORECASE)
    for name in _RAWTEXT | _RCDATA
}


def _raw_end(pattern: re.Pattern[bytes], document: bytes, pos: int) -> int:
    """Offset of the end tag of RAWTEXT/RCDATA content starting at ``pos``, or -1."""
    m = pattern.search(document, pos)
    return -1 if m is None else m.start()


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
    ``data`` is any bytes-like object (the injector's growing buffer is not copied)."""
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

