"""Which character encoding a page uses, and how the byte scanner can edit any of them.

The tag scanner reads bytes and needs an ASCII-compatible encoding (UTF-8, Latin-1, cp1252...):
there every byte that matters to HTML syntax is ASCII. A page's encoding is settled as a browser
settles it (:func:`choose`): a byte order mark, else the ``Content-Type`` charset, else a
``<meta charset>`` (or ``http-equiv``) in its first 1024 bytes, else UTF-8 (used only to read
attribute values). A charset that is not a label of the WHATWG Encoding Standard counts as none
(browsers ignore it: ``utf16``, ``utf-7``, Python's ``hex`` or ``base64``...), and a ``<meta>``
naming UTF-16 means UTF-8 (the page is ASCII where it is read, as browsers reason).

UTF-16 pages are transcoded to UTF-8 for the scanner and back again: the inserted fields are
ASCII, and every character of the page reaches the browser as the same UTF-16 bytes (a byte
order mark is kept; unpaired surrogates survive with ``surrogatepass``, and a last odd byte,
which a browser shows as U+FFFD, is sent back as it came). Browsers do not
support UTF-32 (the WHATWG encoding standard has no such encoding), so it is never rewritten.

ISO-2022-JP is the one encoding browsers support in which ASCII bytes are not always ASCII
characters: after ``ESC $ B`` (or ``ESC $ @``, ``ESC ( I``) every byte up to ``ESC ( B``, quotes,
``<`` and ``>`` included, is half of a kanji to a browser, and markup to the byte scanner (or
the reverse). A page a browser may read so (:func:`escapes_are_inert`) is edited only while it
holds no ESC byte (see ``response``).

A browser submits a form in the form's own encoding (:func:`form_encoding`: its
``accept-charset``, else the page's), not in UTF-8: the reserved fields of a postback from a
windows-1252 page come in windows-1252. Its tokens record that encoding (see ``form_tokens``),
as the codec the scanner read the page with (so that a value posted reads as the page's pairs
were read), but for the labels browsers read as the Windows encoding extending them.
"""

from __future__ import annotations

import codecs
import functools
import re
from typing import Any

from .http import reads_form_posts

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
ESC = b"\x1b"  # (begins ISO-2022-JP's escape sequences)
ISO_2022_JP = frozenset({"iso-2022-jp", "csiso2022jp"})  # (its WHATWG labels)
# Every label of the WHATWG Encoding Standard: a browser ignores a charset not among them.
WHATWG_LABELS = frozenset({
    "866", "ansi_x3.4-1968", "arabic", "ascii", "asmo-708", "big5", "big5-hkscs", "chinese",
    "cn-big5", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
    "cp1258", "cp819", "cp866", "csbig5", "cseuckr", "cseucpkdfmtjapanese", "csgb2312",
    "csibm866", "csiso2022jp", "csiso2022kr", "csiso58gb231280", "csiso88596e", "csiso88596i",
    "csiso88598e", "csiso88598i", "csisolatin1", "csisolatin2", "csisolatin3", "csisolatin4",
    "csisolatin5", "csisolatin6", "csisolatin9", "csisolatinarabic", "csisolatincyrillic",
    "csisolatingreek", "csisolatinhebrew", "cskoi8r", "csksc56011987", "csmacintosh",
    "csshiftjis", "csunicode", "cyrillic", "dos-874", "ecma-114", "ecma-118", "elot_928",
    "euc-jp", "euc-kr", "gb18030", "gb2312", "gb_2312", "gb_2312-80", "gbk", "greek", "greek8",
    "hebrew", "hz-gb-2312", "ibm819", "ibm866", "iso-10646-ucs-2", "iso-2022-cn",
    "iso-2022-cn-ext", "iso-2022-jp", "iso-2022-kr", "iso-8859-1", "iso-8859-10",
    "iso-8859-11", "iso-8859-13", "iso-8859-14", "iso-8859-15", "iso-8859-16", "iso-8859-2",
    "iso-8859-3", "iso-8859-4", "iso-8859-5", "iso-8859-6", "iso-8859-6-e", "iso-8859-6-i",
    "iso-8859-7", "iso-8859-8", "iso-8859-8-e", "iso-8859-8-i", "iso-8859-9", "iso-ir-100",
    "iso-ir-101", "iso-ir-109", "iso-ir-110", "iso-ir-126", "iso-ir-127", "iso-ir-138",
    "iso-ir-144", "iso-ir-148", "iso-ir-149", "iso-ir-157", "iso-ir-58", "iso8859-1",
    "iso8859-10", "iso8859-11", "iso8859-13", "iso8859-14", "iso8859-15", "iso8859-2",
    "iso8859-3", "iso8859-4", "iso8859-5", "iso8859-6", "iso8859-7", "iso8859-8", "iso8859-9",
    "iso88591", "iso885910", "iso885911", "iso885913", "iso885914", "iso885915", "iso88592",
    "iso88593", "iso88594", "iso88595", "iso88596", "iso88597", "iso88598", "iso88599",
    "iso_8859-1", "iso_8859-15", "iso_8859-1:1987", "iso_8859-2", "iso_8859-2:1987",
    "iso_8859-3", "iso_8859-3:1988", "iso_8859-4", "iso_8859-4:1988", "iso_8859-5",
    "iso_8859-5:1988", "iso_8859-6", "iso_8859-6:1987", "iso_8859-7", "iso_8859-7:1987",
    "iso_8859-8", "iso_8859-8:1988", "iso_8859-9", "iso_8859-9:1989", "koi", "koi8", "koi8-r",
    "koi8-ru", "koi8-u", "koi8_r", "korean", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601",
    "ksc_5601", "l1", "l2", "l3", "l4", "l5", "l6", "l9", "latin1", "latin2", "latin3",
    "latin4", "latin5", "latin6", "logical", "mac", "macintosh", "ms932", "ms_kanji",
    "replacement", "shift-jis", "shift_jis", "sjis", "sun_eu_greek", "tis-620", "ucs-2",
    "unicode", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "unicodefeff",
    "unicodefffe", "us-ascii", "utf-16", "utf-16be", "utf-16le", "utf-8", "utf8", "visual",
    "windows-1250", "windows-1251", "windows-1252", "windows-1253", "windows-1254",
    "windows-1255", "windows-1256", "windows-1257", "windows-1258", "windows-31j",
    "windows-874", "windows-949", "x-cp1250", "x-cp1251", "x-cp1252", "x-cp1253", "x-cp1254",
    "x-cp1255", "x-cp1256", "x-cp1257", "x-cp1258", "x-euc-jp", "x-gbk", "x-mac-cyrillic",
    "x-mac-roman", "x-mac-ukrainian", "x-sjis", "x-unicode20utf8", "x-user-defined", "x-x-big5",
})
# The labels browsers read as UTF-16, with the byte order each means (WHATWG: "utf-16" is LE).
UTF16_LABELS = {
    "utf-16": "utf-16-le", "utf-16le": "utf-16-le", "unicode": "utf-16-le",
    "ucs-2": "utf-16-le", "csunicode": "utf-16-le", "iso-10646-ucs-2": "utf-16-le",
    "unicodefeff": "utf-16-le", "utf-16be": "utf-16-be", "unicodefffe": "utf-16-be",
}
# A Content-Type's charset as browsers read it: the first, no space around "=", quotes optional.
_CHARSET_PARAMETER = re.compile(r';[\t ]*charset=("?)([^\t ;",]*)\1[\t ]*(?:;|$)', re.IGNORECASE)


