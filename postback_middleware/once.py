"""Say a thing once: a small memo of what was said already.

A page's headers, a path's markup, say the same thing on every request; the log should say it
once. The keys are often the client's (a request path), so the memo holds only the latest
:attr:`Once.size` of them, the oldest forgotten first (said once more, at worst), and a
server's threads share it safely. The middleware's warnings about a page's headers
(``middleware``) and the injector's notes about a path's markup (``inject``) both say things
once with it.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator

__all__ = ["Once"]


class Once:
    """The keys seen so far (the latest ``size``): :meth:`first` says whether one is new."""

    size = 1024
    """How many keys are kept: enough for the paths of a site's pages that say something,
    small enough that a crawler's made-up paths cost little memory."""

    def __init__(self, size: int | None = None) -> None:
        if size is not None:
            self.size = size
        self._seen: dict[Hashable, None] = {}  # (in the order first seen)
        self._lock = threading.Lock()

    def first(self, key: Hashable) -> bool:
        """Whether ``key`` is new (then it is remembered, and the oldest of more than
        :attr:`size` forgotten)."""
        seen = self._seen
        if key in seen:  # (the common case, without the lock)
            return False
        with self._lock:
            if key in seen:
                return False
            seen[key] = None
            if len(seen) > self.size:
                del seen[next(iter(seen))]
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def __iter__(self) -> Iterator[Hashable]:
        return iter(list(self._seen))

    def __len__(self) -> int:
        return len(self._seen)
