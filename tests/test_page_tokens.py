"""Page tokens' description of a page's plain forms: every form read back exactly as it was
described, numbered rows as runs, and a description the middleware did not write refused."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from postback_middleware import page_tokens
from postback_middleware.errors import TokenError
from postback_middleware.page_tokens import (
    MAX_DESCRIPTION_BYTES,
    MAX_PAIR_CHARS,
    Columns,
    describe,
    event_validation,
    fits,
    form_at,
    names_page_token,
    read_event_validation,
)
from postback_middleware.tokens import encode_json

SIGNATURE = "s" * 43
TAG = "t-_T" * 4

Form = tuple[str, dict[str, list[str]]]


def described(forms: list[Form]) -> list[Any]:
    """:func:`describe`'s description of ``forms``, whatever its size."""
    found = describe(forms, max_bytes=2**62)
    assert found is not None
    return found


def read_back(described: list[Any], count: int) -> list[tuple[str, dict[str, Any]]]:
    found = [form_at(described, index) for index in range(count)]
    assert all(form is not None for form in found)
    return found  # type: ignore[return-value]


def offered(pairs: dict[str, list[str]]) -> dict[str, Any]:
    """A form's event validation data as ``validation.written_out`` writes it."""
    return {"e": pairs} if pairs else {}


def admin_rows(first: int, count: int) -> list[Form]:
    return [(f"/admin/users/{n}/delete/", {}) for n in range(first, first + count)]


def vote_rows(first: int, count: int) -> list[Form]:
    return [(f"/questions/42/answers/{n}/vote", {"vote": [f"up:{n}", f"down:{n}"]})
            for n in range(first, first + count)]


@pytest.mark.parametrize(
    ("forms", "entries"),
    [
        pytest.param(admin_rows(1, 150), 1, id="a-delete-form-a-row"),
        pytest.param(vote_rows(1, 100), 1, id="vote-buttons-a-row"),
        pytest.param(admin_rows(7, 3) + admin_rows(20, 4), 2, id="two-runs"),
        pytest.param([("/cart", {})] * 5, 1, id="forms-alike"),
        pytest.param([("/cart", {}), ("/search", {"go": [""]})], 2, id="unrelated"),
        pytest.param([(f"/items/{n}/edit", {"row": [str(n + 1)]}) for n in range(1, 6)], 5,
                     id="numbers-that-do-not-follow-the-row"),
        pytest.param([(f"/p/{n}", {f"row{n}": ["delete"]}) for n in range(8, 13)], 1,
                     id="numbered-targets"),
        pytest.param([("/a/9/b", {}), ("/a/10/b", {}), ("/a/11/b", {})], 1,
                     id="numbers-growing-a-digit"),
        pytest.param([("/a/007", {}), ("/a/008", {})], 2, id="leading-zeros-are-not-numbers"),
        pytest.param([("/v2/rows/1", {}), ("/v2/rows/2", {})], 1, id="the-number-that-changes"),
        pytest.param([form for n in range(1, 30) for form in (*admin_rows(n, 1), *vote_rows(n, 1))],
                     1, id="two-forms-a-row"),
        pytest.param([(f"/r/{n}/{action}", {}) for n in range(3) for action in "abcde"], 15,
                     id="more-forms-a-row-than-read-as-rows"),
        pytest.param([(f"/v/{n}", {'say "%d"\n': [f"é%s{n}", "100%", f"\\{n}"]})
                      for n in range(5, 9)], 1, id="events-json-escapes"),
        pytest.param([(f"/a/{n}/d", {"go": ["100%"]}) for n in range(1, 6)], 1,
                     id="a-percent-and-no-number-in-the-events"),
        pytest.param([(f"/v/{n}", {f"row{n + 1}": ["x"], f"row{n}": ["x"]})
                      for n in range(5, 9)], 4, id="a-target-of-the-next-row-written-out"),
    ],
)
def test_each_form_is_read_back_as_it_was_described(forms: list[Form], entries: int) -> None:
    entries_found = described(forms)
    assert len(entries_found) == entries
    assert read_back(entries_found, len(forms)) == [(path, offered(pairs))
                                                    for path, pairs in forms]
    assert form_at(entries_found, len(forms)) is None  # (no form past the last)


