"""Coverage-guided fuzzing of the request-side body scanner (``postback_middleware.body``).

Usage: .venv/bin/python fuzz/fuzz_body.py [--seconds N] [--check FILE ...] [-- libFuzzer flags]

Each input is one control byte followed by a request body:

* bit 0 of the control byte: ``multipart/form-data`` (1) or urlencoded (0);
* bits 1-2: ``max_field_size`` (the middleware's ``max_state_size``), one of ``_FIELD_SIZES``;
* bits 3-4: the multipart boundary, one of ``_BOUNDARIES``;
* bit 5: read the body in 7-byte chunks instead of 64 KiB ones (exercises chunk edges).

Invariants checked on every input:

* the scan raises a :class:`~postback_middleware.errors.Rejected` subclass, or returns a scan;
  any other exception is a crash;
* urlencoded: an independent model (split on ``&``, a segment is reserved iff its raw name is a
  reserved name; every other name decoded whole and judged by ``looks_reserved``; a reserved
  name's repeat refused, but for one identical ``__EVENTVALIDATION``; at most
  ``MAX_FORM_FIELDS`` fields) predicts exactly whether the scan is refused (and with
  which status), the reserved values it reports, and the assembled body: the non-reserved
  ``&``-segments, in order, joined with ``&``. The scanner's shortcuts (names decoded only
  when they may spell "_", only their whitespace-stripped core, only when short) must agree;
* multipart: when the scan succeeds, the original body and the assembled body are both parsed
  with the ``multipart`` package; the assembled body's parts (headers, names, file names and
  bytes) are exactly the original's non-reserved parts, and the reserved values the scan
  reports are the bytes of the original's reserved parts (each name once).
"""

from __future__ import annotations

import io
from urllib.parse import unquote_to_bytes

import atheris  # type: ignore[import-untyped]
from runner import run

with atheris.instrument_imports(include=["postback_middleware", "multipart"]):
    import multipart

    from postback_middleware import body as body_module
    from postback_middleware.body import (
        MAX_FORM_FIELDS,
        BodyScan,
        assemble,
        scan_multipart,
        scan_urlencoded,
    )
    from postback_middleware.errors import BadRequest, Rejected, TooLarge
    from postback_middleware.fields import (
        CHARSET_FIELD,
        EVENTVALIDATION,
        RESERVED,
        RESERVED_BYTES,
        looks_reserved,
        may_look_reserved,
    )

_FIELD_SIZES = (0, 16, 300, 131072)
_BOUNDARIES = ("b", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "x'()+_,-./:=? y", "--")
_REAL_CHUNK_SIZE = body_module.CHUNK_SIZE

Part = tuple[list[tuple[str, str]], str, "str | None", bytes]


class InvariantError(AssertionError):
    """An input broke one of the invariants (a finding)."""


def _run_scan(data: bytes, *, multipart_body: bool, boundary: str, max_field_size: int) -> tuple[
    BodyScan, bytes
]:
    body = io.BytesIO(data)
    if multipart_body:
        scan = scan_multipart(body, len(data), boundary, max_field_size=max_field_size)
    else:
        scan = scan_urlencoded(body, len(data), max_field_size=max_field_size)
    out, total = assemble(body, scan, spool_threshold=1 << 20)
    assembled = out.read()
    out.close()
    if total != len(assembled):
        raise InvariantError(f"assemble reported {total} bytes, wrote {len(assembled)}")
    return scan, assembled


# -- urlencoded model ---------------------------------------------------------------------


def _recorded(found: list[tuple[str, bytes]]) -> list[tuple[str, bytes]] | None:
    """The reserved fields a scan records, or None when it must refuse a repeat: only
    ``__EVENTVALIDATION`` may come twice, with the same value (WebForms.js callbacks)."""
    kept: dict[str, bytes] = {}
    repeated = False
    for name, value in found:
        if name in kept:
            if name == EVENTVALIDATION and value == kept[name] and not repeated:
                repeated = True
                continue
            return None
        kept[name] = value
    return list(kept.items())


