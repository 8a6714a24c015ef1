"""Event validation data: compact for any page, and exactly the pairs and callbacks offered."""

from __future__ import annotations

import logging
from functools import partial

import pytest
import webtest
from hypothesis import given, settings
from hypothesis import strategies as st

from postback_middleware import PostbackMiddleware, Registry
from postback_middleware.errors import Forbidden, Reason, TokenError
from postback_middleware.tokens import TokenSigner
from postback_middleware.validation import (
    DIGEST_BYTES,
    MAX_EXACT_CHARS,
    Offered,
    encode,
    split_number,
    written_out,
)

from .helpers import RecordingApp, hidden_fields, new_key

SIGNER = TokenSigner([new_key().encode(), new_key().encode()], max_age=60, max_size=10**7)
DIGEST = partial(SIGNER.event_digest, 0)


def offered(pairs: dict[str, list[str]], callbacks: tuple[str, ...] = (),
            **options: bool) -> Offered:
    return Offered(encode(pairs, callbacks, digest=DIGEST, **options), digest=DIGEST)


@pytest.mark.parametrize(
    ("argument", "split"),
    [
        pytest.param("Delete$17", ("Delete$", 17), id="grid-row"),
        pytest.param("0", ("", 0), id="zero"),
        pytest.param("Row$007", ("Row$00", 7), id="leading-zeros-stay-in-prefix"),
        pytest.param("Row$000", ("Row$00", 0), id="all-zeros"),
        pytest.param("Sort$Name", None, id="no-number"),
        pytest.param("", None, id="empty"),
        pytest.param("x" + "9" * 16, None, id="too-many-digits"),
        pytest.param("x\u0661", None, id="non-ascii-digit"),
    ],
)
def test_split_number(argument: str, split: tuple[str, int] | None) -> None:
    assert split_number(argument) == split
    if split is not None:
        assert split[0] + str(split[1]) == argument


@pytest.mark.parametrize(
    ("pairs", "data"),
    [
        pytest.param({"delete": ["7"], "sort": [""]}, {"e": {"delete": ["7"], "sort": [""]}},
                     id="written-out"),
        pytest.param({"grid": [f"Delete${n}" for n in range(5)] + ["Sort$Name"]},
                     {"e": {"grid": ["Sort$Name"]}, "r": {"grid": {"Delete$": [0, 5]}}},
                     id="grid-run"),
        pytest.param({"grid": ["Delete$1", "Delete$2", "Delete$5"]},
                     {"r": {"grid": {"Delete$": [1, 2, 5, 1]}}}, id="runs-with-a-gap"),
        pytest.param({"grid": ["Delete$1", "Edit$1"]}, {"e": {"grid": ["Delete$1", "Edit$1"]}},
                     id="lone-numbers-written-out"),
    ],
)
def test_encoding(pairs: dict[str, list[str]], data: dict[str, object]) -> None:
    assert encode(pairs, (), digest=DIGEST) == data


def test_a_small_form_is_written_out_as_it_is() -> None:
    pairs = {"grid": [f"Delete${n}" for n in range(5)], "sort": [""]}
    assert written_out(pairs, ("B", "A", "B")) == {"e": pairs, "c": ["A", "B"]}


def test_long_values_travel_as_digests() -> None:
    long_argument = "x" * 128 * 1024
    data = encode({"t": [long_argument, "short"], "T" * 100: ["a"]}, (), digest=DIGEST)
    assert data["e"] == {"t": ["short"]}
    assert len(data["h"]) == 16  # two 6-byte digests, base64
    check = Offered(data, digest=DIGEST)
    assert check.allows_event("t", long_argument)
    assert check.allows_event("T" * 100, "a")
    assert not check.allows_event("t", long_argument[:-1])
    assert not check.allows_event("T" * 99, "a")


def test_digests_need_the_key_that_signed() -> None:
    data = encode({"t": ["x" * 100]}, (), digest=DIGEST, all_digests=True)
    assert "h" in data
    assert Offered(data, digest=DIGEST).allows_event("t", "x" * 100)
    other_key = partial(SIGNER.event_digest, 1)
    assert not Offered(data, digest=other_key).allows_event("t", "x" * 100)


