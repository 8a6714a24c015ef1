"""Request side, step one: read a form POST body, find the reserved fields, cut them out.

The body is read once into a spooled temporary file (memory up to a threshold, disk beyond), so a
1 GB upload never sits in memory. Scanning never rewrites anything: it returns the reserved
fields it found and the byte ranges of the original body to *keep*. The inner app then gets
exactly those ranges, so every byte of its own fields and files arrives unchanged and in order.
Only once a postback is verified, and only with the ``forward_event_fields`` option, are two
fields added to that body (``add_fields``): the verified event, encoded as the body's own
fields are, after them.

* ``application/x-www-form-urlencoded``: the body is split on ``&`` (as every supported parser
  does); a segment whose raw name is a reserved name is taken out.
* ``multipart/form-data``: parsed by the streaming parser of the ``multipart`` package.
  Because that parser accepts only the exact RFC 7578 framing (``--boundary`` followed by CRLF or
  ``--``, headers ended by an empty line), the raw byte range of each part follows from the sizes
  it reports, and is checked against the delimiter bytes before anything is cut.

The inner app may parse the body with any of WebOb, Werkzeug, Django, Bottle or ``multipart``,
so a name is judged the way the most lenient of them could read it (the strictest judgement):
case and Unicode look-alikes folded, percent-encoding, backslash escapes, RFC 2231 parameters
(``name*``, ``name*0*``...; only ``filename*`` beside a ``filename`` is let be: it names no
field), a second ``name``, a second ``Content-Disposition``, folded or
bare-CR/LF header lines, a non-UTF-8 ``charset`` (utf-7 spells ``__EVENTTARGET`` without one
underscore), a ``_charset_`` field other than UTF-8, a ``Content-Encoding``. Anything that could
make one of them see a reserved name we did not is refused rather than guessed (see ``fields``).

Cost is bounded whatever the shape of the body (``benchmarks/request_cost.py``): at most
``max_fields`` fields or parts (the ``max_form_fields`` option, ``MAX_FORM_FIELDS`` by default;
past it, 413 before the next field is looked at), a reserved name refused on its second
occurrence, per-byte work done by C loops (``bytes.find``, ``re``), and only the names that
could matter decoded: a field costs a few Python operations, whatever its spelling.
"""

from __future__ import annotations

import email.header
import functools
import io
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import quote_plus, unquote, unquote_to_bytes

import multipart

from .errors import BadRequest, LengthRequired, TooLarge
from .fields import (
    CHARSET_FIELD,
    EVENTVALIDATION,
    RESERVED,
    RESERVED_BYTES,
    looks_reserved,
    may_look_reserved,
)
from .http import is_number, media_type, request_media_type

