"""A form's tokens: judging reserved fields (shape, tokens, events, callbacks)."""

from __future__ import annotations

import base64
import json
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
    split_reserved,
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


# -- forms that share a page token (see page_tokens) -------------------------------------------


def no_page_callbacks(path: str) -> tuple[str, ...]:
    return ()


def delete_rows(count: int = 5, first: int = 1) -> list[PostForm]:
    """An admin list's forms: a delete form a row, each posting to its row's path."""
    return [PostForm(0, f"/admin/users/{n}/delete/", settled=True)
            for n in range(first, first + count)]


def vote_rows(count: int = 5) -> list[PostForm]:
    forms = []
    for n in range(1, count + 1):
        form = PostForm(0, f"/answers/{n}/vote", settled=True)
        form.add_pairs({"vote": [f"up:{n}", f"down:{n}"]})
        forms.append(form)
    return forms


def flip(text: str) -> str:
    """``text`` with its last character changed (a signature tampered with)."""
    return text[:-1] + ("B" if text.endswith("A") else "A")


def sent(fields: tuple[str, str], **more: str) -> dict[str, str]:
    return {"__VIEWSTATE": fields[0], "__EVENTVALIDATION": fields[1], **more}


def test_plain_forms_share_one_page_token() -> None:
    tokens = FormTokens(SIGNER)
    issued = tokens.issue_forms(delete_rows(), {"n": 2}, BROWSER, no_page_callbacks)
    assert len({viewstate for viewstate, _ in issued}) == 1  # one token for the five
    signature = issued[0][0].rpartition(".")[2]
    assert [validation for _, validation in issued] == [f"{i}.{signature}" for i in range(5)]
    for n, fields in enumerate(issued, start=1):
        postback = tokens.verify(sent(fields), path=f"/admin/users/{n}/delete/",
                                 binding=BROWSER)
        assert isinstance(postback, Postback) and postback.viewstate == {"n": 2}
        assert postback.event is None and postback.bound_to == f"/admin/users/{n}/delete/"
    # Each form is a form of its own: single_use spends each apart.
    ids = {tokens.verify(sent(fields), path=f"/admin/users/{n}/delete/",
                         binding=BROWSER).form_id for n, fields in enumerate(issued, start=1)}
    assert len(ids) == 5


def claims_of(token: str) -> dict[str, Any]:
    """A token's claims, read without checking it (its payload: base64url JSON)."""
    payload = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_bare_forms_signed_in_bulk_get_the_page_token_each_would() -> None:
    """issue_bare (a whole page's bare forms: paths and pairs) gives the page token that
    issue_forms gives the same forms as PostForms, and each index verifies as its form."""
    tokens = FormTokens(SIGNER)
    forms = vote_rows()
    token, signature, tags = tokens.issue_bare(
        [(form.action_path, form.pairs) for form in forms], {"n": 2}, BROWSER, ())
    assert tags is None  # (unkeyed unless asked)
    (one_by_one,) = {viewstate for viewstate, _ in tokens.issue_forms(
        forms, {"n": 2}, BROWSER, no_page_callbacks)}
    assert signature == token.rpartition(".")[2]
    assert claims_of(token)["F"] == claims_of(one_by_one)["F"]
    for n in range(1, 6):
        fields = sent((token, f"{n - 1}.{signature}"), __EVENTTARGET="vote",
                      __EVENTARGUMENT=f"down:{n}")
        postback = tokens.verify(fields, path=f"/answers/{n}/vote", binding=BROWSER)
        assert postback.event == Event("vote", f"down:{n}") and postback.viewstate == {"n": 2}


@pytest.mark.parametrize("forms", [
    pytest.param([("/a/1", {})], id="one-form"),
    pytest.param([("/a/1", {}), ("/a/2", {}), ("/a/3", {"t": ["x" * 300]})],
                 id="events-too-long-to-write-out"),
    pytest.param([(f"/items/{new_key()[:20]}/delete", {}) for _ in range(40)],
                 id="description-over-its-size"),
    pytest.param([("/a/1", {}), ("/page-with-callbacks", {})], id="a-path-with-callbacks"),
])
def test_bare_forms_that_cannot_share_a_token_are_left_to_issue_forms(
        forms: list[tuple[str, dict[str, list[str]]]]) -> None:
    assert FormTokens(SIGNER).issue_bare(forms, {}, BROWSER, {"/page-with-callbacks"}) is None