def _unquote_plus(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def _padded(raw: bytes, *, whole: bool) -> bool:
    """More than 1 KB of whitespace at an end: refused whatever the name (the scanner looks
    for whitespace only that far). Uses the scanner's whitespace spellings, property-tested
    against ``str.strip`` in tests/test_body.py."""
    return body_module._name_core(raw, whole=whole) is None


def _expected_urlencoded(
    data: bytes, max_field_size: int
) -> tuple[type[Rejected] | None, list[tuple[str, bytes]], bytes]:
    """(expected refusal, reserved fields, assembled body), computed without the scanner."""
    head_limit = max(max_field_size + 64, body_module._MIN_HEAD)
    segments = data.split(b"&")
    too_many = len(segments) > MAX_FORM_FIELDS
    if too_many:  # refused at the "&" that makes one too many: the fields before it are read
        segments = segments[: MAX_FORM_FIELDS - 1]
    found: list[tuple[str, bytes]] = []
    kept: list[bytes] = []
    for segment in segments:
        raw_name, _, raw_value = segment.partition(b"=")
        if raw_name in RESERVED_BYTES:
            if len(raw_value) > max_field_size:
                return TooLarge, [], b""
            found.append((raw_name.decode("ascii"), _unquote_plus(raw_value)))
            if _recorded(found) is None:
                return BadRequest, [], b""
            continue
        head = segment[:head_limit]
        if b"=" in head or len(segment) <= head_limit:
            # Decoded whole: the scanner's shortcuts (a prefilter on "_" spellings, only a
            # short whitespace-stripped core decoded) must agree with the plain rule.
            decoded = _unquote_plus(raw_name)
            name = decoded.decode("utf-8", "replace")
            # Bottle's reading, judged on the core that UTF-8 whitespace leaves (when short).
            core = body_module._name_core(raw_name)
            latin1 = None if core is None or len(core) > body_module._MAX_ESCAPED_NAME else (
                _unquote_plus(core).decode("latin-1"))
            if looks_reserved(name) or (latin1 is not None and looks_reserved(latin1)):
                return BadRequest, [], b""
            if name.strip().casefold() == CHARSET_FIELD and (
                    len(raw_value) > 64
                    or _unquote_plus(raw_value).strip().lower() not in (b"utf-8", b"")):
                return BadRequest, [], b""
            if may_look_reserved(raw_name) and _padded(raw_name, whole=True):
                return BadRequest, [], b""
        # A name longer than what is read: refused when what is read ends in whitespace.
        elif _padded(head, whole=False):
            return BadRequest, [], b""
        kept.append(segment)
    if too_many:
        return TooLarge, [], b""
    return None, _recorded(found) or [], b"&".join(kept)


def _check_urlencoded(data: bytes, max_field_size: int) -> None:
    expected_error, expected_reserved, expected_body = _expected_urlencoded(data, max_field_size)
    try:
        scan, assembled = _run_scan(
            data, multipart_body=False, boundary="", max_field_size=max_field_size
        )
    except Rejected as rejection:
        if expected_error is None or not isinstance(rejection, expected_error):
            raise InvariantError(
                f"urlencoded scan refused with {rejection!r}, model expected {expected_error}"
            ) from rejection
        return
    if expected_error is not None:
        raise InvariantError(
            f"urlencoded scan accepted a body the model refuses ({expected_error})"
        )
    if scan.reserved != expected_reserved:
        raise InvariantError(f"reserved {scan.reserved!r} != model {expected_reserved!r}")
    if assembled != expected_body:
        raise InvariantError(f"assembled {assembled!r} != model {expected_body!r}")


# -- multipart re-check with the multipart package ------------------------------------------


def _parse_parts(data: bytes, boundary: str) -> list[Part]:
    """Every part of ``data`` as (headers, name, filename, bytes), parsed as the scanner does."""
    parts: list[Part] = []
    payload = bytearray()
    current = None
    with multipart.PushMultipartParser(
        boundary,
        content_length=len(data),
        max_header_size=body_module._MAX_PART_HEADER_LINE,
        max_header_count=body_module._MAX_PART_HEADERS,
        max_segment_count=body_module.MAX_FORM_FIELDS,
    ) as parser:
        for event in parser.parse(data):
            if event is None:
                assert current is not None
                parts.append(
                    (list(current.headerlist), current.name or "", current.filename, bytes(payload))
                )
                current = None
            elif isinstance(event, bytes | bytearray):
                payload += event
            else:
                current = event
                payload = bytearray()
    return parts


def _check_multipart(data: bytes, boundary: str, max_field_size: int) -> None:
    try:
        scan, assembled = _run_scan(
            data, multipart_body=True, boundary=boundary, max_field_size=max_field_size
        )
    except Rejected:
        return
    try:
        original = _parse_parts(data, boundary)
    except multipart.MultipartError as exc:
        raise InvariantError(f"scan accepted a body the multipart package refuses: {exc}") from exc
    expected_reserved = _recorded(
        [(name, value) for _, name, _, value in original if name in RESERVED])
    if expected_reserved is None:
        raise InvariantError("a repeated reserved part was accepted")
    if scan.reserved != expected_reserved:
        raise InvariantError(f"reserved {scan.reserved!r} != parsed {expected_reserved!r}")
    expected_kept = [part for part in original if part[1] not in RESERVED]
    if not scan.reserved:
        # Nothing cut: the middleware hands the original on (the scan keeps one range).
        if assembled != data:
            raise InvariantError("a body without reserved parts was changed by assemble")
        return
    try:
        kept = _parse_parts(assembled, boundary)
    except multipart.MultipartError as exc:
        raise InvariantError(
            f"assembled body no longer parses ({exc}): {assembled[:300]!r}"
        ) from exc
    if kept != expected_kept:
        raise InvariantError(f"kept parts {kept!r} != expected {expected_kept!r}")


# -- entry points ---------------------------------------------------------------------------


def test_one_input(data: bytes) -> None:
    if not data:
        return
    control, body = data[0], data[1:]
    max_field_size = _FIELD_SIZES[(control >> 1) & 3]
    boundary = _BOUNDARIES[(control >> 3) & 3]
    body_module.CHUNK_SIZE = 7 if control & 0x20 else _REAL_CHUNK_SIZE
    try:
        if control & 1:
            _check_multipart(body, boundary, max_field_size)
        else:
            _check_urlencoded(body, max_field_size)
    finally:
        body_module.CHUNK_SIZE = _REAL_CHUNK_SIZE


if __name__ == "__main__":
    run("body", test_one_input, __doc__.splitlines()[0])
