"""A form's tokens, both ways: issued into the page, checked when the form comes back.

Issuing: when the injector knows a post form's events and callbacks, :class:`FormTokens` signs
its ``__VIEWSTATE`` (what the app left in the view state) and its ``__EVENTVALIDATION`` (what
the form offers, see ``validation``), both bound to the form's path, to the browser or user they
are issued to (see ``csrf``) and to each other (one random form id). A callback's answer carries
a fresh event validation, so a page left open keeps working past ``max_age``.

Checking, on the way back, in an order that is the whole point: the reserved fields are checked
for shape (decoded as UTF-8, no conflicting duplicates; the event's text waits, see below), then
both tokens are verified (signature first, see ``tokens``), then the event or callback is
checked against what the form offered. Only a request that passes all of this is described as
a :class:`Postback` (the inner app and postback handlers see its :class:`Event`) or a
:class:`Callback` (answered from the registry).

A browser submits a form in the form's encoding (``charset.form_encoding``), not always
UTF-8: a form of a windows-1252 page posts ``__EVENTARGUMENT=M%FCller``. Such a form's tokens
record its encoding (signed, in its event validation data or its page token's claims; a UTF-8
form's tokens are as they were), and the text a browser's own submission carries (the event,
the focus: :data:`IN_FORM_ENCODING`) is read in it, strictly, only once they are verified
(:func:`split_reserved`). A request whose ``Content-Type`` names its charset (UTF-8, the only
one accepted), as the client script's and WebForms' script requests do, htmx's (which sends
UTF-8 and names none), and any callback
(``WebForm_DoCallback`` sends UTF-8, and its handler reads the form's fields so), are read as
UTF-8 throughout.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import fields as f
from . import page_tokens, validation
from .errors import (
    BadRequest,
    Forbidden,
    InvalidArgument,
    Reason,
    StoreUnavailable,
    TokenError,
    TokenExpired,
)
from .server_state import EVENT_VALIDATION, VIEWSTATE, ServerViewState
from .tokens import (
    Claims,
    FormSigning,
    PageClaims,
    PageSigning,
    Purpose,
    TokenSigner,
    encode_json,
)
from .validation import NumberedFamily, Offered

log = logging.getLogger("postback_middleware")

_INTEGER = re.compile(r"-?[0-9]{1,9}")
# An element id, as __LASTFOCUS echoes it: any characters but whitespace and controls.
_ELEMENT_ID = re.compile(r"[^\x00-\x20\x7f-\x9f]{1,256}")
# An event validation token written out up to this size is kept as it is; a larger one is made
# compact (runs of numbers, digests), which costs about a microsecond an event pair.
SMALL_VALIDATION_TOKEN = 4096


# -- what a verified request is ---------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A verified postback event: which element raised it and with what argument."""

    target: str
    argument: str = ""


@dataclass(kw_only=True)
class Verified:
    """What both tokens of a verified request said."""

    viewstate: dict[str, Any]  # {} for a callback sent without view state
    form_id: str
    offered: Offered  # the form's event validation: its events and callbacks
    binding: str  # the browser or user both tokens were issued to (see ``csrf``)
    key_index: int = 0  # which key signed the event validation (its digests use it too)
    bound_to: str | list[str] = ""  # the path(s) the tokens are bound to (the request's is one)
    issued_at: int = 0  # when the event validation was issued
    first_issued: int = 0  # when the form's first tokens were (renewals keep it)
    signature: str = ""  # the event validation's signature: names this one token
    kept_as: str | None = None  # the key of the event validation when kept in the store
    # The encoding the request's text was read in (see the module's docstring): its form's,
    # for a browser's own submission; UTF-8 for a script's (the body's, to the inner app).
    encoding: str = "utf-8"


@dataclass(kw_only=True)
class Postback(Verified):
    """A verified postback: a form submitted, with the event that submitted it if any."""

    event: Event | None
    # MaintainScrollPositionOnPostback: what the page sent, to be echoed into the next page.
    client_fields: dict[str, str] = field(default_factory=dict)


@dataclass(kw_only=True)
class Callback(Verified):
    """A verified client callback (``WebForm_DoCallback``): answered without the inner app."""

    name: str
    argument: str
    validation: Claims | None = None  # its event validation's claims (refresh signs them anew)