def test_target_and_argument_cannot_trade_characters() -> None:
    data = encode({"ab": ["c" * 70]}, (), digest=DIGEST, all_digests=True)
    assert not Offered(data, digest=DIGEST).allows_event("abc", "c" * 69)


def test_callbacks_offered() -> None:
    check = offered({}, ("Export", "CallServer", "Export"))
    assert check.data == {"c": ["CallServer", "Export"]}
    assert check.allows_callback("Export") and not check.allows_callback("export")
    assert not offered({"Export": [""]}).allows_callback("Export")  # an event is not a callback


pairs_strategy = st.dictionaries(
    st.text(max_size=80),
    st.lists(st.one_of(st.text(max_size=80),
                       st.builds(lambda p, n: p + str(n), st.sampled_from(["Delete$", "", "r"]),
                                 st.integers(0, 300))),
             max_size=30, unique=True),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(pairs=pairs_strategy, probe=st.tuples(st.text(max_size=80), st.text(max_size=80)),
       encoding=st.sampled_from(["written-out", "compact", "all-digests"]))
def test_exactly_the_offered_pairs_are_allowed(pairs: dict[str, list[str]],
                                               probe: tuple[str, str], encoding: str) -> None:
    if encoding == "written-out":
        check = Offered(written_out(pairs, ()), digest=DIGEST)
    else:
        check = offered(pairs, all_digests=encoding == "all-digests")
    for target, arguments in pairs.items():
        for argument in arguments:
            assert check.allows_event(target, argument)
    target, argument = probe
    assert check.allows_event(target, argument) == (argument in pairs.get(target, ()))


def test_a_grid_of_100000_rows_costs_a_few_bytes() -> None:
    arguments = [f"{verb}${n}" for n in range(100_000) for verb in ("Select", "Edit", "Delete")]
    data = encode({"GridView1": [*arguments, "Sort$Name", "Page$Next"]}, (), digest=DIGEST)
    assert len(str(data)) < 200
    check = Offered(data, digest=DIGEST)
    assert check.allows_event("GridView1", "Delete$99999")
    assert not check.allows_event("GridView1", "Delete$100000")
    assert not check.allows_event("GridView1", "Delete$099")


# -- through the middleware: no page fails because it offers many events -----------------------


def grid_page(links: str) -> str:
    return f'<html><body><form method="post" action="/grid">{links}</form></body></html>'


def serve(page: str, **options: object) -> tuple[webtest.TestApp, list[str]]:
    ran: list[str] = []
    registry = Registry()
    registry.add_postback("grid", lambda event, request: ran.append(event.argument))
    app = PostbackMiddleware(RecordingApp(page=page), secret_keys=[new_key()],
                             registry=registry, **options)  # type: ignore[arg-type]
    return webtest.TestApp(app), ran


def post(app: webtest.TestApp, fields: dict[str, str], argument: str,
         status: int = 200) -> None:
    app.post("/grid", {"__EVENTTARGET": "grid", "__EVENTARGUMENT": argument,
                       "__VIEWSTATE": fields["__VIEWSTATE"],
                       "__EVENTVALIDATION": fields["__EVENTVALIDATION"]}, status=status)


def test_a_form_of_100000_pairs_is_served_and_verified() -> None:
    links = "".join(f'<a data-postback="grid" data-postback-argument="{verb}${n}">x</a>'
                    for n in range(25_000) for verb in ("Select", "Edit", "Delete", "Update"))
    app, ran = serve(grid_page(links))
    fields = hidden_fields(app.get("/grid").body)
    assert len(fields["__EVENTVALIDATION"]) < 1000
    post(app, fields, "Delete$24999")
    post(app, fields, "Select$0")
    post(app, fields, "Delete$25000", status=403)
    assert ran == ["Delete$24999", "Select$0"]


def test_one_huge_argument_does_not_fail_the_page() -> None:
    huge = "x" * 128 * 1024
    app, ran = serve(grid_page(f'<a data-postback="grid" data-postback-argument="{huge}">x</a>'),
                     max_body_size=10 * 1024 * 1024)
    fields = hidden_fields(app.get("/grid").body)
    assert len(fields["__EVENTVALIDATION"]) < 1000
    post(app, fields, huge)
    assert ran == [huge]


def test_too_many_distinct_pairs_degrade_with_a_warning(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    """Past what fits even as digests, the form gets no tokens; the page itself is served."""
    links = "".join(f'<a data-postback="grid" data-postback-argument="{n:x}-{n * 7919:x}z">x</a>'
                    for n in range(3000))
    app, ran = serve(grid_page(links) + "<p>the rest of the page</p>", max_state_size=16 * 1024)
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        response = app.get("/grid")
    assert response.status_int == 200 and b"the rest of the page" in response.body
    assert "more than fit max_state_size" in caplog.text
    fields = hidden_fields(response.body)
    assert fields["__EVENTVALIDATION"] == fields["__VIEWSTATE"] == ""
    post(app, {"__VIEWSTATE": "", "__EVENTVALIDATION": ""}, "0-0z", status=403)
    assert ran == []


def test_many_distinct_pairs_fall_back_to_digests() -> None:
    links = "".join(f'<a data-postback="grid" data-postback-argument="{n:x}-{n * 7919:x}z">x</a>'
                    for n in range(1500))
    app, ran = serve(grid_page(links), max_state_size=24 * 1024)
    fields = hidden_fields(app.get("/grid").body)
    assert 1500 * DIGEST_BYTES < len(fields["__EVENTVALIDATION"]) < 24 * 1024
    post(app, fields, f"{1499:x}-{1499 * 7919:x}z")
    post(app, fields, "nope", status=403)
    assert ran == [f"{1499:x}-{1499 * 7919:x}z"]


def test_arguments_up_to_the_limit_are_written_out() -> None:
    data = encode({"t": ["a" * MAX_EXACT_CHARS, "a" * (MAX_EXACT_CHARS + 1)]}, (), digest=DIGEST)
    assert data["e"] == {"t": ["a" * MAX_EXACT_CHARS]} and "h" in data



# -- choices (validate_choices) ------------------------------------------------------------------

_CHOICES = {"Status": ["open", "closed"], "Year": [str(y) for y in range(1900, 2030)],
            "Long": ["x" * (MAX_EXACT_CHARS + 1)]}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(written_out({}, (), _CHOICES), id="written-out"),
        pytest.param(encode({}, (), digest=DIGEST, choices=_CHOICES), id="compact"),
        pytest.param(encode({}, (), digest=DIGEST, choices=_CHOICES, all_digests=True),
                     id="all-digests"),
    ],
)
def test_exactly_the_offered_choices_are_allowed(data: dict[str, object]) -> None:
    choices = Offered(data, digest=DIGEST)
    assert choices.choice_names == frozenset(_CHOICES)
    choices.check_choices(_CHOICES)
    choices.check_choices({"Other": ["anything"]})  # (a name the form did not list)
    for name, value in [("Status", "opened"), ("Year", "2030"), ("Long", "x"),
                        ("Year", "1900\x00")]:
        with pytest.raises(Forbidden) as refused:
            choices.check_choices({name: [value]})
        assert refused.value.kind == Reason.NOT_OFFERED
    assert not choices.allows_event("Status", "open")  # choices are no events


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"n": ["a"]}, id="names-without-values"),
        pytest.param({"v": {"e": {"a": ["1"]}}}, id="values-without-names"),
        pytest.param({"n": ["a"], "v": {"c": ["cb"]}}, id="callbacks-among-choices"),
        pytest.param({"n": ["a"], "v": {"e": {"a": [1]}}}, id="a-value-not-a-string"),
        pytest.param({"n": "a", "v": {}}, id="names-not-a-list"),
    ],
)
def test_malformed_choices_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(TokenError):
        Offered(data, digest=DIGEST)
