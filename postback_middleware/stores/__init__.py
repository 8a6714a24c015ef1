"""Stores: state shared by every worker and host that serves one site.

The middleware itself is stateless: tokens carry everything, signed. Some protections need
memory that outlives a request and is shared by every process answering it: a form's nonce
spent once (single-use postbacks), the outcome of a postback kept a moment for its double
click, view state kept on the server. Those live in a *store*, behind the small interface
below, so that the code that uses one never knows which it is.

* :class:`~postback_middleware.stores.memory.MemoryStore`: in this process only (tests,
  development, a single-process server);
* a Redis store (redis-py) for everything else: the one operators already run.

Every store honours one contract, held by ``tests/test_stores.py`` for each implementation:
``add`` is atomic (of two concurrent adds of one key, exactly one succeeds, across processes
for a shared store); a value is gone once its expiry time has passed; a store that cannot
answer raises :class:`~postback_middleware.errors.StoreUnavailable`, and the caller fails
closed (refuses the request) rather than let an unchecked one through.
"""

from __future__ import annotations

from typing import Protocol

from .memory import MemoryStore

__all__ = ["MemoryStore", "Store"]


class Store(Protocol):
    """Keys and byte values with an absolute expiry time (seconds since the epoch, as
    ``time.time()``); a key never outlives it."""

    def add(self, key: str, value: bytes, *, expires_at: float) -> bool:
        """Store ``value`` under ``key`` unless the key holds a value already; whether it did.

        Atomic: this is how a nonce is spent once (Redis: ``SET key value NX EXAT``).
        """
        ...

    def put(self, key: str, value: bytes, *, expires_at: float) -> None:
        """Store ``value`` under ``key``, replacing what it held."""
        ...

    def get(self, key: str) -> bytes | None:
        """The value under ``key``, or None (never stored, deleted, or expired)."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key`` (nothing happens if it holds nothing)."""
        ...
