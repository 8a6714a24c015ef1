"""Bytes per event pair of ``__EVENTVALIDATION``, over a family of form shapes.

Each shape is a page with one post form offering N (target, argument) pairs, rendered and
rewritten by the middleware through its public WSGI interface (``harness``); the figure is the
length of the ``__EVENTVALIDATION`` value the browser receives and posts back, divided by N, and
whether a postback of the form's last pair verifies. The GridView shape (``Delete$0..N``) is
the one ASP.NET grids render; the others show where the encoding falls back to digests and
where the default ``max_state_size`` (128 KiB) ends and a form degrades (gets no tokens, with a
logged warning; the page is still served).

Run: ``.venv/bin/python benchmarks/event_validation.py`` (about 20 s). Nothing is hard-coded:
every figure is measured in this run. It reports and exits 0.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import buffered_app, make_environ, wrap

from postback_middleware import PostbackMiddleware

FIELD = re.compile(rb'name="(__VIEWSTATE|__EVENTVALIDATION)"[^>]*value="([^"]*)"')
Shape = Callable[[int], list[tuple[str, str]]]

SHAPES: dict[str, Shape] = {
    "GridView Delete$N": lambda n: [("GridView1", f"Delete${i}") for i in range(n)],
    "GridView 4 verbs/row": lambda n: [("GridView1", f"{verb}${i // 4}") for i, verb in
                                       zip(range(n), ["Select", "Edit", "Delete", "Update"] * n,
                                           strict=False)],
    "target per row": lambda n: [(f"row{i}", f"delete:{i}") for i in range(n)],
    "GUID arguments": lambda n: [("grid", f"{i * 2654435761 % 2**32:08x}-4f1c-9a2e-{i:012x}")
                                 for i in range(n)],
    "one long argument": lambda n: [("export", "x" * (128 * 1024))],
}
SIZES = (10, 100, 1_000, 12_000, 100_000)


def page_of(pairs: list[tuple[str, str]]) -> bytes:
    links = "".join(f'<a data-postback="{t}" data-postback-argument="{a}">x</a>' for t, a in pairs)
    return f'<html><body><form method="post" action="/orders">{links}</form></body></html>'.encode()


def get_and_post(app: Any, target: str, argument: str) -> tuple[dict[str, bytes], str]:
    """The form's tokens from a GET, and the status of a postback of (target, argument)."""
    statuses: list[str] = []
    headers: list[list[tuple[str, str]]] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)
        headers.append(response_headers)

    body = b"".join(app(make_environ(), start_response))
    fields = dict(FIELD.findall(body))
    cookie = next(v for k, v in headers[-1] if k == "Set-Cookie").split(";")[0]
    data = urlencode({"__EVENTTARGET": target, "__EVENTARGUMENT": argument,
                      "__VIEWSTATE": fields[b"__VIEWSTATE"].decode(),
                      "__EVENTVALIDATION": fields[b"__EVENTVALIDATION"].decode()}).encode()
    environ = {**make_environ(), "REQUEST_METHOD": "POST", "HTTP_COOKIE": cookie,
               "CONTENT_TYPE": "application/x-www-form-urlencoded",
               "CONTENT_LENGTH": str(len(data)), "wsgi.input": io.BytesIO(data)}
    b"".join(app(environ, start_response))
    return fields, statuses[-1]


def main() -> None:
    logging.getLogger("postback_middleware").setLevel(logging.ERROR)  # the degrade warnings
    print(f"{'shape':<36} {'pairs':>8} {'EV bytes':>10} {'bytes/pair':>11} {'GET+POST ms':>12}"
          "  last pair")
    runs = [(name, size, {}) for name in SHAPES for size in
            (SIZES if name != "one long argument" else (1,))]
    # Past 12,000 pairs of no shape, a form needs a larger max_state_size (the operator's call).
    runs.append(("GUID arguments", 100_000, {"max_state_size": 2 * 1024 * 1024,
                                             "max_body_size": 8 * 1024 * 1024}))
    for name, size, options in runs:
        pairs = SHAPES[name](size)
        inner = buffered_app(page_of(pairs))
        if options:
            app = PostbackMiddleware(inner, secret_keys=[secrets.token_urlsafe(48)], **options)
            name = f"{name} (2 MiB limit)"
        else:
            app = wrap(inner)
        started = time.perf_counter()
        fields, status = get_and_post(app, *pairs[-1])
        elapsed = (time.perf_counter() - started) * 1000
        ev = len(fields[b"__EVENTVALIDATION"])
        verdict = ("verifies" if status.startswith("200") else
                   "degraded (no tokens)" if ev == 0 else f"refused {status}")
        print(f"{name:<36} {len(pairs):>8,} {ev:>10,} {ev / len(pairs):>11.2f} "
              f"{elapsed:>12.1f}  {verdict}")

if __name__ == "__main__":
    main()