def test_a_page_forms_index_names_only_that_form_and_its_events() -> None:
    """The index is not signed: another index is another form of the page, accepted only at
    that form's path with that form's events."""
    tokens = FormTokens(SIGNER)
    issued = tokens.issue_forms(vote_rows(), {}, BROWSER, no_page_callbacks)
    third = sent(issued[2], __EVENTTARGET="vote", __EVENTARGUMENT="up:3")
    assert tokens.verify(third, path="/answers/3/vote", binding=BROWSER).event == Event(
        "vote", "up:3")
    with pytest.raises(TokenError, match="another path"):
        tokens.verify(third, path="/answers/4/vote", binding=BROWSER)  # row 3's tokens at row 4
    with pytest.raises(Forbidden, match="not registered"):  # row 4's event with row 3's form
        tokens.verify(sent(issued[2], __EVENTTARGET="vote", __EVENTARGUMENT="up:4"),
                      path="/answers/3/vote", binding=BROWSER)
    with pytest.raises(TokenError, match="another path"):  # an index swapped by hand
        tokens.verify(sent((issued[2][0], issued[3][1]), __EVENTTARGET="vote",
                           __EVENTARGUMENT="up:3"), path="/answers/3/vote", binding=BROWSER)
    with pytest.raises(TokenError, match="no such form"):
        tokens.verify(sent((issued[0][0], "5." + issued[0][1].partition(".")[2])),
                      path="/answers/6/vote", binding=BROWSER)


@pytest.mark.parametrize(
    ("spoil", "error", "reason"),
    [
        pytest.param(lambda own, other: sent((own[0], other[1])), TokenError, "different pages",
                     id="validation-of-another-page"),
        pytest.param(lambda own, other: sent((other[0], own[1])), TokenError, "different pages",
                     id="view-state-of-another-page"),
        pytest.param(lambda own, other: {"__EVENTVALIDATION": own[1]}, TokenError, "missing",
                     id="no-view-state"),
        pytest.param(lambda own, other: sent(own, __CALLBACKID="CallServer"), Forbidden,
                     "no callbacks", id="a-callback"),
        pytest.param(lambda own, other: sent((own[0], "0" + own[1])), TokenError,
                     "not a page token", id="index-spelled-otherwise"),
        pytest.param(lambda own, other: sent((flip(own[0]), flip(own[1]))), TokenError,
                     "signature", id="tampered"),
    ],
)
def test_page_forms_tokens_are_refused_as_any_forms_would_be(
    spoil: Any, error: type[Exception], reason: str
) -> None:
    tokens = FormTokens(SIGNER)
    own = tokens.issue_forms(delete_rows(), {}, BROWSER, no_page_callbacks)[0]
    other = tokens.issue_forms(delete_rows(), {}, BROWSER, no_page_callbacks)[0]
    with pytest.raises(error, match=reason):
        tokens.verify(spoil(own, other), path="/admin/users/1/delete/", binding=BROWSER)
    with pytest.raises(WrongBinding):
        tokens.verify(sent(own), path="/admin/users/1/delete/", binding="browser:C")


def test_forms_whose_fields_could_leave_share_a_token_with_keyed_indices() -> None:
    """A streamed piece's forms (a later <base href> could send them elsewhere): one page
    token, each form's index with a tag of its own, so one form's fields, wherever they go,
    never name another form."""
    tokens = FormTokens(SIGNER)
    forms = delete_rows()
    forms[2].settled = False  # (one is enough to key the piece's indices)
    issued = tokens.issue_forms(forms, {}, BROWSER, no_page_callbacks)
    assert len({viewstate for viewstate, _ in issued}) == 1
    for n, fields in enumerate(issued, start=1):
        index, _, tag = fields[1].split(".")
        assert index == str(n - 1) and len(tag) == 16
        assert tokens.verify(sent(fields), path=f"/admin/users/{n}/delete/", binding=BROWSER)
    viewstate, validation = issued[0]
    signature = viewstate.rpartition(".")[2]
    tag_of_row_1 = validation.rpartition(".")[2]
    for forged in (f"3.{signature}", f"3.{signature}.{tag_of_row_1}"):
        with pytest.raises(TokenError, match="index"):
            tokens.verify(sent((viewstate, forged)), path="/admin/users/4/delete/",
                          binding=BROWSER)


