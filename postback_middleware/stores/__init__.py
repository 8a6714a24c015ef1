"""Stores: state shared by every worker and host that serves one site.

The middleware itself is stateless: tokens carry everything, signed. Some protections need
memory that outlives a request and is shared by every process answering it: a form's nonce
spent once (single-use postbacks), the outcome of a postback kept a moment for its double
click, view state kept on the server. Those live in a *store*, behind the small interface
below, so that the code that uses one never knows which it is.

* :class:`~postback_middleware.stores.memory.MemoryStore`: in this process only (tests,
  development, a single-process server);
* :class:`~postback_middleware.stores.redis.RedisStore` (redis-py) for everything else: the
  one operators already run.

:func:`open_store` makes either from a URL, as the ``store`` option (and an ini file) gives it.

Every store honours one contract, held by ``tests/test_stores.py`` for each implementation:
``add`` is atomic (of two concurrent adds of one key, exactly one succeeds, across processes
for a shared store); a value is gone once its expiry time has passed; a store that cannot
answer raises :class:`~postback_middleware.errors.StoreUnavailable`, and the caller fails
closed (refuses the request) rather than let an unchecked one through.
"""

from __future__ import annotations

from typing import Protocol

from ..errors import ConfigurationError
from .memory import MemoryStore
from .redis import RedisStore

__all__ = ["MemoryStore", "RedisStore", "Store", "open_store"]

REDIS_SCHEMES = ("redis", "rediss", "unix")
ACCEPTED = "redis://, rediss:// (TLS), unix:// (a socket) or memory: (this process only)"


class Store(Protocol):
    """Keys and byte values with an absolute expiry time (seconds since the epoch, as
    ``time.time()``); a key never outlives it."""

    def add(self, key: str, value: bytes, *, expires_at: float) -> bool:
        """Store ``value`` under ``key`` unless the key holds a value already; whether it did.

        Atomic: this is how a nonce is spent once (Redis: ``SET key value NX PXAT``).
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


def open_store(url: str) -> Store:
    """The store ``url`` names: ``memory:``, or a Redis URL (see :meth:`RedisStore.from_url`).

    Made once, at start-up; a URL of no store fails here with what is accepted (the message
    names the scheme only: the rest of a URL may hold a password).
    """
    scheme, colon, rest = url.strip().partition(":")
    if colon and scheme == "memory" and rest in ("", "//"):
        return MemoryStore()
    if colon and scheme in REDIS_SCHEMES and rest.startswith("//"):
        return RedisStore.from_url(url.strip())
    shown = f"scheme {scheme!r}" if colon else "no scheme"
    raise ConfigurationError(f"store: a URL with {shown} names no store; use {ACCEPTED}")