@dataclass(frozen=True, kw_only=True)
class Renewal:
    """A form's tokens renewed: the fresh fields, and which form's old tokens they replace."""

    fields: dict[str, str]
    form_id: str  # the old tokens' form (single_use spends it: see ``single_use``)
    issued_at: int
    first_issued: int
    signature: str  # the old event validation's signature (single_use_callbacks spends it)


# -- issuing ----------------------------------------------------------------------------------


class OfferingForm(Protocol):
    """What issuing needs to know of a form (``inject.PostForm`` is one)."""

    callbacks: tuple[str, ...]  # the callbacks it offers

    @property
    def paths(self) -> tuple[str, ...]: ...  # where it posts to: its tokens are bound to them

    @property
    def pairs(self) -> dict[str, list[str]]: ...  # the events it offers: {target: [argument]}

    @property
    def family(self) -> NumberedFamily | None: ...  # the same, when one family (or None)

    @property  # the same, its commands in rows kept apart: (pairs, {target: [(place, rows)]})
    def compact_pairs(self) -> tuple[dict[str, list[str]], validation.Rows]: ...

    @property
    def choices(self) -> dict[str, list[str]]: ...  # its select/radio values: {name: [value]}

    took_over: bool  # it held ASP.NET's own fields (the page's WebForms form)
    id: str | None  # its id (a control's form="ID" may name it)
    settled: bool  # nothing later in the page can send its fields elsewhere (see inject)
    # The encoding a browser submits it in, None for UTF-8 (``charset.form_encoding``).
    encoding: str | None



def _may_fit_written_out(pairs: dict[str, list[str]]) -> bool:
    """Whether a form's pairs, written out, may make a token of at most SMALL_VALIDATION_TOKEN
    characters (in base64, 4 for 3 bytes of their JSON and more). A form over it is not signed
    that way first only to be thrown away; a form under it is signed, and measured then. (Their
    JSON is measured as orjson writes it: a tenth of a µs for a small form's pairs, and faster
    than any count of their characters in Python.) False when JSON cannot write them (a lone
    surrogate, from a page in a charset that makes one): the compact ways write digests."""
    try:
        return 4 * len(encode_json(pairs, plain=True)) <= 3 * SMALL_VALIDATION_TOKEN
    except InvalidArgument:
        return False


def _sharing_path(form: OfferingForm, page_callbacks: Callable[[str], Sequence[str]]
                  ) -> str | None:
    """The path of a form that may share its page's token (see ``page_tokens``), if its
    events do: bound to one path, without an id, offering no callbacks (its own or its
    page's), no ASP.NET fields taken over, no choices; else None."""
    if form.callbacks or form.took_over or form.id is not None:
        return None
    paths = form.paths
    if len(paths) != 1 or form.choices or page_callbacks(paths[0]):
        return None
    return paths[0]


def _plain_pairs(form: OfferingForm) -> dict[str, list[str]] | None:
    """A form's events written out, if they are few and short (a list's forms: most
    pages'); else None (a grid's may join written compact: see FormTokens._encoded)."""
    if form.family is not None:  # (read first: asking for the pairs writes a family out)
        return None
    pairs, rows = form.compact_pairs
    if rows or (pairs and not page_tokens.fits(pairs)):
        return None
    return pairs


def _written_out(one: FormSigning, pairs: dict[str, list[str]], callbacks: Sequence[str],
                 choices: dict[str, list[str]], encoding: str | None) -> str:
    """A form's event validation token with its pairs written out as they are ("" when it
    is over max_state_size)."""
    try:
        return one.sign(Purpose.EVENT_VALIDATION, _with_encoding(
            validation.written_out(pairs, callbacks, choices), encoding))
    except ValueError:
        return ""


def _with_encoding(data: dict[str, Any], encoding: str | None) -> dict[str, Any]:
    """A form's event validation data with the encoding it is submitted in, where it is not
    UTF-8 (see ``validation``): a UTF-8 form's data, and so its token, is as it was."""
    if encoding is not None:
        data["s"] = encoding
    return data


