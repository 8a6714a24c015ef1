"""A form's tokens: judging reserved fields (shape, tokens, events, callbacks)."""

from __future__ import annotations

from typing import Any

import pytest

from postback_middleware.errors import (
    BadRequest,
    Forbidden,
    TokenError,
    TokenExpired,
    WrongBinding,
)
from postback_middleware.form_tokens import (
    Callback,
    Event,
    FormTokens,
    Postback,
    decode_reserved,
)
from postback_middleware.inject import PostForm
from postback_middleware.tokens import FormSigning, Purpose, TokenSigner

from .helpers import new_key

SIGNER = TokenSigner([new_key().encode()], max_age=3600, max_size=10_000)
PAIRS = {"e": {"delete": ["7"], "sort": [""]}}  # validation.encode's "written out" pairs
BROWSER = "browser:B"


def form(form_id: str = "F", state: object = None, pairs: object = None) -> dict[str, str]:
    sign = SIGNER.sign
    return {
        "__VIEWSTATE": sign(Purpose.VIEWSTATE, {"a": 1} if state is None else state,
                            path="/p", user=BROWSER, form_id=form_id),
        "__EVENTVALIDATION": sign(Purpose.EVENT_VALIDATION, PAIRS if pairs is None else pairs,
                                  path="/p", user=BROWSER, form_id=form_id),
    }


def verify(values: dict[str, str]):  # type: ignore[no-untyped-def]
    return FormTokens(SIGNER).verify(values, path="/p", binding=BROWSER)


def test_decode_reserved() -> None:
    assert decode_reserved([("__EVENTTARGET", "é".encode()), ("__EVENTTARGET", "é".encode())]) == {
        "__EVENTTARGET": "é"}
    with pytest.raises(BadRequest, match="UTF-8"):
        decode_reserved([("__EVENTTARGET", b"\xff")])
    with pytest.raises(BadRequest, match="twice"):
        decode_reserved([("__EVENTTARGET", b"a"), ("__EVENTTARGET", b"b")])


def test_verified_postback() -> None:
    postback = verify({**form(), "__EVENTTARGET": "delete", "__EVENTARGUMENT": "7"})
    assert postback.event is not None and postback.event.argument == "7"
    assert postback.viewstate == {"a": 1}
    assert postback.offered.data == PAIRS
    assert postback.binding == BROWSER


def test_non_ascii_focus_is_an_element_id() -> None:
    postback = verify({**form(), "__LASTFOCUS": "größe"})
    assert postback.client_fields["__LASTFOCUS"] == "größe"


def test_tokens_of_another_browser_are_refused() -> None:
    with pytest.raises(TokenError, match="another user or browser"):
        FormTokens(SIGNER).verify(form(), path="/p", binding="browser:C")


