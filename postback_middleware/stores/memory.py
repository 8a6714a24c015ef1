"""An in-process store: one dict behind a lock, for tests, development and single processes.

It keeps what it is given in this process's memory: a second worker process has a store of
its own, so protections that need one shared memory (single-use postbacks across workers) need
a shared store instead. Expired entries are dropped as time passes (on every write, the
entries whose time has come, oldest first), so memory stays bounded by what is still live.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable

from ..errors import InvalidType


class MemoryStore:
    """A :class:`~postback_middleware.stores.Store` in this process's memory (thread-safe)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        # ``clock`` is the time source (``time.time``); tests pass their own to move time on.
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[bytes, float]] = {}
        self._expiries: list[tuple[float, str]] = []  # a heap: the soonest expiry first

    def add(self, key: str, value: bytes, *, expires_at: float) -> bool:
        check_entry(key, value)
        with self._lock:
            self._drop_expired()
            if key in self._values:
                return False
            self._set(key, value, expires_at)
            return True

    def put(self, key: str, value: bytes, *, expires_at: float) -> None:
        check_entry(key, value)
        with self._lock:
            self._drop_expired()
            self._set(key, value, expires_at)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._values.get(key)
            if entry is None or entry[1] <= self._clock():
                return None
            return entry[0]

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)

    def __len__(self) -> int:
        """How many entries are held, expired ones not yet dropped included."""
        return len(self._values)

    def _set(self, key: str, value: bytes, expires_at: float) -> None:
        self._values[key] = (value, expires_at)
        heapq.heappush(self._expiries, (expires_at, key))

    def _drop_expired(self) -> None:
        now = self._clock()
        expiries, values = self._expiries, self._values
        while expiries and expiries[0][0] <= now:
            expires_at, key = heapq.heappop(expiries)
            entry = values.get(key)
            if entry is not None and entry[1] == expires_at:  # (not replaced since)
                del values[key]
        # A key replaced or deleted leaves its old heap entry behind; rebuild when they pile up.
        if len(expiries) > 2 * len(values) + 64:
            self._expiries = [(at, key) for key, (_, at) in values.items()]
            heapq.heapify(self._expiries)


def check_entry(key: str, value: bytes) -> None:
    """Refuse a key that is not text or a value that is not bytes (every store's contract)."""
    if not isinstance(key, str):
        raise InvalidType(f"a store key is a str, not {type(key).__name__}")
    if not isinstance(value, bytes):
        raise InvalidType(f"a store value is bytes, not {type(value).__name__}")
