"""Load under gunicorn (2+ worker processes) driven by wrk: the demo, and pages wrapped vs bare.

Usage: .venv/bin/python benchmarks/load.py [--phases mixed get distinct] [--duration 60]
       [--compare-duration 20] [--rounds 1] [--connections 32] [--workers 2]
       [--worker-class gthread] [--threads 8]

Needs ``gunicorn`` and ``psutil`` in the venv (``.venv/bin/pip install gunicorn psutil``) and
Debian's ``wrk`` (``apt-get install wrk``). Everything talks to 127.0.0.1 only.

Four phases, each bounded by its duration (``--phases`` picks some: ``mixed`` is 1, ``get`` is
2 and 3, ``distinct`` is 4):

1. **mixed**, on the wrapped demo (``examples/demo.ini`` through PasteDeploy): three wrk
   processes at once, half the connections on page GETs, a quarter on postbacks (``POST /``
   with the tokens scraped from a page: ``increment``, ``delete`` and the ``sort``
   autopostback in turn) and a quarter on callbacks (``__CALLBACKID=CallServer``). Tokens are
   scraped once from one worker and verified by every worker: the workers share one key list
   through ``POSTBACK_SECRET_KEYS``. (Tokens are stateless and reusable until ``max_age``.)
2. **GET, wrapped**: page GETs only, on all connections.
3. **GET, bare**: the same against the unwrapped demo app, same gunicorn settings.
4. **distinct targets** (issue #18, point 4): page GETs on all connections against
   ``shape_app.py``, an app that renders ``shapes.target_per_row()`` (80 KB, 4 post forms, 400
   rows each with its own ``data-postback="rowN"``) from row data with a Jinja2 template on
   every request, wrapped in ``PostbackMiddleware`` (the key from ``POSTBACK_SECRET_KEYS``) and
   bare, same gunicorn settings, ``--compare-duration`` each. ``--rounds N`` alternates N
   wrapped and N bare runs (both servers stay up); each round gives a ratio of its two runs,
   back to back, and the verdict is the median of those ratios (a burst of other work that
   hits one run moves one round's ratio, not the verdict; each side's best run, which pairs
   runs of different rounds, is printed beside it). Target: wrapped / bare page throughput
   at least 0.85, printed ``PASS`` / ``MISS`` with the bare figure beside it and the server
   CPU per request of each side; a miss does not change the exit status (a failed response
   does).

Every response is checked in wrk's Lua ``response()`` hook: a page must be 200 with the order
form (and its ``__VIEWSTATE`` when wrapped), a postback 200 with the page, a callback 200 with
the callback framing and result; a distinct-targets page 200 with its last form, its last row's
postback and ``</html>`` (and ``__VIEWSTATE`` when wrapped). Socket errors, timeouts, non-2xx,
5xx and wrong bodies are counted; the script exits non-zero if any is found.

Caveat printed with the results: wrk runs on the same 2 cores as the server, so the numbers
are a lower bound for the server alone. The CPU time each side used is measured and shown.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.client
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BENCHMARKS = ROOT / "benchmarks"
DEMO_INI = EXAMPLES / "demo.ini"
HOST = "127.0.0.1"
HIDDEN = re.compile(r'<input type="hidden" name="(__\w+)" id="\1" value="([^"]*)"')
PAGE_MARK = '<form method="post" id="orders" data-callbacks="CallServer">'
CALLBACK_RESULT = "Calling server was successful. The passed argument was "
RESULT_PREFIX = "@@RESULT@@"
# The distinct-targets page (shape_app.py): its last form and last row, then the page's end.
DISTINCT_MARKS = ['<form method="post" action="/orders?batch=3" class="grid-form">',
                  'data-postback="row400" data-postback-argument="delete:400"', "</html>"]
DISTINCT_TARGET = 0.85  # wrapped / bare page throughput: at least
PHASES = ("mixed", "get", "distinct")

# The Lua side: one script per kind. ``bodies`` (POST kinds) are sent in turn; ``must`` are
# substrings every response body must contain. Counters live per wrk thread and are summed
# in done(), which prints one JSON line.
LUA_TEMPLATE = r"""
local method = "{method}"
local bodies = {{ {bodies} }}
local must = {{ {must} }}
local headers = {{ ["Content-Type"] = "application/x-www-form-urlencoded",
                  ["Cookie"] = {cookie} }}
