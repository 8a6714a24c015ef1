"""``single_use`` under load, on the wire: two gunicorn hosts of two workers each, one real
``redis-server``, every first postback accepted once, every duplicate answered with its first
answer by another host, every replay and rollback refused (``benchmarks/replay_load.py``, run
here for a few seconds; its own checks decide, and it exits 1 on any miss)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .redis_server import require_redis

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "replay_load.py"


def test_replays_fired_at_every_worker_are_refused_and_firsts_accepted() -> None:
    require_redis()
    run = subprocess.run([sys.executable, str(SCRIPT), "--duration", "3", "--clients", "4"],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "each placed exactly once: True" in run.stdout
    assert "errors: 0" in run.stdout
