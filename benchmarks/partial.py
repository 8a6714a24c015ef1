"""Partial vs full postback of the demo page: bytes on the wire and server time, in one run.

Usage: .venv/bin/python benchmarks/partial.py

Two verified postbacks are sent to the demo (``examples/demo.ini``), each as a full postback and
as the partial one the client script sends: "Count a click" (its panel is the view-state box)
and a row's delete link (its panels are the order rows and the view-state box). The target: the
partial answer is at most a fifth of the full page. Server time is CPU time per request, fastest
of several rounds, measured through WebTest in this process (no network).
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import webtest
from paste.deploy import loadapp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EVENTS = [
    ("count a click", "increment", "", "state"),
    ("delete a row", "delete", "1003", "order-rows state"),
]


def tokens(page: bytes) -> dict[str, str]:
    found = re.findall(rb'name="(__VIEWSTATE|__EVENTVALIDATION)"[^>]*value="([^"]*)"', page)
    return {name.decode(): value.decode() for name, value in found[:2]}


def postback(app: webtest.TestApp, fields: dict[str, str], event: tuple[str, str, str, str],
             partial: bool) -> Any:
    _, target, argument, panels = event
    headers = {"X-Postback-Panels": panels} if partial else {}
    return app.post("/", {"__EVENTTARGET": target, "__EVENTARGUMENT": argument, **fields},
                    headers=headers)


def best_cpu_time(action: Any, rounds: int = 7, per_round: int = 50) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(per_round):
            action()
        best = min(best, (time.process_time() - start) / per_round)
    return best


def main() -> None:
    sys.path.insert(0, str(EXAMPLES))
    os.environ.setdefault("POSTBACK_SECRET_KEYS", secrets.token_urlsafe(48))
    app = webtest.TestApp(loadapp(f"config:{EXAMPLES / 'demo.ini'}"))
    fields = tokens(app.get("/").body)
    print("partial vs full postback of the demo page, measured in one run")
    print(f"{'':34}{'bytes':>8}{'server CPU':>13}")
    for event in EVENTS:
        full = postback(app, fields, event, partial=False)
        part = postback(app, fields, event, partial=True)
        assert part.headers.get("X-Postback-Partial") == "panels", part.headers
        full_time = best_cpu_time(lambda e=event: postback(app, fields, e, partial=False))
        part_time = best_cpu_time(lambda e=event: postback(app, fields, e, partial=True))
        ratio = len(part.body) / len(full.body)
        print(f"{event[0] + ', full':34}{len(full.body):>8,}{full_time * 1e3:>10.2f} ms")
        print(f"{event[0] + ', partial':34}{len(part.body):>8,}{part_time * 1e3:>10.2f} ms")
        verdict = "PASS" if ratio <= 0.2 else "MISS"
        print(f"  partial / full bytes = {ratio:.2f}  (target <= 0.20)  {verdict}")

if __name__ == "__main__":
    main()
