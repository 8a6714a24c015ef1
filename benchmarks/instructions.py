"""Instructions per GET, counted by Valgrind: an A/B of two changes that noise cannot blur.

Usage::

    .venv/bin/python benchmarks/instructions.py [--only NAME ...] [--modes buffered ...]
        [--calls 100] [--checkout DIR ...]

Time on a small shared machine moves by 10-20 % from run to run, so a change worth 3 % cannot
be told from noise by timing it (``shapes.py`` keeps the fastest of interleaved rounds, which
helps, not enough for that). The number of instructions a GET executes moves by under 0.5 %:
this script counts them with Valgrind's cachegrind (``apt-get install valgrind``; no
hardware counters needed), for the pages of ``shapes.py`` (``--only``: substrings of their
names) and the response kinds of ``harness.MODES``, through the public WSGI interface as
``shapes.py`` drives it. Each figure is the count of a run making ``--calls`` GETs less that
of a run making none (the start-up, imports and the first GETs' warm-up cancel out), divided
by ``--calls``.

``--checkout DIR`` (repeatable): count the package of each of those checkouts (put first on
``PYTHONPATH``; each with its C extensions built in place: ``setup.py build_ext --inplace``)
instead of the installed one, and print each beside the first with their ratio: how to tell
whether a change made a page's GET cheaper. Instructions are not time (a cache miss or a
mispredicted branch costs many), so a change that counts fewer should be timed too; but a
change that counts more rarely runs faster.

It reports; there is no target and the exit status is 0 (1 if Valgrind is missing). About
5 s a figure (two runs under Valgrind, each some 2 s of start-up).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _child(name: str, mode: str, calls: int) -> None:
    """Make ``calls`` GETs (after three for warm-up) of shape ``name`` handed over as ``mode``."""
    sys.path.insert(0, str(HERE))
    import gc

    from harness import MODES, consume, wrap
    from shapes import shapes

    page = next(shape.page for shape in shapes() if shape.name == name)
    app = wrap(MODES[mode][0](page))
    gc.disable()  # (as timeit does for shapes.py: a collection's cost falls where it falls)
    for _ in range(3 + calls):
        consume(app)


def _count(checkout: str | None, name: str, mode: str, calls: int) -> int:
    """The instructions of one child run under cachegrind."""
    env = dict(os.environ, PYTHONHASHSEED="0")  # (string hashes order sets and dicts: fixed)
    if checkout is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [checkout, env.get("PYTHONPATH")]))
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, __file__, "--child", name, mode, str(calls)],
        env=env, capture_output=True, text=True, check=True)
    found = _REFS.search(done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_get(checkout: str | None, name: str, mode: str, calls: int) -> float:
    """Instructions per GET: a run of ``calls`` GETs less a run of none, over ``calls``."""
    return (_count(checkout, name, mode, calls) - _count(checkout, name, mode, 0)) / calls


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child"]:
        _child(args[1], args[2], int(args[3]))
        return 0
    sys.path.insert(0, str(HERE))
    from harness import MODES
    from shapes import shapes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=[], help="substrings of shape names")
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    parser.add_argument("--calls", type=int, default=100, help="GETs a counted run makes")
    parser.add_argument("--checkout", action="append", default=[],
                        help="a checkout whose package to count (repeatable)")
    options = parser.parse_args(args)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 1
    names = [shape.name for shape in shapes()
             if not options.only or any(part in shape.name for part in options.only)]
    checkouts: list[str | None] = list(options.checkout) or [None]
    labels = [str(checkout) if checkout else "installed" for checkout in checkouts]
    print(f"instructions per GET (cachegrind), {options.calls} GETs a run; columns: "
          + ", ".join(labels) + (" and each / the first" if len(checkouts) > 1 else ""))
    for name in names:
        for mode in options.modes:
            counts = [per_get(checkout, name, mode, options.calls) for checkout in checkouts]
            ratios = "".join(f" {count / counts[0]:7.3f}" for count in counts[1:])
            figures = "".join(f" {count:12,.0f}" for count in counts)
            print(f"{name:20s} {mode:9s}{figures}{ratios}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
