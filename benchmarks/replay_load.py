"""Replays under load: single-use postbacks on two hosts of gunicorn workers sharing one Redis.

Usage: .venv/bin/python benchmarks/replay_load.py [--duration 60] [--hosts 2] [--workers 2]
       [--clients 8]

Issue #20, point 5. A real ``redis-server`` (started here on a unix socket in a temporary
directory, stopped at the end) is the store of every worker; ``--hosts`` gunicorn servers of
``--workers`` processes each serve ``replay_app.py`` behind one name (``Host: shop.test``, as
behind a load balancer) with ``single_use`` on. ``--clients`` threads, each a browser with its
own cookie, repeat for ``--duration`` seconds:

1. **page**: GET the shop from one host (a fresh form, its own order number);
2. **first**: post it ("buy") to that host: must be 200, the order placed once;
3. **duplicate**: the very same request to *another* host (a double click that the load
   balancer sent elsewhere): must be 200 with the first answer, byte for byte;
4. **replay**: the same tokens with another value (``item=coffee``) to another host: must be
   409 ``already-sent``;
5. **rollback**: every third round, the previous page's (spent) tokens again: 409.

Every answer is checked; anything else (another status, a changed body, a socket error) is an
error. At the end every order's effect counter (``INCR placed:<order>`` in Redis, kept by the
app) must be exactly 1: an order placed twice is a replay that got through. Prints requests a
second, latencies by kind and the counts; exits 1 on any error or double effect.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.redis_server import running_redis  # noqa: E402  (the tests' launcher, reused)

HOST_NAME = "shop.test"
HIDDEN = re.compile(r'<input type="hidden" name="(__\w+)" id="\1" value="([^"]*)"')
ORDER = re.compile(r'data-postback="buy" data-postback-argument="([0-9a-f]+)"')
KINDS = ("page", "first", "duplicate", "replay", "rollback")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def gunicorn(port: int, workers: int, environ: dict[str, str], log: Path) -> Iterator[None]:
    """gunicorn serving ``replay_app:app`` on 127.0.0.1:``port`` until the block ends; its
    output (the refusals' log lines among it) goes to ``log``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
         f"127.0.0.1:{port}", "--chdir", str(ROOT / "benchmarks"), "--log-level", "warning",
         "replay_app:app"],
        env={**os.environ, **environ}, cwd=ROOT, stdout=log.open("ab"),
        stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/shop", headers={"Host": HOST_NAME})
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn on port {port} did not start")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Tally:
    """What the clients saw, shared by their threads."""

    counts: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.counts[kind] += 1
            self.latencies[kind].append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


class Browser:
    """One client: its own cookie, a keep-alive connection to each host."""

    def __init__(self, ports: list[int]) -> None:
        self.connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                            for port in ports]
        self.cookie = ""

    def send(self, host: int, method: str, body: bytes | None = None
             ) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Host": HOST_NAME, "Cookie": self.cookie}
        if body is not None:
            headers.update({"Content-Type": "application/x-www-form-urlencoded",
                            "Origin": f"http://{HOST_NAME}", "Sec-Fetch-Site": "same-origin"})
        connection = self.connections[host]
        try:
            connection.request(method, "/shop", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()  # (a fresh connection next time)
            raise
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";")[0]
        return response.status, data, dict(response.getheaders())


def timed(tally: Tally, kind: str, browser: Browser, host: int, method: str,
          body: bytes | None = None) -> tuple[int, bytes, dict[str, str]]:
    started = time.perf_counter()
    answer = browser.send(host, method, body)
    tally.record(kind, time.perf_counter() - started)
    return answer


