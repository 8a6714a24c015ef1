"""Request side, step one: read a form POST body, find the reserved fields, cut them out.

The body is read once into a spooled temporary file (memory up to a threshold, disk beyond), so a
1 GB upload never sits in memory. Scanning never rewrites anything: it returns the reserved
fields it found and the byte ranges of the original body to *keep*. The inner app then gets
exactly those ranges, so every byte of its own fields and files arrives unchanged and in order.

* ``application/x-www-form-urlencoded``: the body is split on ``&`` (as WebOb and the standard
  library do); a segment whose raw name is a reserved name is taken out.
* ``multipart/form-data``: parsed by the streaming parser of the ``multipart`` package.
  Because that parser accepts only the exact RFC 7578 framing (``--boundary`` followed by CRLF or
  ``--``, headers ended by an empty line), the raw byte range of each part follows from the sizes
  it reports, and is checked against the delimiter bytes before anything is cut.

Anything ambiguous about a reserved name is refused rather than guessed (see ``fields``).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import unquote, unquote_to_bytes

import multipart

from .errors import BadRequest, LengthRequired, TooLarge
from .fields import RESERVED, RESERVED_BYTES, looks_reserved

CHUNK_SIZE = 64 * 1024
# Django's default for the same concern; a real form never needs more parts than this.
MAX_MULTIPART_PARTS = 1000
_MAX_PART_HEADERS = 8
_MAX_PART_HEADER_LINE = 8 * 1024
_DIGITS = re.compile(r"[0-9]{1,18}")
_PARAM_NAMES = re.compile(r';\s*([^\s=;"]+)\s*=')

SpooledBody = IO[bytes]


@dataclass
class BodyScan:
    """What a scan found: reserved fields in order, and the byte ranges to hand on."""

    reserved: list[tuple[str, bytes]] = field(default_factory=list)
    keep: list[tuple[int, int]] = field(default_factory=list)
    # Literal bytes to put between kept ranges (``&`` for urlencoded bodies, nothing for multipart).
    joiner: bytes = b""

    @property
    def is_postback(self) -> bool:
        return bool(self.reserved)


def read_body(
    environ: Mapping[str, Any], *, max_body_size: int, spool_threshold: int
) -> tuple[SpooledBody, int]:
    """Read ``wsgi.input`` into a spooled file; 400/411/413 for what cannot be read safely."""
    raw_length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    length: int | None
    if raw_length == "":
        if not environ.get("wsgi.input_terminated"):
            raise LengthRequired("form POST without CONTENT_LENGTH on a non-terminated input")
        length = None
    elif _DIGITS.fullmatch(raw_length):
        length = int(raw_length)
        if length > max_body_size:
            raise TooLarge(f"CONTENT_LENGTH {length} exceeds max_body_size {max_body_size}")
    else:
        raise BadRequest(f"malformed CONTENT_LENGTH {raw_length[:40]!r}")

    spool = tempfile.SpooledTemporaryFile(max_size=spool_threshold)  # noqa: SIM115 - returned
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


def _check_name(name: str, *, exact: bool) -> None:
    if not exact and looks_reserved(name):
        raise BadRequest(f"field name {name[:60]!r} disguises a reserved name")


# -- application/x-www-form-urlencoded ------------------------------------------------------


def _urlencoded_segments(
    body: SpooledBody, head_limit: int
) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(start, end, head)`` for each ``&``-separated segment.

    ``head`` is at most the first ``head_limit`` bytes: enough to read any name that could spell
    a reserved one, and any reserved value within the size limit, without ever holding a large
    ordinary value in memory.
    """
    start = 0
    head = bytearray()
    position = 0
    for chunk in _iter_chunks(body):
        offset = 0
        while True:
            amp = chunk.find(b"&", offset)
            piece_end = len(chunk) if amp == -1 else amp
            if len(head) < head_limit:
                head += chunk[offset : min(piece_end, offset + head_limit - len(head))]
            if amp == -1:
                break
            yield start, position + amp, bytes(head)
            start = position + amp + 1
            head.clear()
            offset = amp + 1
        position += len(chunk)
    yield start, position, bytes(head)


def scan_urlencoded(body: SpooledBody, length: int, *, max_field_size: int) -> BodyScan:
    scan = BodyScan(joiner=b"&")
    run_start: int | None = 0
    # Room for the longest reserved name, "=", and a value of max_field_size encoded bytes.
    head_limit = max_field_size + 64
    for start, end, head in _urlencoded_segments(body, head_limit):
        raw_name, _, raw_value = head.partition(b"=")
        if raw_name in RESERVED_BYTES:
            if end - start - len(raw_name) - 1 > max_field_size:
                raise TooLarge(f"reserved field {raw_name.decode()} exceeds max_state_size")
            value = unquote_to_bytes(raw_value.replace(b"+", b" "))
            scan.reserved.append((raw_name.decode("ascii"), value))
            if run_start is not None and run_start < start:
                scan.keep.append((run_start, start - 1))
            run_start = None
            continue
        if b"=" in head or end - start <= len(head):
            name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8", "replace")
            _check_name(name, exact=False)
        if run_start is None:
            run_start = start
    if run_start is not None:
        scan.keep.append((run_start, length))
    return scan


# -- multipart/form-data ----------------------------------------------------------------------


@dataclass
class _Part:
    size: int = 0
    value: bytearray | None = None  # collected only for reserved parts


