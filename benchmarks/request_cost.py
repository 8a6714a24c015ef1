"""What one hostile 10 MB form POST costs the middleware: CPU time and peak memory, per shape.

Run: ``.venv/bin/python benchmarks/request_cost.py [--size-mb 10] [--only NAME ...]``.

Each shape is a request body an attacker might send to make the request side (``body``) slow or
big: urlencoded bodies of ``a&``, ``&``, ``=``, one huge value, one huge name, ``%41`` escapes,
repeated reserved fields; multipart bodies of many tiny parts, one huge part, near misses of the
delimiter, long header lines. Every body is 10 MB (2**20 bytes to the MB) and goes through the
public WSGI interface (a ``POST /orders`` with ``CONTENT_LENGTH``), with ``max_body_size`` raised
to 16 MB so that it is read, not refused by its length. The inner app does not read the body, so
what is measured is the middleware's own work: reading, spooling, scanning, refusing or handing
on. The request body itself is built before measuring and is not counted.

Per shape, in one run: the CPU time of the call (``time.process_time``, the best of three runs,
tracemalloc off) and the peak of Python allocations during it (``tracemalloc``, a separate run).
Targets (from the project's security issue): at most 0.5 s CPU and 20 MB of memory for any
10 MB body. Printed: a table sorted so that the worst shape (the highest fraction of either
target) comes last, then one PASS / FAIL line per target. Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import secrets
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness import make_environ

from postback_middleware import PostbackMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MB = 2**20
CPU_TARGET = 0.5  # seconds per 10 MB body
MEMORY_TARGET = 20 * MB  # peak Python allocations per 10 MB body
URLENCODED = "application/x-www-form-urlencoded"
BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
DASH = b"--" + BOUNDARY.encode()


@dataclass(frozen=True)
class Shape:
    name: str
    content_type: str
    build: Callable[[int], bytes]  # size -> body of exactly (about) that many bytes


def repeat(unit: bytes, size: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    count = max(0, (size - len(head) - len(tail)) // len(unit))
    return head + unit * count + tail


def filled(fields: bytes, size: int) -> bytes:
    """``fields``, then one more field whose value fills the body up to ``size`` bytes."""
    return fields + b"&z=" + b"x" * max(0, size - len(fields) - 3)


def part(name: str, value: bytes, headers: bytes = b"") -> bytes:
    return (DASH + b'\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n'
            + headers + b"\r\n" + value + b"\r\n")


def multipart_body(parts: Iterable[bytes]) -> bytes:
    return b"".join(parts) + DASH + b"--\r\n"


def filled_part(size: int, unit: bytes, name: str = "file") -> bytes:
    """One part whose value is ``unit`` repeated to fill ``size`` bytes of body."""
    overhead = len(multipart_body([part(name, b"")]))
    return multipart_body([part(name, repeat(unit, size - overhead))])


def many_parts(size: int, value: bytes = b"1", headers: bytes = b"") -> bytes:
    one = part("a", value, headers)
    return multipart_body([one] * max(1, size // len(one)))


SHAPES = [
    # -- urlencoded -------------------------------------------------------------------------
    Shape("urlencoded a&", URLENCODED, lambda n: repeat(b"a&", n)),
    Shape("urlencoded &&&", URLENCODED, lambda n: repeat(b"&", n)),
    Shape("urlencoded ===", URLENCODED, lambda n: repeat(b"=", n)),
    Shape("urlencoded a=1& (few fields)", URLENCODED,
          lambda n: b"&".join([b"f=" + b"1" * (n // 900)] * 899)),
    Shape("urlencoded one huge value", URLENCODED, lambda n: repeat(b"x", n, head=b"a=")),
    Shape("urlencoded one huge name", URLENCODED, lambda n: repeat(b"x", n)),
    Shape("urlencoded huge name then =", URLENCODED, lambda n: repeat(b"x", n, tail=b"=1")),
    Shape("urlencoded %41 value", URLENCODED, lambda n: repeat(b"%41", n, head=b"a=")),
    Shape("urlencoded %41 name", URLENCODED, lambda n: repeat(b"%41", n, tail=b"=1")),
    Shape("urlencoded %5F name", URLENCODED, lambda n: repeat(b"%5F", n, tail=b"=1")),
    Shape("urlencoded + name", URLENCODED, lambda n: repeat(b"+", n, tail=b"=1")),
    Shape("urlencoded fullwidth _ name", URLENCODED,
          lambda n: repeat("\uff3f".encode(), n, tail=b"=1")),
    Shape("urlencoded 999 fullwidth names", URLENCODED,
          lambda n: b"&".join(["\uff3f".encode() * (n // 3000) + b"=1"] * 999)),
    Shape("urlencoded 999 %20-padded names", URLENCODED,
          lambda n: b"&".join([b"%20" * (n // 3000) + b"__X=1"] * 999)),
    Shape("urlencoded 999 names, 1 KB %E3%80%80 each end", URLENCODED,
          lambda n: filled(b"&".join([b"%E3%80%80" * 111 + b"__X" + b"%E3%80%80" * 111 + b"=1"]
                                     * 999), n)),
    Shape("urlencoded 999 names, 1 KB U+3000 each end", URLENCODED,
          lambda n: filled(b"&".join(["\u3000".encode() * 333 + b"__X" + "\u3000".encode() * 333
                                      + b"=1"] * 999), n)),
    Shape("urlencoded __LASTFOCUS=& repeated", URLENCODED, lambda n: repeat(b"__LASTFOCUS=&", n)),
    Shape("urlencoded huge __VIEWSTATE", URLENCODED,
          lambda n: repeat(b"A", n, head=b"__VIEWSTATE=")),
    Shape("urlencoded 900 names of %41", URLENCODED,
          lambda n: b"&".join([b"%41" * (n // 2700) + b"=1"] * 900)),
    Shape("urlencoded 900 names of %5F", URLENCODED,
          lambda n: b"&".join([b"%5F" * (n // 2700) + b"=1"] * 900)),
    Shape("urlencoded 999 names of 1 KB %5F", URLENCODED,
          lambda n: b"&".join([b"%5F" * 341 + b"=1"] * 999)
          + b"&a=" + b"x" * max(0, n - 999 * 1026 - 3)),
    Shape("urlencoded postback, huge value", URLENCODED,
          lambda n: repeat(b"x", n, head=b"__EVENTTARGET=&a=")),
    Shape("urlencoded postback, 999 fields", URLENCODED,
          lambda n: b"__EVENTTARGET=&" + b"&".join([b"f=" + b"1" * (n // 999 - 3)] * 998)),
    # -- multipart --------------------------------------------------------------------------
    Shape("multipart tiny parts", MULTIPART, many_parts),
    Shape("multipart tiny parts, 8 headers", MULTIPART,
          lambda n: many_parts(n, headers=b"X-A: 1\r\n" * 7)),
    Shape("multipart one huge part", MULTIPART, lambda n: filled_part(n, b"x")),
    Shape("multipart CRLF value", MULTIPART, lambda n: filled_part(n, b"\r\n")),
    Shape("multipart dashes value", MULTIPART, lambda n: filled_part(n, b"-")),
    Shape("multipart CRLF-- near misses", MULTIPART, lambda n: filled_part(n, b"\r\n--")),
    Shape("multipart delimiter near misses", MULTIPART,
          lambda n: filled_part(n, b"\r\n" + DASH[:-1] + b"X")),
    Shape("multipart 8 KB header lines", MULTIPART,
          lambda n: many_parts(n, headers=(b"X-A: " + b"a" * 8000 + b"\r\n") * 7)),
    Shape("multipart huge __VIEWSTATE", MULTIPART,
          lambda n: filled_part(n, b"A", name="__VIEWSTATE")),
    Shape("multipart 8 KB names of %5F\\", MULTIPART,
          lambda n: multipart_body([part("%5F\\" * 1900, b"1")] * (n // 7700))),
    Shape("multipart postback, 999 parts", MULTIPART,
          lambda n: multipart_body([part("__EVENTTARGET", b"")]
                                   + [part("a", b"x" * (n // 1000))] * 998)),
    Shape("multipart 999 parts of 10 KB", MULTIPART,
          lambda n: multipart_body([part("a", b"x" * (n // 1000))] * 999)),
]


def inner_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Answers without reading the body, and with a page that is not rewritten."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def wrapped_app(max_body_size: int) -> Any:
    return PostbackMiddleware(inner_app, secret_keys=[secrets.token_urlsafe(48)],
                              max_body_size=max_body_size)


def post(app: Any, content_type: str, body: bytes) -> str:
    """One POST as a server makes it: the answer read and closed. Returns the status."""
    environ = make_environ()
    environ.update(REQUEST_METHOD="POST", CONTENT_TYPE=content_type,
                   CONTENT_LENGTH=str(len(body)))
    environ["wsgi.input"] = io.BytesIO(body)
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        return None

    result = app(environ, start_response)
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return statuses[-1] if statuses else ""


def cpu_seconds(app: Any, shape: Shape, body: bytes, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        started = time.process_time()
        post(app, shape.content_type, body)
        best = min(best, time.process_time() - started)
    return best


def peak_bytes(app: Any, shape: Shape, body: bytes) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        post(app, shape.content_type, body)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=10.0)
    parser.add_argument("--only", nargs="*", default=None, help="shape names to run (substrings)")
    args = parser.parse_args()
    logging.getLogger("postback_middleware").addHandler(logging.NullHandler())
    logging.getLogger("postback_middleware").propagate = False  # refusals are expected here
    size = int(args.size_mb * MB)
    app = wrapped_app(max_body_size=size + 6 * MB)
    shapes = [s for s in SHAPES if not args.only or any(o in s.name for o in args.only)]
    print(f"postback-middleware request cost: {len(shapes)} body shapes of {size / MB:.1f} MB, "
          f"CPU best of 3 (process_time), peak of Python allocations (tracemalloc)\n")
    post(app, URLENCODED, b"a=1&__EVENTTARGET=")  # warm up (imports, first allocations)

    rows = []
    for shape in shapes:
        body = shape.build(size)
        status = post(app, shape.content_type, body)
        cpu = cpu_seconds(app, shape, body)
        peak = peak_bytes(app, shape, body)
        rows.append((max(cpu / CPU_TARGET, peak / MEMORY_TARGET), shape, len(body), status,
                     cpu, peak))
        del body
    rows.sort(key=lambda row: row[0])

    width = max(len(shape.name) for shape in shapes) + 2
    print(f"{'shape':{width}} {'bytes':>12} {'answer':>22} {'CPU s':>7} {'peak MB':>8}")
    for _, shape, length, status, cpu, peak in rows:
        print(f"{shape.name:{width}} {length:>12,} {status:>22} {cpu:7.3f} {peak / MB:8.2f}")

    worst_cpu = max(rows, key=lambda row: row[4])
    worst_peak = max(rows, key=lambda row: row[5])
    print(f"\nworst shape: {rows[-1][1].name}")
    print(f"targets (any {size / MB:g} MB body)")
    cpu_ok = worst_cpu[4] <= CPU_TARGET * size / (10 * MB)
    peak_ok = worst_peak[5] <= MEMORY_TARGET
    print(f"  CPU    <= {CPU_TARGET:g} s:  worst {worst_cpu[4]:.3f} s ({worst_cpu[1].name})   "
          f"{verdict(cpu_ok)}")
    print(f"  memory <= {MEMORY_TARGET / MB:g} MB: worst {worst_peak[5] / MB:.2f} MB "
          f"({worst_peak[1].name})   {verdict(peak_ok)}")
    return 0 if cpu_ok and peak_ok else 1


if __name__ == "__main__":
    sys.exit(main())
