"""Peak memory of the middleware on a 10 MB page, buffered and streamed (tracemalloc).

Run: ``.venv/bin/python benchmarks/memory.py``. tracemalloc counts the Python allocations made
in this process while one GET runs: the buffered apps render the page (join it, or cut it into
8 KB pieces) inside the call, as a real app does, so the page itself is part of the peak (the
bare app's peak is about 1x); the streamed app cuts each 8 KB piece as it is asked for it, and
the consumer reads and drops every piece it gets, as a server does. MB means 2**20 bytes.

Targets (from the project's issue): a 10 MB buffered page peaks below 3x its size in memory; a
streamed one (8 KB pieces, each read and dropped by the consumer) below 2 MB above the bare
app's own peak. The script reports; it always exits 0.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from typing import TYPE_CHECKING

from harness import buffered_app, check_rewritten, consume, streamed_app, wrap
from pages import big_page, realistic_page

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

MB = 2**20
BUFFERED_TARGET = 3.0  # peak (the page the app rendered included) as a multiple of its size
STREAMED_TARGET = 2 * MB  # peak above the bare app's peak
FORMS = 24  # post forms in big_page()


def traced_peak(app: WSGIApplication) -> int:
    """Bytes allocated at the highest point of one GET (pieces read and dropped), over what
    was live before."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    consume(app)
    return tracemalloc.get_traced_memory()[1] - before


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    page = big_page()
    size = len(page)
    print(f"postback-middleware memory: {size:,}-byte page ({size / MB:.1f} MB), {FORMS} post "
          f"forms; tracemalloc peaks (Python allocations) during one GET\n")

    apps = {
        "buffered [page]": buffered_app(page, render=True),
        "buffered, list of 8 KB pieces": buffered_app(page, pieces=True, render=True),
        "streamed, generator of 8 KB pieces": streamed_app(page),
    }
    wrapped = {label: wrap(app) for label, app in apps.items()}
    for label, app in wrapped.items():  # check the work is really done, and warm up
        problem = check_rewritten(app, page, FORMS)
        if problem:
            print(f"WARNING: {label}: {problem}")
    consume(wrap(buffered_app(realistic_page())))
    gc.collect()

    tracemalloc.start()
    peaks = {
        label: (traced_peak(app), traced_peak(wrapped[label]))
        for label, app in apps.items()
    }
    tracemalloc.stop()

    width = 36
    print(f"{'':{width}} {'bare app':>19} {'middleware':>19} {'above bare':>10}")
    for label, (bare, middleware) in peaks.items():
        print(f"{label:{width}} {bare / MB:7.2f} MB ({bare / size:4.2f}x) "
              f"{middleware / MB:7.2f} MB ({middleware / size:4.2f}x) "
              f"{(middleware - bare) / MB:7.2f} MB")

    print("\ntargets")
    for label, (_, middleware) in peaks.items():
        if label.startswith("buffered"):
            multiple = middleware / size
            print(f"  {label}: peak = {multiple:.2f}x the page (< {BUFFERED_TARGET:g}x)   "
                  f"{verdict(multiple < BUFFERED_TARGET)}")
    bare, middleware = peaks["streamed, generator of 8 KB pieces"]
    above = middleware - bare
    print(f"  streamed: peak above bare app = {above / MB:.2f} MB (< {STREAMED_TARGET / MB:g} MB)"
          f"   {verdict(above < STREAMED_TARGET)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