def _part_name(segment: Any) -> tuple[str, bool]:
    """The part's field name, and whether it is a *canonical* reserved part.

    Canonical means exactly what a browser writes for a plain field:
    ``form-data; name="__X"`` and no ``filename``. Every other spelling that reads as a reserved
    name (case, look-alikes, percent-encoding, RFC 2231 ``name*=``, a second ``name=``, a file
    part) is refused, because the inner app's parser might read it differently from ours.
    """
    disposition = segment.header("Content-Disposition", "")
    params = [p.lower() for p in _PARAM_NAMES.findall(disposition)]
    if "name*" in params:
        raise BadRequest("multipart part uses an RFC 2231 name*= parameter")
    if params.count("name") > 1:
        raise BadRequest("multipart part carries two name parameters")
    name: str = segment.name or ""
    if name in RESERVED:
        if segment.filename is not None:
            raise BadRequest(f"file part named {name}")
        if disposition != f'form-data; name="{name}"':
            raise BadRequest(f"reserved part {name} in a non-canonical Content-Disposition")
        return name, True
    _check_name(name, exact=False)
    # Browsers percent-encode only '"', CR and LF in part names, but some parsers decode more.
    _check_name(unquote(name), exact=False)
    return name, False


def scan_multipart(
    body: SpooledBody, length: int, boundary: str, *, max_field_size: int
) -> BodyScan:
    names: list[tuple[str, bool]] = []
    parts: list[_Part] = []
    try:
        parser = multipart.PushMultipartParser(
            boundary,
            content_length=length,
            max_header_size=_MAX_PART_HEADER_LINE,
            max_header_count=_MAX_PART_HEADERS,
            max_segment_count=MAX_MULTIPART_PARTS,
            # Not strict: strict mode refuses the epilogue (browsers end with CRLF after the
            # closing boundary) when it arrives in a later chunk. The first-boundary rule that
            # strict mode adds is enforced in _part_offsets instead.
        )
        with parser:
            current: _Part | None = None
            for chunk in _iter_chunks(body):
                for event in parser.parse(chunk):
                    if event is None:
                        current = None
                    elif isinstance(event, bytes | bytearray):
                        assert current is not None
                        current.size += len(event)
                        if current.value is not None:
                            if current.size > max_field_size:
                                raise TooLarge(f"reserved part {names[-1][0]} exceeds limits")
                            current.value += event
                    else:
                        name, reserved = _part_name(event)
                        names.append((name, reserved))
                        current = _Part(value=bytearray() if reserved else None)
                        parts.append(current)
    except multipart.ParserLimitReached as exc:
        raise TooLarge(f"multipart limit: {exc}") from None
    except multipart.MultipartError as exc:
        raise BadRequest(f"malformed multipart body: {exc}") from None

    scan = BodyScan()
    for (name, reserved), part in zip(names, parts, strict=True):
        if reserved:
            assert part.value is not None
            scan.reserved.append((name, bytes(part.value)))
    dash_boundary = b"--" + boundary.encode("utf-8")
    # Browsers pick a boundary that occurs nowhere in the content. Any other occurrence (a
    # bare-LF delimiter, one in the preamble or epilogue) is text to this parser but may be a
    # delimiter to a lenient one in the inner app, which would then see fields we never checked.
    if _count(body, dash_boundary) != len(parts) + 1:
        raise BadRequest("multipart boundary occurs outside its delimiters")
    offsets = _part_offsets(body, boundary.encode("utf-8"), [p.size for p in parts])
    cursor = 0
    for (_, reserved), (start, end) in zip(names, offsets, strict=True):
        if reserved:
            if cursor < start:
                scan.keep.append((cursor, start))
            cursor = end
    scan.keep.append((cursor, length))
    return scan


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


def _part_offsets(body: SpooledBody, boundary: bytes, sizes: list[int]) -> list[tuple[int, int]]:
    """Byte range of each part, from its ``--boundary`` line to just before the next one.

    Derived from the sizes the parser reported, and checked against the delimiter bytes,
    so a disagreement with the parser is refused instead of cutting the wrong bytes.
    """
    dash_boundary = b"--" + boundary
    body.seek(0)
    first = body.read(CHUNK_SIZE)
    position = first.find(dash_boundary)
    if position == -1 or (position > 0 and first[position - 2 : position] != b"\r\n"):
        raise BadRequest("multipart body does not start with its boundary")
    ranges = []
    for size in sizes:
        header_start = position + len(dash_boundary) + 2
        body.seek(header_start)
        # Folded (continued) header lines can take up to twice their joined length.
        window = body.read(2 * _MAX_PART_HEADERS * (_MAX_PART_HEADER_LINE + 2) + 4)
        header_end = window.find(b"\r\n\r\n")
        if header_end == -1:
            raise BadRequest("multipart part headers do not end where the parser said")
        payload_end = header_start + header_end + 4 + size
        body.seek(payload_end)
        if body.read(len(dash_boundary) + 2) != b"\r\n" + dash_boundary:
            raise BadRequest("multipart part does not end where the parser said")
        ranges.append((position, payload_end + 2))
        position = payload_end + 2
    return ranges


def multipart_boundary(content_type: str) -> str:
    """The boundary parameter of a multipart Content-Type, or BadRequest."""
    _, options = multipart.parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise BadRequest("multipart body without a usable boundary")
    return str(boundary)


# -- handing the body on ------------------------------------------------------------------------


def assemble(body: SpooledBody, scan: BodyScan, *, spool_threshold: int) -> tuple[SpooledBody, int]:
    """A fresh file holding the kept ranges joined as the scan says; the original is closed."""
    out = tempfile.SpooledTemporaryFile(max_size=spool_threshold)  # noqa: SIM115 - returned
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
