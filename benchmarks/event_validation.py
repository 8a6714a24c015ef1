"""``__EVENTVALIDATION``: the time to encode a form's pairs, and the bytes a pair costs.

Run: ``.venv/bin/python benchmarks/event_validation.py`` (about 10 s; ``--quick`` for a rough
look, ``--only time`` or ``--only bytes`` for one part). Nothing is hard-coded: every figure is
measured in this run. It reports and exits 0.

**Time** (issue #18): ``validation.encode``, the compact encoding a form gets when its pairs
written out would make a token over 4 KB, on a family of pair sets (one GridView target with
numbered arguments, in order, with gaps, out of order; many targets with one argument each;
a target per row; a mixed admin page; GUID and long arguments), against the **reference**: the
encoder as it was before #18, kept in ``tests/test_validation.py`` as the oracle of its
property test (read from there, between its markers, without importing the test module). Both
run in this process on the same pairs, with the same digest key; CPU time, the fastest of
interleaved rounds (``harness.measure``). The ``same`` column says whether the two wrote the
same data (JSON, key order and all): it must always say ``yes``. The figures go through
internal APIs (``validation``, ``tokens``): ``n/a`` if those change.

**Bytes**: each of five shapes is a page with one post form offering N (target, argument) pairs,
rendered and rewritten by the middleware through its public WSGI interface (``harness``); the
figure is the length of the ``__EVENTVALIDATION`` value the browser receives and posts back,
divided by N, and whether a postback of the form's last pair verifies. The GridView shape
(``Delete$0..N``) is the one ASP.NET grids render; the others show where the encoding falls
back to digests and where the default ``max_state_size`` (128 KiB) ends and a form degrades
(gets no tokens, with a logged warning; the page is still served).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import random
import re
import secrets
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import buffered_app, machine, make_environ, measure, wrap
from shapes import gridview

from postback_middleware import PostbackMiddleware

FIELD = re.compile(rb'name="(__VIEWSTATE|__EVENTVALIDATION)"[^>]*value="([^"]*)"')
Shape = Callable[[int], list[tuple[str, str]]]
Pairs = dict[str, list[str]]
Encoder = Callable[..., dict[str, Any]]

# -- time: encode against the reference --------------------------------------------------------

TESTS = Path(__file__).resolve().parent.parent / "tests" / "test_validation.py"
REFERENCE_START = "# -- the reference encoder:"
REFERENCE_END = "# -- end of the reference encoder --"
DATA_PAIR = re.compile(r'data-postback="([^"]*)" data-postback-argument="([^"]*)"')


def reference_encoder() -> Encoder | None:
    """``reference_encode`` of the test module, compiled from its lines between the markers
    (the test module itself needs pytest and Hypothesis); None if they are not there."""
    try:
        text = TESTS.read_text(encoding="utf-8")
        start, end = text.index(REFERENCE_START), text.index(REFERENCE_END)
    except (OSError, ValueError):
        return None
    head = ("from __future__ import annotations\nimport base64\n"
            "from postback_middleware.validation import DIGEST_BYTES, MAX_EXACT_CHARS\n")
    namespace: dict[str, Any] = {}
    exec(compile(head + text[start:end], str(TESTS), "exec"), namespace)
    encoder = namespace.get("reference_encode")
    return encoder if callable(encoder) else None


def _unique(pairs: list[tuple[str, str]]) -> Pairs:
    """Pairs in order, each once, as a form collects them."""
    grouped: dict[str, dict[str, None]] = {}
    for target, argument in pairs:
        grouped.setdefault(target, {})[argument] = None
    return {target: list(arguments) for target, arguments in grouped.items()}


def gridview_page() -> Pairs:
    """The form of ``shapes.py``'s ``gridview-data`` page: 716 pairs of ``GridView1``."""
    return _unique(DATA_PAIR.findall(gridview(aspnet=False).decode()))


def grid(rows: range, verbs: tuple[str, ...] = ("Edit", "Delete", "Select"), *,
         target: str = "GridView1", shuffle: bool = False) -> Pairs:
    """One target, a numbered argument for each verb and row (and sort and pager links)."""
    arguments = [f"{verb}${n}" for n in rows for verb in verbs]
    if shuffle:
        random.Random(18).shuffle(arguments)
    return {target: ["Sort$Name", "Sort$Total", *arguments, *(f"Page${p}" for p in range(2, 11))]}


def named_buttons(count: int) -> Pairs:
    """A target per row, named as ASP.NET's naming containers do: the number is not last."""
    return {f"ctl00$MainContent$gvOrders$ctl{n + 2:02}$btnDelete": [""] for n in range(count)}


def target_per_row(count: int) -> Pairs:
    return {f"row{n}": [f"delete:{n}"] for n in range(1, count + 1)}