def _callbacks_form() -> PostForm:
    return PostForm(0, "/admin/users/9/delete/", callbacks=("CallServer",), settled=True)


def _grid_form(count: int = 40) -> PostForm:
    form = PostForm(0, "/admin/users/9/delete/", settled=True)
    form.add_pairs({"grid": [f"Delete${n}" for n in range(count)]})
    return form


def _many_events_form() -> PostForm:
    """(events over page_tokens.MAX_PAIR_CHARS, with no run: compact, they stay large)"""
    form = PostForm(0, "/admin/users/9/delete/", settled=True)
    form.add_pairs({"tag": [f"{word}-{word[::-1]}-{word.upper()}" for word in
                            ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
                             "hotel", "india", "juliett", "kilo", "lima", "mike", "november",
                             "oscar", "papa", "quebec", "romeo", "sierra", "tango")]})
    return form


def _two_paths_form() -> PostForm:
    form = PostForm(0, "/admin/users/9/delete/", settled=True)
    form.extra_paths.append("/admin/users/9/archive/")
    return form


def _webforms_form() -> PostForm:
    form = PostForm(0, "/admin/users/9/delete/", settled=True)
    form.took_over = True
    return form


def _form_with_an_id() -> PostForm:
    """(a form="ID" button later in a streamed page could send it elsewhere, after its
    fields left: they must name no other form)"""
    return PostForm(0, "/admin/users/9/delete/", id="delete-9", settled=True)


def test_a_grid_form_joins_the_page_token_with_its_events_compact() -> None:
    """A form whose events are a grid's rows (too many to write out) shares the page token:
    its entry holds them as one run, and only its own events are accepted for it."""
    tokens = FormTokens(SIGNER)
    issued = tokens.issue_forms([*delete_rows(2), _grid_form(400), *delete_rows(2, first=10)],
                                {}, BROWSER, no_page_callbacks)
    assert len({viewstate for viewstate, _ in issued}) == 1
    assert issued[2][1].startswith("2.")
    assert len(issued[2][0]) < 700  # (the grid as one run: a few dozen bytes of the token)
    grid = sent(issued[2], __EVENTTARGET="grid", __EVENTARGUMENT="Delete$399")
    assert tokens.verify(grid, path="/admin/users/9/delete/", binding=BROWSER).event == Event(
        "grid", "Delete$399")
    with pytest.raises(Forbidden, match="not registered"):
        tokens.verify({**grid, "__EVENTARGUMENT": "Delete$400"}, path="/admin/users/9/delete/",
                      binding=BROWSER)
    with pytest.raises(Forbidden, match="not registered"):  # (a plain form of the page)
        tokens.verify(sent(issued[1], __EVENTTARGET="grid", __EVENTARGUMENT="Delete$1"),
                      path="/admin/users/2/delete/", binding=BROWSER)


