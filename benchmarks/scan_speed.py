"""The compiled scanner alone, per page shape, against the regex yardstick (issue #18).

Run: ``.venv/bin/python benchmarks/scan_speed.py`` (about 10 s; ``--only NAME ...`` for some
shapes, by substring; ``--engine python`` for the reference engine).

For each page of ``shapes.py`` it times the scan the injector makes, in its mode
(``PostbackScanner(encoding="utf-8", names=inject._NAMES)``), over the whole page at once
(``final=True``) and streamed (8 KB pieces, ``final=False`` then ``final=True`` on the rest,
as ``response.edit_response`` hands them over, each call given the undecided bytes again),
and one ``findall`` of ``harness.FORM_TAG`` over the page. The figures are CPU time per call,
the fastest of interleaved rounds (``harness.measure``), so a busy machine moves them little.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

from harness import CHUNK_SIZE, FORM_TAG, Thunk, machine, measure
from shapes import shapes

from postback_middleware.html_scan import ENGINES, Engine, PostbackScanner
from postback_middleware.inject import _NAMES


def whole(page: bytes, engine: Engine) -> object:
    """One scan of the whole page, as a buffered response gets it."""
    scanner = PostbackScanner(encoding="utf-8", names=_NAMES, engine=engine)
    return scanner.scan(page, final=True)


def streamed(page: bytes, engine: Engine) -> int:
    """The page in CHUNK_SIZE pieces: each call gets the undecided bytes again, then more."""
    scanner = PostbackScanner(encoding="utf-8", names=_NAMES, engine=engine)
    buffer = bytearray()
    items = 0
    for start in range(0, len(page), CHUNK_SIZE):
        buffer += page[start : start + CHUNK_SIZE]
        found, decided = scanner.scan(buffer, final=start + CHUNK_SIZE >= len(page))
        items += len(found)
        del buffer[:decided]
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="shapes whose name has NAME")
    parser.add_argument("--engine", choices=ENGINES, default=ENGINES[-1])
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds (best kept)")
    args = parser.parse_args(argv)
    engine: Engine = args.engine
    family = [shape for shape in shapes()
              if not args.only or any(word in shape.name for word in args.only)]
    funcs: dict[tuple[str, str], Thunk] = {}
    for shape in family:
        funcs[shape.name, "whole"] = partial(whole, shape.page, engine)
        funcs[shape.name, "streamed"] = partial(streamed, shape.page, engine)
        funcs[shape.name, "regex"] = partial(FORM_TAG.findall, shape.page)
    times = measure(funcs, repeat=args.repeat, round_seconds=0.05)
    print(f"scan cost per page shape, {engine} engine; {machine()}")
    print(f"{'shape':17} {'KB':>7} {'regex µs':>9} {'scan µs':>9} {'x regex':>8} "
          f"{'streamed µs':>12} {'x regex':>8}")
    for shape in family:
        regex = times[shape.name, "regex"]
        scan, stream = times[shape.name, "whole"], times[shape.name, "streamed"]
        print(f"{shape.name:17} {len(shape.page) / 1000:7.1f} {regex * 1e6:9.1f} "
              f"{scan * 1e6:9.1f} {scan / regex:8.2f} {stream * 1e6:12.1f} {stream / regex:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