local threads = {{}}
local counter = 1
ok, non2xx, s4xx, s5xx, badbody = 0, 0, 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function request()
  if method == "GET" then
    return wrk.format("GET", "/", {{ ["Cookie"] = {cookie} }})
  end
  local body = bodies[counter]
  counter = counter % #bodies + 1
  return wrk.format("POST", "/", headers, body)
end

function response(status, hdrs, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if status >= 500 then s5xx = s5xx + 1 elseif status >= 400 then s4xx = s4xx + 1 end
    return
  end
  for _, needle in ipairs(must) do
    if not string.find(body, needle, 1, true) then
      badbody = badbody + 1
      return
    end
  end
  ok = ok + 1
end

function done(summary, latency, requests)
  local t = {{ ok = 0, non2xx = 0, s4xx = 0, s5xx = 0, badbody = 0 }}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do t[key] = t[key] + thread:get(key) end
  end
  local e = summary.errors
  io.write(string.format(
    '{result_prefix}{{"requests": %d, "duration_us": %d, "ok": %d, "non2xx": %d, ' ..
    '"s4xx": %d, "s5xx": %d, "badbody": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "status": %d, "p50_us": %d, "p99_us": %d}}\n',
    summary.requests, summary.duration, t.ok, t.non2xx, t.s4xx, t.s5xx, t.badbody,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(text: str) -> str:
    """A Lua long-bracket string literal holding ``text`` exactly."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


@dataclass
class Kind:
    name: str
    method: str
    bodies: list[str]
    must: list[str]
    connections: int

    def lua(self) -> str:
        return LUA_TEMPLATE.format(
            cookie=lua_string(BROWSER["cookie"]),
            method=self.method,
            bodies=", ".join(lua_string(b) for b in self.bodies),
            must=", ".join(lua_string(m) for m in self.must),
            result_prefix=RESULT_PREFIX,
        )


@dataclass
class Result:
    kind: str
    requests: int
    seconds: float
    ok: int
    non2xx: int
    s4xx: int
    s5xx: int
    badbody: int
    socket_errors: int
    timeouts: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        return self.non2xx + self.badbody + self.socket_errors + self.timeouts


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    label: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def cpu_by_process(self) -> dict[int, float]:
        """User + system CPU so far of the master and each worker, by process id."""
        seconds: dict[int, float] = {}
        with contextlib.suppress(psutil.Error):
            master = psutil.Process(self.process.pid)
            for proc in [master, *master.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    seconds[proc.pid] = times.user + times.system
        return seconds

    def cpu_since(self, before: dict[int, float]) -> float:
        """CPU used since ``before``. A worker that died in between takes its share with it
        (the figure is then low, and a warning says so), rather than making it negative."""
        now = self.cpu_by_process()
        if now.keys() != before.keys():
            print(f"warning: gunicorn ({self.label}) replaced workers during the run below (a "
                  "crash or a restart: see the server log line); its CPU figure is incomplete")
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())

    def log_counts(self) -> dict[str, int]:
        text = self.log_path.read_text(errors="replace")
        return {
            "tracebacks": text.count("Traceback"),
            "refusals logged": text.count("refused "),
            # Timeouts, and workers that died (a signal, an exit code: gunicorn's own words).
            "worker timeouts/crashes": len(re.findall(
                r"WORKER TIMEOUT|Worker .* died|Worker \(pid:\d+\) (?:was sent|exited)", text)),
        }


@contextlib.contextmanager
def gunicorn(
    label: str, args: list[str], *, workers: int, worker_class: str, threads: int, key: str,
    workdir: Path, pythonpath: Path = EXAMPLES,
) -> Iterator[Server]:
    """Run gunicorn on a free 127.0.0.1 port; always stopped (TERM, then KILL) on the way out."""
    port = free_port()
    log_path = workdir / f"gunicorn-{label}.log"
    env = {**os.environ, "POSTBACK_SECRET_KEYS": key}
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--bind", f"{HOST}:{port}",
        "--workers", str(workers),
        "--worker-class", worker_class,
        "--threads", str(threads),
        "--backlog", "256",
        "--pythonpath", str(pythonpath),
        "--no-control-socket",
        "--log-level", "warning",
        "--error-logfile", str(log_path),
        *args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(label, process, port, log_path)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the session this script created
        process.wait(timeout=5)


def wait_ready(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn ({server.label}) exited: {server.log_path.read_text()[-2000:]}"
            )
        with contextlib.suppress(OSError):
            status, _ = fetch(server.port, "GET", "/")
            if status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn ({server.label}) not ready after {timeout} s")


# The one browser every request comes from: tokens are bound to its cookie (the middleware's,
# set by the first page; see postback_middleware.csrf).
BROWSER = {"cookie": ""}


def fetch(port: int, method: str, path: str, body: str | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        if BROWSER["cookie"]:
            headers["Cookie"] = BROWSER["cookie"]
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie:
            BROWSER["cookie"] = set_cookie.split(";")[0]
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


# -- requests -------------------------------------------------------------------------------------


def scrape_fields(page: str) -> dict[str, str]:
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(page)}
    for name in ("__VIEWSTATE", "__EVENTVALIDATION"):
        if not fields.get(name):
            raise RuntimeError(f"the page has no {name}: is the middleware wrapping the demo?")
    return fields


def postback_bodies(fields: dict[str, str]) -> list[str]:
    """What a browser posts for three of the page's events (sort is an autopostback)."""
    events = [("increment", "", {}), ("delete", "1003", {}), ("sort", "", {"sort": "total"})]
    return [
        urlencode({
            "sort": "number", **extra, **fields,
            "__EVENTTARGET": target, "__EVENTARGUMENT": argument,
        })
        for target, argument, extra in events
    ]


def callback_bodies(fields: dict[str, str]) -> list[str]:
    return [
        urlencode({
            "__CALLBACKID": "CallServer", "__CALLBACKPARAM": argument,
            "__EVENTVALIDATION": fields["__EVENTVALIDATION"],
            "__VIEWSTATE": fields["__VIEWSTATE"],
        })
        for argument in ("1", "42", "hello world")
    ]


def preflight(port: int, postbacks: list[str], callbacks: list[str]) -> None:
    """Each body once, checked in Python, before wrk repeats it: fail early and clearly."""
    for body in postbacks:
        status, text = fetch(port, "POST", "/", body)
        if status != 200 or PAGE_MARK not in text or "__VIEWSTATE" not in text:
            raise RuntimeError(f"postback preflight failed: {status} {text[:300]!r}")
    for body in callbacks:
        status, text = fetch(port, "POST", "/", body)
        if status != 200 or CALLBACK_RESULT not in text:
            raise RuntimeError(f"callback preflight failed: {status} {text[:300]!r}")


# -- driving wrk --------------------------------------------------------------------------------


def run_wrk(
    port: int, kinds: list[Kind], seconds: int, workdir: Path, server: Server
) -> tuple[list[Result], float, float]:
    """Run one wrk per kind at once; return results, wrk CPU seconds and server CPU seconds."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    processes: list[tuple[Kind, subprocess.Popen[str]]] = []
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = server.cpu_by_process()
    try:
        for kind in kinds:
            script = workdir / f"{kind.name.replace(' ', '-')}.lua"
            script.write_text(kind.lua())
            command = [
                wrk, "--threads", "1", "--connections", str(kind.connections),
                "--duration", f"{seconds}s", "--timeout", "10s", "--script", str(script),
                f"http://{HOST}:{port}/",
            ]
            processes.append(
                (kind, subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
            )
        outputs = [(kind, proc.communicate(timeout=seconds + 60)[0]) for kind, proc in processes]
    finally:
        for _, proc in processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    server_cpu = server.cpu_since(server_before)
    return [parse_wrk(kind, output) for kind, output in outputs], wrk_cpu, server_cpu


def parse_wrk(kind: Kind, output: str) -> Result:
    line = next((x for x in output.splitlines() if x.startswith(RESULT_PREFIX)), None)
    if line is None:
        raise RuntimeError(f"wrk ({kind.name}) printed no result:\n{output}")
    data = json.loads(line[len(RESULT_PREFIX) :])
    return Result(
        kind=kind.name,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        ok=data["ok"],
        non2xx=data["non2xx"],
        s4xx=data["s4xx"],
        s5xx=data["s5xx"],
        badbody=data["badbody"],
        socket_errors=data["connect"] + data["read"] + data["write"],
        timeouts=data["timeout"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def print_phase(title: str, results: list[Result], wrk_cpu: float, server_cpu: float) -> None:
    print(f"\n== {title}")
    print(
        f"{'kind':<14}{'requests':>10}{'req/s':>10}{'ok':>10}{'non-2xx':>9}{'4xx':>6}{'5xx':>6}"
        f"{'bad body':>10}{'sock err':>10}{'timeout':>9}{'p50 ms':>9}{'p99 ms':>9}"
    )
    for r in results:
        print(
            f"{r.kind:<14}{r.requests:>10}{r.rps:>10.1f}{r.ok:>10}{r.non2xx:>9}{r.s4xx:>6}"
            f"{r.s5xx:>6}{r.badbody:>10}{r.socket_errors:>10}{r.timeouts:>9}"
            f"{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}"
        )
    total = server_cpu + wrk_cpu
    share = 100 * wrk_cpu / total if total else 0.0
    print(
        f"CPU used: server {server_cpu:.1f} s, wrk {wrk_cpu:.1f} s "
        f"(the load generator took {share:.0f}% of the CPU spent)"
    )


@dataclass
class Run:
    """One side of a throughput comparison: what wrk saw and what the server spent."""

    result: Result
    server_cpu: float

    @property
    def cpu_ms(self) -> float:
        """Server CPU (master and workers) per request, in ms: less moved by wrk's share of
        the cores than req/s is."""
        return 1000 * self.server_cpu / self.result.requests if self.result.requests else 0.0


def demo_phases(
    args: argparse.Namespace, phases: set[str], options: dict[str, Any], workdir: Path
) -> tuple[int, list[str]]:
    """Phases 1-3 on the demo; returns the failures and the summary lines."""
    failures = 0
    quarter, half = args.connections // 4, args.connections // 2
    with gunicorn("wrapped", ["--paste", str(DEMO_INI)], workdir=workdir, **options) as server:
        status, page = fetch(server.port, "GET", "/")  # also the browser's cookie
        if status != 200:
            raise RuntimeError(f"GET / answered {status}")
        wrapped_page = Kind("page GET", "GET", [], [PAGE_MARK, "__VIEWSTATE"], half)
        if "mixed" in phases:
            fields = scrape_fields(page)
            postbacks, callbacks = postback_bodies(fields), callback_bodies(fields)
            preflight(server.port, postbacks, callbacks)
            mixed = [
                wrapped_page,
                Kind("postback", "POST", postbacks, [PAGE_MARK, "__VIEWSTATE"], quarter),
                Kind("callback", "POST", callbacks, ["|", CALLBACK_RESULT],
                     args.connections - half - quarter),
            ]
            results, wrk_cpu, server_cpu = run_wrk(
                server.port, mixed, args.duration, workdir, server
            )
            print_phase(f"mixed load on the wrapped demo, {args.duration} s", results,
                        wrk_cpu, server_cpu)
            failures += sum(r.failures for r in results)
        if "get" not in phases:
            time.sleep(0.5)  # let the last log lines land
            print(f"server log (wrapped): {server.log_counts()}")
            return failures, []
        wrapped_page.connections = args.connections
        results, wrk_cpu, server_cpu = run_wrk(
            server.port, [wrapped_page], args.compare_duration, workdir, server
        )
        print_phase(f"page GETs only, wrapped, {args.compare_duration} s", results,
                    wrk_cpu, server_cpu)
        wrapped_get = results[0]
        failures += wrapped_get.failures
        time.sleep(0.5)
        print(f"server log (wrapped): {server.log_counts()}")
    with gunicorn("bare", ["demo_app:app"], workdir=workdir, **options) as server:
        bare_page = Kind("page GET", "GET", [], [PAGE_MARK], args.connections)
        results, wrk_cpu, server_cpu = run_wrk(
            server.port, [bare_page], args.compare_duration, workdir, server
        )
        print_phase(f"page GETs only, bare demo app, {args.compare_duration} s", results,
                    wrk_cpu, server_cpu)
        bare_get = results[0]
        failures += bare_get.failures
        print(f"server log (bare): {server.log_counts()}")
    ratio = wrapped_get.rps / bare_get.rps if bare_get.rps else float("nan")
    return failures, [
        f"demo page GETs: wrapped {wrapped_get.rps:.1f} req/s, bare {bare_get.rps:.1f} req/s, "
        f"wrapped/bare = {ratio:.2f}"
    ]


def check_distinct_page(server: Server, *, wrapped: bool) -> None:
    """One GET checked in Python before wrk repeats it (and, wrapped, the browser's cookie)."""
    status, page = fetch(server.port, "GET", "/")
    missing = [mark for mark in DISTINCT_MARKS if mark not in page]
    if wrapped and page.count('name="__VIEWSTATE"') != 4:
        missing.append('name="__VIEWSTATE" in each of the 4 forms')
    if status != 200 or missing:
        raise RuntimeError(f"distinct-targets page ({server.label}): {status}, "
                           f"missing {missing}: {page[:300]!r}")


def distinct_phase(
    args: argparse.Namespace, options: dict[str, Any], workdir: Path
) -> tuple[int, list[str]]:
    """Phase 4: shape_app.py wrapped and bare, alternated ``--rounds`` times; returns the
    failures and the summary lines. Both servers stay up so that the rounds interleave (an
    idle gunicorn costs nothing measurable)."""
    failures = 0
    seconds = args.compare_duration
    runs: dict[str, list[Run]] = {"wrapped": [], "bare": []}
    with (
        gunicorn("distinct-wrapped", ["shape_app:wrapped_app()"], workdir=workdir,
                 pythonpath=BENCHMARKS, **options) as wrapped,
        gunicorn("distinct-bare", ["shape_app:app"], workdir=workdir,
                 pythonpath=BENCHMARKS, **options) as bare,
    ):
        check_distinct_page(wrapped, wrapped=True)
        check_distinct_page(bare, wrapped=False)
        kinds = {
            "wrapped": Kind("distinct GET", "GET", [], [*DISTINCT_MARKS, "__VIEWSTATE"],
                            args.connections),
            "bare": Kind("distinct GET", "GET", [], DISTINCT_MARKS, args.connections),
        }
        servers = {"wrapped": wrapped, "bare": bare}
        for round_ in range(1, args.rounds + 1):
            for side in ("wrapped", "bare"):
                server = servers[side]
                results, wrk_cpu, server_cpu = run_wrk(
                    server.port, [kinds[side]], seconds, workdir, server
                )
                of = f", round {round_} of {args.rounds}" if args.rounds > 1 else ""
                print_phase(f"distinct-targets page GETs, {side} shape_app, {seconds} s{of}",
                            results, wrk_cpu, server_cpu)
                runs[side].append(Run(results[0], server_cpu))
                failures += results[0].failures
        time.sleep(0.5)  # let the last log lines land
        for side, server in servers.items():
            print(f"server log (distinct, {side}): {server.log_counts()}")
    best = {side: max(side_runs, key=lambda run: run.result.rps)
            for side, side_runs in runs.items()}
    w, b = best["wrapped"], best["bare"]
    pairs = list(zip(runs["wrapped"], runs["bare"], strict=True))
    per_round = [wr.result.rps / br.result.rps if br.result.rps else float("nan")
                 for wr, br in pairs]
    ratio = statistics.median(per_round)
    verdict = "PASS" if ratio >= DISTINCT_TARGET else "MISS"
    of_rounds = (f"the median of {args.rounds} rounds' ratios" if args.rounds > 1
                 else "one run each")
    lines = [
        "distinct-targets page (shape_app.py: shapes.target_per_row(), 80 KB, 4 post forms, "
        "400 distinct targets, rendered per request):",
        f"  wrapped/bare = {ratio:.2f} ({of_rounds}; target >= {DISTINCT_TARGET}): {verdict}",
        f"  wrapped {w.result.rps:.1f} req/s, bare {b.result.rps:.1f} req/s (each side's best: "
        f"{w.result.rps / b.result.rps if b.result.rps else float('nan'):.2f})",
        f"  server CPU per request: wrapped {w.cpu_ms:.2f} ms, bare {b.cpu_ms:.2f} ms "
        f"(bare/wrapped = {b.cpu_ms / w.cpu_ms if w.cpu_ms else float('nan'):.2f})",
    ]
    if args.rounds > 1:
        cpu_round = [br.cpu_ms / wr.cpu_ms if wr.cpu_ms else float("nan") for wr, br in pairs]
        lines += [
            "  wrapped/bare req/s per round: " + ", ".join(f"{r:.2f}" for r in per_round)
            + f" (spread {max(per_round) - min(per_round):.2f})",
            "  bare/wrapped CPU per request, per round: "
            + ", ".join(f"{r:.2f}" for r in cpu_round),
        ]
    return failures, lines


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    # Ctrl+C and SIGTERM unwind through the finally blocks that stop wrk and gunicorn (SIGINT is
    # set explicitly: a shell's background job would otherwise inherit it ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--phases", nargs="+", choices=PHASES, default=list(PHASES), metavar="PHASE",
        help="which phases: mixed (1), get (2, 3: the demo wrapped and bare), distinct (4); "
        "all by default",
    )
    parser.add_argument("--duration", type=int, default=60, help="mixed phase, seconds (60)")
    parser.add_argument(
        "--compare-duration", type=int, default=20,
        help="each GET-only run, demo and distinct-targets, seconds (20)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="distinct phase: alternate this many wrapped and bare runs, keep each best (1)",
    )
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    args = parser.parse_args()
    if args.workers < 2 or args.connections < 4:
        parser.error("use at least 2 workers and 4 connections")
    if min(args.duration, args.compare_duration) < 1:
        parser.error("durations must be at least 1 second")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    phases = set(args.phases)

    key = secrets.token_urlsafe(48)  # one key list for every worker, through the environment
    cpus = os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"load: gunicorn {args.workers} x {args.worker_class}"
        f"{f' ({args.threads} threads)' if args.worker_class == 'gthread' else ''} on {HOST}, "
        f"wrk with {args.connections} connections; {cpus} CPUs shared by server and wrk; "
        f"load average {load}; phases: {', '.join(p for p in PHASES if p in phases)}"
    )
    options: dict[str, Any] = {
        "workers": args.workers, "worker_class": args.worker_class, "threads": args.threads,
        "key": key,
    }
    failures = 0
    summary: list[str] = []
    with tempfile.TemporaryDirectory(prefix="postback-load-") as tmp:
        workdir = Path(tmp)
        if phases & {"mixed", "get"}:
            found, lines = demo_phases(args, phases, options, workdir)
            failures += found
            summary += lines
        if "distinct" in phases:
            found, lines = distinct_phase(args, options, workdir)
            failures += found
            summary += lines

    print()
    for line in summary:
        print(line)
    print(
        "note: wrk and gunicorn share this machine's CPUs, so every number above is a lower "
        "bound for the server alone; compare ratios, not absolute values (load average "
        f"now {', '.join(f'{x:.2f}' for x in os.getloadavg())}: other work moves them too)."
    )
    print(f"failures (non-2xx, bad bodies, socket errors, timeouts): {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        sys.exit(130)
