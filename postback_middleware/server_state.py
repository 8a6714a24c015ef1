"""View state kept on the server (``server_viewstate``): the page carries a signed key.

A page's view state travels in ``__VIEWSTATE`` by default: signed, so it cannot be changed, but
it weighs on every page and every postback, and the browser holds what the app put there. With
``server_viewstate`` on, the state a form is issued with is written to the store under a key
made from it with the secret key (an HMAC), and the token carries that key in place of the
state (still signed, bound to the form, its path and its browser or user, like any view state
token). On the way back the key's state is read and handed to the app as always: nothing
changes for the app.

Unlike ASP.NET's session state persister, the keys cannot be guessed (no reading another page's
state) and every form's state is kept (no "last nine pages" limit that old pages fall off): a
state lives as long as a token naming it can verify or be renewed, and is then dropped by the
store. An empty state is never stored (the token carries ``{}`` as before), and one state is one
entry, whatever the forms, pages and visitors issued with it: a page whose state is the same for
everyone is kept once, not once a request (anonymous requests would otherwise fill the store,
and a full Redis refuses every postback).

A form whose event validation is large even compact (a grid of hundreds of rows with
arguments of their own: over about 3 KB of JSON) has it kept the same way: its
``__EVENTVALIDATION`` carries a key, and a callback's answer refreshes the key, not the offer
(and keeps the entry as long as the fresh token can verify).

A token's data says which kind it is: an object is the state (or the offer) itself, a string is
a key. So switching the option on or off never breaks a form already open, as long as the
store is there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from .errors import StateTooLarge, TokenExpired
from .stores import Store
from .tokens import CLOCK_SKEW, encode_json

#: A key: the first 16 bytes of the HMAC-SHA256 of what is kept, base64url.
KEY_BYTES = 16
# What is kept, and the prefix of its keys in the store.
VIEWSTATE = "viewstate"
EVENT_VALIDATION = "validation"


class ServerViewState:
    """Keeps view states (and large event validations) in ``store``, read back by key."""

    def __init__(self, store: Store, *, max_age: int, renewal_window: int, max_size: int,
                 clock: Callable[[], float], secret: bytes) -> None:
        self.store = store
        # As long as a token can verify or be renewed: renewals keep the first key, and the
        # last one (renewal_window after the first tokens) verifies for max_age more.
        self._lifetime = max_age + renewal_window + CLOCK_SKEW
        self._max_size = max_size
        self._clock = clock
        self._secret = hmac.new(secret, b"postback_middleware server state keys",
                                hashlib.sha256).digest()

    def keep(self, data: bytes, *, kind: str = VIEWSTATE) -> str:
        """Store a view state or an event validation (``kind``; its JSON, as
        ``tokens.encode_json`` writes it); the key its token carries instead. At most
        ``max_state_size`` bytes, as in a token. Kept again (the same again), the entry lives
        on from now."""
        if len(data) > self._max_size:
            raise StateTooLarge(f"{kind} of {len(data)} bytes is over max_state_size "
                                  f"({self._max_size})")
        mac = hmac.new(self._secret, kind.encode("ascii") + b"\0" + data, hashlib.sha256)
        key = base64.urlsafe_b64encode(mac.digest()[:KEY_BYTES]).rstrip(b"=").decode("ascii")
        self.store.put(f"{kind}:{key}", data, expires_at=self._clock() + self._lifetime)
        return key

    def load(self, key: str, *, kind: str = VIEWSTATE) -> Any:
        """What is kept under ``key`` (a verified token's: written by ``keep``)."""
        data = self.store.get(f"{kind}:{key}")
        if data is None:
            raise TokenExpired(f"the {kind} this form names is no longer in the store "
                               "(expired, evicted, or the store was emptied)")
        return json.loads(data)


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
