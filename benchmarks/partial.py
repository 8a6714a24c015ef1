"""Partial vs full postback of the demo page: bytes on the wire and server time, in one run.

Usage: .venv/bin/python benchmarks/partial.py   (Debian's chromium and playwright, as the
browser suite)

The demo (``examples/demo.ini``) is served by waitress and used in Chromium: on a freshly
loaded page the client script sends each postback as it does for a person, "Count a click"
(its panel is the view-state box) and a row's delete link (its panels are the order rows and
the view-state box). The bytes of each partial answer are those Chromium received; the
client's request (its body and its ``X-Postback-Panels`` / ``X-Postback-Children``) is kept.

Each request is then replayed through WebTest in this process: without the ``X-Postback-*``
headers, as a full postback (the full page's bytes), and as sent (the bytes must equal
Chromium's). Server time is CPU time per request, fastest of several rounds, without network.
The target: the partial answer is at most a fifth of the full page.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import webtest
from paste.deploy import loadapp

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]  # the test suite's server and browser; the demo
# (label, what a person clicks)
EVENTS = [
    ("count a click", "text=Count a click"),
    ("delete a row", "[data-postback-argument='1003']"),
]


@dataclass
class Sent:
    """A partial postback as Chromium sent it, and the size of the answer it received."""

    body: bytes
    content_type: str
    headers: dict[str, str]  # X-Postback-Panels, X-Postback-Children
    answer_bytes: int
    cookie: str  # the browser's cookie: the tokens are bound to it


def in_chromium(url: str) -> list[Sent]:
    """For each event, on a freshly loaded page: the partial postback and its answer's size."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    measured = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        page = browser.new_page()
        for _, selector in EVENTS:
            page.goto(url)
            with page.expect_response(lambda r: "x-postback-panels" in r.request.headers) as got:
                page.click(selector)
            request = got.value.request
            measured.append(Sent(
                body=request.post_data_buffer,
                content_type=request.headers["content-type"],
                headers={k.title(): v for k, v in request.headers.items()
                         if k.startswith("x-postback-")},
                answer_bytes=len(got.value.body()),
                cookie="; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies()),
            ))
        browser.close()
    return measured


def best_cpu_time(action: Callable[[], Any], rounds: int = 7, per_round: int = 50) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(per_round):
            action()
        best = min(best, (time.process_time() - start) / per_round)
    return best


def main() -> None:
    from tests.servers import serve_wsgi

    os.environ.setdefault("POSTBACK_SECRET_KEYS", secrets.token_urlsafe(48))
    demo = loadapp(f"config:{ROOT / 'examples' / 'demo.ini'}")
    with serve_wsgi(demo) as url:
        measured = in_chromium(url)

    app = webtest.TestApp(demo)
    print("partial vs full postback of the demo page, measured in one run")
    print(f"{'':34}{'bytes':>8}{'server CPU':>13}")
    for (label, _), sent in zip(EVENTS, measured, strict=True):

        def full(sent: Sent = sent) -> Any:
            return app.post("/", sent.body, content_type=sent.content_type,
                            headers={"Cookie": sent.cookie})

        def part(sent: Sent = sent) -> Any:
            return app.post("/", sent.body, content_type=sent.content_type,
                            headers={**sent.headers, "Cookie": sent.cookie})

        full_bytes, replayed = len(full().body), part()
        assert replayed.headers.get("X-Postback-Partial") == "panels", replayed.headers
        assert len(replayed.body) == sent.answer_bytes, (len(replayed.body), sent.answer_bytes)
        full_time, part_time = best_cpu_time(full), best_cpu_time(part)
        ratio = sent.answer_bytes / full_bytes
        print(f"{label + ', full':34}{full_bytes:>8,}{full_time * 1e3:>10.2f} ms")
        print(f"{label + ', partial (Chromium)':34}{sent.answer_bytes:>8,}"
              f"{part_time * 1e3:>10.2f} ms")
        print(f"  partial / full bytes = {ratio:.2f}  (target <= 0.20)  "
              f"{'PASS' if ratio <= 0.2 else 'MISS'}")
        children = sent.headers.get("X-Postback-Children", "")
        print(f"  the client sent X-Postback-Children: {len(children)} bytes")


if __name__ == "__main__":
    main()