def test_grid_forms_over_the_description_size_keep_tokens_of_their_own() -> None:
    """Grids posting to unrelated paths make a description over its size: each form gets
    tokens of its own, signed from the data it was described with, as issue signs them."""
    tokens = FormTokens(SIGNER)
    grids = [_grid_form(400) for _ in range(8)]
    for n, grid in enumerate(grids):
        grid.action_path = f"/reports/{n}-{'x' * n}/grid"  # (no run: an entry each)
    issued = tokens.issue_forms(grids, {"n": 1}, BROWSER, no_page_callbacks)
    assert len({viewstate for viewstate, _ in issued}) == 8
    for grid, fields in zip(grids, issued, strict=True):
        own = tokens.issue(grid, {"n": 1}, BROWSER)
        assert SIGNER.verify(Purpose.EVENT_VALIDATION, fields[1], path=grid.action_path,
                             user=BROWSER).data == SIGNER.verify(
            Purpose.EVENT_VALIDATION, own[1], path=grid.action_path, user=BROWSER).data
        postback = tokens.verify(sent(fields, __EVENTTARGET="grid",
                                      __EVENTARGUMENT="Delete$7"),
                                 path=grid.action_path, binding=BROWSER)
        assert isinstance(postback, Postback) and postback.viewstate == {"n": 1}


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param(_form_with_an_id, id="has-an-id"),
        pytest.param(_callbacks_form, id="offers-callbacks"),
        pytest.param(_many_events_form, id="many-events-with-no-run"),
        pytest.param(_two_paths_form, id="posts-to-two-paths"),
        pytest.param(_webforms_form, id="aspnet-form"),
    ],
)
def test_forms_that_are_not_plain_keep_tokens_of_their_own(odd: Any) -> None:
    tokens = FormTokens(SIGNER)
    issued = tokens.issue_forms([*delete_rows(3), odd(), *delete_rows(2, first=10)], {},
                                BROWSER, no_page_callbacks)
    shared = {viewstate for viewstate, _ in issued[:3] + issued[4:]}
    assert len(shared) == 1 and issued[3][0] not in shared
    assert not issued[3][1][0].isdigit()  # (a token of its own: its payload's base64)
    values = sent(issued[3])
    assert tokens.verify(values, path="/admin/users/9/delete/", binding=BROWSER)
    # The plain forms after it keep their own index in the page token.
    assert tokens.verify(sent(issued[4]), path="/admin/users/10/delete/", binding=BROWSER)


def test_a_form_of_a_page_with_its_own_callbacks_keeps_tokens_of_its_own() -> None:
    tokens = FormTokens(SIGNER)

    def page_callbacks(path: str) -> tuple[str, ...]:
        return ("page:CallServer",) if path == "/admin/users/2/delete/" else ()

    issued = tokens.issue_forms(delete_rows(3), {}, BROWSER, page_callbacks)
    assert issued[0][0] == issued[2][0] != issued[1][0]


def test_one_plain_form_or_unrelated_paths_keep_tokens_of_their_own() -> None:
    tokens = FormTokens(SIGNER)
    alone = tokens.issue_forms(delete_rows(1), {}, BROWSER, no_page_callbacks)
    assert not alone[0][1][0].isdigit()
    unrelated = [PostForm(0, f"/items/{secret}/delete", settled=True) for secret in
                 (new_key()[:20] for _ in range(40))]
    issued = tokens.issue_forms(unrelated, {}, BROWSER, no_page_callbacks)
    assert len({viewstate for viewstate, _ in issued}) == 40  # (copies would cost more)


@pytest.mark.parametrize("count", [2, 4, 6, 8])
def test_a_page_forms_fields_take_about_what_its_own_tokens_would(count: int) -> None:
    """Each form carries the page token: the most it may describe keeps a form's fields
    within one and a half times its own tokens (unrelated paths: the worst case)."""
    tokens = FormTokens(SIGNER)
    forms = [PostForm(0, f"/items/{new_key()[:16]}/delete", settled=True)
             for _ in range(count)]
    issued = tokens.issue_forms(forms, {}, BROWSER, no_page_callbacks)
    own = [tokens.issue(form, {}, BROWSER) for form in forms]
    shared = issued[0][0] == issued[1][0]
    assert shared == (count <= 6)  # (past that, the page token would cost more)
    for (viewstate, validation), alone in zip(issued, own, strict=True):
        assert len(viewstate) + len(validation) <= 1.5 * (len(alone[0]) + len(alone[1]))


def test_a_renewed_page_form_gets_a_page_token_of_its_own() -> None:
    """Renewing one form of a page must not give its other forms (some maybe spent by
    single_use) fresh tokens: the renewed token describes that form alone."""
    clock = Clock()
    tokens = FormTokens(TokenSigner([new_key().encode()], max_age=60, max_size=10_000,
                                    clock=clock))
    issued = tokens.issue_forms(vote_rows(), {"n": 2}, BROWSER, no_page_callbacks)
    clock.now += 3600
    with pytest.raises(TokenExpired):
        tokens.verify(sent(issued[2]), path="/answers/3/vote", binding=BROWSER)
    renewal = tokens.renew(sent(issued[2]), path="/answers/3/vote", binding=BROWSER,
                           window=7 * 24 * 3600)
    fresh = (renewal.fields["__VIEWSTATE"], renewal.fields["__EVENTVALIDATION"])
    postback = tokens.verify(sent(fresh, __EVENTTARGET="vote", __EVENTARGUMENT="down:3"),
                             path="/answers/3/vote", binding=BROWSER)
    assert postback.viewstate == {"n": 2} and postback.event == Event("vote", "down:3")
    assert renewal.form_id.endswith(".2") and postback.form_id != renewal.form_id
    signature = fresh[0].rpartition(".")[2]
    with pytest.raises(TokenError, match="no such form"):
        tokens.verify(sent((fresh[0], f"1.{signature}")), path="/answers/4/vote",
                      binding=BROWSER)
    with pytest.raises(TokenError, match="another path"):
        tokens.renew(sent(issued[2]), path="/answers/4/vote", binding=BROWSER, window=99999)