# (a "%" and a NUL: what the runs' one-step comparisons must not read as their own)
_SEGMENT = st.sampled_from(["a", "items", "7", "12", "0", "x1", "ro w", "é", "%d", "5%", "\0"])
_PATHS = st.lists(_SEGMENT, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
_TEXT = st.sampled_from(["", "up:", "row", "Delete$", "7", "x", "%d:", "%"])


@st.composite
def pages(draw: st.DrawFn) -> list[Form]:
    """Forms as pages have them: rows of numbered forms (one to a few a row), forms alike,
    and others between."""
    forms: list[Form] = []
    for _ in range(draw(st.integers(1, 5))):
        # (runs that cross 10,000 too: past validation.joined_numbers' table, formatted)
        first = draw(st.one_of(st.integers(0, 12), st.sampled_from([9_985, 9_999])))
        count = draw(st.sampled_from([1, 2, 3, 6, 9, 20]))
        numbered = draw(st.booleans())
        row = [(draw(_PATHS), draw(st.sampled_from(["", "/delete", "/vote/"])),
                draw(st.lists(st.tuples(_TEXT, _TEXT, st.booleans()), max_size=3)))
               for _ in range(draw(st.integers(1, 3)))]
        for n in range(first, first + count):
            for prefix, suffix, heads in row:
                pairs: dict[str, list[str]] = {}
                for target, argument, own in heads:
                    name = f"{target}{n}" if own else target or "t"
                    pairs.setdefault(name, [])
                    value = f"{argument}{n}" if numbered else argument
                    if value not in pairs[name]:
                        pairs[name].append(value)
                forms.append((f"{prefix}/{n}{suffix}" if numbered else prefix + suffix, pairs))
    return forms


@settings(max_examples=300, deadline=None)
@given(pages())
def test_any_page_is_read_back_exactly(forms: list[Form]) -> None:
    entries = described(forms)
    assert read_back(entries, len(forms)) == [(path, offered(pairs)) for path, pairs in forms]
    assert form_at(entries, len(forms)) is None
    within = describe(forms)  # (within the size a page token may take, or none)
    assert within == entries if len(encode_json(entries, plain=True)) <= MAX_DESCRIPTION_BYTES \
        else within is None


@settings(max_examples=300, deadline=None)
@given(pages(), st.data())
def test_forms_described_compact_are_read_back_exactly(forms: list[Form],
                                                       data: st.DataObject) -> None:
    """Forms given as their event validation data already (a grid's rows: ``Encoded``) are
    entries of their own among the runs of the others, and read back as that data."""
    chosen = data.draw(st.sets(st.integers(0, len(forms) - 1))) if forms else set()
    grid = data.draw(st.sampled_from([{"t": {"row": {"#delete:": [1, 100]}}},
                                      {"r": {"grid": {"Delete$": [0, 40]}}}]))
    mixed: list[tuple[str, page_tokens.Events]] = [
        (path, page_tokens.Encoded(grid) if index in chosen else pairs)
        for index, (path, pairs) in enumerate(forms)]
    entries = describe(mixed, max_bytes=2**62)
    assert entries is not None
    assert read_back(entries, len(forms)) == [
        (path, grid if index in chosen else offered(pairs))
        for index, (path, pairs) in enumerate(forms)]
    assert form_at(entries, len(forms)) is None


@pytest.mark.parametrize(
    "described",
    [
        pytest.param({"F": []}, id="not-a-list"),
        pytest.param(["/a", {}], id="entry-not-a-list"),
        pytest.param([["/a"]], id="entry-too-short"),
        pytest.param([[1, {}]], id="path-not-text"),
        pytest.param([["/a", []]], id="data-not-an-object"),
        pytest.param([["/a", {}, 0]], id="count-zero"),
        pytest.param([["/a", {}, "2"]], id="count-not-a-number"),
        pytest.param([{"n": 1, "c": 2}], id="rows-without-forms"),
        pytest.param([{"n": 1, "c": 2, "r": []}], id="rows-of-no-form"),
        pytest.param([{"n": 1, "c": 0, "r": [["/a/", "", {}]]}], id="no-rows"),
        pytest.param([{"n": -1, "c": 2, "r": [["/a/", "", {}]]}], id="negative-number"),
        pytest.param([{"n": 1, "c": 2, "r": [["/a/", {}]]}], id="form-without-suffix"),
        pytest.param([{"n": 1, "c": 2, "r": [["/a/", "", {"delete": ["#x"]}]]}],
                     id="key-without-kind"),
        pytest.param([{"n": 1, "c": 2, "r": [["/a/", "", {"=delete": "#x"}]]}],
                     id="arguments-not-a-list"),
        pytest.param([{"n": 1, "c": 2, "r": [["/a/", "", {"=delete": [7]}]]}],
                     id="argument-not-text"),
        pytest.param([{"n": 1, "c": 2, "r": [["/a/", "", {}]], "x": 1}], id="unknown-key"),
    ],
)
def test_a_description_not_written_here_is_refused(described: Any) -> None:
    with pytest.raises(TokenError):
        form_at(described, 0)


@pytest.mark.parametrize(
    ("value", "read"),
    [
        pytest.param(f"0.{SIGNATURE}", (0, SIGNATURE, None), id="first"),
        pytest.param(f"149.{SIGNATURE}", (149, SIGNATURE, None), id="row-149"),
        pytest.param(f"999999.{SIGNATURE}", (999999, SIGNATURE, None), id="largest"),
        pytest.param(f"3.{SIGNATURE}.{TAG}", (3, SIGNATURE, TAG), id="a-keyed-index"),
        pytest.param(f"3.{SIGNATURE}.{TAG[1:]}", None, id="tag-too-short"),
        pytest.param(f"3.{SIGNATURE}.{TAG}x", None, id="tag-too-long"),
        pytest.param(f"3.{SIGNATURE}.{TAG[1:]}é", None, id="tag-not-base64url"),
        pytest.param(f"3.{SIGNATURE}.", None, id="tag-empty"),
        pytest.param(f"1000000.{SIGNATURE}", None, id="too-large"),
        pytest.param(f"01.{SIGNATURE}", None, id="leading-zero"),
        pytest.param(f"+1.{SIGNATURE}", None, id="sign"),
        pytest.param(f"1.{SIGNATURE}x", None, id="signature-too-long"),
        pytest.param(f"1.{SIGNATURE[1:]}", None, id="signature-too-short"),
        pytest.param("1", None, id="no-signature"),
        pytest.param(f"\u0661.{SIGNATURE}", None, id="another-scripts-digit"),
    ],
)
def test_a_forms_event_validation_is_read_exactly(
    value: str, read: tuple[int, str, str | None] | None
) -> None:
    if read is None:
        with pytest.raises(TokenError):
            read_event_validation(value)
    else:
        assert read_event_validation(value) == read
        assert event_validation(*read) == value


def test_a_form_token_is_never_taken_for_a_page_forms() -> None:
    """A token of its own starts with base64 of JSON's '{"' (``eyJ``); a page form's with
    its index."""
    assert names_page_token(f"3.{SIGNATURE}")
    assert not names_page_token("eyJ2IjoxfQ.sig")
    assert not names_page_token("")
    assert not names_page_token("\u0661.x")  # (another script's digit: no index)


def test_forms_with_many_or_long_events_keep_tokens_of_their_own() -> None:
    assert fits({}) and fits({"vote": ["up:17", "down:17"]})
    assert not fits({"x": ["a" * (MAX_PAIR_CHARS - 0)]})
    assert not fits({f"row{n}": ["delete"] for n in range(MAX_PAIR_CHARS // 8)})


def test_the_description_of_a_page_of_rows_stays_small() -> None:
    """150 delete forms take one entry: the token each of them carries is a form's size."""
    assert len(encode_json(describe(admin_rows(1, 150)), plain=True)) < 60


def test_describing_takes_a_few_steps_a_form_whatever_its_paths(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paths full of numbers (a slug, "1/1/1/...") are no more work a form than others: each
    form is compared with the form a row on at most once a row width, each comparison at the
    one place the two paths differ (not once a number: that made a page cost seconds)."""
    calls = []
    step = page_tokens._step

    def counting(path: str, following: str) -> tuple[str, str, int] | None:
        calls.append(len(path))
        return step(path, following)

    monkeypatch.setattr(page_tokens, "_step", counting)
    slugs = [("/" + "1/" * 2000 + f"x{n}", {}) for n in range(150)]
    rows = [(f"/p/{'1-' * 500}{n}/delete", {}) for n in range(150)]
    for forms in (slugs, rows):
        calls.clear()
        found = describe(forms, max_bytes=2**62)
        assert found is not None and read_back(found, 150)[-1][0] == forms[-1][0]
        assert len(calls) <= 150 * (1 + 2 + 3 + 4)
    calls.clear()
    assert describe(slugs) is None  # over the size a page token may take:
    assert len(calls) <= 1 + 2 + 3 + 4  # known at its first form, the rest not read


@settings(max_examples=300, deadline=None)
@given(pages(), st.lists(st.integers(0, 60), max_size=5))
def test_pieces_that_share_a_run_shape_are_read_back_exactly(forms: list[Form],
                                                               cuts: list[int]) -> None:
    """A streamed page's pieces, described one after the other with the shape of the last
    run kept between them: each piece reads back exactly (a piece that continues the run is
    compared form by form as any run; one that does not is read as without it)."""
    last_run = page_tokens.RunShape()
    bounds = [0, *sorted({cut for cut in cuts if 0 < cut < len(forms)}), len(forms)]
    for start, end in itertools.pairwise(bounds):
        piece = forms[start:end]
        entries = describe(piece, max_bytes=2**62, last_run=last_run)
        assert entries is not None
        assert read_back(entries, len(piece)) == [(path, offered(pairs)) for path, pairs in piece]


def test_a_piece_that_continues_the_run_is_read_without_finding_its_shape(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """(the 100 small forms streamed: each piece's vote forms continue the last piece's run)"""
    shapes_found = []
    row_shapes = page_tokens._row_shapes
    monkeypatch.setattr(page_tokens, "_row_shapes", lambda *args: shapes_found.append(args[1])
                        or row_shapes(*args))
    votes: list[Form] = [(f"/answers/{n}/vote", {"vote": [f"up:{n}", f"down:{n}"]})
                         for n in range(1, 31)]
    last_run = page_tokens.RunShape()
    pieces = [votes[:10], votes[10:20], [("/answers/021/vote", {"vote": ["up:21", "down:21"]}),
                                         *votes[21:30]]]
    described = [describe(piece, last_run=last_run) for piece in pieces[:2]]
    assert described[1] == [{"n": 11, "c": 10, "r": [
        ["/answers/", "/vote", {"=vote": ["#up:", "#down:"]}]]}]
    assert len(shapes_found) == 1  # (the first piece's; the second's continues it)
    described.append(describe(pieces[2], last_run=last_run))
    # (a leading zero: not the run's row 21, read as a form of its own; then the run again)
    assert described[2] is not None and described[2][0][0] == "/answers/021/vote"
    assert described[2][1] == {"n": 22, "c": 9, "r": [
        ["/answers/", "/vote", {"=vote": ["#up:", "#down:"]}]]}
    # (the run's next path, other events: not its row either, though the next two are)
    other: list[Form] = [("/answers/31/vote", {"vote": ["up:31"]}), *[
        (f"/answers/{n}/vote", {"vote": [f"up:{n}", f"down:{n}"]}) for n in (32, 33)]]
    found = describe(other, last_run=last_run)
    assert found is not None and found[0] == ["/answers/31/vote", {"e": {"vote": ["up:31"]}}]
    assert read_back(found, 3) == [(path, offered(pairs)) for path, pairs in other]


def test_a_run_past_ten_thousand_is_read_to_its_end() -> None:
    """(a stretch past the numbers written at once, validation.joined_numbers', is formatted:
    compared exactly all the same, up to the first form that is not the run's)"""
    forms: list[Form] = [(f"/u/{n}/delete", {}) for n in range(9_990, 10_010)]
    forms += [("/other", {}), ("/u/10011/delete", {})]
    entries = describe(forms, max_bytes=2**62)
    assert entries is not None and entries[0]["c"] == 20
    assert read_back(entries, len(forms)) == [(path, offered(pairs)) for path, pairs in forms]


def test_a_run_is_read_a_stretch_at_a_time_as_it_was_a_form_at_a_time() -> None:
    """Runs of one form a row are compared a stretch of forms at a time: a form past the
    run's end whose events JSON cannot write (a lone surrogate) is read only where the
    description comes to it, as when forms were read one by one (here: never, for the
    description is over its size first)."""
    forms: list[tuple[str, dict[str, list[str]]]] = [
        (f"/r/{n}", {"vote": [f"up:{n}"]}) for n in (1, 2)]
    forms += [("/r/3", {"a" * 200: [""]}), ("/r/4", {"b" * 200: [""]})]  # (over the size)
    forms += [(f"/r/{n}", {"vote": ["\ud800"]}) for n in (5, 6)]
    assert describe(forms) is None
    with pytest.raises(ValueError):  # (its own entry, when it is reached)
        describe(forms, max_bytes=2**62)
    long_run = [(f"/r/{n}", {"vote": [f"up:{n}"]}) for n in range(1, 1001)]
    assert describe(long_run) == [{"n": 1, "c": 1000, "r": [
        ["/r/", "", {"=vote": ["#up:"]}]]}]
    broken = [*long_run[:500], ("/r/501", {"vote": ["down:501"]}), *long_run[501:]]
    assert [entry["c"] for entry in describe(broken, max_bytes=2**62)
            if isinstance(entry, dict)] == [500, 499]


_EVENTS = st.dictionaries(st.text(max_size=40), st.lists(st.text(max_size=90), max_size=4),
                          max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_EVENTS, st.integers(0, 4)), max_size=12),
       st.sampled_from([0, 95, 995, 9_995, 99_995, 999_995]))
def test_each_fits_is_each_form_fitting(
        events: list[dict[str, list[str]] | int], first: int) -> None:
    """A description asked for forms whose events each fit is made when they all fit, and only
    then, whatever runs read them (an int k: a vote form whose argument is k characters
    longer than most, its number in its path and events, so that runs of them form and
    pass the limit where the numbers grow a digit; a run's forms are judged by its last
    row's, the longest)."""
    forms: list[tuple[str, page_tokens.Events]] = []
    for place, drawn in enumerate(events):
        if isinstance(drawn, int):
            n = first + place  # (fits while drawn + its digits <= 9)
            forms.append((f"/v/{n}", {"vote": ["x" * (MAX_PAIR_CHARS - 13 + drawn) + str(n)]}))
        else:
            forms.append(("/p", drawn))
    fitting = all(fits(pairs) for _, pairs in forms if isinstance(pairs, dict))
    event(f"each fits: {fitting}")
    try:
        described = describe(forms, max_bytes=2**62)
    except ValueError:  # (JSON cannot write one: nor with each_fits, unless one is too long)
        with pytest.raises(ValueError) if fitting else contextlib.suppress(ValueError):
            assert describe(forms, max_bytes=2**62, each_fits=True) is None
        return
    assert describe(forms, max_bytes=2**62, each_fits=True) == (described if fitting else None)


@pytest.mark.parametrize(("forms", "expected"), [
    pytest.param([], True, id="no-forms"),
    pytest.param([(f"/a/{n}", {"vote": [f"up:{n}", f"down:{n}"]}) for n in range(100)], True,
                 id="a-list-pages-votes"),
    pytest.param([(f"/a/{n}", {"v": ["a" * (MAX_PAIR_CHARS - 3) + str(n)]})
                  for n in range(95, 105)], False, id="a-run-whose-last-rows-are-over"),
    pytest.param([("/a", {}), ("/a", {"x": ["a" * MAX_PAIR_CHARS]})], False, id="one-over"),
    pytest.param([("/a", {"x": ["a" * MAX_PAIR_CHARS]})] * 3, False, id="forms-alike-over"),
    pytest.param([("/a", {"q": ['"' * 200]}), ("/b", {})], True, id="json-longer-chars-within"),
])
def test_each_fits(forms: list[tuple[str, dict[str, list[str]]]], expected: bool) -> None:
    """(the forms' own description when they fit)"""
    described = describe(forms, max_bytes=2**62, each_fits=True)
    assert (described is not None) is expected
    if expected:
        assert described == describe(forms, max_bytes=2**62)


@settings(max_examples=300, deadline=None)
@given(pages(), st.lists(st.integers(0, 60), max_size=5))
def test_forms_given_as_columns_are_described_as_their_pairs(forms: list[Form],
                                                             cuts: list[int]) -> None:
    """(a piece's bare forms come from the injector as ``Columns``, each one's path and events
    in two lists, whose stretches are read at once: the same description, whole and a piece
    at a time)"""
    last_run, columns_run = page_tokens.RunShape(), page_tokens.RunShape()
    bounds = [0, *sorted({cut for cut in cuts if 0 < cut < len(forms)}), len(forms)]
    for start, end in itertools.pairwise(bounds):
        piece = forms[start:end]
        columns = Columns([path for path, _ in piece], [pairs for _, pairs in piece])
        assert describe(columns, max_bytes=2**62, last_run=columns_run) == describe(
            piece, max_bytes=2**62, last_run=last_run)
        assert describe(columns, each_fits=True) == describe(piece, each_fits=True)


def test_columns_are_a_sequence_of_pairs() -> None:
    columns = Columns(["/a", "/b", "/c"], [{}, {"t": ["1"]}, {}])
    assert len(columns) == 3
    assert columns[1] == ("/b", {"t": ["1"]})
    assert list(columns[1:]) == [("/b", {"t": ["1"]}), ("/c", {})]
    assert list(columns) == list(zip(columns.paths, columns.events, strict=True))
    with pytest.raises(ValueError, match="as many paths as events"):
        Columns(["/a"], [])