_BOM_PREFIXES = tuple(bom for bom, _ in _BOMS)


def choose(content_type: str | None, first_bytes: bytes) -> str:
    """The page's encoding label as a browser settles it (see the module docstring)."""
    if first_bytes.startswith(_BOM_PREFIXES):
        return next(name for bom, name in _BOMS if first_bytes.startswith(bom))
    label = _declared(content_type or "")
    if label is not None:
        return label
    label = sniff(first_bytes)
    return "utf-8" if label not in WHATWG_LABELS or label in UTF16_LABELS else label


@functools.lru_cache(maxsize=256)  # (a site sends a few Content-Types, page after page)
def _declared(content_type: str) -> str | None:
    """The charset a ``Content-Type`` gives a browser: its first, if a WHATWG label; else
    None."""
    match = _CHARSET_PARAMETER.search(content_type)
    label = match.group(2).lower() if match else ""
    return label if label in WHATWG_LABELS else None


def sniff(first_bytes: bytes) -> str:
    """The encoding a page declares in its first bytes (BOM, then ``<meta>``), else UTF-8."""
    for bom, name in _BOMS:
        if first_bytes.startswith(bom):
            return name
    match = _META_CHARSET.search(first_bytes, 0, 1024)
    return match.group(1).decode("ascii").lower() if match else "utf-8"


def escapes_are_inert(content_types: list[str], first_bytes: bytes) -> bool:
    """Whether no browser reads the page as ISO-2022-JP, whatever ESC bytes it holds: it starts
    with a byte order mark (which decides before anything else), or its one ``Content-Type``
    names one charset, once, that browsers know and that is not ISO-2022-JP. Otherwise a
    ``<meta>`` may name ISO-2022-JP: a browser looks for one past the first 1024 bytes (and
    Chromium even in the body), and reads a charset given twice otherwise than here."""
    if first_bytes.startswith(_BOM_PREFIXES):
        return True
    return len(content_types) == 1 and _one_charset_not_jis(content_types[0])


@functools.lru_cache(maxsize=256)  # (as _declared)
def _one_charset_not_jis(content_type: str) -> bool:
    """Whether a ``Content-Type`` names one charset, once, that browsers know and that is not
    ISO-2022-JP (see :func:`escapes_are_inert`)."""
    if content_type.lower().count("charset") != 1:
        return False
    label = _declared(content_type)
    return label is not None and label not in ISO_2022_JP


