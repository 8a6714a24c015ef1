"""Work counted without a clock, for the tests that hold a pass linear in its input.

:func:`python_calls` counts the Python calls made while a function runs (a generator resumed
counts as a call, as the profiler sees it), which a loop nested in another multiplies; unlike
time it is the same on every machine, so a test can say "twice the input, about twice the
work" exactly. :func:`growth` is that test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any


def python_calls(run: Callable[[], object]) -> int:
    """The Python and builtin calls (and generator resumes) ``run()`` makes."""
    calls = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(previous)
    return calls


def growth(run: Callable[[int], object], size: int) -> float:
    """How many times the calls of ``run(size)`` ``run(2 * size)`` makes: about 2 for a
    linear pass, 4 for a quadratic one."""
    return python_calls(lambda: run(2 * size)) / python_calls(lambda: run(size))