class FormTokens:
    """Issues a form's tokens and checks them when they come back, with one ``TokenSigner``."""

    def __init__(self, signer: TokenSigner, *, server_state: ServerViewState | None = None,
                 keep_large_validation: bool = False) -> None:
        self.signer = signer
        # Where view states (and event validations) kept on the server are read back (see
        # ``server_state``), if anywhere; and whether a form's event validation too large for
        # the page (over SMALL_VALIDATION_TOKEN even compact) is kept there (server_viewstate).
        self.server_state = server_state
        self._keeps_validation = keep_large_validation and server_state is not None
        # Digests of long event pairs, under the first key (the one that signs).
        self._event_digest = functools.partial(signer.event_digest, 0)

    def issue_forms(self, forms: Sequence[OfferingForm], state: dict[str, Any] | str,
                    binding: str, page_callbacks: Callable[[str], Sequence[str]],
                    page: PageSigning | None = None, *, encoding: str | None = None
                    ) -> list[tuple[str, str]]:
        """The tokens of the post forms of one response (or of one piece of a streamed one),
        in order: :meth:`issue`'s for each, but that its plain forms (two or more) share a
        page token (see ``page_tokens``). ``page_callbacks(path)``: the callbacks of the page
        at ``path`` (``registry.Registry.page_callbacks``). ``encoding``: the one the page's
        forms are submitted in (``charset.form_encoding``, None for UTF-8), which their page
        token names: a form submitted in another (its ``accept-charset``) keeps its own."""
        if page is None or page.user != binding:
            page = self.signer.page(binding)
        if len(forms) < page_tokens.MIN_FORMS:  # (a streamed page's piece: often one form)
            return [self.issue(form, state, binding, page_callbacks(form.paths[0]), page)
                    for form in forms]
        plain: list[int] = []
        described: list[tuple[str, page_tokens.Events]] = []
        for index, form in enumerate(forms):
            path = _sharing_path(form, page_callbacks)
            if path is None or form.encoding != encoding:
                continue
            pairs = _plain_pairs(form)
            events = pairs if pairs is not None else self._encoded(form)
            if events is not None:
                plain.append(index)
                described.append((path, events))
        # (keyed indices where a form's fields could still leave: see page_tokens)
        shared = (self._page_tokens(described, state, binding, keyed=not all(
            forms[index].settled for index in plain), encoding=encoding)
                  if page_tokens.MIN_FORMS <= len(plain) <= page_tokens.MAX_FORMS else None)
        if shared is not None and len(shared) == len(forms):  # (a list page: all of them)
            return shared
        if shared is not None:
            joined = dict(zip(plain, shared, strict=True))
        else:  # (a grid's form keeps the data it was described with: not encoded again)
            joined = {index: self._signed(forms[index], events.data, state, page)
                      for index, (_, events) in zip(plain, described, strict=True)
                      if isinstance(events, page_tokens.Encoded)}
        return [joined.get(index) or self.issue(form, state, binding,
                                                page_callbacks(form.paths[0]), page)
                for index, form in enumerate(forms)]  # (the others: tokens of their own)

    @staticmethod
    def _signed(form: OfferingForm, data: dict[str, Any], state: dict[str, Any] | str,
                page: PageSigning) -> tuple[str, str]:
        """:meth:`issue`'s tokens for a form whose event validation data :meth:`_encoded`
        made: the data issue makes for such a form (no callbacks, no choices, a few dozen
        bytes: it fits), signed as issue signs it."""
        one = page.form(form.paths[0])
        data = _with_encoding(dict(data), form.encoding) if form.encoding else data
        return one.sign(Purpose.VIEWSTATE, state), one.sign(Purpose.EVENT_VALIDATION, data)

    def _encoded(self, form: OfferingForm) -> page_tokens.Encoded | None:
        """The events of a form that may share its page's token (:func:`_sharing_path`) but
        has too many to write out, written compact (see ``page_tokens.Encoded``) if that
        data is small (a grid's rows, one run); else None."""
        family = form.family
        data = (validation.encode_family(family, (), digest=self._event_digest)
                if family is not None else None)
        try:
            if data is None:
                pairs, rows = form.compact_pairs
                if not rows and not validation.may_have_runs(pairs):  # (they stay large)
                    return None
                data = validation.encode(pairs, (), digest=self._event_digest, rows=rows)
            if len(encode_json(data, plain=True)) > page_tokens.MAX_ENCODED_BYTES:
                return None
        except InvalidArgument:  # (JSON cannot write them: tokens of its own, as digests)
            return None
        return page_tokens.Encoded(data)

    def issue_bare(self, forms: Sequence[tuple[str, page_tokens.Pairs]],
                   state: dict[str, Any] | str, binding: str, callback_pages: Collection[str],
                   *, keyed: bool = False, last_run: page_tokens.RunShape | None = None,
                   encoding: str | None = None) -> page_tokens.SharedToken | None:
        """The page token shared by plain forms that the injector keeps as bare forms (each
        its path and events: no id, no callbacks of its own, one path, no choices, its pairs
        one dict), its indices ``keyed`` (see ``page_tokens``): what :meth:`issue_forms`
        gives such forms, in one piece. None when they cannot share one (:meth:`issue_forms`
        then takes them one by one): fewer than two, a path with callbacks of its page
        (``callback_pages``: ``registry.Registry.callback_pages``), events too long to write
        out, a description or token over its size. ``last_run``: what the pieces of one
        streamed page share (see ``page_tokens.describe``). ``encoding``: the one they are
        submitted in (the page's: see :meth:`issue_forms`)."""
        if not page_tokens.MIN_FORMS <= len(forms) <= page_tokens.MAX_FORMS:
            return None
        # (what _sharing_path and _plain_pairs ask of each form)
        if callback_pages and any(path in callback_pages for path, _ in forms):
            return None
        return self._shared_token(forms, state, binding, keyed=keyed, each_fits=True,
                                  last_run=last_run, encoding=encoding)

    def _shared_token(self, forms: Sequence[tuple[str, page_tokens.Events]],
                      state: dict[str, Any] | str, binding: str, *, keyed: bool,
                      each_fits: bool = False, last_run: page_tokens.RunShape | None = None,
                      encoding: str | None = None) -> page_tokens.SharedToken | None:
        """The page token of plain forms (each its path and events) submitted in
        ``encoding``, with its indices' tags where they are ``keyed`` (see ``page_tokens``);
        None when their description is over ``page_tokens.MAX_DESCRIPTION_BYTES``, the token
        over max_state_size, or (``each_fits``: forms not yet judged one by one) a form's
        events too long to join."""
        signer = self.signer
        try:
            described = page_tokens.describe(forms, each_fits=each_fits, last_run=last_run)
            if described is None:  # (over its size, or a form's events do not fit)
                return None
            token = signer.sign_page(described, state, user=binding,
                                     page_id=signer.new_form_id(), keyed=keyed,
                                     encoding=encoding)
        except ValueError:  # (JSON cannot write their events, or over max_state_size)
            return None
        signature = token.rpartition(".")[2]
        tags = signer.joined_index_tags(0, signature, 0, len(forms)) if keyed else None
        return page_tokens.SharedToken(token, signature, tags)

    def _page_tokens(self, forms: Sequence[tuple[str, page_tokens.Events]],
                     state: dict[str, Any] | str, binding: str, *, keyed: bool,
                     encoding: str | None) -> list[tuple[str, str]] | None:
        """The fields of plain forms (each its path and events) that share a page token (see
        :meth:`_shared_token`), or None."""
        shared = self._shared_token(forms, state, binding, keyed=keyed, encoding=encoding)
        if shared is None:
            return None
        token, signature, tags = shared
        if tags is not None:
            return [(token, page_tokens.event_validation(index, signature, shared.tag(index)))
                    for index in range(len(forms))]
        after = page_tokens.after_index(signature)  # (the same for each form)
        return [(token, f"{index}{after}") for index in range(len(forms))]

    def issue(self, form: OfferingForm, state: dict[str, Any] | str, binding: str,
              page_callbacks: Sequence[str] = (), page: PageSigning | None = None,
              ) -> tuple[str, str]:
        """A form's view state (``state``, or the key it is kept under: see ``server_state``)
        and event validation (what ``form`` offers, and the callbacks of the page it posts to:
        see ``registry``), bound to its path and to ``binding``; ("", "") when they cannot be
        made. ``page``: what signs the response's forms for ``binding``, made once a page (see
        ``tokens.PageSigning``)."""
        paths = form.paths
        path: str | tuple[str, ...] = paths[0] if len(paths) == 1 else paths
        if page is None or page.user != binding:
            page = self.signer.page(binding)
        one = page.form(path)
        callbacks = (*form.callbacks, *page_callbacks) if page_callbacks else form.callbacks
        choices = form.choices
        family = form.family
        encoding = form.encoding
        if family is not None:
            # A grid's rows, read as one family: written as one run, without a string a row
            # (a few dozen bytes, where written out they would take KB); else as the pairs.
            data = validation.encode_family(family, callbacks, digest=self._event_digest,
                                            choices=choices)
            if data is not None:
                _with_encoding(data, encoding)
                try:
                    return (one.sign(Purpose.VIEWSTATE, state),
                            one.sign(Purpose.EVENT_VALIDATION, data))
                except ValueError:
                    pass  # over max_state_size (its choices): the ways below
        pairs, rows = form.compact_pairs
        if rows:  # a grid's commands: compact, without a string a command (never written out)
            event_validation = self._compact_validation(one, path, pairs, callbacks, choices,
                                                        None, encoding, rows=rows)
            if event_validation is None:
                return "", ""
            return one.sign(Purpose.VIEWSTATE, state), event_validation
        # (Most forms: a few pairs, written out as they are. A form whose pairs alone, in
        # base64, are over the size is not signed that way first only to be thrown away.)
        token = None
        if _may_fit_written_out(pairs):
            token = _written_out(one, pairs, callbacks, choices, encoding)
            if token and len(token) <= SMALL_VALIDATION_TOKEN:
                return one.sign(Purpose.VIEWSTATE, state), token
        event_validation = self._compact_validation(one, path, pairs, callbacks, choices, token,
                                                    encoding)
        if event_validation is None:
            return "", ""
        return one.sign(Purpose.VIEWSTATE, state), event_validation

    def _compact_validation(
        self, one: FormSigning, path: str | tuple[str, ...], pairs: dict[str, list[str]],
        callbacks: Sequence[str], choices: dict[str, list[str]], token: str | None,
        encoding: str | None, rows: validation.Rows | None = None,
    ) -> str | None:
        """The event validation token of a form whose pairs written out (``token``: signed so,
        "" when over max_state_size, None when not tried) make one over SMALL_VALIDATION_TOKEN:
        compact (runs, digests for long values), else all digests, else written out if that
        fits, else none (the form degrades). Signed by ``one``, the form's signer; the data
        names ``encoding`` (see :func:`_with_encoding`)."""
        # It fits, but a compact one saves bytes on every postback; or it does not fit.
        for all_digests in (False, True):
            data = _with_encoding(validation.encode(
                pairs, callbacks, digest=self._event_digest, all_digests=all_digests,
                choices=choices, rows=rows), encoding)
            if self._keeps_validation and (all_digests or len(encode_json(data, plain=True))
                                           > SMALL_VALIDATION_TOKEN * 3 // 4):
                # Large even compact (or too large): kept in the store, its key in the page.
                kept = self._kept_validation(data, one)
                if kept:
                    return kept
            try:
                return one.sign(Purpose.EVENT_VALIDATION, data)
            except ValueError:
                continue  # over max_state_size
        if rows:  # (the last resort writes every pair out)
            pairs = validation.with_rows(pairs, rows)
        if token is None:
            token = _written_out(one, pairs, callbacks, choices, encoding)
        if token:
            return token  # (written out, it fits, where the compact forms do not)
        log.warning(
            "a form posting to %r offers %d events, more than fit max_state_size even as "
            "digests; it gets no tokens, so its postbacks are refused",
            path, sum(map(len, pairs.values())),
        )
        return None

    def _kept_validation(self, data: Any, one: FormSigning) -> str:
        """An event validation kept in the store: its token carries the key ("" when it does
        not fit max_state_size there either)."""
        assert self.server_state is not None  # (_keeps_validation says so)
        try:
            key = self.server_state.keep(encode_json(data, plain=True), kind=EVENT_VALIDATION)
        except InvalidArgument:
            return ""
        return one.sign(Purpose.EVENT_VALIDATION, key)

    def refresh(self, callback: Callback, *, path: str) -> str:
        """A fresh event validation for the page a callback came from (same offer, new age;
        signed by the key that signed it, whose event digests it may hold): its verified
        claims signed anew where they allow it (``TokenSigner.sign_again``: the same token
        as signed below, its data's JSON not written again)."""
        if callback.kept_as is None and callback.validation is not None:
            token = self.signer.sign_again(Purpose.EVENT_VALIDATION, callback.validation)
            if token is not None:
                return token
        data = callback.offered.data if callback.kept_as is None else self._kept_again(callback)
        return self.signer.sign(Purpose.EVENT_VALIDATION, data,
                                path=callback.bound_to or path, user=callback.binding,
                                form_id=callback.form_id, key_index=callback.key_index)

    def _kept_again(self, callback: Callback) -> str:
        """The key of a callback's event validation kept in the store, kept again so that it
        lives as long as the fresh token (callbacks may keep a page going past any lifetime);
        the old key when the store cannot (the callback ran: its answer is sent all the
        same)."""
        assert self.server_state is not None and callback.kept_as is not None  # (loaded there)
        try:
            return self.server_state.keep(encode_json(callback.offered.data, plain=True),
                                          kind=EVENT_VALIDATION)
        except (StoreUnavailable, InvalidArgument) as error:
            log.error("server_viewstate: could not keep a callback's event validation again "
                      "(%s); it lives on until its first time is up", error)
            return callback.kept_as

    def renew(self, values: dict[str, str], *, path: str, binding: str, window: int
              ) -> Renewal:
        """Fresh tokens for a form left open past ``max_age``: the same view state and offer,
        signed anew. Only for the browser or user they were issued to (checked), at the path
        they were issued for, and at most ``window`` seconds after they were issued; a pair
        that does not verify as one form's is refused as a postback would be.
        """
        signer = self.signer
        if page_tokens.names_page_token(values.get(f.EVENTVALIDATION, "")):
            return self._renew_page_form(values, path=path, binding=binding, window=window)
        validation_claims, viewstate = self._pair(values, path=path, binding=binding,
                                                  max_age=window)
        assert viewstate is not None  # (required here)
        # The window counts from the form's first tokens, not from the latest renewal: a form
        # may be kept alive past max_age, never past renewal_window.
        first = min(viewstate.first_issued, validation_claims.first_issued)
        if signer.now() - first > window:
            raise TokenExpired(f"the form's first tokens are older than renewal_window "
                               f"({window}s)")
        form_id, key_index = signer.new_form_id(), validation_claims.key_index
        bound_to = validation_claims.path or path  # (all the paths the form posts to)
        # (Signed by the key that signed them: see TokenSigner.sign.)
        fresh = {
            name: signer.sign(purpose, data, path=bound_to, user=binding, form_id=form_id,
                              key_index=key_index, first_issued=first)
            for name, purpose, data in (
                (f.VIEWSTATE, Purpose.VIEWSTATE, viewstate.data),
                (f.EVENTVALIDATION, Purpose.EVENT_VALIDATION, validation_claims.data),
            )
        }
        return Renewal(fields=fresh, form_id=validation_claims.form_id,
                       issued_at=validation_claims.issued_at, first_issued=first,
                       signature=values[f.EVENTVALIDATION].rpartition(".")[2])

    def _renew_page_form(self, values: dict[str, str], *, path: str, binding: str,
                         window: int) -> Renewal:
        """:meth:`renew` of a form that shares a page token: a page token that describes
        that form alone (renewing one form must not give the page's other forms, some
        maybe spent by ``single_use``, fresh tokens)."""
        signer = self.signer
        page, index = self._page_form(values, path=path, binding=binding, max_age=window)
        if signer.now() - page.first_issued > window:
            raise TokenExpired(f"the form's first tokens are older than renewal_window "
                               f"({window}s)")
        token = signer.sign_page([[page.path, page.data]], page.state, user=binding,
                                 page_id=signer.new_form_id(), key_index=page.key_index,
                                 first_issued=page.first_issued, encoding=page.encoding)
        fresh = {f.VIEWSTATE: token,
                 f.EVENTVALIDATION: page_tokens.event_validation(0, token.rpartition(".")[2])}
        return Renewal(fields=fresh, form_id=f"{page.page_id}.{index}",
                       issued_at=page.issued_at, first_issued=page.first_issued,
                       signature=values[f.EVENTVALIDATION])

    # -- checking -----------------------------------------------------------------------------

    def _page_form(self, values: dict[str, str], *, path: str, binding: str,
                   max_age: int | None = None) -> tuple[PageClaims, int]:
        """The page token of a request whose ``__EVENTVALIDATION`` names one (see
        ``page_tokens``), verified with the form it names, and that form's index."""
        index, signature, tag = page_tokens.read_event_validation(values[f.EVENTVALIDATION])
        token = values.get(f.VIEWSTATE, "")
        if token and token.rpartition(".")[2] != signature:
            raise TokenError("__VIEWSTATE and __EVENTVALIDATION come from different pages")
        page = self.signer.verify_page(
            token, index=index, tag=tag, form=functools.partial(page_tokens.form_at, index=index),
            path=path, user=binding, max_age=max_age)
        return page, index

    def _verify_page_form(self, values: dict[str, str], *, path: str, binding: str,
                          later: Sequence[tuple[str, bytes]] | None) -> Postback:
        """:meth:`verify` of a postback whose form shares a page token."""
        if f.CALLBACKID in values:  # (such a form offers none: see page_tokens)
            raise Forbidden("a callback sent the tokens of a form that offers no callbacks")
        page, index = self._page_form(values, path=path, binding=binding)
        encoding = "utf-8"
        if later is not None:  # (the token verified: the form's own text, in its encoding)
            encoding = page.encoding or encoding
            values = {**values, **decode_reserved(later, encoding)}
        state = page.state
        if isinstance(state, str):  # the key of a state kept on the server
            state = self._load(state, VIEWSTATE)
        if not isinstance(state, dict):
            raise TokenError("__VIEWSTATE payload is not an object")
        offered = Offered(page.data,
                          digest=functools.partial(self.signer.event_digest, page.key_index))
        return Postback(
            event=_event(values, offered), client_fields=_client_fields(values),
            viewstate=state, form_id=f"{page.page_id}.{index}", offered=offered,
            binding=binding, key_index=page.key_index, bound_to=path,
            issued_at=page.issued_at, first_issued=page.first_issued,
            signature=values[f.EVENTVALIDATION], encoding=encoding)

    def _pair(self, values: dict[str, str], *, path: str, binding: str,
              max_age: int | None = None, viewstate_optional: bool = False,
              ) -> tuple[Claims, Claims | None]:
        """Both tokens of a request, verified as one form's: the event validation, then the view
        state (unless it may be left out and is), issued together to ``binding`` for ``path``."""
        signer = self.signer
        validation_claims = signer.verify(Purpose.EVENT_VALIDATION,
                                          values.get(f.EVENTVALIDATION, ""), path=path,
                                          user=binding, max_age=max_age)
        if viewstate_optional:
            return validation_claims, None
        viewstate = signer.verify(Purpose.VIEWSTATE, values.get(f.VIEWSTATE, ""), path=path,
                                  user=binding, max_age=max_age)
        if viewstate.form_id != validation_claims.form_id:
            raise TokenError("__VIEWSTATE and __EVENTVALIDATION come from different forms")
        return validation_claims, viewstate

    def verify(self, values: dict[str, str], *, path: str, binding: str,
               later: Sequence[tuple[str, bytes]] | None = None) -> Postback | Callback:
        """Verify the tokens and the event or callback of a request that carried reserved
        fields (``decode_reserved``'s values; :func:`split_reserved`'s, with ``later``: the
        fields read in the form's encoding once its tokens are verified).

        ``binding`` is who the request comes from (a browser or user, see ``csrf``): both
        tokens must have been issued to it.
        """
        callback_id = values.get(f.CALLBACKID)
        if callback_id is None and f.CALLBACKPARAM in values:
            raise BadRequest("__CALLBACKPARAM without __CALLBACKID")
        if page_tokens.names_page_token(values.get(f.EVENTVALIDATION, "")):
            return self._verify_page_form(values, path=path, binding=binding, later=later)

        # A callback may come without view state (scripts that build their own request); a
        # postback may not, and whatever view state is sent must verify.
        validation_claims, viewstate = self._pair(
            values, path=path, binding=binding,
            viewstate_optional=callback_id is not None and f.VIEWSTATE not in values)
        state = {} if viewstate is None else viewstate.data
        if isinstance(state, str):  # the key of a state kept on the server
            state = self._load(state, VIEWSTATE)
        offered_data, kept_as = validation_claims.data, None
        if isinstance(offered_data, str):  # the key of an event validation kept there
            offered_data, kept_as = self._load(offered_data, EVENT_VALIDATION), offered_data
        offered = Offered(
            offered_data,
            digest=functools.partial(self.signer.event_digest, validation_claims.key_index),
        )
        if not isinstance(state, dict):
            raise TokenError("__VIEWSTATE payload is not an object")
        encoding = "utf-8"
        if later is not None:  # (the tokens verified: the form's own text, in its encoding)
            encoding = offered.encoding
            values = {**values, **decode_reserved(later, encoding)}
        # Checked for a callback too: whatever a request sends must be what the form offered.
        event = _event(values, offered)
        client_fields = _client_fields(values)
        form_id, key_index, bound_to, issued_at, first_issued = (
            validation_claims.form_id, validation_claims.key_index, validation_claims.path,
            validation_claims.issued_at, validation_claims.first_issued)
        signature = values[f.EVENTVALIDATION].rpartition(".")[2]
        # (the same fields either way, each written out: no dict of them made and unpacked)
        if callback_id is not None:
            return Callback(
                name=callback_id, argument=values.get(f.CALLBACKPARAM, ""), viewstate=state,
                form_id=form_id, offered=offered, binding=binding, key_index=key_index,
                bound_to=bound_to, issued_at=issued_at, first_issued=first_issued,
                signature=signature, kept_as=kept_as, validation=validation_claims,
                encoding=encoding)
        return Postback(
            event=event, client_fields=client_fields, viewstate=state, form_id=form_id,
            offered=offered, binding=binding, key_index=key_index, bound_to=bound_to,
            issued_at=issued_at, first_issued=first_issued, signature=signature,
            kept_as=kept_as, encoding=encoding)


    def _load(self, key: str, kind: str) -> Any:
        """What a verified token names in the store (see ``server_state``)."""
        if self.server_state is None:
            raise TokenError(f"a token names a {kind} kept in a store, and no store is "
                             "configured")
        return self.server_state.load(key, kind=kind)


def decode_reserved(found: Sequence[tuple[str, bytes]], encoding: str = "utf-8"
                    ) -> dict[str, str]:
    """Decode reserved fields (strictly: a value that is not valid ``encoding`` is a 400); a
    field sent twice must carry the same value both times."""
    values: dict[str, str] = {}
    for name, raw in found:
        try:
            value = raw.decode(encoding)
        except UnicodeDecodeError:
            what = "UTF-8" if encoding == "utf-8" else encoding
            raise BadRequest(f"{name} is not valid {what}") from None
        if name in values and values[name] != value:
            raise BadRequest(f"{name} sent twice with different values")
        values[name] = value
    return values


# The reserved fields whose text a browser's own submission of a form encodes in the form's
# encoding, and that nothing reads before its tokens are verified: the event and the focus.
# (The others are ASCII, or sent by script: the tokens, the scroll position, a callback's.)
IN_FORM_ENCODING = frozenset({f.EVENTTARGET, f.EVENTARGUMENT, f.LASTFOCUS})


def split_reserved(found: Sequence[tuple[str, bytes]], *, utf8: bool
                   ) -> tuple[dict[str, str], list[tuple[str, bytes]] | None]:
    """The reserved fields of a request: those read now (:func:`decode_reserved`), and those
    left for :meth:`FormTokens.verify` to read in the form's encoding once its tokens are
    verified (None: none are, the request is read as UTF-8 throughout). ``utf8``: the
    request's ``Content-Type`` names its charset (UTF-8, the only one accepted: the client
    script's requests, WebForms' and Microsoft's clients'), or htmx sent it (UTF-8,
    always). A callback is read as UTF-8 too: ``WebForm_DoCallback`` sends UTF-8
    (``encodeURIComponent``), and its handler reads the form's fields as WebOb does, UTF-8
    unless told otherwise."""
    if utf8 or any(name == f.CALLBACKID for name, _ in found):
        return decode_reserved(found), None
    now = [(name, raw) for name, raw in found if name not in IN_FORM_ENCODING]
    later = [(name, raw) for name, raw in found if name in IN_FORM_ENCODING]
    return decode_reserved(now), later


def _event(values: dict[str, str], offered: Offered) -> Event | None:
    target = values.get(f.EVENTTARGET, "")
    argument = values.get(f.EVENTARGUMENT, "")
    if not target:
        if argument:
            raise Forbidden("__EVENTARGUMENT without __EVENTTARGET", kind=Reason.MALFORMED)
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