def numbered_buttons(count: int) -> Pairs:
    return {f"ctl00$MainContent$Button{n}": [""] for n in range(count)}


def guids(count: int) -> Pairs:
    return {"grid": [f"{i * 2654435761 % 2**32:08x}-4f1c-9a2e-{i:012x}" for i in range(count)]}


def long_arguments(count: int) -> Pairs:
    return {"card": [f"{n}:" + "q" * 600 for n in range(count)]}


def mixed() -> Pairs:
    """An admin page: a grid, a target per row, named buttons, GUIDs and a few long ones."""
    return {**grid(range(200)), **target_per_row(200), **named_buttons(200), **guids(100),
            **long_arguments(10), "__Page": ["Refresh", "Export$csv", "Export$xlsx"]}


# name -> (pairs, all_digests)
FAMILY: dict[str, tuple[Callable[[], Pairs], bool]] = {
    "gridview-data page (shapes.py)": (gridview_page, False),
    "one target, Delete$0..9999": (lambda: {"GridView1": [f"Delete${n}" for n in range(10_000)]},
                                   False),
    "one target, 4 verbs, every 3rd row gone": (
        lambda: grid(range(0, 1500, 3), ("Select", "Edit", "Delete", "Update")), False),
    "one target, rows out of order": (lambda: grid(range(500), shuffle=True), False),
    "many targets, 1 argument (ASP.NET names)": (lambda: named_buttons(2000), False),
    "a target per row (row17: delete:17)": (lambda: target_per_row(2000), False),
    "numbered buttons (Button17: '')": (lambda: numbered_buttons(2000), False),
    "mixed admin page": (mixed, False),
    "GUID arguments": (lambda: guids(2000), False),
    "GUID arguments, all digests": (lambda: guids(2000), True),
    "long arguments (digests)": (lambda: long_arguments(200), False),
}


def _spelled(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def encode_time(*, quick: bool) -> None:
    try:
        from postback_middleware.tokens import TokenSigner
        from postback_middleware.validation import encode
    except ImportError as exc:  # (internal APIs: they may change)
        print(f"encode time: n/a ({exc})")
        return
    reference = reference_encoder()
    signer = TokenSigner([secrets.token_bytes(32)], max_age=60, max_size=10**7)
    digest = partial(signer.event_digest, 0)
    sets = {name: (build(), all_digests) for name, (build, all_digests) in FAMILY.items()}
    thunks: dict[tuple[str, str], Callable[[], object]] = {}
    same: dict[str, str] = {}
    for name, (pairs, all_digests) in sets.items():
        options = {"digest": digest, "all_digests": all_digests}
        thunks[name, "now"] = partial(encode, pairs, (), **options)
        if reference is None:
            same[name] = "n/a"
            continue
        thunks[name, "reference"] = partial(reference, pairs, (), **options)
        wrote = _spelled(encode(pairs, (), **options)), _spelled(reference(pairs, (), **options))
        same[name] = "yes" if wrote[0] == wrote[1] else "NO"
    print("encode: validation.encode now and the reference (before #18), per call")
    print(machine())
    if reference is None:
        print(f"(the reference is not in {TESTS}: only the encoder of now is timed)")
    best = measure(thunks, repeat=3 if quick else 7, round_seconds=0.02 if quick else 0.05)
    print(f"\n{'pair set':<42} {'pairs':>6} {'reference':>11} {'now':>10} {'faster':>7} "
          f"{'now/pair':>9}  same")
    for name, (pairs, _) in sets.items():
        count = sum(map(len, pairs.values()))
        now = best[name, "now"]
        old = best.get((name, "reference"))
        old_text = f"{old * 1e6:8.1f} µs" if old is not None else f"{'n/a':>11}"
        faster = f"{old / now:6.1f}x" if old is not None else f"{'n/a':>7}"
        print(f"{name:<42} {count:>6,} {old_text} {now * 1e6:7.1f} µs {faster} "
              f"{now / count * 1e9:6.0f} ns  {same[name]}")
    print("(CPU time, the fastest of interleaved rounds; 'same': both wrote the same data)")


# -- bytes: __EVENTVALIDATION per pair, through the middleware ---------------------------------

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


def get_and_post(app: Any, target: str, argument: str) -> tuple[dict[bytes, bytes], str]:
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


def bytes_per_pair() -> None:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter timing rounds")
    parser.add_argument("--only", choices=("time", "bytes"), help="one part of the report")
    args = parser.parse_args(argv)
    if args.only != "bytes":
        encode_time(quick=args.quick)
    if args.only is None:
        print()
    if args.only != "time":
        bytes_per_pair()
    return 0


if __name__ == "__main__":
    sys.exit(main())