# -- forms submitted in another encoding (see charset.form_encoding) ---------------------------


@pytest.mark.parametrize(
    ("found", "utf8", "now", "later"),
    [
        pytest.param([("__VIEWSTATE", b"v"), ("__EVENTARGUMENT", b"M\xfcller")], False,
                     {"__VIEWSTATE": "v"}, [("__EVENTARGUMENT", b"M\xfcller")],
                     id="a-browsers-own-submission"),
        pytest.param([("__EVENTTARGET", b"t"), ("__LASTFOCUS", b"\xe9"),
                      ("__SCROLLPOSITIONY", b"8")], False, {"__SCROLLPOSITIONY": "8"},
                     [("__EVENTTARGET", b"t"), ("__LASTFOCUS", b"\xe9")], id="event-and-focus"),
        pytest.param([("__EVENTARGUMENT", "Müller".encode())], True,
                     {"__EVENTARGUMENT": "Müller"}, None, id="says-utf-8"),
        pytest.param([("__EVENTTARGET", b""), ("__CALLBACKID", b"Lookup"),
                      ("__CALLBACKPARAM", "Müller".encode())], False,
                     {"__EVENTTARGET": "", "__CALLBACKID": "Lookup", "__CALLBACKPARAM": "Müller"},
                     None, id="a-callback-is-utf-8"),
    ],
)
def test_split_reserved(found: list[tuple[str, bytes]], utf8: bool, now: dict[str, str],
                        later: list[tuple[str, bytes]] | None) -> None:
    assert split_reserved(found, utf8=utf8) == (now, later)


def test_split_reserved_reads_what_it_reads_now_strictly() -> None:
    with pytest.raises(BadRequest, match="UTF-8"):
        split_reserved([("__VIEWSTATE", b"\xff")], utf8=False)
    with pytest.raises(BadRequest, match="UTF-8"):
        split_reserved([("__EVENTARGUMENT", b"M\xfcller")], utf8=True)


WINDOWS_1252 = {"e": {"pick": ["Müller"], "Größe": [""]}, "s": "cp1252"}


@pytest.mark.parametrize(
    ("data", "later", "expected"),
    [
        pytest.param(WINDOWS_1252, [("__EVENTTARGET", b"pick"), ("__EVENTARGUMENT", b"M\xfcller")],
                     Event("pick", "Müller"), id="windows-1252-argument"),
        pytest.param(WINDOWS_1252, [("__EVENTTARGET", b"Gr\xf6\xdfe")], Event("Größe"),
                     id="windows-1252-target"),
        pytest.param({"e": {"pick": ["Müller"]}}, [("__EVENTTARGET", b"pick"),
                                                   ("__EVENTARGUMENT", "Müller".encode())],
                     Event("pick", "Müller"), id="utf-8-as-ever"),
    ],
)
def test_a_forms_own_text_is_read_in_its_encoding_once_its_tokens_verify(
        data: dict[str, Any], later: list[tuple[str, bytes]], expected: Event) -> None:
    postback = FormTokens(SIGNER).verify(form(pairs=data), path="/p", binding=BROWSER,
                                         later=later)
    assert isinstance(postback, Postback) and postback.event == expected
    assert postback.encoding == data.get("s", "utf-8")


