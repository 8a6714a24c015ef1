"""Request side, step two: judge the reserved fields a body scan found.

Order matters and is the whole point: the fields are checked for shape (decoded as UTF-8, no
conflicting duplicates), then both tokens are verified (signature first, see ``tokens``), then
the event is checked against the pairs the form registered. Only a request that passes all of
this becomes a :class:`Postback` that the inner app or a handler may see.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from . import fields as f
from .errors import BadRequest, Forbidden, TokenError
from .registry import Event
from .tokens import Purpose, TokenSigner
from .validation import Offered

_INTEGER = re.compile(r"-?[0-9]{1,9}")
# An element id, as __LASTFOCUS echoes it: any characters but whitespace and controls.
_ELEMENT_ID = re.compile(r"[^\x00-\x20\x7f-\x9f]{1,256}")


@dataclass
class Postback:
    """A verified postback or callback request."""

    event: Event | None
    viewstate: dict[str, Any]
    form_id: str
    offered: Offered  # the form's event validation: its events and callbacks
    binding: str  # the browser or user both tokens were issued to (see ``csrf``)
    callback: Event | None = None  # target and argument of a callback request
    # MaintainScrollPositionOnPostback: what the page sent, to be echoed into the next page.
    client_fields: dict[str, str] = field(default_factory=dict)


def decode_reserved(found: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """Decode reserved fields as UTF-8; a field sent twice must carry the same value both times."""
    values: dict[str, str] = {}
    for name, raw in found:
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"{name} is not valid UTF-8") from None
        if name in values and values[name] != value:
            raise BadRequest(f"{name} sent twice with different values")
        values[name] = value
    return values


def verify_postback(
    values: dict[str, str], *, signer: TokenSigner, path: str, binding: str
) -> Postback:
    """Verify tokens and event of a request whose body carried reserved fields.

    ``binding`` is who the request comes from (a browser or user, see ``csrf``): both tokens
    must have been issued to it.
    """
    callback_id = values.get(f.CALLBACKID)
    if callback_id is None and f.CALLBACKPARAM in values:
        raise BadRequest("__CALLBACKPARAM without __CALLBACKID")

    validation = signer.verify(
        Purpose.EVENT_VALIDATION, values.get(f.EVENTVALIDATION, ""), path=path, user=binding
    )
    # A callback may come without view state (scripts that build their own request); a
    # postback may not, and whatever view state is sent must verify.
    viewstate_token = values.get(f.VIEWSTATE)
    if callback_id is None or viewstate_token is not None:
        viewstate = signer.verify(
            Purpose.VIEWSTATE, viewstate_token or "", path=path, user=binding
        )
        if viewstate.form_id != validation.form_id:
            raise TokenError("__VIEWSTATE and __EVENTVALIDATION come from different forms")
        state = viewstate.data
    else:
        state = {}
    offered = Offered(
        validation.data, digest=partial(signer.event_digest, validation.key_index)
    )
    if not isinstance(state, dict):
        raise TokenError("__VIEWSTATE payload is not an object")

    event = _event(values, offered)
    callback = None
    if callback_id is not None:
        callback = Event(callback_id, values.get(f.CALLBACKPARAM, ""))
    return Postback(
        event=None if callback else event,
        viewstate=state,
        form_id=validation.form_id,
        offered=offered,
        binding=binding,
        callback=callback,
        client_fields=_client_fields(values),
    )


def _event(values: dict[str, str], offered: Offered) -> Event | None:
    target = values.get(f.EVENTTARGET, "")
    argument = values.get(f.EVENTARGUMENT, "")
    if not target:
        if argument:
            raise Forbidden("__EVENTARGUMENT without __EVENTTARGET")
        return None
    if not offered.allows_event(target, argument):
        raise Forbidden(
            f"event ({target[:80]!r}, {argument[:80]!r}) was not registered by the form"
        )
    return Event(target, argument)


def _client_fields(values: dict[str, str]) -> dict[str, str]:
    kept = {}
    for name in (f.SCROLLPOSITIONX, f.SCROLLPOSITIONY):
        value = values.get(name, "")
        if value and not _INTEGER.fullmatch(value):
            raise BadRequest(f"{name} is not an integer")
        kept[name] = value
    focus = values.get(f.LASTFOCUS, "")
    if focus and not _ELEMENT_ID.fullmatch(focus):
        raise BadRequest("__LASTFOCUS is not an element id")
    kept[f.LASTFOCUS] = focus
    return kept