def _utf16_variant(label: str, first_bytes: bytes) -> str:
    """UTF-16 with its byte order: the BOM decides, else the label (WHATWG: "utf-16" is LE)."""
    if first_bytes.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    if first_bytes.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    return UTF16_LABELS.get(label, "utf-16-be" if label == "utf-16-be" else "utf-16-le")


# The Python codecs that read the WHATWG multi-byte encodings as browsers do: the same bytes
# become characters (Python's "shift_jis", "big5", "gb2312" and "euc_kr" are the older, smaller
# tables, whose decoders give an ASCII byte after an unknown lead byte back as ASCII where a
# browser reads both as one character: "http://evil.example" 0x87 "@" "bank.example" is
# bank.example's to them, evil.example's to a browser). Where these still differ from a
# browser, they give U+FFFD (see ``inject._resolved_path``).
_BROWSER_CODECS = {
    **dict.fromkeys(("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis",
                     "windows-31j", "x-sjis"), "cp932"),
    **dict.fromkeys(("cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean",
                     "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949"),
                    "cp949"),
    **dict.fromkeys(("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80",
                     "gbk", "iso-ir-58", "x-gbk", "gb18030"), "gb18030"),
    **dict.fromkeys(("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"), "big5hkscs"),
}


@functools.lru_cache(maxsize=256)  # (a site serves a few charsets, page after page)
def _codec_name(label: str) -> str:
    """Python's name of a charset label (the codec that reads it as browsers do); UTF-8 for an
    unknown label (only attribute text is affected)."""
    try:
        info = codecs.lookup(_BROWSER_CODECS.get(label, label))
    except LookupError:
        return "utf-8"
    # (not Python's bytes-to-bytes codecs, hex or base64: not text encodings)
    return info.name if getattr(info, "_is_text_encoding", True) else "utf-8"


class Transcoder:
    """Presents a page to the scanner as ASCII-compatible bytes, and turns edits back."""

    def __init__(self, charset: str, first_bytes: bytes) -> None:
        label = charset.strip().lower()
        self._decoder: Any = None
        self._encoder: Any = None
        self._stray = b""  # (a UTF-16 page's last odd byte)
        if label in UTF16_LABELS or label in ("utf-16-le", "utf-16-be"):
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
        text = self._decoder.decode(data, False)
        if final:  # (an odd byte left over is kept aside, and sent back last)
            pending = self._decoder.getstate()[0]
            self._stray = pending[len(pending) // 2 * 2:]
            self._decoder.reset()
            text += self._decoder.decode(pending[:len(pending) // 2 * 2], True)
        return bytes(text.encode("utf-8", "surrogatepass"))

    def from_scanner(self, data: bytes, *, final: bool = False) -> bytes:
        """Back to the page's encoding; a character cut by the end of ``data`` waits for the
        next (``final``: the page's last bytes)."""
        if self._encoder is None:
            return data
        encoded = bytes(self._encoder.encode(self._from_utf8.decode(data, final)))
        return encoded + self._stray if final else encoded


# accept-charset's labels, as Chromium (and the client script's sendsUtf8) split them: on ASCII
# whitespace and commas (the HTML standard splits on whitespace only; a comma in a label makes
# no label there, where Chromium reads the labels around it).
_LABEL_SEPARATORS = re.compile(r"[\t\n\f\r ,]+")


def form_encoding(page: str, accept_charset: str | None = None) -> str | None:
    """The encoding a browser submits a post form of a page in (HTML's "pick an encoding for
    the form"): the first label of its ``accept-charset`` that names an encoding, else the
    page's (``page``: the scanner's codec, ``Transcoder.scan_encoding``); UTF-16 is sent as
    UTF-8. As the Python codec that reads it (the scanner's for that label, so that a value
    posted reads as the page's pairs were read; but see :data:`_SUBMITTED_IN`), or None for
    UTF-8 and for an encoding whose postbacks are read as UTF-8 as before
    (``http.reads_form_posts``: ISO-2022-JP, HZ)."""
    codec = page
    if accept_charset:
        for label in _LABEL_SEPARATORS.split(accept_charset.lower()):
            if label in WHATWG_LABELS:
                codec = "utf-8" if label in UTF16_LABELS else _codec_name(label)
                break
    codec = _codec_name(codec)
    codec = _SUBMITTED_IN.get(codec, codec)
    return codec if codec != "utf-8" and reads_form_posts(codec) else None


# Python's codecs of labels that browsers read as the Windows encoding extending them (WHATWG:
# "latin1", "iso-8859-1" and "us-ascii" are windows-1252, and so on), whose forms a browser
# submits in that: the same bytes but 0x80-0x9F, where "€" and curly quotes are (an
# accept-charset="ISO-8859-1" form posts "€" as 0x80). (The scanner reads such a page
# by the label's own codec, where those bytes are C1 controls, rarely written.)
_SUBMITTED_IN = {"ascii": "cp1252", "iso8859-1": "cp1252", "iso8859-9": "cp1254",
                 "iso8859-11": "cp874", "tis-620": "cp874"}