@pytest.mark.parametrize(
    ("fields", "later", "error"),
    [
        pytest.param({}, [("__EVENTARGUMENT", b"M\x81ller")], BadRequest,
                     id="not-windows-1252-a-400"),
        pytest.param({}, [("__EVENTTARGET", b"pick"), ("__EVENTARGUMENT", "Müller".encode())],
                     Forbidden, id="utf-8-bytes-read-in-windows-1252-not-offered"),
        pytest.param({"__EVENTVALIDATION": "x"}, [("__EVENTARGUMENT", b"M\x81ller")],
                     TokenError, id="the-tokens-first"),
    ],
)
def test_a_forms_own_text_is_read_strictly(fields: dict[str, str],
                                           later: list[tuple[str, bytes]],
                                           error: type[Exception]) -> None:
    with pytest.raises(error):
        FormTokens(SIGNER).verify({**form(pairs=WINDOWS_1252), **fields}, path="/p",
                                  binding=BROWSER, later=later)


def _windows_1252_form(path: str = "/p", *, encoding: str | None = "cp1252") -> PostForm:
    form = PostForm(0, path, encoding=encoding)
    form.add_pairs({"pick": ["Müller"]})
    return form


def test_a_forms_tokens_record_its_encoding_only_when_it_is_not_utf_8() -> None:
    tokens = FormTokens(SIGNER)
    _, utf8 = tokens.issue(_windows_1252_form(encoding=None), {}, BROWSER)
    assert claims_of(utf8)["d"] == {"e": {"pick": ["Müller"]}}
    _, windows = tokens.issue(_windows_1252_form(), {}, BROWSER)
    assert claims_of(windows)["d"] == {"e": {"pick": ["Müller"]}, "s": "cp1252"}


def test_a_renewed_or_refreshed_form_keeps_its_encoding() -> None:
    tokens = FormTokens(SIGNER)
    form_ = _windows_1252_form()
    form_.callbacks = ("Lookup",)
    old = dict(zip(("__VIEWSTATE", "__EVENTVALIDATION"), tokens.issue(form_, {}, BROWSER),
                   strict=True))
    renewed = tokens.renew(old, path="/p", binding=BROWSER, window=3600).fields
    assert claims_of(renewed["__EVENTVALIDATION"])["d"]["s"] == "cp1252"
    callback = tokens.verify({**old, "__CALLBACKID": "Lookup"}, path="/p", binding=BROWSER)
    assert isinstance(callback, Callback) and callback.encoding == "utf-8"  # (sent by script)
    assert claims_of(tokens.refresh(callback, path="/p"))["d"]["s"] == "cp1252"
    postback = tokens.verify(renewed, path="/p", binding=BROWSER,
                             later=[("__EVENTTARGET", b"pick"), ("__EVENTARGUMENT", b"M\xfcller")])
    assert isinstance(postback, Postback) and postback.event == Event("pick", "Müller")


def test_forms_share_a_page_token_that_names_their_encoding() -> None:
    """The page's forms share a token naming the page's encoding; a form submitted in another
    (its accept-charset) keeps its own, whose data names its own."""
    tokens = FormTokens(SIGNER)
    forms = [_windows_1252_form(f"/rows/{n}/") for n in range(3)]
    forms.insert(1, _windows_1252_form("/rows/x/", encoding=None))
    issued = tokens.issue_forms(forms, {}, BROWSER, no_page_callbacks, encoding="cp1252")
    shared = claims_of(issued[0][0])
    assert shared["s"] == "cp1252" and [v for v, _ in issued].count(issued[0][0]) == 3
    assert "s" not in claims_of(issued[1][1])["d"]  # (its own, UTF-8 tokens)
    postback = tokens.verify(sent(issued[2]), path="/rows/1/", binding=BROWSER,
                             later=[("__EVENTTARGET", b"pick"), ("__EVENTARGUMENT", b"M\xfcller")])
    assert isinstance(postback, Postback) and postback.event == Event("pick", "Müller")
    renewed = tokens.renew(sent(issued[2]), path="/rows/1/", binding=BROWSER, window=3600)
    assert claims_of(renewed.fields["__VIEWSTATE"])["s"] == "cp1252"
    bare = tokens.issue_bare([("/a/", {}), ("/b/", {})], {}, BROWSER, (), encoding="cp1252")
    assert bare is not None and claims_of(bare.token)["s"] == "cp1252"
