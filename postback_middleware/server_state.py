"""View state kept on the server (``server_viewstate``): the page carries a signed key.

A page's view state travels in ``__VIEWSTATE`` by default: signed, so it cannot be changed, but
it weighs on every page and every postback, and the browser holds what the app put there. With
``server_viewstate`` on, the state a form is issued with is written to the store under a fresh
random key, and the token carries that key in place of the state (still signed, bound to the
form, its path and its browser or user, like any view state token). On the way back the key's
state is read and handed to the app as always: nothing changes for the app.

Unlike ASP.NET's session state persister, the keys are random (no guessing another page's state)
and every form's state is its own (no "last nine pages" limit that old pages fall off): a state
lives as long as a token naming it can verify or be renewed, and is then dropped by the store.
An empty state is never stored (the token carries ``{}`` as before), and the forms of one page
issued with the same state share one entry.

A token's data says which kind it is: an object is the state itself, a string is a key. So
switching the option on or off never breaks a form already open, as long as the store is there.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from .errors import InvalidArgument, TokenExpired
from .stores import Store
from .tokens import CLOCK_SKEW, encode_json

#: The random part of a key: 16 bytes from ``os.urandom``, base64url.
KEY_BYTES = 16


class ServerViewState:
    """Keeps view states in ``store`` and reads them back by key."""

    def __init__(self, store: Store, *, max_age: int, renewal_window: int, max_size: int,
                 clock: Callable[[], float]) -> None:
        self.store = store
        # As long as a token can verify or be renewed (renewals keep the first key).
        self._lifetime = max(max_age, renewal_window) + CLOCK_SKEW
        self._max_size = max_size
        self._clock = clock

    def keep(self, data: bytes) -> str:
        """Store a state (its JSON, as ``tokens.encode_json`` writes it); the key the view
        state token carries instead."""
        if len(data) > self._max_size:
            raise InvalidArgument(f"view state of {len(data)} bytes is over max_state_size "
                                  f"({self._max_size}): keep less in it")
        key = secrets.token_urlsafe(KEY_BYTES)
        self.store.put(_key(key), data, expires_at=self._clock() + self._lifetime)
        return key

    def load(self, key: str) -> dict[str, Any]:
        """The state kept under ``key`` (a verified token's: it was written by ``keep``)."""
        data = self.store.get(_key(key))
        if data is None:
            raise TokenExpired("the view state this form names is no longer in the store "
                               "(expired, evicted, or the store was emptied)")
        state = json.loads(data)
        if not isinstance(state, dict):
            raise InvalidArgument(f"the store holds no view state under {_key(key)!r}")
        return state


def _key(key: str) -> str:
    return "viewstate:" + key


class StateKeys:
    """One response's view states as stored: forms issued with the same state share a key."""

    def __init__(self, server_state: ServerViewState) -> None:
        self._server_state = server_state
        self._last: tuple[bytes, str] | None = None

    def data(self, state: dict[str, Any]) -> dict[str, Any] | str:
        """What a form's view state token carries: the key of ``state``, or ``{}`` itself."""
        if not state:
            return state
        written = encode_json(state)
        if self._last is not None and self._last[0] == written:
            return self._last[1]
        key = self._server_state.keep(written)
        self._last = (written, key)
        return key
