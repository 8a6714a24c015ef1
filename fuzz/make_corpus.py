"""Write the seed corpus (fuzz/corpus/body, fuzz/corpus/html, fuzz/corpus/page_tokens); run
again to regenerate it."""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Control byte of fuzz_body.py: bit 0 multipart, bits 1-2 field size, bits 3-4 boundary,
# bit 5 small chunks. Boundary 0 is "b", 1 the WebKit one.
URLENCODED = 0b000110  # urlencoded, max_field_size 131072
MULTIPART_B = 0b000111  # multipart, boundary "b", 131072
MULTIPART_WEBKIT = 0b001111  # multipart, WebKit boundary, 131072
SMALL_CHUNKS = 0b100000

WEBKIT = b"----WebKitFormBoundary7MA4YWxkTrZu0gW"


def part(boundary: bytes, disposition: bytes, payload: bytes, extra: bytes = b"") -> bytes:
    return (
        b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n" + extra
        + b"\r\n" + payload + b"\r\n"
    )


def multipart_body(boundary: bytes, *parts: bytes, preamble: bytes = b"",
                   epilogue: bytes = b"\r\n") -> bytes:
    return preamble + b"".join(parts) + b"--" + boundary + b"--" + epilogue


BODY_SEEDS: list[bytes] = [
    bytes([URLENCODED]) + b"sort=total&__EVENTTARGET=delete&__EVENTARGUMENT=1003"
    b"&__VIEWSTATE=abc.def&__EVENTVALIDATION=ghi.jkl&restore=1",
    bytes([URLENCODED]) + b"__CALLBACKID=CallServer&__CALLBACKPARAM=1&__VIEWSTATE=x"
    b"&__EVENTVALIDATION=y",
    bytes([URLENCODED | SMALL_CHUNKS]) + b"a=1&&b=%41+c&__LASTFOCUS=&__SCROLLPOSITIONX=0"
    b"&__SCROLLPOSITIONY=120&c",
    bytes([URLENCODED]) + b"__viewstate=1&x=2",
    bytes([URLENCODED]) + b"%5F_VIEWSTATE=1",
    bytes([0b000010]) + b"__VIEWSTATE=" + b"A" * 40,  # max_field_size 16: too large
    bytes([MULTIPART_B]) + multipart_body(
        b"b",
        part(b"b", b'form-data; name="sort"', b"total"),
        part(b"b", b'form-data; name="__EVENTTARGET"', b"delete"),
        part(b"b", b'form-data; name="__VIEWSTATE"', b"abc.def"),
        part(b"b", b'form-data; name="file"; filename="a.bin"', bytes(range(256)),
             b"Content-Type: application/octet-stream\r\n"),
        part(b"b", b'form-data; name="__EVENTVALIDATION"', b"ghi.jkl"),
    ),
    bytes([MULTIPART_WEBKIT | SMALL_CHUNKS]) + multipart_body(
        WEBKIT,
        part(WEBKIT, b'form-data; name="__EVENTTARGET"', b"increment"),
        part(WEBKIT, b'form-data; name="note"', b"line one\r\n--not-the-boundary\r\nline two"),
        preamble=b"preamble text\r\n",
        epilogue=b"\r\nepilogue",
    ),
    bytes([MULTIPART_B]) + multipart_body(
        b"b", part(b"b", b'form-data; name="__EVENTTARGET"; filename="x"', b"x")
    ),
    bytes([MULTIPART_B]) + multipart_body(
        b"b", part(b"b", b"form-data; name*=UTF-8''__VIEWSTATE", b"x")
    ),
    bytes([MULTIPART_B]) + multipart_body(
        b"b",
        part(b"b", b'form-data;\r\n name="__EVENTARGUMENT"', b"1"),
        part(b"b", b'form-data; name="a"', b"", b"Content-Length: 0\r\n"),
    ),
]

HTML_SEEDS: list[bytes] = [
    b'\x04<!DOCTYPE html><html><head><title>t</title></head><body><form method="post" '
    b'action="/x?y=1"><input name=a value="<form>"><a href="#" data-postback="delete" '
    b'data-postback-argument="7">Delete</a><select name=s data-autopostback><option>1'
    b"</select></form></body></html>",
    b"\x00<script>var s = '<form>'; <!-- <script> </script> --></script><form method=post>",
    b"\x01<svg><title><form></title><style><b></style></svg><textarea></form></textarea>",
    b"\x02<!-- <form> --><![CDATA[<form>]]><math><mi><form a='1'b=2/></mi></math></form>",
    b"\x05<table><select><svg><form><script>x</script></select></table><plaintext><form>",
    b"\x03<a href=/x/>one<br/><p <p a=\"b>c\" d='e>f'>\xe9\xff\x80</p></a><?pi?></3><!x>",
    b"\x0c<form method=post><noscript><form></noscript><xmp></xmp><iframe></iframe></form>",
]


# Control byte of fuzz_page_tokens.py: bits 0-1 the mode, bits 2-7 a row number or index.
DESCRIBE, EVENT_VALIDATION, FOREIGN = 0, 1, 2
SIGNATURE = b"s" * 43

PAGE_TOKEN_SEEDS: list[bytes] = [
    bytes([DESCRIBE | 1 << 2]) + b"*30 /admin/users/#/delete/",
    bytes([DESCRIBE | 7 << 2]) + b"*20 /questions/42/answers/#/vote\tvote=up:#;vote=down:#",
    bytes([DESCRIBE | 9 << 2]) + b"*5 /r/#/d\n*5 /r/#/v\trow#=x\n/logout\n/logout\n/cart",
    bytes([DESCRIBE]) + b"*12 /a/0#/b\tgo=100%;say=%d #\n/v2/rows/1\n/v2/rows/2",
    bytes([EVENT_VALIDATION]) + b"17." + SIGNATURE,
    bytes([EVENT_VALIDATION]) + b"3." + SIGNATURE + b".t-_Tt-_Tt-_Tt-_T",
    bytes([FOREIGN | 3 << 2]) + b'[{"n":1,"c":4,"r":[["/a/","/d",{"=x":["#y"]}]]},["/c",{},2]]',
]


def write(folder: Path, seeds: list[bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (folder / hashlib.sha1(seed).hexdigest()).write_bytes(seed)


if __name__ == "__main__":
    write(HERE / "corpus" / "body", BODY_SEEDS)
    write(HERE / "corpus" / "html", HTML_SEEDS)
    write(HERE / "corpus" / "page_tokens", PAGE_TOKEN_SEEDS)
    print(f"{len(BODY_SEEDS)} body seeds, {len(HTML_SEEDS)} html seeds, "
          f"{len(PAGE_TOKEN_SEEDS)} page token seeds")