CHUNK_SIZE = 64 * 1024
# Fields (urlencoded) or parts (multipart) a body may have: the default of the max_form_fields
# option, Django's default for the same concern (DATA_UPLOAD_MAX_NUMBER_FIELDS). Urlencoded
# fields are counted as the standard library's max_num_fields counts them: one more than the
# number of "&", empty segments included.
MAX_FORM_FIELDS = 1000
# Longest escaped spelling of an 18-character name: 4 UTF-8 bytes a character, each "%XX".
_MAX_ESCAPED_NAME = 12 * 18
# Bytes read of each urlencoded segment, at least (more for a max_state_size value): a name
# longer than that is judged on what was read of it.
_MIN_HEAD = 4096
_MAX_CHARSET_VALUE = 64
_MAX_PART_HEADERS = 8
_MAX_PART_HEADER_LINE = 8 * 1024
# Parameter names anywhere in Content-Type, even inside quotes: a parser that splits on ";"
# naively must not find one we missed.
_PARAM_NAMES = re.compile(r';\s*([^\s=;"]+)\s*=')
# A browser writes two (name, filename); ";" inside a quoted name is legal but unheard of.
_MAX_PARAMETERS = 16
_ENCODED_WORD = re.compile(r"=\?[^?]*\?[bBqQ]\?[^?]*\?=")
# In a header line (CRLF taken off): control bytes other than tab, including CR and LF.
_BAD_HEADER_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def _whitespace_run(*, backwards: bool) -> re.Pattern[bytes]:
    """A run of whitespace as a raw urlencoded name may spell it (``backwards``: reversed).

    "+", or the UTF-8 bytes of any whitespace character, each byte raw or percent-encoded in
    either case. Stripping such runs from the raw bytes strips exactly what ``str.strip`` strips
    from the decoded name (UTF-8 resynchronises on every lead byte), without decoding it.
    The one-byte spellings come first, as one class and one escape: they are the cheap case.
    """

    def escape(byte: int) -> bytes:
        high, low = (f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{byte:02x}")
        return (low + high + "%" if backwards else "%" + high + low).encode()

    spaces = [char for char in map(chr, range(0x3001)) if char.isspace()]  # last: U+3000
    ascii_bytes = [ord(char) for char in spaces if char.isascii()]
    spellings = [
        b"[+" + b"".join(re.escape(bytes([byte])) for byte in ascii_bytes) + b"]",
        b"|".join(escape(byte) for byte in ascii_bytes),
    ]
    for char in spaces:
        if not char.isascii():
            units = [b"(?:" + re.escape(bytes([byte])) + b"|" + escape(byte) + b")"
                     for byte in char.encode()]
            spellings.append(b"".join(reversed(units) if backwards else units))
    return re.compile(b"(?:" + b"|".join(spellings) + b")*+")  # possessive: no backtrack stack


_LEADING_SPACE = _whitespace_run(backwards=False)
_TRAILING_SPACE = _whitespace_run(backwards=True)
# Bytes a whitespace spelling can start or end with: "+", "%", raw whitespace, UTF-8 lead and
# continuation bytes, hex digits (the end of an escape).
_ASCII_SPACE = b"+ \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"
_SPACE_FIRST_BYTES = frozenset(bytes([b]) for b in _ASCII_SPACE + b"%\xc2\xe1\xe2\xe3")
_SPACE_LAST_BYTES = frozenset(
    bytes([b]) for b in _ASCII_SPACE + b"0123456789abcdefABCDEF" + bytes(range(0x80, 0xC0)))
_LONGEST_SPELLING = 9  # "%E3%80%80"
# Whitespace a urlencoded name may carry at either end and still be judged (raw bytes).
_MAX_PADDING = 1024
# A boundary every supported parser reads alike: quoted, RFC 2046's characters and the other
# token characters (not ending in a space); unquoted, a token. Never "%" (Werkzeug decodes
# %22), a backslash or a quote inside (parsers unescape differently).
_BOUNDARY = re.compile(
    r';\s*boundary=(?:"([0-9A-Za-z!#$&\'()*+,\-./:=?^_`|~ ]*[0-9A-Za-z!#$&\'()*+,\-./:=?^_`|~])"'
    r"|([0-9A-Za-z!#$&'*+\-.^_`|~]+))\s*(?:;|$)", re.IGNORECASE)
_CHARSET = re.compile(r';\s*charset\s*=\s*("[^"]*"|[^\s;"]*)\s*(?:;|$)', re.IGNORECASE)

SpooledBody = IO[bytes]


@dataclass
class BodyScan:
    """What a scan found: reserved fields in order, and the byte ranges to hand on."""

    reserved: list[tuple[str, bytes]] = field(default_factory=list)
    keep: list[tuple[int, int]] = field(default_factory=list)
    # Literal bytes to put between kept ranges (``&`` for urlencoded bodies, nothing for multipart).
    joiner: bytes = b""
    # Multipart only: the boundary, and how many bytes end the body after its last part (the
    # closing delimiter and the epilogue, always kept): fields are added before them.
    boundary: bytes = b""
    tail: int = 0
    # An ASP.NET AJAX async postback's first field, cut out: the ScriptManager's (name, value).
    manager_field: tuple[str, str] | None = None
    _ev_repeated: bool = field(default=False, repr=False)

    @property
    def is_postback(self) -> bool:
        return bool(self.reserved)

    def add_reserved(self, name: str, value: bytes) -> None:
        """Record a reserved field; its second occurrence is refused as it arrives.

        Parsers disagree on which copy wins, so copies are never collected. The one exception
        is ASP.NET's WebForms.js: ``WebForm_DoCallback`` posts the form's fields and then
        ``__EVENTVALIDATION`` again, so when that input has no ``id="__EVENTVALIDATION"`` it
        goes twice, with the same value; exactly that is accepted (and recorded once).
        """
        for seen, seen_value in self.reserved:
            if seen == name:
                if name == EVENTVALIDATION and value == seen_value and not self._ev_repeated:
                    self._ev_repeated = True
                    return
                raise BadRequest(f"{name} sent twice")
        self.reserved.append((name, value))


# Media types a supported parser reads as urlencoded: ``multipart.parse_form_data`` and Bottle
# also take "application/x-url-encoded".
URLENCODED_TYPES = frozenset({"application/x-www-form-urlencoded", "application/x-url-encoded"})


def form_kind(environ: Mapping[str, Any]) -> str | None:
    """``"urlencoded"``, ``"multipart"``, or None for a POST body that is not scanned.

    A POST with no ``CONTENT_TYPE`` at all is read as urlencoded by WebOb (``cgi``'s default),
    and Bottle reads *any* body as a form, so ``text/plain`` (the third type a page of another
    site can send, ``<form enctype="text/plain">``) is scanned as urlencoded too. Other types
    (JSON, ``multipart/mixed``...) need a CORS preflight from another site and are left alone:
    only Bottle would read them as forms (see docs/security.md).
    """
    if "CONTENT_TYPE" not in environ:
        return "urlencoded"
    mime = request_media_type(environ)
    if mime in URLENCODED_TYPES or mime == "text/plain":
        return "urlencoded"
    return "multipart" if mime == "multipart/form-data" else None


def check_form_headers(environ: Mapping[str, Any]) -> None:
    """Refuse a form body that a parser could decode differently from us (400).

    A ``charset`` other than UTF-8 (Django, Bottle and ``multipart`` decode names with it:
    in utf-7, ``+AF8AXw-EVENTTARGET`` is ``__EVENTTARGET``), RFC 2231 or repeated parameters
    on ``Content-Type``, any ``Content-Encoding`` (a gzip body is opaque to our scan, and
    some stack in front of the app might decode it), and a multipart type not spelled
    ``multipart/`` in lower case (Bottle tests ``startswith("multipart/")`` and reads
    ``Multipart/form-data`` as urlencoded: a value holding ``&__EVENTTARGET=x&`` would be a
    field to it; the Fetch standard lower-cases the type, so no CORS preflight stops it).
    """
    if "HTTP_CONTENT_ENCODING" in environ:  # (rarely sent with a form)
        coding = str(environ["HTTP_CONTENT_ENCODING"]).strip().lower()
        if coding not in ("", "identity"):
            raise BadRequest(f"form body with Content-Encoding {coding[:40]!r}")
    _check_content_type(str(environ.get("CONTENT_TYPE", "")))


@functools.lru_cache(maxsize=256)  # (a site's forms send the same few, post after post)
def _check_content_type(content_type: str) -> None:
    """:func:`check_form_headers`'s judgement of ``Content-Type`` (a refusal raises, and is
    not kept: judged again each time)."""
    if (media_type(content_type) == "multipart/form-data"
            and not content_type.strip().startswith("multipart/")):
        raise BadRequest(f"multipart Content-Type not in lower case (Bottle reads it as "
                         f"urlencoded): {content_type[:80]!r}")
    keys = [key.lower() for key in _PARAM_NAMES.findall(content_type)]
    if any("*" in key for key in keys):
        raise BadRequest("form Content-Type with an RFC 2231 parameter")
    if len(set(keys)) != len(keys):
        raise BadRequest("form Content-Type with a repeated parameter")
    lowered = content_type.lower()
    if "charset" in lowered:
        match = _CHARSET.search(content_type)
        charset = match.group(1).strip('"').lower() if match else ""
        if lowered.count("charset") != 1 or charset != "utf-8":
            raise BadRequest(f"form Content-Type with a charset other than UTF-8: "
                             f"{content_type[:80]!r}")


def names_charset(content_type: str) -> bool:
    """Whether a form's ``Content-Type`` names its charset (once :func:`check_form_headers`
    passed it, that is UTF-8): a script's request, where a browser's own submission of a
    form names none and is in the form's encoding (see ``form_tokens``)."""
    return "charset" in content_type.lower()


def read_body(
    environ: Mapping[str, Any], *, max_body_size: int, spool_threshold: int
) -> tuple[SpooledBody, int]:
    """Read ``wsgi.input`` into a spooled file; 400/411/413 for what cannot be read safely."""
    check_form_headers(environ)
    raw_length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    length: int | None
    if raw_length == "":
        if not environ.get("wsgi.input_terminated"):
            raise LengthRequired("form POST without CONTENT_LENGTH on a non-terminated input")
        length = None
    elif is_number(raw_length):
        length = int(raw_length)
        if length > max_body_size:
            raise TooLarge(f"CONTENT_LENGTH {length} exceeds max_body_size {max_body_size}")
    else:
        raise BadRequest(f"malformed CONTENT_LENGTH {raw_length[:40]!r}")

    spool = _spool(length, spool_threshold)
    total = 0
    try:
        while length is None or total < length:
            want = CHUNK_SIZE if length is None else min(CHUNK_SIZE, length - total)
            chunk = stream.read(want)
            if not chunk:
                break
            total += len(chunk)
            if total > max_body_size:
                raise TooLarge(f"body exceeds max_body_size {max_body_size}")
            spool.write(chunk)
    except OSError as exc:
        spool.close()
        raise BadRequest(f"client went away while sending the body: {exc}") from None
    except BaseException:
        spool.close()
        raise
    if length is not None and total < length:
        spool.close()
        raise BadRequest(f"body ended after {total} of {length} bytes")
    spool.seek(0)
    return spool, total


def _spool(size: int | None, spool_threshold: int) -> SpooledBody:
    """A file for a body of ``size`` bytes (None: not known): in memory when it is known to
    fit under the threshold (an ``io.BytesIO``, whose calls cost a fifth of a spooled file's:
    most form posts), else spooled to disk past the threshold."""
    if size is not None and size <= spool_threshold:
        return io.BytesIO()
    return tempfile.SpooledTemporaryFile(max_size=spool_threshold)


def _iter_chunks(body: SpooledBody, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    body.seek(start)
    remaining = None if end is None else end - start
    while remaining is None or remaining > 0:
        chunk = body.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def _check_charset_value(value: bytes) -> None:
    """``_charset_`` may only say UTF-8: parsers that honour it decode names with it."""
    if value.strip().lower() not in (b"utf-8", b""):
        raise BadRequest(f"{CHARSET_FIELD} field other than UTF-8: {value[:40]!r}")


def _too_many_fields(kind: str, max_fields: int) -> TooLarge:
    """The refusal of a body with more than ``max_fields`` fields: its logged reason names the
    option to raise (a form of many fields, e.g. a large formset, is no attack)."""
    counted = "parts" if kind == "multipart" else "fields"
    return TooLarge(f"{kind} body with more than {max_fields} {counted} (raise the "
                    f"max_form_fields option for a form that has more)")


# -- application/x-www-form-urlencoded ------------------------------------------------------


def _urlencoded_segments(
    body: SpooledBody, length: int, head_limit: int, max_fields: int
) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(start, end, head)`` for each ``&``-separated segment; 413 past ``max_fields``.

    ``head`` is at most the first ``head_limit`` bytes: enough to read any name that could spell
    a reserved one, and any reserved value within the size limit, without ever holding a large
    ordinary value in memory. Python runs once per segment and per chunk, never per byte.
    """
    if length <= min(head_limit, CHUNK_SIZE):  # (a small body, most of them: split at C speed)
        body.seek(0)
        segments = body.read(length).split(b"&")
        if len(segments) > max_fields:
            raise _too_many_fields("urlencoded", max_fields)
        start = 0
        for segment in segments:
            yield start, start + len(segment), segment
            start += len(segment) + 1
        return
    start = 0
    head = bytearray()
    position = 0
    fields = 1
    for chunk in _iter_chunks(body):
        offset = 0
        while True:
            amp = chunk.find(b"&", offset)
            piece_end = len(chunk) if amp == -1 else amp
            if len(head) < head_limit:
                head += chunk[offset : min(piece_end, offset + head_limit - len(head))]
            if amp == -1:
                break
            fields += 1
            if fields > max_fields:
                raise _too_many_fields("urlencoded", max_fields)
            yield start, position + amp, bytes(head)
            start = position + amp + 1
            head.clear()
            offset = amp + 1
        position += len(chunk)
    yield start, position, bytes(head)


def scan_urlencoded(
    body: SpooledBody,
    length: int,
    *,
    max_field_size: int,
    max_fields: int = MAX_FORM_FIELDS,
    manager_field: bool = False,
) -> BodyScan:
    """Scan an urlencoded body. ``manager_field``: it is an ASP.NET AJAX async postback, whose
    first field is the ScriptManager's (``ScriptManager1=UpdatePanel1|LinkButton1``): cut out
    too, and kept in ``scan.manager_field`` (see ``aspnet.ajax``)."""
    # Room for the longest reserved name, "=", and a value of max_field_size encoded bytes.
    head_limit = max(max_field_size + 64, _MIN_HEAD)
    if not manager_field and length <= min(head_limit, CHUNK_SIZE):
        return _scan_whole(body, length, max_field_size=max_field_size, max_fields=max_fields)
    return _scan_streamed(body, length, head_limit=head_limit, max_field_size=max_field_size,
                          max_fields=max_fields, manager_field=manager_field)


def _scan_streamed(
    body: SpooledBody,
    length: int,
    *,
    head_limit: int,
    max_field_size: int,
    max_fields: int,
    manager_field: bool,
) -> BodyScan:
    """:func:`scan_urlencoded`, segment by segment as they are read (at most ``head_limit``
    bytes of each held)."""
    scan = BodyScan(joiner=b"&")
    run_start: int | None = 0
    for start, end, head in _urlencoded_segments(body, length, head_limit, max_fields):
        raw_name, equals, raw_value = head.partition(b"=")
        if manager_field and scan.manager_field is None:
            scan.manager_field = _manager_field(raw_name, equals, raw_value,
                                                end - start <= len(head))
            run_start = None
            continue
        if raw_name in RESERVED_BYTES:
            if end - start - len(raw_name) - 1 > max_field_size:
                raise TooLarge(f"reserved field {raw_name.decode()} exceeds max_state_size")
            scan.add_reserved(raw_name.decode("ascii"), _unquote_plus(raw_value))
            if run_start is not None and run_start < start:
                scan.keep.append((run_start, start - 1))
            run_start = None
            continue
        whole = bool(equals) or end - start <= len(head)
        # A name cut short may have its underscores in the part not read.
        if not whole or may_look_reserved(raw_name):
            _check_raw_name(raw_name, whole=whole, value=raw_value,
                            value_size=end - start - len(raw_name) - 1)
        if run_start is None:
            run_start = start
    if run_start is not None:
        scan.keep.append((run_start, length))
    return scan


_RESERVED_NAMES = {name.encode("ascii"): name for name in RESERVED}  # (raw -> str, no decode)


def _scan_whole(body: SpooledBody, length: int, *, max_field_size: int, max_fields: int
                ) -> BodyScan:
    """:func:`_scan_streamed` of a body that fits in one head (most form posts, a callback's
    always), read whole: so every segment is whole, and one loop over the split does all
    (no generator, no segment's size worked out from its ends), and a body without "%" or
    "+" has no value to unquote. A callback's body in under two thirds of the time; the
    same scan, or the same refusal (``test_body`` holds the two equal)."""
    body.seek(0)
    data = body.read(length)
    segments = data.split(b"&")
    if len(segments) > max_fields:
        raise _too_many_fields("urlencoded", max_fields)
    escaped = b"%" in data or b"+" in data
    scan = BodyScan(joiner=b"&")
    run_start: int | None = 0
    start = 0
    for segment in segments:
        raw_name, _, raw_value = segment.partition(b"=")
        name = _RESERVED_NAMES.get(raw_name)
        if name is not None:
            if len(segment) - len(raw_name) - 1 > max_field_size:
                raise TooLarge(f"reserved field {name} exceeds max_state_size")
            scan.add_reserved(name, _unquote_plus(raw_value) if escaped else raw_value)
            if run_start is not None and run_start < start:
                scan.keep.append((run_start, start - 1))
            run_start = None
        else:
            if may_look_reserved(raw_name):
                _check_raw_name(raw_name, whole=True, value=raw_value,
                                value_size=len(segment) - len(raw_name) - 1)
            if run_start is None:
                run_start = start
        start += len(segment) + 1
    if run_start is not None:
        scan.keep.append((run_start, length))
    return scan


def _manager_field(raw_name: bytes, equals: bytes, raw_value: bytes, whole: bool
                   ) -> tuple[str, str]:
    """The first field of an async postback, which must be a ScriptManager's: a name that is
    not reserved, ``=``, and a value within the field size limit, all UTF-8."""
    if not (equals and whole and raw_name) or raw_name in RESERVED_BYTES:
        raise BadRequest("an async postback must begin with its ScriptManager field")
    try:
        name = _unquote_plus(raw_name).decode("utf-8")
        value = _unquote_plus(raw_value).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the ScriptManager field is not UTF-8") from None
    _check_name(name)
    return name, value


def _check_raw_name(raw_name: bytes, *, whole: bool, value: bytes, value_size: int) -> None:
    """Refuse a raw name that decodes to a reserved look-alike, or to ``_charset_`` + not UTF-8.

    Only the core (whitespace stripped) is decoded, and only when it is short enough to be an
    18-character name; whitespace is looked for only at the ends: so no name costs more than
    a few KB of regex, however long or escaped. ``whole``: False when the name runs on past
    what was read of it.
    """
    core = _name_core(raw_name, whole=whole)
    if core is None:
        raise BadRequest("field name padded with whitespace disguises a reserved name")
    if not whole or len(core) > _MAX_ESCAPED_NAME:
        return  # more than 18 characters once stripped: nothing folds it to a reserved name
    decoded = _unquote_plus(core)
    name = decoded.decode("utf-8", "replace")
    _check_name(name)
    # Bottle reads urlencoded bodies as latin-1: "__EVENTT%AARGET" is ª there, "a" once folded.
    _check_name(decoded.decode("latin-1"))
    if name.casefold() == CHARSET_FIELD:
        if value_size > _MAX_CHARSET_VALUE:
            raise BadRequest(f"{CHARSET_FIELD} field too long")
        _check_charset_value(_unquote_plus(value))


def _name_core(raw: bytes, *, whole: bool = True) -> bytes | None:
    """The raw name without its leading and trailing whitespace spellings, or None when either
    run is longer than ``_MAX_PADDING`` (no form pads a name so; judging it would mean reading
    all of it). A name cut short is judged on what was read: None if that ends in whitespace.
    """
    if not (raw[:1] in _SPACE_FIRST_BYTES or raw[-1:] in _SPACE_LAST_BYTES):
        return raw  # the common case: nothing to strip
    window = _MAX_PADDING
    start = _run_length(_LEADING_SPACE, raw[:window])
    if whole and start == len(raw):
        return b""
    if start > window - _LONGEST_SPELLING:
        return None
    # A cut name may end in the middle of a spelling: try each place it could have begun.
    ends = [raw] if whole else [raw[: len(raw) - cut] for cut in range(_LONGEST_SPELLING)]
    trail = max(_run_length(_TRAILING_SPACE, end[-window:][::-1]) for end in ends)
    if trail > window - _LONGEST_SPELLING * (1 if whole else 2):
        return None
    return raw[start : len(raw) - trail]


def _run_length(run: re.Pattern[bytes], data: bytes) -> int:
    match = run.match(data)
    return match.end() if match else 0


def _unquote_plus(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" ")) if b"%" in raw or b"+" in raw else raw


def _check_name(name: str) -> None:
    if looks_reserved(name):
        raise BadRequest(f"field name {name[:60]!r} disguises a reserved name")


# -- multipart/form-data ----------------------------------------------------------------------


@dataclass
class _Part:
    """One multipart part as scanned: its size, and its value when we must read it."""

    name: str  # kept for reserved and _charset_ parts only
    reserved: bool
    size: int = 0
    value: bytearray | None = None  # collected only for reserved and _charset_ parts


def _name_readings(raw_names: list[str], parsed: str) -> set[str]:
    """Every way a supported parser could read the part's name.

    ``multipart``'s own reading, then each raw ``name=`` value a naive split on ";" finds,
    unquoted, with its backslashes kept or dropped (dropping them all reads at least every
    name that undoing RFC 9110 escapes reads), percent-decoded, RFC 2047 words decoded; and
    each that is not ASCII read again as UTF-8 (the headers are read as latin-1).
    """
    readings = {parsed}  # (the headers' bytes as latin-1: see scan_multipart)
    for raw in raw_names:
        value = raw.strip()
        if value.startswith('"'):
            value = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
        readings.update((value, value.replace("\\", "")))
    for reading in list(readings):
        # Percent-decoded only when short: a longer core would need whitespace escapes around
        # it, and no supported parser decodes more than HTML's %22 / %0D / %0A in part names.
        if "%" in reading and len(reading.strip()) <= _MAX_ESCAPED_NAME:
            readings.add(unquote(reading, errors="replace"))
        if "=?" in reading and _ENCODED_WORD.search(reading):
            readings.add(_decode_encoded_words(reading))
    for reading in list(readings):  # (and each as UTF-8, as most parsers read a header)
        if not reading.isascii():
            readings.add(reading.encode("latin-1", "replace").decode("utf-8", "replace"))
    return readings


def _parameters(disposition: str) -> tuple[list[str], list[str]]:
    """A Content-Disposition's parameter names (lowercased, as a naive split on ";" finds
    them) and the raw values of its ``name`` parameters."""
    params: list[str] = []
    raw_names: list[str] = []
    for piece in disposition.split(";")[1:]:
        key, equals, value = piece.partition("=")
        key = key.strip().strip('"').lower()
        if equals:
            params.append(key)
        if key == "name":
            raw_names.append(value)
    return params, raw_names


def _decode_encoded_words(text: str) -> str:
    try:
        pieces = email.header.decode_header(text)
    except Exception:  # malformed words: read as they are
        return text
    return "".join(
        piece.decode(charset or "latin-1", "replace") if isinstance(piece, bytes) else piece
        for piece, charset in pieces
    )


def _part_name(segment: Any) -> _Part:
    """The part's field name, and whether it is a *canonical* reserved part.

    Canonical means exactly what a browser writes for a plain field: one header,
    ``Content-Disposition: form-data; name="__X"``. Every other spelling that reads as a
    reserved name (case, look-alikes, percent-encoding, backslash escapes, RFC 2231
    ``name*=`` / ``name*0*=``, a second ``name=``, a second ``Content-Disposition``, a file
    part) is refused, because the inner app's parser might read it differently from ours.

    One RFC 2231 parameter is accepted, on any part: ``filename*`` (RFC 6266's UTF-8 file
    name), which .NET's ``HttpClient`` writes on every upload next to ``filename``. It names
    the file, never the field (Django and Werkzeug read it as ``filename``; the others ignore
    it), and only beside a plain ``filename``: so every parser reads the part as a file, as
    without it (alone, it would be a file to Django and Werkzeug and a field to WebOb, Bottle
    and ``multipart``). A reserved name is never a file part, so such a part is refused too.
    """
    dispositions = [v for k, v in segment.headerlist if k == "Content-Disposition"]
    if len(dispositions) != 1:
        raise BadRequest("multipart part with more than one Content-Disposition")
    disposition = dispositions[0]
    if disposition.count(";") > _MAX_PARAMETERS:
        raise BadRequest("multipart part with too many Content-Disposition parameters")
    params, raw_names = _parameters(disposition)
    if any("*" in p for p in params if p != "filename*"):
        raise BadRequest("multipart part uses an RFC 2231 parameter (name*, name*0...)")
    if params.count("name") > 1:
        raise BadRequest("multipart part carries two name parameters")
    if params.count("filename") > 1 or params.count("filename*") > 1:
        raise BadRequest("multipart part carries two filename parameters")
    if "filename*" in params and "filename" not in params:
        raise BadRequest("multipart part with filename* but no filename (a file to some "
                         "parsers, a field to others)")
    name: str = segment.name or ""
    if name in RESERVED:
        if segment.filename is not None:
            raise BadRequest(f"file part named {name}")
        if disposition != f'form-data; name="{name}"' or len(segment.headerlist) != 1:
            raise BadRequest(f"reserved part {name} in a non-canonical Content-Disposition")
        return _Part(name, True, value=bytearray())
    readings = _name_readings(raw_names, name)
    for reading in readings:
        _check_name(reading)
    # Only reserved names are kept: a thousand 8 KB names would be 8 MB.
    if any(reading.strip().casefold() == CHARSET_FIELD for reading in readings):
        return _Part(CHARSET_FIELD, False, value=bytearray())
    return _Part("", False)


def scan_multipart(
    body: SpooledBody, length: int, boundary: str, *, max_field_size: int,
    max_fields: int = MAX_FORM_FIELDS,
) -> BodyScan:
    """Scan a multipart body of at most ``max_fields`` parts (413 at the one after)."""
    parts: list[_Part] = []
    scan = BodyScan()
    try:
        parser = multipart.PushMultipartParser(
            boundary,
            content_length=length,
            max_header_size=_MAX_PART_HEADER_LINE,
            max_header_count=_MAX_PART_HEADERS,
            # (A backstop: the part after max_fields is refused below, as its headers end.)
            max_segment_count=max_fields + 1,
            # Part headers read byte for byte (latin-1): a browser writes a file's name in the
            # form's encoding (café.txt from a windows-1252 page is not UTF-8), and a header
            # read as UTF-8 would refuse that upload; each name is judged in both readings
            # (see _name_readings), as a urlencoded body's are.
            header_charset="latin-1",
            # Not strict: strict mode refuses the epilogue (browsers end with CRLF after the
            # closing boundary) when it arrives in a later chunk. The first-boundary rule that
            # strict mode adds is enforced in _part_offsets instead.
        )
        with parser:
            current: _Part | None = None
            for chunk in _iter_chunks(body):
                for event in parser.parse(chunk):
                    if event is None:
                        assert current is not None
                        _part_done(scan, current)
                        current = None
                    elif isinstance(event, bytes | bytearray):
                        assert current is not None
                        current.size += len(event)
                        if current.value is not None:
                            if current.size > max_field_size:
                                raise TooLarge(f"reserved part {current.name} exceeds limits")
                            current.value += event
                    else:
                        if len(parts) == max_fields:
                            raise _too_many_fields("multipart", max_fields)
                        current = _part_name(event)
                        parts.append(current)
    except multipart.ParserLimitReached as exc:
        raise TooLarge(f"multipart limit: {exc}") from None
    except multipart.MultipartError as exc:
        raise BadRequest(f"malformed multipart body: {exc}") from None

    dash_boundary = b"--" + boundary.encode("utf-8")
    # Browsers pick a boundary that occurs nowhere in the content. Any other occurrence (a
    # bare-LF delimiter, one in the preamble or epilogue) is text to this parser but may be a
    # delimiter to a lenient one in the inner app, which would then see fields we never checked.
    if _count(body, dash_boundary) != len(parts) + 1:
        raise BadRequest("multipart boundary occurs outside its delimiters")
    offsets, closing = _part_offsets(body, boundary.encode("utf-8"), parts)
    scan.boundary, scan.tail = boundary.encode("utf-8"), length - closing
    cursor = 0
    for part, (start, end) in zip(parts, offsets, strict=True):
        if part.reserved:
            if cursor < start:
                scan.keep.append((cursor, start))
            cursor = end
    scan.keep.append((cursor, length))
    return scan


def _part_done(scan: BodyScan, part: _Part) -> None:
    if part.value is None:
        return
    if part.reserved:
        scan.add_reserved(part.name, bytes(part.value))
    else:
        _check_charset_value(bytes(part.value))
    part.value = None


def _count(body: SpooledBody, needle: bytes) -> int:
    """Occurrences of ``needle`` in the whole body, read in chunks (overlapping by its length)."""
    count = 0
    tail = b""
    for chunk in _iter_chunks(body):
        window = tail + chunk
        count += window.count(needle)
        # Keep less than a needle, so no occurrence is counted twice.
        tail = window[-(len(needle) - 1) :] if len(needle) > 1 else b""
    return count


def _part_offsets(
    body: SpooledBody, boundary: bytes, parts: list[_Part]
) -> tuple[list[tuple[int, int]], int]:
    """Byte range of each part, from its ``--boundary`` line to just before the next one, and
    where the closing delimiter starts.

    Derived from the sizes the parser reported, and checked against the delimiter bytes,
    so a disagreement with the parser is refused instead of cutting the wrong bytes. Each
    part's raw header block is checked here too: a folded line, a bare CR or LF, or a control
    byte is read one way by ``multipart`` and another way by parsers that split lines
    differently (Werkzeug splits on a lone CR), so none is allowed; and a reserved part's
    header must be byte for byte what a browser writes.
    """
    dash_boundary = b"--" + boundary
    body.seek(0)
    first = body.read(CHUNK_SIZE)
    position = first.find(dash_boundary)
    if position == -1 or (position > 0 and first[position - 2 : position] != b"\r\n"):
        raise BadRequest("multipart body does not start with its boundary")
    most = _MAX_PART_HEADERS * (_MAX_PART_HEADER_LINE + 2) + 4
    ranges = []
    for part in parts:
        header_start = position + len(dash_boundary) + 2
        headers = _header_block(body, header_start, most)
        if headers is None:
            raise BadRequest("multipart part headers do not end where the parser said")
        canonical = f'Content-Disposition: form-data; name="{part.name}"'.encode()
        if part.reserved and headers != canonical:
            raise BadRequest(f"reserved part {part.name} in a non-canonical Content-Disposition")
        for line in headers.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") or _BAD_HEADER_BYTES.search(line):
                raise BadRequest("multipart part header folded, or with a bare CR, LF or "
                                 "control byte")
        payload_end = header_start + len(headers) + 4 + part.size
        body.seek(payload_end)
        if body.read(len(dash_boundary) + 2) != b"\r\n" + dash_boundary:
            raise BadRequest("multipart part does not end where the parser said")
        ranges.append((position, payload_end + 2))
        position = payload_end + 2
    return ranges, position


def _header_block(body: SpooledBody, start: int, most: int) -> bytes | None:
    """The part's header lines (without the blank line), read in small steps."""
    body.seek(start)
    window = b""
    want = 512
    while True:
        more = body.read(want)
        window += more
        end = window.find(b"\r\n\r\n")
        if end != -1:
            return window[:end]
        if not more or len(window) > most:
            return None
        want = min(len(window), most)


def multipart_boundary(content_type: str) -> str:
    """The boundary parameter of a multipart Content-Type, or BadRequest.

    Parsers read an odd boundary differently (``boundary=x y`` is ``x`` to ``multipart`` and
    Werkzeug, ``x y`` to Django and WebOb; Werkzeug drops a backslash in quotes that the others
    keep, and decodes ``%22``), and a parser with another boundary splits the body into other
    fields. So only a boundary every one of them reads alike is accepted: a token, or quoted
    without a backslash, quote or "%" inside; ``boundary=`` without spaces, once.
    """
    _, options = multipart.parse_options_header(content_type)
    boundary = str(options.get("boundary", ""))
    found = _BOUNDARY.findall(content_type)
    if not boundary or len(boundary) > 200 or len(found) != 1 or boundary not in found[0]:
        raise BadRequest(f"multipart body without a usable boundary: {content_type[:120]!r}")
    return boundary


# -- handing the body on ------------------------------------------------------------------------


def assemble(body: SpooledBody, scan: BodyScan, *, spool_threshold: int) -> tuple[SpooledBody, int]:
    """A fresh file holding the kept ranges joined as the scan says; the original is closed."""
    size = sum(end - start for start, end in scan.keep) + len(scan.joiner) * len(scan.keep)
    out = _spool(size, spool_threshold)
    total = 0
    for index, (start, end) in enumerate(scan.keep):
        if index and scan.joiner:
            out.write(scan.joiner)
            total += len(scan.joiner)
        for chunk in _iter_chunks(body, start, end):
            out.write(chunk)
            total += len(chunk)
    body.close()
    out.seek(0)
    return out, total


# Names of fields the middleware adds (its own reserved names): nothing to quote or escape.
_ADDED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def encode_fields(scan: BodyScan, added: Sequence[tuple[str, str]], encoding: str = "utf-8"
                  ) -> bytes:
    """``added`` (name, value) fields, encoded as the body ``scan`` read encodes its own.

    Urlencoded: ``name=value`` joined with ``&``, the value in ``encoding`` (the body's: UTF-8,
    or the form's own for a browser's submission of a form in another, see ``form_tokens``;
    a character it lacks as ``&#N;``, as a browser writes it) and percent-encoded (only ASCII
    letters, digits and ``_.-~`` stay as they are), as a browser's form writes it.
    Multipart: one part each, written as a browser writes a plain field (``--boundary``,
    ``Content-Disposition: form-data; name="NAME"``, an empty line, the value's bytes in
    ``encoding``, CRLF), so the value can hold
    anything, quotes and line breaks included, except the body's boundary: a value with
    ``--boundary`` in it is refused (400) rather than written, since the inner app's parser
    would read a delimiter there (the scan refuses such a body for the same reason, so a value
    that came in the same body never has it).
    """
    for name, _ in added:
        if not _ADDED_NAME.fullmatch(name):
            raise ValueError(f"not a field name to add: {name!r}")
    if not scan.boundary:
        quote = functools.partial(quote_plus, safe="", encoding=encoding,
                                  errors="xmlcharrefreplace")
        return b"&".join(f"{name}={quote(value)}".encode("ascii") for name, value in added)
    dash_boundary = b"--" + scan.boundary
    parts = []
    for name, value in added:
        data = value.encode(encoding, "xmlcharrefreplace")
        if dash_boundary in data:
            raise BadRequest(f"{name} holds the multipart boundary; it cannot be added as a part")
        parts.append(dash_boundary + b'\r\nContent-Disposition: form-data; name="'
                     + name.encode("ascii") + b'"\r\n\r\n' + data + b"\r\n")
    return b"".join(parts)


def add_fields(body: SpooledBody, scan: BodyScan, added: Sequence[tuple[str, str]],
               encoding: str = "utf-8") -> int:
    """Add fields to a body that :func:`assemble` made from ``scan`` (its text in
    ``encoding``: see :func:`encode_fields`); returns its new length.

    Where the body's own parser reads them as fields like the others: appended to an
    urlencoded body (after a ``&`` unless the body is empty), as parts just before a multipart
    body's closing delimiter. Every byte already there stays, in order; the bytes after the
    insertion point (the closing delimiter and the epilogue) are moved along in chunks, so
    memory stays bounded.
    """
    data = encode_fields(scan, added, encoding)
    length = body.seek(0, 2)
    if not data:
        return length
    if not scan.boundary and length:
        data = scan.joiner + data
    at = length - scan.tail
    end = length
    while end > at:  # from the end backwards, so nothing is overwritten before it is moved
        start = max(at, end - CHUNK_SIZE)
        body.seek(start)
        chunk = body.read(end - start)
        body.seek(start + len(data))
        body.write(chunk)
        end = start
    body.seek(at)
    body.write(data)
    return length + len(data)


# -- reading values back (option validate_choices) ----------------------------------------------

NOT_A_CHOICE = "\x00"
"""What :func:`field_values` gives for a value that no page can offer (a file, a value too
long or not in the body's encoding): an HTML parser turns NUL into U+FFFD, so no option or
radio has it."""


def field_values(
    body: SpooledBody, length: int, boundary: str, names: frozenset[str], *, max_field_size: int,
    encoding: str = "utf-8",
) -> dict[str, list[str]]:
    """The values the clean body (urlencoded, or multipart when ``boundary`` is given) posts
    for ``names``, in order; the body is read again from its start and left at it.

    Only for a verified postback whose form lists choices (``validation.Offered``). A field
    counts for a name when any parser could read its name as that one (:func:`_readings`:
    Django strips a multipart name's whitespace, Werkzeug drops its backslashes); a value any
    parser could read otherwise (a file, a part with its own ``Content-Type`` or
    ``Content-Transfer-Encoding``), too long, or not valid ``encoding`` (the body's: UTF-8, or
    the form's own, see ``form_tokens``) is :data:`NOT_A_CHOICE`.
    """
    found: dict[str, list[str]] = {}

    def add(readings: set[str], value: str) -> None:
        for name in readings & names:
            found.setdefault(name, []).append(value)

    try:
        if boundary:
            _multipart_values(body, length, boundary, names, add, max_field_size, encoding)
        else:
            head_limit = max(max_field_size + 64, _MIN_HEAD)
            for start, end, head in _urlencoded_segments(body, length, head_limit, length + 1):
                raw_name, _, raw_value = head.partition(b"=")
                name = _unquote_plus(raw_name).decode("utf-8", "replace")
                plain = name.replace("\\", "")  # (as a multipart parser may read it)
                readings = {name, name.strip(), plain, plain.strip()}
                if readings & names:
                    whole = end - start <= len(head)
                    add(readings, _choice_text(_unquote_plus(raw_value), max_field_size,
                                               encoding) if whole else NOT_A_CHOICE)
    finally:
        body.seek(0)
    return found


def _part_readings(segment: Any) -> set[str]:
    """Every name a supported parser could read a part's name as (:func:`_name_readings`,
    the scan's own judgement), with its edge whitespace dropped too (Django strips it)."""
    raw_names = [raw for header, disposition in segment.headerlist
                 if header == "Content-Disposition" for raw in _parameters(disposition)[1]]
    return {reading for name in _name_readings(raw_names, segment.name or "")
            for reading in (name, name.strip())}


def _multipart_values(
    body: SpooledBody, length: int, boundary: str, names: frozenset[str],
    add: Callable[[set[str], str], None], most: int, encoding: str,
) -> None:
    parser = multipart.PushMultipartParser(boundary, content_length=length)
    with parser:
        readings: set[str] | None = None  # those of the part being read, if it is checked
        value = bytearray()
        for chunk in _iter_chunks(body):
            for event in parser.parse(chunk):
                if event is None:
                    if readings is not None:
                        add(readings, _choice_text(bytes(value), most, encoding))
                    readings = None
                elif isinstance(event, bytes | bytearray):
                    if readings is not None and len(value) <= most:
                        value += event
                elif not (part := _part_readings(event)) & names:
                    readings = None
                elif event.filename is None and not any(
                        key.lower() in ("content-type", "content-transfer-encoding")
                        for key, _ in event.headerlist):
                    readings, value = part, bytearray()
                else:  # a file, or a value some parser decodes otherwise
                    add(part, NOT_A_CHOICE)
                    readings = None


def _choice_text(raw: bytes, most: int, encoding: str) -> str:
    """A posted value as the page's choices are compared with it (strictly in ``encoding``)."""
    if len(raw) > most:
        return NOT_A_CHOICE
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return NOT_A_CHOICE
