"""Reading, scanning and stripping form POST bodies: nothing reserved gets through, nothing else
is lost."""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any
from urllib.parse import quote_plus, unquote_to_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postback_middleware.body import (
    BodyScan,
    assemble,
    multipart_boundary,
    read_body,
    scan_multipart,
    scan_urlencoded,
)
from postback_middleware.errors import BadRequest, LengthRequired, TooLarge
from postback_middleware.fields import RESERVED, RESERVED_BYTES, looks_reserved


def spooled(data: bytes) -> Any:
    body = tempfile.SpooledTemporaryFile(max_size=1024)  # noqa: SIM115 - returned open
    body.write(data)
    body.seek(0)
    return body


def fullwidth(text: str) -> str:
    """The Unicode full-width look-alike of ASCII text (NFKC folds it back)."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def strip_urlencoded(data: bytes, max_field_size: int = 1000) -> tuple[BodyScan, bytes]:
    scan = scan_urlencoded(spooled(data), len(data), max_field_size=max_field_size)
    out, length = assemble(spooled(data), scan, spool_threshold=64)
    result = out.read()
    assert len(result) == length
    return scan, result


@pytest.mark.parametrize(
    ("body", "kept", "reserved"),
    [
        pytest.param(b"a=1&b=2", b"a=1&b=2", [], id="no-reserved"),
        pytest.param(b"", b"", [], id="empty"),
        pytest.param(b"__EVENTTARGET=x", b"", [("__EVENTTARGET", b"x")], id="only-reserved"),
        pytest.param(b"__EVENTTARGET=x&a=1", b"a=1", [("__EVENTTARGET", b"x")], id="first"),
        pytest.param(b"a=1&__EVENTTARGET=x", b"a=1", [("__EVENTTARGET", b"x")], id="last"),
        pytest.param(b"a=1&__EVENTTARGET=x&b=2", b"a=1&b=2", [("__EVENTTARGET", b"x")],
                     id="middle"),
        pytest.param(b"a=1&&__VIEWSTATE=v&&b=2&", b"a=1&&&b=2&", [("__VIEWSTATE", b"v")],
                     id="empty-segments-kept"),
        pytest.param(b"a=1&a=2&__EVENTARGUMENT=&a=1", b"a=1&a=2&a=1",
                     [("__EVENTARGUMENT", b"")], id="duplicates-and-order-kept"),
        pytest.param(b"__EVENTTARGET=a+b%26c", b"", [("__EVENTTARGET", b"a b&c")],
                     id="value-decoded"),
        pytest.param(b"x=%ff%fe&__EVENTTARGET=t", b"x=%ff%fe", [("__EVENTTARGET", b"t")],
                     id="invalid-utf8-in-app-field-passes"),
        pytest.param(b"__EVENTTARGET", b"", [("__EVENTTARGET", b"")], id="name-without-equals"),
        pytest.param(b"q=__EVENTTARGET", b"q=__EVENTTARGET", [], id="reserved-name-as-value"),
        pytest.param(b"__EVENTTARGETX=1", b"__EVENTTARGETX=1", [], id="longer-name-is-ordinary"),
        pytest.param(b"__EVENTTARGET=1&__EVENTTARGET=2", b"",
                     [("__EVENTTARGET", b"1"), ("__EVENTTARGET", b"2")], id="both-copies-found"),
    ],
)
def test_urlencoded_strip(body: bytes, kept: bytes, reserved: list[tuple[str, bytes]]) -> None:
    scan, result = strip_urlencoded(body)
    assert result == kept
    assert scan.reserved == reserved


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"__eventtarget=x", id="lower-case"),
        pytest.param(b"__EventTarget=x", id="mixed-case"),
        pytest.param(b"%5F%5FEVENTTARGET=x", id="percent-encoded"),
        pytest.param(b"__EVENT%54ARGET=x", id="one-percent-char"),
        pytest.param(f"{fullwidth('__')}EVENTTARGET=x".encode(), id="fullwidth-underscores"),
        pytest.param(f"__{fullwidth('EVENTTARGET')}=x".encode(), id="fullwidth-letters"),
        pytest.param(b"__VIEWSTATE+=x", id="trailing-space"),
        pytest.param(b"a=1&__CallbackId=x", id="later-field"),
    ],
)
def test_disguised_reserved_names_are_refused(body: bytes) -> None:
    with pytest.raises(BadRequest, match="disguises"):
        strip_urlencoded(body)


def test_reserved_value_over_limit_is_too_large() -> None:
    with pytest.raises(TooLarge):
        strip_urlencoded(b"__VIEWSTATE=" + b"A" * 2000, max_field_size=1000)


def test_large_ordinary_value_is_kept_whole() -> None:
    data = b"big=" + os.urandom(300_000).hex().encode() + b"&__EVENTTARGET=t"
    _, result = strip_urlencoded(data, max_field_size=100)
    assert result == data[: data.index(b"&__EVENTTARGET")]


# -- multipart ----------------------------------------------------------------------------


def part(name: str, value: bytes, *, filename: str | None = None, headers: str = "") -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return (
        f"Content-Disposition: {disposition}\r\n{headers}\r\n".encode() + value
    )


def multipart_body(*parts: bytes, boundary: str = "XyZ", epilogue: bytes = b"\r\n") -> bytes:
    out = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return out + b"--" + boundary.encode() + b"--" + epilogue


def strip_multipart(data: bytes, boundary: str = "XyZ") -> tuple[BodyScan, bytes]:
    scan = scan_multipart(spooled(data), len(data), boundary, max_field_size=10_000)
    out, _ = assemble(spooled(data), scan, spool_threshold=64)
    return scan, out.read()


# Near misses of the delimiter (the boundary itself never occurs in content, by RFC 2046).
FILE_BYTES = bytes(range(256)) * 40 + b"\r\n--XyY\n--Xy Z\r--Xy"


def test_multipart_strips_reserved_parts_and_keeps_files_byte_exact() -> None:
    app_parts = [
        part("note", "héllo".encode()),
        part("upload", FILE_BYTES, filename="data.bin",
             headers="Content-Type: application/octet-stream\r\n"),
        part("note", b"second copy"),
    ]
    reserved = [part("__EVENTTARGET", b"delete"), part("__VIEWSTATE", b"token.sig")]
    data = multipart_body(reserved[0], app_parts[0], app_parts[1], reserved[1], app_parts[2])
    scan, result = strip_multipart(data)
    assert scan.reserved == [("__EVENTTARGET", b"delete"), ("__VIEWSTATE", b"token.sig")]
    assert result == multipart_body(*app_parts)


def test_multipart_without_reserved_parts_is_unchanged() -> None:
    data = multipart_body(part("a", b"1"), part("f", FILE_BYTES, filename="x"))
    scan, result = strip_multipart(data)
    assert not scan.is_postback
    assert result == data


def test_multipart_with_only_reserved_parts_leaves_an_empty_valid_body() -> None:
    scan, result = strip_multipart(multipart_body(part("__EVENTTARGET", b"x")))
    assert result == b"--XyZ--\r\n"
    assert scan.reserved == [("__EVENTTARGET", b"x")]


def test_multipart_preamble_and_epilogue_are_kept() -> None:
    data = b"preamble\r\n" + multipart_body(
        part("__EVENTTARGET", b"x"), part("a", b"1"), epilogue=b"\r\nepilogue"
    )
    _, result = strip_multipart(data)
    assert result == b"preamble\r\n" + multipart_body(part("a", b"1"), epilogue=b"\r\nepilogue")


def test_multipart_spanning_many_chunks() -> None:
    big = os.urandom(200_000)
    data = multipart_body(part("f", big, filename="big"), part("__EVENTARGUMENT", b"7"),
                          part("g", big[::-1], filename="big2"))
    _, result = strip_multipart(data)
    assert result == multipart_body(part("f", big, filename="big"),
                                    part("g", big[::-1], filename="big2"))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(multipart_body(part("__EVENTTARGET", b"x", filename="a.txt")), "file part",
                     id="reserved-file-part"),
        pytest.param(multipart_body(b'Content-Disposition: form-data; name*=UTF-8\'\'__EVENTTARGET'
                                    b'\r\n\r\nx'), "2231", id="rfc2231-name"),
        pytest.param(multipart_body(b'Content-Disposition: form-data; name="a"; '
                                    b'name="__EVENTTARGET"\r\n\r\nx'), "two name",
                     id="second-name-parameter"),
        pytest.param(multipart_body(part("__eventtarget", b"x")), "disguises", id="lower-case"),
        pytest.param(multipart_body(b'Content-Disposition: form-data; name="%5F%5FEVENTTARGET"'
                                    b'\r\n\r\nx'), "disguises", id="percent-encoded-name"),
        pytest.param(multipart_body(b'Content-Disposition: form-data;name="__EVENTTARGET"'
                                    b'\r\n\r\nx'), "non-canonical", id="non-canonical-spacing"),
        pytest.param(b"--XyZ\r\n" + part("a", b"1"), "malformed", id="no-closing-boundary"),
        pytest.param(b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--", "malformed",
                     id="no-content-disposition"),
        pytest.param(b"--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nx\n--XyZ--",
                     "malformed", id="bare-lf-line-endings"),
        pytest.param(b"x" * 70_000 + b"\r\n" + multipart_body(part("a", b"1")), "boundary",
                     id="boundary-not-in-first-chunk"),
        pytest.param(b"garbage", "malformed", id="no-boundary-at-all"),
    ],
)
def test_malformed_or_disguised_multipart_is_refused(data: bytes, error: str) -> None:
    with pytest.raises(BadRequest, match=error):
        strip_multipart(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(multipart_body(*[part(f"f{i}", b"x") for i in range(1001)]), id="1001-parts"),
        pytest.param(multipart_body(part("a", b"1", headers="X-Long: " + "a" * 1_000_000 + "\r\n")),
                     id="1MB-header-line"),
    ],
)
def test_multipart_over_limits_is_too_large(data: bytes) -> None:
    with pytest.raises(TooLarge):
        strip_multipart(data)


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        pytest.param("multipart/form-data; boundary=abc", "abc", id="plain"),
        pytest.param('multipart/form-data; boundary="a b"', "a b", id="quoted"),
        pytest.param("multipart/form-data; charset=utf-8; boundary=z", "z", id="second-param"),
    ],
)
def test_multipart_boundary(content_type: str, boundary: str) -> None:
    assert multipart_boundary(content_type) == boundary


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_multipart_without_boundary_is_refused(content_type: str) -> None:
    with pytest.raises(BadRequest, match="boundary"):
        multipart_boundary(content_type)


# -- reading ----------------------------------------------------------------------------------


def environ_for(body: bytes, length: str | None, **extra: Any) -> dict[str, Any]:
    environ: dict[str, Any] = {"wsgi.input": io.BytesIO(body), **extra}
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    return environ


@pytest.mark.parametrize(
    ("length", "body", "error"),
    [
        pytest.param("-1", b"a=1", BadRequest, id="negative"),
        pytest.param("+3", b"a=1", BadRequest, id="plus-sign"),
        pytest.param("1_0", b"a=1", BadRequest, id="underscore"),
        pytest.param("٣", b"a=1", BadRequest, id="arabic-indic-digit"),
        pytest.param(" 3", b"a=1", BadRequest, id="leading-space"),
        pytest.param("3.0", b"a=1", BadRequest, id="decimal"),
        pytest.param("0x3", b"a=1", BadRequest, id="hex"),
        pytest.param("10", b"a=1", BadRequest, id="longer-than-body"),
        pytest.param("99999999999", b"a=1", TooLarge, id="over-max-body-size"),
        pytest.param(None, b"a=1", LengthRequired, id="absent-not-terminated"),
        pytest.param("", b"a=1", LengthRequired, id="empty-not-terminated"),
    ],
)
def test_bad_content_length(length: str | None, body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_body(environ_for(body, length), max_body_size=1000, spool_threshold=10)


def test_body_shorter_than_content_length_reads_exactly_the_length() -> None:
    body, length = read_body(environ_for(b"a=1&b=2", "3"), max_body_size=1000, spool_threshold=10)
    assert (body.read(), length) == (b"a=1", 3)


def test_terminated_input_without_length_is_read_to_its_end() -> None:
    environ = environ_for(b"a=1" * 100, None, **{"wsgi.input_terminated": True})
    body, length = read_body(environ, max_body_size=1000, spool_threshold=10)
    assert (body.read(), length) == (b"a=1" * 100, 300)


def test_terminated_input_over_the_limit_is_too_large() -> None:
    environ = environ_for(b"x" * 2000, None, **{"wsgi.input_terminated": True})
    with pytest.raises(TooLarge):
        read_body(environ, max_body_size=1000, spool_threshold=10)


def test_large_body_is_spooled_to_disk() -> None:
    data = os.urandom(50_000)
    environ = environ_for(data, str(len(data)))
    body, _ = read_body(environ, max_body_size=10**6, spool_threshold=1000)
    assert body._rolled  # type: ignore[attr-defined]
    assert body.read() == data


class Disconnecting(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise OSError("connection reset")


def test_client_disconnect_mid_body_is_bad_request() -> None:
    environ = {"wsgi.input": Disconnecting(), "CONTENT_LENGTH": "10"}
    with pytest.raises(BadRequest, match="went away"):
        read_body(environ, max_body_size=1000, spool_threshold=10)


# -- properties: whatever the body, every non-reserved byte reaches the app ------------------

NAMES = st.sampled_from([*sorted(RESERVED), "a", "note", "x y", "%20", "é", "", "__X"])
SEGMENT = st.one_of(
    st.tuples(NAMES, st.text(max_size=12)).map(
        lambda nv: nv[0].encode() + b"=" + quote_plus(nv[1]).encode()),
    st.binary(max_size=12).filter(lambda b: b"&" not in b),
)


def raw_name(segment: bytes) -> bytes:
    return segment.partition(b"=")[0]


@settings(max_examples=300, deadline=None)
@given(st.lists(SEGMENT, max_size=10))
def test_urlencoded_strip_keeps_every_other_segment(segments: list[bytes]) -> None:
    body = b"&".join(segments)
    try:
        scan, result = strip_urlencoded(body)
    except BadRequest:
        # Refused only when some name is a reserved name in disguise.
        names = [unquote_to_bytes(raw_name(s).replace(b"+", b" ")).decode("utf-8", "replace")
                 for s in segments if raw_name(s) not in RESERVED_BYTES]
        assert any(looks_reserved(name) for name in names)
        return
    assert result == b"&".join(s for s in segments if raw_name(s) not in RESERVED_BYTES)
    assert [name.encode() for name, _ in scan.reserved] == [
        raw_name(s) for s in segments if raw_name(s) in RESERVED_BYTES]


PART = st.tuples(
    st.sampled_from([*sorted(RESERVED), "a", "file", "note", "é"]),
    st.binary(max_size=40).filter(lambda b: b"\r\n--XyZ" not in b and not b.endswith(b"\r")),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PART, max_size=8))
def test_multipart_strip_keeps_every_other_part_byte_exact(
    parts: list[tuple[str, bytes, bool]],
) -> None:
    def encode(name: str, value: bytes, is_file: bool) -> bytes:
        return part(name, value, filename="f.bin" if is_file else None)

    body = multipart_body(*(encode(*p) for p in parts))
    try:
        scan, result = strip_multipart(body)
    except BadRequest:
        assert any(name in RESERVED and is_file for name, _, is_file in parts)
        return
    assert result == multipart_body(*(encode(*p) for p in parts if p[0] not in RESERVED))
    assert [name for name, _ in scan.reserved] == [p[0] for p in parts if p[0] in RESERVED]
    assert [value for _, value in scan.reserved] == [p[1] for p in parts if p[0] in RESERVED]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n1'
                     b'\n--XyZ\nContent-Disposition: form-data; name="__EVENTTARGET"\n\ndelete'
                     b"\r\n--XyZ--\r\n", id="bare-lf-delimiter-smuggling-a-field"),
        pytest.param(multipart_body(part("a", b"x--XyZy")), id="boundary-inside-a-value"),
        pytest.param(multipart_body(part("a", b"1"), epilogue=b"\r\n--XyZ\r\n"),
                     id="boundary-in-the-epilogue"),
    ],
)
def test_boundary_outside_its_delimiters_is_refused(data: bytes) -> None:
    """Found in review: a lenient parser (cgi.FieldStorage) would split these differently."""
    with pytest.raises(BadRequest, match="outside its delimiters"):
        strip_multipart(data)


def test_boundary_count_across_chunk_edges() -> None:
    """The count must neither miss nor double-count a delimiter that straddles a chunk edge."""
    from postback_middleware.body import CHUNK_SIZE

    for shift in range(-8, 9):
        filler = b"x" * (CHUNK_SIZE - 60 + shift)
        data = multipart_body(part("a", filler), part("b", b"2"))
        scan, result = strip_multipart(data)
        assert result == data and not scan.reserved
