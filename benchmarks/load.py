"""Mixed load on the demo under gunicorn (2+ worker processes), wrapped and bare, driven by wrk.

Usage: .venv/bin/python benchmarks/load.py [--duration 60] [--compare-duration 20]
       [--connections 32] [--workers 2] [--worker-class gthread] [--threads 8]

Needs ``gunicorn`` and ``psutil`` in the venv (``.venv/bin/pip install gunicorn psutil``) and
Debian's ``wrk`` (``apt-get install wrk``). Everything talks to 127.0.0.1 only.

Three phases, each bounded by its duration:

1. **mixed**, on the wrapped demo (``examples/demo.ini`` through PasteDeploy): three wrk
   processes at once, half the connections on page GETs, a quarter on postbacks (``POST /``
   with the tokens scraped from a page: ``increment``, ``delete`` and the ``sort``
   autopostback in turn) and a quarter on callbacks (``__CALLBACKID=CallServer``). Tokens are
   scraped once from one worker and verified by every worker: the workers share one key list
   through ``POSTBACK_SECRET_KEYS``. (Tokens are stateless and reusable until ``max_age``.)
2. **GET, wrapped**: page GETs only, on all connections.
3. **GET, bare**: the same against the unwrapped demo app, same gunicorn settings.

Every response is checked in wrk's Lua ``response()`` hook: a page must be 200 with the order
form (and its ``__VIEWSTATE`` when wrapped), a postback 200 with the page, a callback 200 with
the callback framing and result. Socket errors, timeouts, non-2xx, 5xx and wrong bodies are
counted; the script exits non-zero if any is found.

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
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEMO_INI = EXAMPLES / "demo.ini"
HOST = "127.0.0.1"
HIDDEN = re.compile(r'<input type="hidden" name="(__\w+)" id="\1" value="([^"]*)"')
PAGE_MARK = '<form method="post" id="orders" data-callbacks="CallServer">'
CALLBACK_RESULT = "Calling server was successful. The passed argument was "
RESULT_PREFIX = "@@RESULT@@"

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

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far."""
        total = 0.0
        with contextlib.suppress(psutil.Error):
            master = psutil.Process(self.process.pid)
            for proc in [master, *master.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    total += times.user + times.system
        return total

    def log_counts(self) -> dict[str, int]:
        text = self.log_path.read_text(errors="replace")
        return {
            "tracebacks": text.count("Traceback"),
            "refusals logged": text.count("refused "),
            "worker timeouts/crashes": len(re.findall(r"WORKER TIMEOUT|Worker .* died", text)),
        }


@contextlib.contextmanager
def gunicorn(
    label: str, args: list[str], *, workers: int, worker_class: str, threads: int, key: str,
    workdir: Path,
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
        "--pythonpath", str(EXAMPLES),
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
    server_before = server.cpu_seconds()
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
    server_cpu = server.cpu_seconds() - server_before
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    # Ctrl+C and SIGTERM unwind through the finally blocks that stop wrk and gunicorn (SIGINT is
    # set explicitly: a shell's background job would otherwise inherit it ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=60, help="mixed phase, seconds (60)")
    parser.add_argument(
        "--compare-duration", type=int, default=20, help="each GET-only phase, seconds (20)"
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

    key = secrets.token_urlsafe(48)  # one key list for every worker, through the environment
    cpus = os.cpu_count()
    print(
        f"load: gunicorn {args.workers} x {args.worker_class}"
        f"{f' ({args.threads} threads)' if args.worker_class == 'gthread' else ''} on {HOST}, "
        f"wrk with {args.connections} connections; {cpus} CPUs shared by server and wrk"
    )
    server_options = {
        "workers": args.workers, "worker_class": args.worker_class, "threads": args.threads,
        "key": key,
    }
    half, quarter = args.connections // 2, args.connections // 4
    failures = 0
    with tempfile.TemporaryDirectory(prefix="postback-load-") as tmp:
        workdir = Path(tmp)
        wrapped_get: Result
        with gunicorn("wrapped", ["--paste", str(DEMO_INI)], workdir=workdir,
                      **server_options) as server:
            status, page = fetch(server.port, "GET", "/")
            if status != 200:
                raise RuntimeError(f"GET / answered {status}")
            fields = scrape_fields(page)
            postbacks, callbacks = postback_bodies(fields), callback_bodies(fields)
            preflight(server.port, postbacks, callbacks)
            wrapped_page = Kind("page GET", "GET", [], [PAGE_MARK, "__VIEWSTATE"], half)
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
            wrapped_page.connections = args.connections
            results, wrk_cpu, server_cpu = run_wrk(
                server.port, [wrapped_page], args.compare_duration, workdir, server
            )
            print_phase(f"page GETs only, wrapped, {args.compare_duration} s", results,
                        wrk_cpu, server_cpu)
            wrapped_get = results[0]
            failures += wrapped_get.failures
            time.sleep(0.5)  # let the last log lines land
            print(f"server log (wrapped): {server.log_counts()}")
        with gunicorn("bare", ["demo_app:app"], workdir=workdir, **server_options) as server:
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
    print(
        f"\npage GETs: wrapped {wrapped_get.rps:.1f} req/s, bare {bare_get.rps:.1f} req/s, "
        f"wrapped/bare = {ratio:.2f}"
    )
    print(
        "note: wrk and gunicorn share this machine's CPUs, so every number above is a lower "
        "bound for the server alone; compare ratios, not absolute values."
    )
    print(f"failures (non-2xx, bad bodies, socket errors, timeouts): {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        sys.exit(130)
