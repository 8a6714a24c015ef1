"""Per-GET cost of the middleware on a realistic 80 KB page, against two yardsticks.

Run: ``.venv/bin/python benchmarks/speed.py``. Everything is measured in this run (nothing is
hard-coded). Each figure is the fastest of REPEAT rounds (timeit-style), after a warm-up. Time is
the process's CPU time (``time.process_time``), not the wall clock, and the rounds of all the
measurements are interleaved: other work on a small machine then barely moves the figures, and
a burst of load hits every measurement alike, so the ratios stay fair.

Targets (from the project's issue): the middleware's added cost per GET is at most 5x one
compiled-regex pass over the same bytes, and at least 50x lower than one pass of the standard
library's html.parser over the page. The script reports; it always exits 0.
"""

from __future__ import annotations

import secrets
import sys
from functools import partial

from harness import (
    FORM_TAG,
    MODES,
    Thunk,
    check_rewritten,
    consume,
    fmt,
    machine,
    measure,
    parse,
    verdict,
    wrap,
)
from pages import realistic_page

REPEAT = 7
ROUND_SECONDS = 0.1  # CPU time of one round (of many calls)
REGEX_TARGET = 5.0  # added / regex must be at most this
PARSER_TARGET = 50.0  # html.parser / added must be at least this
FORMS, POSTBACKS = 3, 400


def breakdown(page: bytes) -> tuple[dict[str, Thunk], list[str]]:
    """A cheap look inside, through internal APIs: what is missing is reported, not fatal."""
    funcs: dict[str, Thunk] = {}
    missing = []
    try:
        from postback_middleware.html_scan import ENGINES, PostbackScanner, TagScanner

        for engine in ENGINES:
            def all_tags(engine: str = engine) -> object:
                return TagScanner(engine=engine).scan(page, final=True)  # type: ignore[arg-type]

            def postbacks(engine: str = engine) -> object:
                scanner = PostbackScanner(names=("form", "head"), engine=engine)  # type: ignore[arg-type]
                return scanner.scan(page, final=True)

            funcs[f"{engine} engine: TagScanner, all tags"] = all_tags
            funcs[f"{engine} engine: PostbackScanner (the injector's)"] = postbacks
    except Exception as error:  # an internal API changed
        missing.append(f"html_scan engines: n/a ({error!r:.70})")
    try:
        from postback_middleware.tokens import Purpose, TokenSigner

        signer = TokenSigner([secrets.token_bytes(48)], max_age=14400, max_size=131072)
        pairs = {"delete": [str(n) for n in range(POSTBACKS // FORMS)]}

        def sign_page() -> None:
            for _ in range(FORMS):
                form_id = signer.new_form_id()
                for purpose, data in ((Purpose.VIEWSTATE, {}), (Purpose.EVENT_VALIDATION, pairs)):
                    signer.sign(purpose, data, path="/orders", user=None, form_id=form_id)

        sign_page()
        funcs[f"token signing, {FORMS} forms x 2 tokens"] = sign_page
    except Exception as error:
        missing.append(f"token signing: n/a ({error!r:.70})")
    return funcs, missing


def main() -> int:
    page = realistic_page(80_000, forms=FORMS, postbacks=POSTBACKS)
    text = page.decode()
    print(f"postback-middleware speed: {len(page):,}-byte page, {FORMS} post forms, "
          f"{POSTBACKS} data-postback elements")
    from postback_middleware.html_scan import ENGINES

    print(f"{machine()}\nscanner engines built: {', '.join(ENGINES)}"
          f"\neach figure: CPU time per call, fastest of {REPEAT} rounds of "
          f"~{ROUND_SECONDS:g} s\n")

    funcs: dict[str, Thunk] = {}
    for mode, (make_app, _) in MODES.items():
        bare, wrapped = make_app(page), wrap(make_app(page))
        problem = check_rewritten(wrapped, page, FORMS)
        if problem:
            print(f"WARNING: {mode}: {problem}")
        funcs[f"bare {mode}"] = partial(consume, bare)
        funcs[f"middleware {mode}"] = partial(consume, wrapped)
    funcs["regex"] = lambda: FORM_TAG.findall(page)
    funcs["html.parser"] = lambda: parse(text)
    inside, missing = breakdown(page)
    times = measure(funcs | inside, repeat=REPEAT, round_seconds=ROUND_SECONDS)

    regex = times["regex"]
    added = {mode: times[f"middleware {mode}"] - times[f"bare {mode}"] for mode in MODES}
    rows = []
    for mode, (_, pieces) in MODES.items():
        rows += [
            (f"bare app, {mode} ({pieces})", times[f"bare {mode}"]),
            (f"middleware, {mode}", times[f"middleware {mode}"]),
            (f"  added cost, {mode}", added[mode]),
        ]
    rows += [
        ("regex: " + FORM_TAG.pattern.decode() + " findall", regex),
        ("html.parser.HTMLParser().feed(page)", times["html.parser"]),
    ]
    width = 50
    print(f"{'':{width}} {'per call':>12} {'x regex':>9}")
    for label, seconds in rows:
        print(f"{label:{width}} {fmt(seconds):>12} {seconds / regex:8.2f}x")
    print("\nbreakdown (internal APIs; not part of the targets)")
    for label in inside:
        print(f"{'  ' + label:{width}} {fmt(times[label]):>12} {times[label] / regex:8.2f}x")
    for line in missing:
        print(f"  {line}")

    print("\ntargets")
    for mode in MODES:
        over_regex, under_parser = added[mode] / regex, times["html.parser"] / added[mode]
        print(f"  {mode}: added / regex       = {over_regex:7.2f}  (<= {REGEX_TARGET:g})   "
              f"{verdict(over_regex <= REGEX_TARGET)}")
        print(f"  {mode}: html.parser / added = {under_parser:7.2f}  (>= {PARSER_TARGET:g})  "
              f"{verdict(under_parser >= PARSER_TARGET)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