@pytest.mark.parametrize(
    ("values", "error"),
    [
        pytest.param({**form(), "__EVENTTARGET": "delete", "__EVENTARGUMENT": "8"}, Forbidden,
                     id="unregistered-argument"),
        pytest.param({**form(), "__EVENTARGUMENT": "7"}, Forbidden, id="argument-without-target"),
        pytest.param({"__VIEWSTATE": form("A")["__VIEWSTATE"],
                      "__EVENTVALIDATION": form("B")["__EVENTVALIDATION"]}, TokenError,
                     id="tokens-of-two-forms"),
        pytest.param({"__VIEWSTATE": form()["__VIEWSTATE"]}, TokenError, id="no-validation"),
        pytest.param({"__EVENTVALIDATION": form()["__EVENTVALIDATION"]}, TokenError,
                     id="postback-without-viewstate"),
        pytest.param({**form(), "__CALLBACKPARAM": "x"}, BadRequest, id="param-without-id"),
        pytest.param(form(state=[1]), TokenError, id="viewstate-not-object"),
        pytest.param(form(pairs=[["delete", "7"]]), TokenError, id="pairs-not-a-map"),
        pytest.param(form(pairs={"delete": ["7"]}), TokenError, id="old-format-pairs"),
        pytest.param(form(pairs={"e": {"delete": "7"}}), TokenError, id="arguments-not-a-list"),
        pytest.param(form(pairs={"e": {"delete": [7]}}), TokenError, id="argument-not-a-string"),
        pytest.param(form(pairs={"r": {"delete": {"Row$": [1]}}}), TokenError,
                     id="run-without-count"),
        pytest.param(form(pairs={"h": "AAAA"}), TokenError, id="digests-not-whole"),
        pytest.param(form(pairs={"c": "CallServer"}), TokenError, id="callbacks-not-a-list"),
        pytest.param({**form(), "__SCROLLPOSITIONY": "1e3"}, BadRequest, id="scroll-not-int"),
        pytest.param({**form(), "__LASTFOCUS": "x" * 300}, BadRequest, id="focus-too-long"),
        pytest.param({**form(), "__LASTFOCUS": "a b"}, BadRequest, id="focus-with-space"),
        pytest.param({**form(), "__LASTFOCUS": "a\nb"}, BadRequest, id="focus-with-newline"),
    ],
)
def test_refusals(values: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        verify(values)


def test_callback_may_come_without_viewstate() -> None:
    values = {"__EVENTVALIDATION": form()["__EVENTVALIDATION"], "__CALLBACKID": "CallServer",
              "__CALLBACKPARAM": "1"}
    callback = verify(values)  # its own type, not a postback without an event
    assert isinstance(callback, Callback) and callback.argument == "1"
    assert callback.name == "CallServer" and callback.viewstate == {}


def test_issued_tokens_come_back_verified() -> None:
    """Issuing and checking side by side: what ``issue`` signs, ``verify`` accepts, and only
    for the events and callbacks the form offered."""
    tokens = FormTokens(SIGNER)
    form = PostForm(0, "/p", callbacks=("CallServer",))
    form.add_pairs({"delete": ["7", "8"]})
    viewstate, event_validation = tokens.issue(form, {"n": 2}, BROWSER)
    sent = {"__VIEWSTATE": viewstate, "__EVENTVALIDATION": event_validation}
    postback = verify({**sent, "__EVENTTARGET": "delete", "__EVENTARGUMENT": "8"})
    assert postback.event == Event("delete", "8") and postback.viewstate == {"n": 2}
    with pytest.raises(Forbidden):
        verify({**sent, "__EVENTTARGET": "delete", "__EVENTARGUMENT": "9"})
    callback = verify({**sent, "__CALLBACKID": "CallServer", "__CALLBACKPARAM": "x"})
    assert isinstance(callback, Callback) and callback.offered.allows_callback("CallServer")
    assert not callback.offered.allows_callback("Other")
    # A callback's answer carries a fresh event validation: same form, same offer.
    fresh = tokens.refresh(callback, path="/p")
    again = verify({"__VIEWSTATE": viewstate, "__EVENTVALIDATION": fresh,
                    "__EVENTTARGET": "delete", "__EVENTARGUMENT": "7"})
    assert again.event == Event("delete", "7")


@pytest.mark.parametrize(
    ("pairs", "signed"),
    [
        pytest.param({"delete": ["7", "8"]}, 1, id="few-short-pairs-written-out"),
        pytest.param({"card": [f"{n}:" + "q" * 600 for n in range(8)]}, 1,
                     id="few-long-pairs-straight-to-compact"),
        pytest.param({"card": [f"{n}:" + "q" * 63 for n in range(10, 54)]}, 2,
                     id="near-the-size-tried-written-out-first"),
    ],
)
def test_an_event_validation_is_signed_once_where_it_cannot_fit_written_out(
    monkeypatch: pytest.MonkeyPatch, pairs: dict[str, list[str]], signed: int
) -> None:
    """A form whose pairs alone are over the small token's size is not signed written out
    only to be thrown away; it still verifies for every pair it offers."""
    signer = TokenSigner([new_key().encode()], max_age=3600, max_size=100_000)
    tokens, calls = FormTokens(signer), []
    sign = FormSigning.sign  # (what signs an issued form's tokens)

    def counting(self: FormSigning, purpose: Purpose, *args: Any, **kwargs: Any) -> str:
        calls.append(purpose)
        return sign(self, purpose, *args, **kwargs)

    monkeypatch.setattr(FormSigning, "sign", counting)
    form = PostForm(0, "/p")
    form.add_pairs(pairs)
    viewstate, event_validation = tokens.issue(form, {}, BROWSER)
    assert calls.count(Purpose.EVENT_VALIDATION) == signed
    for target, arguments in pairs.items():
        for argument in arguments:
            assert tokens.verify({"__VIEWSTATE": viewstate, "__EVENTVALIDATION": event_validation,
                                  "__EVENTTARGET": target, "__EVENTARGUMENT": argument},
                                 path="/p", binding=BROWSER).event == Event(target, argument)


def test_a_form_whose_offer_cannot_fit_gets_no_tokens(caplog: pytest.LogCaptureFixture) -> None:
    small = FormTokens(TokenSigner([new_key().encode()], max_age=3600, max_size=300))
    form = PostForm(0, "/p")
    form.add_pairs({f"t{n}": [f"argument-{n}-{m}" for m in range(50)] for n in range(200)})
    assert small.issue(form, {}, BROWSER) == ("", "")
    assert "gets no tokens" in caplog.text


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def issued_with_clock(max_age: int = 60) -> tuple[FormTokens, Clock, dict[str, str]]:
    clock = Clock()
    tokens = FormTokens(TokenSigner([new_key().encode()], max_age=max_age, max_size=10_000,
                                    clock=clock))
    form = PostForm(0, "/p", callbacks=("CallServer",))
    form.add_pairs({"delete": ["7"]})
    viewstate, event_validation = tokens.issue(form, {"n": 2}, BROWSER)
    return tokens, clock, {"__VIEWSTATE": viewstate, "__EVENTVALIDATION": event_validation}


def test_a_form_left_open_is_renewed_with_the_same_state_and_offer() -> None:
    tokens, clock, old = issued_with_clock()
    clock.now += 3600  # an hour: expired
    with pytest.raises(TokenExpired):
        tokens.verify({**old, "__EVENTTARGET": "delete", "__EVENTARGUMENT": "7"}, path="/p",
                      binding=BROWSER)
    fresh = tokens.renew(old, path="/p", binding=BROWSER, window=7 * 24 * 3600).fields
    postback = tokens.verify({**fresh, "__EVENTTARGET": "delete", "__EVENTARGUMENT": "7"},
                             path="/p", binding=BROWSER)
    assert isinstance(postback, Postback) and postback.viewstate == {"n": 2}
    assert postback.offered.allows_callback("CallServer")
    assert not postback.offered.allows_event("delete", "8")


@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        pytest.param(lambda t: {"path": "/other"}, TokenError, id="another-path"),
        pytest.param(lambda t: {"binding": "browser:C"}, WrongBinding, id="another-browser"),
        pytest.param(lambda t: {"window": 1800}, TokenExpired, id="past-the-window"),
        pytest.param(lambda t: {"values": {**t, "__VIEWSTATE": issued_with_clock()[2][
            "__VIEWSTATE"]}}, TokenError, id="tokens-of-two-forms"),
        pytest.param(lambda t: {"values": {"__VIEWSTATE": t["__VIEWSTATE"]}}, TokenError,
                     id="no-event-validation"),
    ],
)
def test_renewal_is_refused_as_a_postback_would_be(spoil: Any, error: type[Exception]) -> None:
    tokens, clock, old = issued_with_clock()
    clock.now += 3600
    arguments: dict[str, Any] = {"values": old, "path": "/p", "binding": BROWSER,
                                 "window": 7 * 24 * 3600, **spoil(old)}
    values = arguments.pop("values")
    with pytest.raises(error):
        tokens.renew(values, **arguments)


