"""Attribute values as a browser reads them, decoded only when asked for.

The engines find a tag's attribute *area* on the bytes; turning it into a mapping (names
lowercased, the first of duplicated names kept, values decoded like the input stream with
their character references replaced) costs far more, and the middleware looks at the
attributes of a handful of tags only: so :class:`_LazyAttrs` parses on first access. The
compiled engine decodes plain text itself and calls :func:`_text` and :func:`_value` for the
rest (CR, NUL, character references), so both engines decode alike.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from html.entities import html5 as _HTML5_ENTITIES
from types import MappingProxyType
from typing import Any

# The attributes of a tag's attribute area (which the tokenizer's grammar, tokenizer._ATTR,
# has delimited), one a match: the name, then the value double-quoted, single-quoted or
# unquoted.
_ATTR_PARTS = re.compile(
    rb"([^\t\n\f\r />][^\t\n\f\r /=>]*)"
    rb"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r >]*)))?"""
)

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


# The references HttpUtility.HtmlAttributeEncode writes (an ASP.NET GridView link has four
# &#39;), but &amp;: the "&" it leaves would be read again by the later replacements, so
# _decode_charrefs replaces it last, on its own.
_COMMON_REFS = (("&#39;", "'"), ("&quot;", '"'), ("&lt;", "<"), ("&gt;", ">"))


def _decode_charrefs(value: str) -> str:
    """``value`` with its character references replaced, as ``_CHARREF.sub(_replace_charref)``
    replaces them, but with no Python call per reference when all are common ones (a
    GridView link has four: the calls cost more than the rest of reading the tag).

    Why it is the same: _CHARREF's matches start at a "&" and hold no other, so they never
    overlap, and where one of these references stands the scan matches exactly it (its ";"
    ends the digits or the name), which _replace_charref turns into the character here. The
    replacements add no "&", and their characters (' " < >) are in none of these references,
    so they neither make nor break one; if then every "&" left starts an "&amp;", every
    reference in ``value`` was a common one, and one pass replaces the "&amp;"s (str.replace
    does not read its own output again). Otherwise the scan reads ``value`` as before.
    """
    text = value
    for ref, char in _COMMON_REFS:
        if ref in text:
            text = text.replace(ref, char)
    if "&" in text:
        if text.count("&") != text.count("&amp;"):
            return _CHARREF.sub(_replace_charref, value)
        text = text.replace("&amp;", "&")
    return text


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
        value = _decode_charrefs(value)
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


def _raw_values(area: bytes, names: frozenset[bytes]) -> list[bytes]:
    """The undecoded values of the first attribute of each of ``names`` (lowercase) in a tag's
    attribute area, in attribute order: what the compiled engine sees of them as it reads the
    tag, for the tests both engines make on raw bytes."""
    found: dict[bytes, bytes] = {}
    for m in _ATTR_PARTS.finditer(area):
        name = m.group(1).lower()
        if name in names and name not in found:
            found[name] = m.group(2) or m.group(3) or m.group(4) or b""
    return list(found.values())


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