def client(ports: list[int], deadline: float, tally: Tally, seed: int) -> None:
    browser = Browser(ports)
    hosts = len(ports)
    previous: dict[str, str] | None = None
    rounds = 0
    while time.monotonic() < deadline:
        rounds += 1
        here, there = (seed + rounds) % hosts, (seed + rounds + 1) % hosts
        try:
            status, page, _ = timed(tally, "page", browser, here, "GET")
            text = page.decode()
            fields, order = dict(HIDDEN.findall(text)), ORDER.findall(text)
            if status != 200 or not order or "__VIEWSTATE" not in fields:
                tally.error(f"page: {status}")
                continue
            form = {"item": "tea", **fields, "__EVENTTARGET": "buy",
                    "__EVENTARGUMENT": order[0]}
            sent = urlencode(form).encode()
            status, first, _ = timed(tally, "first", browser, here, "POST", sent)
            if status != 200 or f"placed {order[0]} (1)".encode() not in first:
                tally.error(f"first: {status} {first[:120]!r}")
                continue
            with tally.lock:
                tally.orders.append(order[0])
            status, again, _ = timed(tally, "duplicate", browser, there, "POST", sent)
            if status != 200 or again != first:
                tally.error(f"duplicate: {status}, same answer: {again == first}")
            replayed = urlencode({**form, "item": "coffee"}).encode()
            status, _, headers = timed(tally, "replay", browser, there, "POST", replayed)
            if status != 409 or headers.get("X-Postback-Refused") != "already-sent":
                tally.error(f"replay: {status}")
            if previous is not None and rounds % 3 == 0:
                old = urlencode({**previous, "item": "rollback"}).encode()
                status, _, _ = timed(tally, "rollback", browser, rounds % hosts, "POST", old)
                if status != 409:
                    tally.error(f"rollback: {status}")
            previous = form
        except (OSError, http.client.HTTPException) as error:
            tally.error(f"socket: {error!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    arguments = parser.parse_args()
    key = secrets.token_urlsafe(48)
    with tempfile.TemporaryDirectory() as directory, \
            running_redis(Path(directory)) as redis_server, contextlib.ExitStack() as hosts:
        environ = {"POSTBACK_SECRET_KEYS": key, "POSTBACK_STORE": redis_server.url,
                   "EFFECTS_REDIS": redis_server.url}
        ports = [free_port() for _ in range(arguments.hosts)]
        log = Path(directory) / "gunicorn.log"
        for port in ports:
            hosts.enter_context(gunicorn(port, arguments.workers, environ, log))
        tally = Tally()
        started = time.monotonic()
        deadline = started + arguments.duration
        threads = [threading.Thread(target=client, args=(ports, deadline, tally, n))
                   for n in range(arguments.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        effects = redis_server.client()
        placed = {order: int(effects.get("placed:" + order) or 0) for order in tally.orders}
        stray = len(effects.keys("placed:*")) - len(placed)
        server_log = log.read_text(errors="replace").splitlines()
    twice = [order for order, count in placed.items() if count != 1]
    total = sum(tally.counts.values())
    print(f"single_use on Redis: {arguments.hosts} hosts x {arguments.workers} gunicorn workers, "
          f"{arguments.clients} clients, {elapsed:.0f} s; {os.cpu_count()} cores shared with "
          "the clients and redis-server")
    print(f"  {total} requests, {total / elapsed:.0f} a second")
    print(f"  {'kind':<10} {'count':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for kind in KINDS:
        times = sorted(tally.latencies.get(kind, []))
        if times:
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(f"  {kind:<10} {len(times):>7} {statistics.median(times) * 1000:>8.1f} "
                  f"{p95 * 1000:>8.1f}")
    print(f"  first postbacks accepted: {len(placed)}; each placed exactly once: "
          f"{not twice and stray == 0}")
    print(f"  duplicates answered with the first answer: {tally.counts['duplicate']}; replays "
          f"and rollbacks refused: {tally.counts['replay'] + tally.counts['rollback']}")
    print(f"  errors: {len(tally.errors)}")
    for text in tally.errors[:10]:
        print("    " + text)
    unexpected = [line for line in server_log if "single_use: form" not in line]
    if unexpected:
        print("  the servers' log, other than the refusals expected:")
        for line in unexpected[-20:]:
            print("    " + line)
    ok = not (tally.errors or unexpected or twice or stray) and len(placed) > 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
