"""The command line both fuzz scripts share: fuzz for N seconds, or replay inputs with --check.

A target ``NAME`` keeps its scratch corpus in ``fuzz/.work/NAME`` (gitignored), its seeds in
``fuzz/corpus/NAME``, its dictionary in ``fuzz/NAME.dict``, and writes failing inputs to
``fuzz/.work/crashes/NAME-*``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import atheris  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent


def _libfuzzer_argv(target: str, seconds: int, extra: list[str]) -> list[str]:
    """argv for atheris: a scratch corpus under fuzz/.work (gitignored) plus the seeds."""
    work = HERE / ".work" / target
    crashes = HERE / ".work" / "crashes"
    work.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    return [
        sys.argv[0],
        f"-max_total_time={seconds}",
        "-max_len=4096",
        "-timeout=10",
        "-print_final_stats=1",
        f"-artifact_prefix={crashes}/{target}-",
        f"-dict={HERE / f'{target}.dict'}",
        *extra,
        str(work),
        str(HERE / "corpus" / target),
    ]


def run(target: str, test_one_input: Callable[[bytes], None], description: str) -> None:
    """Parse the command line, then fuzz ``test_one_input`` or replay the given inputs."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time (default 60)")
    parser.add_argument("--check", nargs="+", type=Path, help="run these inputs once and exit")
    parser.add_argument("libfuzzer", nargs="*", help="extra libFuzzer flags (after --)")
    args = parser.parse_args()
    if args.check:
        for path in args.check:
            test_one_input(path.read_bytes())
            print(f"{path}: ok")
        return
    atheris.Setup(_libfuzzer_argv(target, args.seconds, args.libfuzzer), test_one_input)
    atheris.Fuzz()
