"""Which character encoding a page uses, and how the byte scanner can edit any of them.

The tag scanner reads bytes and needs an ASCII-compatible encoding (UTF-8, Latin-1, cp1252...):
there every byte that matters to HTML syntax is ASCII. A page's encoding comes, as in a browser,
from the ``Content-Type`` charset, else a byte order mark, else a ``<meta charset>`` (or
``http-equiv``) in its first 1024 bytes, else UTF-8 (used only to read attribute values).

UTF-16 pages are transcoded to UTF-8 for the scanner and back again: the inserted fields are
ASCII, and every character of the page reaches the browser as the same UTF-16 bytes (a byte
order mark is kept; unpaired surrogates survive with ``surrogatepass``). Browsers do not
support UTF-32 (the WHATWG encoding standard has no such encoding), so it is never rewritten.
"""

from __future__ import annotations

import codecs
import functools
import re
from typing import Any

_META_CHARSET = re.compile(
    rb"""<meta[\t\n\f\r /][^>]*?charset[\t\n\f\r ]*=[\t\n\f\r ]*["']?([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
UNSUPPORTED = ("utf-32", "utf32", "ucs-4", "ucs4")


def sniff(first_bytes: bytes) -> str:
    """The encoding a page declares in its first bytes (BOM, then ``<meta>``), else UTF-8."""
    for bom, name in _BOMS:
        if first_bytes.startswith(bom):
            return name
    match = _META_CHARSET.search(first_bytes, 0, 1024)
    return match.group(1).decode("ascii").lower() if match else "utf-8"


def _utf16_variant(label: str, first_bytes: bytes) -> str:
    """UTF-16 with its byte order: the BOM decides, else the label (WHATWG: "utf-16" is LE)."""
    if first_bytes.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    if first_bytes.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    return "utf-16-be" if label.replace("_", "-") in ("utf-16be", "utf-16-be") else "utf-16-le"


@functools.lru_cache(maxsize=256)  # (a site serves a few charsets, page after page)
def _codec_name(label: str) -> str:
    """Python's name of a charset label; UTF-8 for an unknown label (only attribute text is
    affected)."""
    try:
        return codecs.lookup(label).name
    except LookupError:
        return "utf-8"


class Transcoder:
    """Presents a page to the scanner as ASCII-compatible bytes, and turns edits back."""

    def __init__(self, charset: str, first_bytes: bytes) -> None:
        label = charset.strip().lower()
        self._decoder: Any = None
        self._encoder: Any = None
        if label.startswith(("utf-16", "utf16")):
            name = _utf16_variant(label, first_bytes)
            self._decoder = codecs.getincrementaldecoder(name)("surrogatepass")
            self._encoder = codecs.getincrementalencoder(name)("surrogatepass")
            # (the scanner's output of a piece may end inside a character: a script's text
            # is kept from its last few bytes, which may cut one)
            self._from_utf8 = codecs.getincrementaldecoder("utf-8")("surrogatepass")
            self.scan_encoding = "utf-8"
        else:
            self.scan_encoding = _codec_name(label)

    @property
    def is_identity(self) -> bool:
        """Whether the scanner reads the page's own bytes (every encoding but UTF-16)."""
        return self._decoder is None

    def to_scanner(self, data: bytes, *, final: bool = False) -> bytes:
        if self._decoder is None:
            return data
        return bytes(self._decoder.decode(data, final).encode("utf-8", "surrogatepass"))

    def from_scanner(self, data: bytes, *, final: bool = False) -> bytes:
        """Back to the page's encoding; a character cut by the end of ``data`` waits for the
        next (``final``: the page's last bytes)."""
        if self._encoder is None:
            return data
        return bytes(self._encoder.encode(self._from_utf8.decode(data, final)))
