"""A large multipart upload (default 1 GiB) through the middleware on a real server.

Usage: .venv/bin/python benchmarks/upload.py [--size-mb 1024] [--chunk-kb 256]

A child process serves a small app wrapped in PostbackMiddleware with waitress on 127.0.0.1
(``max_body_size`` and waitress's ``max_request_body_size`` raised to fit the upload). The app's
page has a multipart post form with a file input and a ``data-postback="upload"`` button. The
client (this process):

1. GETs the page and scrapes the hidden fields (tokens) the middleware added;
2. makes one small warm-up upload, so first-use allocations land in the baseline;
3. resets the server's peak RSS (``/proc/PID/clear_refs``), records its RSS, and streams the
   upload: the postback fields, then one file part of ``--size-mb`` MiB of deterministic
   pseudo-random bytes (SHAKE-128 of a counter, generated chunk by chunk, never held whole),
   hashing them with SHA-256 as they are sent;
4. compares the SHA-256 and size the inner app computed (it reads ``wsgi.input`` in 64 KiB
   chunks through the ``multipart`` package's streaming parser) with its own, checks that no
   reserved field reached the inner app and that the verified event was ``upload``.

Printed: sizes, both hashes and whether they match, the server's RSS growth (peak ``VmHWM``
after the upload minus ``VmRSS`` before, and the peak seen by polling), and the time taken.
The target is an RSS growth under 32 MB; the script exits non-zero if the hashes differ or the
target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

HOST = "127.0.0.1"
MIB = 1024 * 1024
RSS_TARGET = 32 * MIB
HIDDEN = re.compile(r'<input type="hidden" name="(__\w+)" id="\1" value="([^"]*)"')
READ_CHUNK = 64 * 1024
PAGE = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>upload</title></head>
<body>
<form method="post" enctype="multipart/form-data">
  <input type="text" name="note" value="">
  <input type="file" name="file">
  <button type="submit" data-postback="upload">Upload</button>
</form>
</body></html>
"""

# -- the server side (runs in the child process) ------------------------------------------------


