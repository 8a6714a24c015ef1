"""What replay protection costs: a postback's time with ``single_use`` (in-process store and a
local Redis), and the page weight ``server_viewstate`` saves.

Usage: .venv/bin/python benchmarks/replay_cost.py [--quick]

Issue #20, points 3 and 6. Measured in this process through the middleware's public WSGI
interface, on the page family of ``round_trips.py`` (realistic, target-per-row, gridview-data,
realistic-1mb), with an inner app that keeps a view state of 0, 2 KB or 32 KB (JSON of order
lines) on every page. A ``redis-server`` is started on a unix socket in a temporary directory
(Debian's package; without it the Redis rows are left out, said so).

1. **Cost per postback**: one round is what a browser does with a single-use form: GET the page
   (fresh tokens), then post one of its events. Wall time per round (Redis is a round trip, not
   CPU), the fastest of interleaved rounds, for: the default (no store), ``single_use`` on the
   in-process store, ``single_use`` on Redis, and ``single_use`` + ``server_viewstate`` on Redis.
   The added cost is the difference to the default.
2. **Page weight**: the bytes of the page and of the postback's request body, view state in
   the page (default) against ``server_viewstate``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # (tests.redis_server)

from harness import buffered_app, fmt, machine, make_environ
from round_trips import Client, Shape, family

from postback_middleware import PostbackMiddleware
from postback_middleware.stores import MemoryStore

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

STATE_SIZES = (0, 2 * 1024, 32 * 1024)


def state_of(size: int) -> dict[str, Any]:
    """A view state of about ``size`` bytes of JSON: order lines, as an app keeps them."""
    lines: list[dict[str, Any]] = []
    while size and len(json.dumps(lines)) < size:
        n = len(lines)
        lines.append({"sku": f"SKU-{n:05d}", "qty": n % 7 + 1, "note": "gift wrap" * (n % 3)})
    return {"lines": lines} if lines else {}


def keeping(page: bytes, state: dict[str, Any]) -> WSGIApplication:
    """The page as it is, the app keeping ``state`` in its view state."""
    inner = buffered_app(page)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        environ["postback.viewstate"].update(state)
        return inner(environ, start_response)

    return app


@contextlib.contextmanager
def redis_url() -> Iterator[str | None]:
    """A local redis-server's URL for the run, or None without one."""
    try:
        from tests.redis_server import running_redis
        with tempfile.TemporaryDirectory() as directory, running_redis(Path(directory)) as server:
            yield server.url
    except BaseException as error:  # (pytest's skip is a BaseException)
        if type(error).__name__ not in ("Skipped", "Failed"):
            raise
        print(f"(no redis-server: {error}; the Redis rows are left out)")
        yield None


def round_trip(app: WSGIApplication) -> Callable[[], None]:
    """GET the page, post one of its panel's events: what a single-use form goes through."""
    def run() -> None:
        client = Client(app)
        target, argument = client.event
        status, _, body = client.poster({"__EVENTTARGET": target,
                                         "__EVENTARGUMENT": argument})()
        assert status.startswith("200"), (status, body[:200])
    return run


def wall(funcs: dict[str, Callable[[], None]], *, repeat: int, rounds: int) -> dict[str, float]:
    """Wall seconds per call of each, the fastest of ``repeat`` interleaved batches."""
    best = dict.fromkeys(funcs, math.inf)
    for func in funcs.values():
        func()  # (warm-up, and checked)
    for _ in range(repeat):
        for name, func in funcs.items():
            started = time.perf_counter()
            for _ in range(rounds):
                func()
            best[name] = min(best[name], (time.perf_counter() - started) / rounds)
    return best


def wrapped(app: WSGIApplication, **options: Any) -> WSGIApplication:
    return PostbackMiddleware(app, secret_keys=[secrets.token_urlsafe(48)], **options)


def weights(shape: Shape, state: dict[str, Any], **options: Any) -> tuple[int, int]:
    """(page bytes, postback request body bytes) with these options."""
    client = Client(wrapped(keeping(shape.page, state), **options))
    _, _, page = client.request({**make_environ(), "HTTP_COOKIE": client.cookie})
    target, argument = client.event
    body = urlencode({**client.fields, "__EVENTTARGET": target, "__EVENTARGUMENT": argument})
    return len(page), len(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    args = parser.parse_args(argv)
    logging.getLogger("postback_middleware").setLevel(logging.ERROR)
    repeat, rounds = (3, 5) if args.quick else (7, 20)
    print("postback-middleware: what replay protection costs (issue #20)")
    print(machine())
    with redis_url() as url:
        print()
        print(f"1. cost per postback (GET + postback, wall time, fastest of {repeat} batches of "
              f"{rounds}); added = minus the default")
        modes: dict[str, dict[str, Any]] = {
            "default": {},
            "single_use, memory": {"single_use": True, "store": "memory:"},
        }
        if url is not None:
            modes["single_use, redis"] = {"single_use": True, "store": url}
            modes["+ server_viewstate"] = {"single_use": True, "server_viewstate": True,
                                           "store": url}
        print(f"{'shape':<16}{'state':>7}" + "".join(f"{name:>22}" for name in modes))
        for shape in family():
            for size in (0, 2 * 1024):
                state = state_of(size)
                funcs = {name: round_trip(wrapped(keeping(shape.page, state), **options))
                         for name, options in modes.items()}
                best = wall(funcs, repeat=repeat, rounds=rounds)
                cells = [fmt(best["default"])] + [
                    f"{(best[name] - best['default']) * 1e6:+,.0f} µs" for name in modes
                    if name != "default"]
                print(f"{shape.name:<16}{size // 1024:>5} K" + "".join(f"{c:>22}" for c in cells))
        print()
        print("2. page weight: view state in the page (default) against server_viewstate")
        print(f"{'shape':<16}{'state':>7}{'page':>12}{'page, kept':>12}{'post body':>12}"
              f"{'body, kept':>12}")
        store = url if url is not None else MemoryStore()
        for shape in family():
            for size in STATE_SIZES:
                state = state_of(size)
                page, body = weights(shape, state)
                kept_page, kept_body = weights(shape, state, server_viewstate=True, store=store)
                print(f"{shape.name:<16}{size // 1024:>5} K{page:>12,}{kept_page:>12,}"
                      f"{body:>12,}{kept_body:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
