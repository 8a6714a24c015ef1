"""Single-use postbacks: each form's tokens are spent once, on every worker and host.

By default a form's tokens verify until they expire, so the same request sent again (a replay,
an old page's form sent after a newer one) runs again. With ``single_use`` on, the first
verified postback of a form *spends* the form's id in the shared store (an atomic add: of two
concurrent ones exactly one wins, whatever worker each reaches), and the form is accepted once.

A second request of a spent form is usually no attack but a person: a double click, a reload
that sends the form again, a Back-and-send. It gets **the first request's answer**, never a
second effect and never a refusal page where the first answer can still be shown:

* the first request, once verified, claims the form (``spent:<form id>``, kept for as long as
  its tokens could verify or be renewed), the app runs, and its answer (status, headers, body:
  what the middleware sent, cookies included) is kept in the store for :attr:`SingleUse.keep`
  seconds, up to :attr:`SingleUse.max_answer` bytes. The answer is read whole before the first
  byte is sent, so it is kept even when the browser has dropped that connection, as it does
  when a second click starts a new navigation;
* a duplicate that arrives while the first still runs waits for its answer (up to
  :attr:`SingleUse.wait` seconds); one that arrives after gets the kept answer at once;
* a duplicate is a request that sent the same: same event, same form fields, byte for byte
  (a digest of them is kept with the answer). A form sent again with other values (Back, an
  edit, send) is not a duplicate: showing it the first answer would drop the edit unseen, so
  it is refused, and the refusal page says that what was typed is still in the form;
* past those times, or when the first answer was too large to keep, or for a request of
  another kind (a renewal's against a postback's), the same: 409, ``already-sent``.

A duplicate must verify exactly as the first did (same browser or user, same site, tokens
unexpired), so only whoever could send the first request can see its answer again. A form left
open and renewed (``X-Postback-Renew``) spends its old tokens too: renewing spent ones would
make them new again.

Callbacks are not spent unless ``single_use_callbacks`` is on: then each event validation a
callback sends is accepted once (every callback answer carries the next one), so a page must not
send two callbacks at the same time with the same token.

The store failing closes the door: a postback whose form cannot be claimed is refused (503),
never let through unchecked. A store that fails after the app ran cannot undo it: the answer
still goes to the browser, and the failure is logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import AlreadySent, StoreUnavailable
from .http import ClosingIterable
from .partial import CHILDREN_ENVIRON_KEY, PANELS_ENVIRON_KEY
from .stores import Store
from .tokens import CLOCK_SKEW

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .form_tokens import Event

log = logging.getLogger("postback_middleware")

_RUNNING = b"r"  # spent, its request still running: b"r" + the time its duplicates stop waiting
_DONE = b"d"  # spent, its request finished without an answer to keep (a duplicate: 409)
_RENEWED = b"n"  # an event validation spent by its form's renewal (its duplicate still renews)


@dataclass(frozen=True)
class Answer:
    """A response as the middleware sent it: kept for the duplicates of its request."""

    request: str  # what it answered (kind, and digest of what was sent): only the same gets it
    status: str
    headers: list[tuple[str, str]]
    body: bytes

    def to_bytes(self) -> bytes:
        head = json.dumps([self.request, self.status, self.headers]).encode("utf-8")
        return len(head).to_bytes(4, "big") + head + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> Answer:
        size = int.from_bytes(data[:4], "big")
        request, status, headers = json.loads(data[4:4 + size])
        return cls(request, status, [(name, value) for name, value in headers], data[4 + size:])

    def send(self, start_response: StartResponse) -> list[bytes]:
        start_response(self.status, list(self.headers))
        return [self.body]


@dataclass(frozen=True)
class Claim:
    """A form claimed by the request that spent it: whose answer is to be kept."""

    form_id: str
    request: str
    usable_until: float  # when the form's tokens can no longer verify nor be renewed


class SingleUse:
    """Spends forms in ``store`` and keeps their first answers for their duplicates."""

    #: How long a duplicate waits for the answer of a first request still running (seconds): a
    #: postback that runs longer than this leaves its duplicates a 409 (the first one still
    #: completes). Under most servers' worker timeouts (gunicorn: 30 s).
    wait: float = 25.0
    #: How long a first answer is kept for its duplicates (seconds): a double click, a reload
    #: that sends the form again within a minute, shows it again.
    keep: float = 60.0
    #: The largest answer kept (bytes): a larger one (a download) streams to the first request
    #: as usual, and its duplicates are refused (409).
    max_answer: int = 1024 * 1024
    #: Between two looks at the store while a duplicate waits (seconds): the first looks come
    #: quickly (a double click's first request is usually done within them), then less often.
    poll_intervals: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2)

    def __init__(self, store: Store, *, max_age: int, renewal_window: int,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self._max_age = max_age
        self._renewal_window = renewal_window
        self._clock = clock
        self._sleep = sleep

    def usable_until(self, issued_at: int, first_issued: int) -> float:
        """Until when tokens issued then (of a form first issued then) could still verify or
        be renewed: how long their form stays spent."""
        until = issued_at + self._max_age
        if self._renewal_window:
            until = max(until, first_issued + self._renewal_window)
        return float(until + CLOCK_SKEW)

    # -- the first request ----------------------------------------------------------------

    def claim(self, form_id: str, *, request: str, issued_at: int, first_issued: int
              ) -> Claim | Answer:
        """Spend the form for this request (a :class:`Claim`: it runs), or, when an earlier
        request spent it, that request's :class:`Answer` (waited for while it runs).

        Raises :class:`~postback_middleware.errors.AlreadySent` when no answer can be shown,
        :class:`~postback_middleware.errors.StoreUnavailable` when the store cannot answer.
        """
        running = _RUNNING + str(self._clock() + self.wait).encode("ascii")
        usable_until = self.usable_until(issued_at, first_issued)
        if self.store.add(_spent_key(form_id), running, expires_at=usable_until):
            return Claim(form_id, request, usable_until)
        return self._first_answer(form_id, request)

    def spend_token(self, signature: str, *, issued_at: int, first_issued: int,
                    by_renewal: bool = False) -> None:
        """``single_use_callbacks``: spend the event validation a callback (or the renewal of
        its form) sent, named by its signature; AlreadySent if it was spent before."""
        if not self.store.add("token:" + signature, _RENEWED if by_renewal else _DONE,
                              expires_at=self.usable_until(issued_at, first_issued)):
            raise AlreadySent("single_use_callbacks: this callback's event validation was sent "
                              "before (two callbacks at once with the same token, or a replay)")

    def refuse_spent_token(self, signature: str) -> None:
        """AlreadySent if :meth:`spend_token` spent this event validation (a callback did),
        without spending it: a renewal asks before it claims its form, so that its duplicate
        still gets its answer (see ``middleware``)."""
        if self.store.get("token:" + signature) == _DONE:  # (not _RENEWED: its duplicate)
            raise AlreadySent("single_use_callbacks: this event validation was spent by a "
                              "callback; its answer brought the next one")

    def record(self, claim: Claim, respond: Callable[[StartResponse], Iterable[bytes]],
               start_response: StartResponse) -> Iterable[bytes]:
        """Run ``respond`` (the rest of the journey) and keep its answer for duplicates.

        The answer is read whole before it is sent, up to ``max_answer`` bytes; a larger one
        is sent as it comes (the part read first, then the rest) and is not kept.
        """
        head: list[Any] = []  # [status, headers] once the response starts
        pieces: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]],
                    exc_info: OptExcInfo | None = None) -> Callable[[bytes], object]:
            head[:] = [status, list(headers)]  # (nothing sent yet: a later call replaces it)
            return pieces.append  # (the legacy write(): its bytes come first)

        iterable: Iterable[bytes] | None = None
        try:
            iterable = respond(capture)
            iterator: Iterator[bytes] = iter(iterable)
            # (What the legacy write() sent counts too: it is not kept past max_answer either.)
            size = sum(map(len, pieces))
            complete = size <= self.max_answer
            for piece in iterator if complete else ():
                pieces.append(piece)
                size += len(piece)
                if size > self.max_answer:
                    complete = False
                    break
        except BaseException:
            self._finish(claim, None)  # its duplicates are refused rather than left waiting
            if iterable is not None:  # (PEP 3333: closed even when its iteration failed)
                _close_after_failure(iterable)
            raise
        if not head:  # (an app that never started its response: the server's error)
            self._finish(claim, None)
            _close(iterable)
            raise RuntimeError("the response was never started (start_response not called)")
        status, headers = head
        if complete:
            _close(iterable)
            answer = Answer(claim.request, status, headers, b"".join(pieces))
            self._finish(claim, answer)
            return answer.send(start_response)  # (as its duplicates get it)
        self._finish(claim, None)
        log.info("single_use: the answer to form %s is over max_answer (%d bytes) and is not "
                 "kept; a duplicate of its request is refused", claim.form_id, self.max_answer)
        start_response(status, headers)
        return ClosingIterable(_chain(pieces, iterator), lambda: _close(iterable))

    def _finish(self, claim: Claim, answer: Answer | None) -> None:
        """Keep the answer; or, when there is none to keep, mark the form's request finished,
        so that its duplicates are refused at once rather than after waiting. (With an answer
        the mark is not needed: one store round trip less on every postback. A duplicate that
        comes after the answer expired finds the form running past its time, ``keep`` being
        longer than ``wait``, and is refused all the same.)"""
        try:
            if answer is not None:
                self.store.put(_answer_key(claim.form_id), answer.to_bytes(),
                               expires_at=min(self._clock() + self.keep, claim.usable_until))
            else:
                self.store.put(_spent_key(claim.form_id), _DONE, expires_at=claim.usable_until)
        except StoreUnavailable as error:
            # The app ran: its answer goes to the browser all the same. Its duplicates wait
            # until `wait` has passed, then are refused.
            log.error("single_use: could not keep the answer of form %s: %s", claim.form_id,
                      error.reason)

    # -- its duplicates -------------------------------------------------------------------

    def _first_answer(self, form_id: str, request: str) -> Answer:
        """The answer of the request that spent the form, waited for while it runs."""
        intervals = iter(self.poll_intervals)
        interval = next(intervals)
        while True:
            kept = self.store.get(_answer_key(form_id))
            if kept is not None:
                return _same_request(Answer.from_bytes(kept), request, form_id)
            spent = self.store.get(_spent_key(form_id))
            if spent is None or spent.startswith(_DONE):
                kept = self.store.get(_answer_key(form_id))  # (kept just before it finished)
                if kept is not None:
                    return _same_request(Answer.from_bytes(kept), request, form_id)
                raise AlreadySent(f"single_use: form {form_id} was sent before, and its first "
                                  "answer is no longer kept (or was not: too large, or failed)")
            if self._clock() >= _wait_until(spent):
                raise AlreadySent(f"single_use: form {form_id} was sent before, and its first "
                                  f"answer did not come within {self.wait:g}s, or is no longer "
                                  "kept")
            self._sleep(interval)
            interval = next(intervals, interval)


def _spent_key(form_id: str) -> str:
    return "spent:" + form_id


def _answer_key(form_id: str) -> str:
    return "answer:" + form_id


def _wait_until(spent: bytes) -> float:
    try:
        return float(spent[len(_RUNNING):])
    except ValueError:
        return 0.0  # (not ours: stop waiting)


# What each kind of request (what_was_sent's) is called in a refusal's log line.
_KIND_NAMES = {"postback": "full postback", "partial": "partial postback",
               "async": "Microsoft AJAX async postback", "renew": "renewal"}


def _same_request(answer: Answer, request: str, form_id: str) -> Answer:
    if answer.request != request:
        first, now = (_KIND_NAMES.get(sent.partition(":")[0], "request")
                      for sent in (answer.request, request))
        how = "with other values" if first == now else f"as a {first} (now a {now})"
        raise AlreadySent(f"single_use: form {form_id} was sent before, {how}")
    return answer


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _close(iterable: object) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        close()


def _close_after_failure(iterable: object) -> None:
    """Close an iterable whose iteration raised; a failing close() is logged, so that the
    exception that ended the response is the one the server sees."""
    try:
        _close(iterable)
    except Exception:
        log.exception("closing the response after it failed raised as well")


# The request headers that shape a postback's answer (which panels, and the children the page
# has; a piece of a page for htmx): a duplicate gets the first answer only if it asks the same.
_SHAPE = (PANELS_ENVIRON_KEY, CHILDREN_ENVIRON_KEY, "HTTP_HX_REQUEST", "HTTP_HX_BOOSTED")


def what_was_sent(environ: WSGIEnvironment, event: Event | None, body: Any,
                  boundary: bytes, *, async_postback: str | None = None) -> str:
    """What a verified postback sent and asked for, as :meth:`SingleUse.claim` compares it:
    its kind (a partial postback's answer is no page for a full one, nor is an async
    postback's delta of Microsoft's client) and a digest of the rest. ``body`` is its clean
    body (a file, left at its start), ``boundary`` a multipart one's; ``async_postback`` the
    ScriptManager field's value of an async postback (cut from the body: it names the panels
    the answer holds)."""
    kind = ("partial" if environ.get(PANELS_ENVIRON_KEY) is not None
            else "async" if async_postback is not None else "postback")
    shape = [str(environ.get(key, "")) for key in _SHAPE]
    if async_postback is not None:
        shape.append(async_postback)
    return kind + ":" + _digest_of(body, event, boundary=boundary, shape=shape)


def _digest_of(body: Any, event: Event | None, *, boundary: bytes = b"",
               shape: list[str] | None = None) -> str:
    """SHA-256 of a verified postback: its event, the headers that shape its answer, and its
    clean body (the file is left at its start for the app). A multipart body is read without
    its boundary: a browser picks a new random one each time it sends a form, so a double click
    on a form with a file input sends the same fields under another boundary."""
    digest = hashlib.sha256()
    digest.update(json.dumps([event and [event.target, event.argument], shape or []]
                             ).encode("utf-8"))
    body.seek(0)
    for piece in _without_boundary(body, boundary) if boundary else iter(
            lambda: body.read(64 * 1024), b""):
        digest.update(piece)
    body.seek(0)
    return digest.hexdigest()


def _without_boundary(body: Any, boundary: bytes) -> Iterator[bytes]:
    """The body's bytes, read in pieces, each delimiter ``--boundary`` written ``--`` + NUL
    (a byte no boundary has): what one left-to-right ``replace`` over the whole body gives,
    wherever the pieces are cut (bytes that may begin a delimiter wait for the next piece)."""
    marker, spelled = b"--" + boundary, b"--\0"
    held = b""
    while piece := body.read(64 * 1024):
        data, done = held + piece, 0
        while (found := data.find(marker, done)) >= 0:
            yield data[done:found] + spelled
            done = found + len(marker)
        kept_from = max(done, len(data) - len(marker) + 1)
        yield data[done:kept_from]
        held = data[kept_from:]
    yield held