def inner_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """GET: the page. POST: SHA-256 and size of the part named ``file``, and every field name."""
    import multipart

    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [PAGE]
    _, options = multipart.parse_options_header(environ.get("CONTENT_TYPE", ""))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    digest = hashlib.sha256()
    size = 0
    names: list[str] = []
    fields: dict[str, str] = {}
    in_file = False
    value = bytearray()
    read = 0
    with multipart.PushMultipartParser(options["boundary"], content_length=length) as parser:
        while read < length:
            chunk = stream.read(min(READ_CHUNK, length - read))
            if not chunk:
                break
            read += len(chunk)
            for event in parser.parse(chunk):
                if event is None:
                    if not in_file:
                        fields[names[-1]] = value.decode("utf-8", "replace")
                    in_file = False
                elif isinstance(event, bytes | bytearray):
                    if in_file:
                        digest.update(event)
                        size += len(event)
                    elif len(value) < 4096:
                        value += event
                else:
                    names.append(event.name)
                    in_file = event.name == "file"
                    value = bytearray()
    postback_event = environ.get("postback.event")
    body = json.dumps({
        "sha256": digest.hexdigest(),
        "size": size,
        "names": names,
        "fields": fields,
        "event": postback_event.target if postback_event else None,
        "body_bytes": read,
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def serve(max_body: int) -> None:
    """Child process: serve the wrapped app; print the port; run until SIGTERM."""
    import waitress  # type: ignore[import-untyped]

    from postback_middleware import PostbackMiddleware

    app = PostbackMiddleware(
        inner_app,
        secret_keys=os.environ["POSTBACK_SECRET_KEYS"].split(),
        max_body_size=max_body,
    )
    server: Any = waitress.create_server(
        app, host=HOST, port=0, threads=2, max_request_body_size=max_body,
        clear_untrusted_proxy_headers=True,
    )
    print(f"PORT {server.effective_port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    with contextlib.suppress(OSError, ValueError):  # closed by the signal handler
        server.run()


# -- the client side --------------------------------------------------------------------------


def file_chunks(size: int, chunk_size: int, seed: bytes) -> Iterator[bytes]:
    """``size`` deterministic pseudo-random bytes, ``chunk_size`` at a time."""
    counter = 0
    remaining = size
    while remaining > 0:
        n = min(chunk_size, remaining)
        yield hashlib.shake_128(seed + counter.to_bytes(8, "big")).digest(n)
        counter += 1
        remaining -= n


def field_part(boundary: str, name: str, value: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode("utf-8") + b"\r\n"
    )


def upload(
    port: int, fields: dict[str, str], cookie: str, size: int, chunk_size: int, seed: bytes
) -> tuple[dict[str, Any], str, float]:
    """Stream one upload; return the server's JSON answer, the client's SHA-256 and seconds."""
    boundary = "----upload" + uuid.uuid4().hex
    head = b"".join(field_part(boundary, name, value) for name, value in fields.items())
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(HOST, port, timeout=600)
    digest = hashlib.sha256()
    started = time.monotonic()
    try:
        conn.putrequest("POST", "/")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Cookie", cookie)  # the browser the tokens were issued to
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        conn.send(head)
        for chunk in file_chunks(size, chunk_size, seed):
            digest.update(chunk)
            conn.send(chunk)
        conn.send(tail)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    if response.status != 200:
        raise RuntimeError(f"upload answered {response.status}: {text[:500]}")
    return json.loads(text), digest.hexdigest(), elapsed


def get_fields(port: int) -> tuple[dict[str, str], str]:
    """The page's fields, and the cookie of the browser its tokens are bound to."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
        page = response.read().decode()
    finally:
        conn.close()
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(page)}
    if "__VIEWSTATE" not in fields or "__EVENTVALIDATION" not in fields:
        raise RuntimeError(f"no tokens in the page: {page[:500]}")
    fields = {"note": "hello", **fields, "__EVENTTARGET": "upload", "__EVENTARGUMENT": ""}
    return fields, cookie


def proc_status(pid: int, field: str) -> int:
    """A ``VmRSS``/``VmHWM``-style line of /proc/PID/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


class RssPoller:
    """Polls a process's RSS every 20 ms in a thread; remembers the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            with contextlib.suppress(OSError, RuntimeError):
                self.peak = max(self.peak, proc_status(self.pid, "VmRSS"))

    def __enter__(self) -> RssPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def start_server(max_body: int) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "POSTBACK_SECRET_KEYS": secrets.token_urlsafe(48)}
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--max-body", str(max_body)],
        stdout=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the child prints its port first, or dies
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return process, int(line.split()[1])


def stop_server(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def mb(n: float) -> str:
    return f"{n / MIB:.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (1024)")
    parser.add_argument("--chunk-kb", type=int, default=256, help="client send chunk (256 KiB)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--max-body", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.max_body)
        return 0
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # unwind: stop the server
    size = args.size_mb * MIB
    max_body = size + 16 * MIB  # the file plus the form fields and framing
    seed = b"postback-upload-benchmark"
    process, port = start_server(max_body)
    try:
        fields, cookie = get_fields(port)
        warm, _, _ = upload(port, fields, cookie, 4 * MIB, args.chunk_kb * 1024, b"warm-up")
        print(f"warm-up: 4 MiB upload answered size {warm['size']}")
        Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # reset VmHWM to VmRSS
        baseline = proc_status(process.pid, "VmRSS")
        with RssPoller(process.pid) as poller:
            answer, client_sha, elapsed = upload(port, fields, cookie, size,
                                                 args.chunk_kb * 1024, seed)
        peak_hwm = proc_status(process.pid, "VmHWM")
    finally:
        stop_server(process)

    hwm_growth = peak_hwm - baseline
    polled_growth = max(poller.peak - baseline, 0)
    match = answer["sha256"] == client_sha and answer["size"] == size
    leaked = [name for name in answer["names"] if name.startswith("__")]
    print(f"file size sent:       {size} bytes ({mb(size)})")
    print(f"file size received:   {answer['size']} bytes (request body to the app: "
          f"{answer['body_bytes']} bytes)")
    print(f"client sha256:        {client_sha}")
    print(f"server sha256:        {answer['sha256']}")
    print(f"hashes match:         {'yes' if match else 'NO'}")
    print(f"fields the app saw:   {answer['names']} (reserved leaked: {leaked or 'none'})")
    print(f"verified event:       {answer['event']}")
    print(f"server RSS baseline:  {mb(baseline)}")
    print(f"server RSS growth:    {mb(hwm_growth)} (VmHWM), {mb(polled_growth)} (polled peak); "
          f"target < {mb(RSS_TARGET)}")
    print(f"time:                 {elapsed:.1f} s ({size / MIB / elapsed:.1f} MiB/s end to end)")
    ok = match and not leaked and answer["event"] == "upload" and hwm_growth < RSS_TARGET
    print("result:               " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: server stopped", file=sys.stderr)
        sys.exit(130)
