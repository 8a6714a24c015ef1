"""How much of the middleware's added cost is signing tokens, per page shape and mode.

Run: ``.venv/bin/python benchmarks/token_share.py`` (about 25 s on 2 cores; ``--quick``,
``--only NAME ...`` as in ``shapes.py``).

A diagnostic for issue #18, not a target: it tells which part of a shape's cost a change to
the tokens could remove, and which part only a change to the rest (the scan, the editing of
each piece, the response's loop) could. For each shape of ``shapes.py`` and each mode
(buffered, one-piece iterable, 8 KB pieces), in one interleaved run (``harness.measure``):

- **added**: the wrapped app minus the bare app, per GET, as ``shapes.py`` prints it;
- **without tokens**: the same with the forms' tokens made for free (this script's
  ``_FreeTokens``: every form gets the same constant fields, of the usual sizes, so
  everything else the middleware does, reading the page and writing the fields, runs as
  it does in production), the only thing changed;
- **tokens**: their difference, and its share of *added*;
- **x buf**: each mode's figure divided by the buffered one's, for both: the streamed
  target (within 10 % of buffered) is met by the design only if the second column is.

The constant tokens are never checked: the pages they make are measured, never submitted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from harness import MODES, Thunk, check_rewritten, consume, machine, measure, wrap
from shapes import _in_turn, shapes

from postback_middleware import PostbackMiddleware
from postback_middleware.form_tokens import FormTokens
from postback_middleware.page_tokens import SharedToken

# Of the sizes a real page token and its forms' fields have (a few hundred bytes).
_TOKEN = "eyJ" + "A" * 240 + "." + "B" * 43
_OWN_VALIDATION = "eyJ" + "C" * 120 + "." + "D" * 43
_TAG = b"E" * 16  # one keyed index's tag (tokens.INDEX_TAG_CHARS)


class _FreeTokens(FormTokens):
    """The middleware's FormTokens with issuing made free: constant fields for every form."""

    def issue_forms(self, forms: Sequence[Any], *args: Any, **kwargs: Any
                    ) -> list[tuple[str, str]]:
        return [(_TOKEN, _OWN_VALIDATION)] * len(forms)

    def issue_bare(self, forms: Sequence[Any], *args: Any, keyed: bool = False,
                   **kwargs: Any) -> SharedToken | None:
        return SharedToken(_TOKEN, "B" * 43, _TAG * len(forms) if keyed else None)


def _without_tokens(app: Any) -> Any:
    """``app`` wrapped, its tokens made free (see _FreeTokens)."""
    wrapped = wrap(app)
    assert isinstance(wrapped, PostbackMiddleware)
    wrapped.form_tokens.__class__ = _FreeTokens
    return wrapped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="shapes whose name has NAME")
    args = parser.parse_args(argv)
    repeat, round_seconds = (3, 0.03) if args.quick else (7, 0.05)
    started = time.monotonic()
    family = [shape for shape in shapes()
              if shape.forms and (not args.only or any(word in shape.name for word in args.only))]
    print("postback-middleware token share: the added cost per GET, and without signing "
          "(issue #18, a diagnostic)")
    print(f"{machine()}\neach figure: CPU time per call, fastest of {repeat} interleaved "
          f"rounds of ~{round_seconds:g} s\n")

    funcs: dict[tuple[str, str, str], Thunk] = {}
    for shape in family:
        for mode, (make_app, _) in MODES.items():
            funcs[shape.name, mode, "bare"] = partial(consume, _in_turn(make_app, shape))
            funcs[shape.name, mode, "wrapped"] = partial(consume, wrap(_in_turn(make_app, shape)))
            free = _without_tokens(make_app(shape.page))
            for label, app in (("as it is", wrap(make_app(shape.page))), ("without tokens", free)):
                problem = check_rewritten(app, shape.page, shape.forms)
                if problem:  # (a figure of a page left as it was would mean nothing)
                    print(f"WARNING: {shape.name}, {mode}, {label}: {problem}")
            funcs[shape.name, mode, "free"] = partial(
                consume, _without_tokens(_in_turn(make_app, shape)))
    times = measure(funcs, repeat=repeat, round_seconds=round_seconds)

    print(f"{'shape':18} {'mode':9} {'added µs':>9} {'x buf':>6} {'w/o tokens':>10} "
          f"{'x buf':>6} {'tokens µs':>9} {'share':>6}")
    for shape in family:
        added = {mode: times[shape.name, mode, "wrapped"] - times[shape.name, mode, "bare"]
                 for mode in MODES}
        free = {mode: times[shape.name, mode, "free"] - times[shape.name, mode, "bare"]
                for mode in MODES}
        for mode in MODES:
            tokens = added[mode] - free[mode]
            print(f"{shape.name:18} {mode:9} {added[mode] * 1e6:9.1f} "
                  f"{added[mode] / added['buffered']:6.2f} {free[mode] * 1e6:10.1f} "
                  f"{free[mode] / free['buffered']:6.2f} {tokens * 1e6:9.1f} "
                  f"{tokens / added[mode]:6.0%}")
    print(f"\nrun took {time.monotonic() - started:.0f} s; columns: added = wrapped app minus "
          "bare app; w/o tokens = the same with every form's tokens made for free; x buf = "
          "÷ the same column's buffered figure; tokens = added minus w/o tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