def test_renewals_never_outlive_renewal_window() -> None:
    """The window counts from the form's first tokens: renewing every few days does not keep
    a form (nor a copy of its tokens) alive for ever."""
    tokens, clock, old = issued_with_clock()
    window = 7 * 24 * 3600
    clock.now += 6 * 24 * 3600
    renewed = tokens.renew(old, path="/p", binding=BROWSER, window=window).fields  # day 6
    clock.now += 2 * 24 * 3600
    with pytest.raises(TokenExpired, match="renewal_window"):
        tokens.renew(renewed, path="/p", binding=BROWSER, window=window)  # day 8: no more


def test_renewed_and_refreshed_tokens_keep_the_key_that_signed_them() -> None:
    """After a key rotation, an old key's tokens renewed are still the old key's: removing
    that key ends them; and a large form's event digests (keyed likewise) still match."""
    old_key, new_key_ = new_key().encode(), new_key().encode()
    clock = Clock()
    before = FormTokens(TokenSigner([old_key], max_age=60, max_size=1000, clock=clock))
    form = PostForm(0, "/p", callbacks=("CallServer",))
    form.add_pairs({f"Row${n}": ["Delete"] for n in range(200)})  # digests: too many to list
    issued = dict(zip(("__VIEWSTATE", "__EVENTVALIDATION"),
                      before.issue(form, {}, BROWSER), strict=True))
    rotated = FormTokens(TokenSigner([new_key_, old_key], max_age=60, max_size=1000,
                                     clock=clock))
    clock.now += 3600
    renewed = rotated.renew(issued, path="/p", binding=BROWSER, window=7 * 24 * 3600).fields
    event = {"__EVENTTARGET": "Row$150", "__EVENTARGUMENT": "Delete"}
    assert rotated.verify({**renewed, **event}, path="/p", binding=BROWSER).viewstate == {}
    callback = rotated.verify({**renewed, "__CALLBACKID": "CallServer"}, path="/p",
                              binding=BROWSER)
    assert isinstance(callback, Callback)
    refreshed = {**renewed, "__EVENTVALIDATION": rotated.refresh(callback, path="/p")}
    assert rotated.verify({**refreshed, **event}, path="/p", binding=BROWSER)
    retired = FormTokens(TokenSigner([new_key_], max_age=60, max_size=1000, clock=clock))
    with pytest.raises(TokenError):
        retired.verify({**renewed, **event}, path="/p", binding=BROWSER)
