"""Event validation data: compact for any page, and exactly the pairs and callbacks offered."""

from __future__ import annotations

import base64
import json
import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any
from unittest import mock

import pytest
import webtest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from postback_middleware import PostbackMiddleware, Registry, html_scan, validation
from postback_middleware.errors import Forbidden, Reason, TokenError
from postback_middleware.tokens import TokenSigner
from postback_middleware.validation import (
    DIGEST_BYTES,
    MAX_EXACT_CHARS,
    Offered,
    encode,
    encode_family,
    split_number,
    written_out,
)

from .helpers import RecordingApp, hidden_fields, new_key, require_engine

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


# -- the reference encoder: encode as it was before it was made fast (#18) ----------------------
# Kept as it was (names prefixed), as the oracle of the property test below: the fast encoder
# must write byte for byte the same data, since tokens already in pages must keep verifying.
# benchmarks/event_validation.py times it against encode (it reads these lines, between this
# comment and the end marker, without importing the test module).

_REFERENCE_DIGITS = "0123456789"
_REFERENCE_MAX_DIGITS = 15
_REFERENCE_MIN_RUN_GROUP = 2


def reference_split_number(argument: str) -> tuple[str, int] | None:
    head = argument.rstrip(_REFERENCE_DIGITS)
    digits = argument[len(head):]
    if not digits:
        return None
    if len(digits) > 1 and digits[0] == "0":
        significant = digits.lstrip("0") or "0"
        head += digits[: len(digits) - len(significant)]
        digits = significant
    if len(digits) > _REFERENCE_MAX_DIGITS:
        return None
    return head, int(digits)


def _reference_runs(numbers: Iterable[int]) -> list[int]:
    flat: list[int] = []
    for n in sorted(set(numbers)):
        if flat and flat[-2] + flat[-1] == n:
            flat[-1] += 1
        else:
            flat += [n, 1]
    return flat


def reference_encode(
    pairs: Mapping[str, Sequence[str]],
    callbacks: Sequence[str],
    *,
    digest: Callable[[str, str], bytes],
    all_digests: bool = False,
    choices: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    exact: dict[str, list[str]] = {}
    numbered: dict[str, dict[str, list[int]]] = {}
    digests: list[bytes] = []
    per_row, pairs = _reference_numbered_targets(pairs)
    for target, arguments in pairs.items():
        if len(target) > MAX_EXACT_CHARS:
            digests.extend(digest(target, argument)[:DIGEST_BYTES] for argument in arguments)
            continue
        groups: dict[str, list[int]] = {}
        rest: list[str] = []
        for argument in arguments:
            split = (reference_split_number(argument) if len(argument) <= MAX_EXACT_CHARS
                     else None)
            if split is None:
                rest.append(argument)
            else:
                groups.setdefault(split[0], []).append(split[1])
        for prefix, numbers in list(groups.items()):
            if len(numbers) < _REFERENCE_MIN_RUN_GROUP:
                rest.extend(prefix + str(n) for n in numbers)
                del groups[prefix]
        if groups:
            numbered[target] = {prefix: _reference_runs(numbers)
                                for prefix, numbers in groups.items()}
        for argument in rest:
            if all_digests or len(argument) > MAX_EXACT_CHARS:
                digests.append(digest(target, argument)[:DIGEST_BYTES])
            else:
                exact.setdefault(target, []).append(argument)
    if exact:
        data["e"] = exact
    if numbered:
        data["r"] = numbered
    if per_row:
        data["t"] = per_row
    if digests:
        data["h"] = base64.urlsafe_b64encode(b"".join(sorted(set(digests)))).decode("ascii")
    if callbacks:
        data["c"] = sorted(set(callbacks))
    if choices:
        data["n"] = sorted(choices)
        data["v"] = reference_encode(choices, (), digest=digest, all_digests=all_digests)
    return data


def _reference_numbered_targets(
    pairs: Mapping[str, Sequence[str]],
) -> tuple[dict[str, dict[str, list[int]]], Mapping[str, Sequence[str]]]:
    families: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for target, arguments in pairs.items():
        split = reference_split_number(target) if len(target) <= MAX_EXACT_CHARS else None
        if split is None:
            continue
        prefix, number = split
        for argument in arguments:
            if len(argument) > MAX_EXACT_CHARS:
                continue
            own = reference_split_number(argument)
            key = "#" + own[0] if own is not None and own[1] == number else "=" + argument
            families.setdefault((prefix, key), []).append((number, target, argument))
    per_row: dict[str, dict[str, list[int]]] = {}
    taken: set[tuple[str, str]] = set()
    for (prefix, key), members in families.items():
        if len(members) < _REFERENCE_MIN_RUN_GROUP:
            continue
        per_row.setdefault(prefix, {})[key] = _reference_runs(number for number, _, _ in members)
        taken.update((target, argument) for _, target, argument in members)
    if not taken:
        return per_row, pairs
    rest: dict[str, list[str]] = {}
    for target, arguments in pairs.items():
        left = [argument for argument in arguments if (target, argument) not in taken]
        if left:
            rest[target] = left
    return per_row, rest

# -- end of the reference encoder --


# Pair sets biased to what the fast paths read at once, and to every way they could read it
# wrong: numbered runs in and out of order, gaps, repeats, leading zeros, signs, numbers past
# 15 digits and past the counting table, "$" and digits inside prefixes, unicode, a prefix that
# ends in "0", long values, and families of numbered targets (a target per row).
_PREFIXES = ["Delete$", "Edit$", "Page$", "", "r", "row", "Row$0", "x00", "$", "ctl00$Main$Btn",
             "é$", "\u0661", "a\n", ",", "-", "1a", "a1a", "delete:", "Delete$1x", "\U0001f600",
             "z" * 61]
_prefixes = st.one_of(st.sampled_from(_PREFIXES), st.text(max_size=3))
_numbers = st.one_of(
    st.integers(0, 40),
    st.integers(9_990, 10_010),  # around the end of the counting table
    st.integers(0, 10**6),
    st.sampled_from([10**15 - 1, 10**15, 10**16, 10**20]),
)


def _spell(number: int, zeros: int, sign: bool) -> str:
    return ("-" if sign else "") + "0" * zeros + str(number)


@st.composite
def _numbered(draw: st.DrawFn, prefix: str | None = None) -> list[str]:
    """Numbered strings of one prefix: a run (maybe with gaps), in order or not."""
    prefix = draw(_prefixes) if prefix is None else prefix
    start, count = draw(_numbers), draw(st.integers(1, 40))
    step = draw(st.sampled_from([1, 1, 1, 2, 7]))
    zeros = draw(st.sampled_from([0, 0, 0, 0, 1, 3]))
    sign = draw(st.sampled_from([False] * 9 + [True]))
    strings = [prefix + _spell(n, zeros, sign) for n in range(start, start + count * step, step)]
    order = draw(st.sampled_from(["as is", "as is", "reversed", "shuffled"]))
    if order == "reversed":
        strings.reverse()
    elif order == "shuffled":
        strings = draw(st.permutations(strings))
    return strings


@st.composite
def _arguments(draw: st.DrawFn) -> list[str]:
    arguments: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["numbered", "numbered", "text", "long", "repeat"]))
        if kind == "numbered":
            arguments += draw(_numbered())
        elif kind == "text":
            arguments += draw(st.lists(st.text(max_size=12), max_size=4))
        elif kind == "long":
            arguments.append(draw(_prefixes) + "7" * draw(st.integers(50, 70)))
        elif arguments:
            arguments.append(draw(st.sampled_from(arguments)))
    return arguments


@st.composite
def pair_sets(draw: st.DrawFn) -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = {}
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):  # a target per row, the rows' arguments alike (or not)
            targets = draw(_numbered())
            shape = draw(st.sampled_from(["own", "same", "other", "mixed", "several"]))
            prefix = draw(_prefixes)
            same = draw(st.sampled_from(["", "delete", "1", "5", "L" * 65]))
            for index, target in enumerate(targets):
                split = reference_split_number(target)
                own = prefix + str(split[1]) if split is not None else same
                argument = {"own": own, "same": same, "other": prefix + str(index),
                            "mixed": own if index % 3 else same}.get(shape)
                pairs.setdefault(target, []).extend(
                    [argument] if argument is not None else draw(_arguments()))
        else:
            target = draw(st.one_of(st.text(max_size=10), st.sampled_from(
                ["GridView1", "row7", "x" * 70, "T" * 64 + "1", "Button"])))
            pairs.setdefault(target, []).extend(draw(_arguments()))
    return pairs


def _spelled(data: dict[str, Any]) -> str:
    """The data as the token writes it (key order and all): JSON, not sorted."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=1500, deadline=None)
@given(pairs=pair_sets(), callbacks=st.lists(st.sampled_from(["A", "B", "C"]), max_size=3),
       all_digests=st.booleans(), choices=st.one_of(st.none(), pair_sets()))
@example(pairs={"GridView1": ["Sort$Name", *[f"{verb}${n}" for n in range(235)
                                              for verb in ("Edit", "Delete", "Select")]]},
         callbacks=[], all_digests=False, choices=None)
@example(pairs={f"row{n}": [f"delete:{n}"] for n in range(400)}, callbacks=[],
         all_digests=False, choices=None)
@example(pairs={"row1": ["x", "x"], "row2": ["y"]}, callbacks=[], all_digests=False,
         choices=None)
@example(pairs={"G": ["a", "a1", "a2", "a"]}, callbacks=[], all_digests=False, choices=None)
@example(pairs={"row1": ["1"], "row2": ["1"], "row3": ["1"]}, callbacks=[], all_digests=False,
         choices=None)
@example(pairs={"a": ["x"], "b": [], "c": ["y", "z"]}, callbacks=[], all_digests=False,
         choices=None)
@example(pairs={"a": ["x"], "b": ["y" * 70]}, callbacks=[], all_digests=False, choices=None)
@example(pairs={"a": ["x"], "b": ["y"]}, callbacks=[], all_digests=False, choices=None)
@example(pairs={"G": ["x0", "x5", "x2"], "row1": ["d1"], "row2": ["d3"], "row3": ["d3"]},
         callbacks=[], all_digests=False, choices=None)  # (first and last as in a run)
@example(pairs={"x1\ny0": ["a"], "x1": ["a"], "y1\nx1\ny2": ["a"], "x1\ny3": ["a"]},
         callbacks=[], all_digests=False, choices=None)  # (joined, these read as x1\ny0..3)
@example(pairs={"G": ["x0", "x2", "x1", "x3"], "H": ["z" * 64 + "1", "z" * 64 + "2"]},
         callbacks=[], all_digests=False, choices=None)
@example(pairs={"row1": ["a\n1"], "row2": ["a\n2"]}, callbacks=[], all_digests=False,
         choices=None)
@example(pairs={"row1": ["a\n1"], "row2": ["a"], "row3": ["2\na\n3"]}, callbacks=[],
         all_digests=False, choices=None)  # (joined, these read as a\n1 a\n2 a\n3)
@example(pairs={"row1": ["L" * 70], "row2": ["L" * 70]}, callbacks=[], all_digests=False,
         choices=None)
@example(pairs={f"row{n}": ["z" * 62 + str(n)] for n in (1, 2, 10)}, callbacks=[],
         all_digests=False, choices=None)
def test_encode_writes_what_the_reference_wrote(pairs: dict[str, list[str]],
                                                callbacks: list[str], all_digests: bool,
                                                choices: dict[str, list[str]] | None) -> None:
    new = encode(pairs, callbacks, digest=DIGEST, all_digests=all_digests, choices=choices)
    old = reference_encode(pairs, callbacks, digest=DIGEST, all_digests=all_digests,
                           choices=choices)
    assert new == old
    assert _spelled(new) == _spelled(old)
    with mock.patch.object(validation, "_ORJSON", False):  # (numbers read with int())
        assert encode(pairs, callbacks, digest=DIGEST, all_digests=all_digests,
                      choices=choices) == old


def test_any_sequences_encode_as_lists() -> None:
    pairs = {"a": ("x",), "b": ("y",)}
    assert encode(pairs, (), digest=DIGEST) == {"e": {"a": ["x"], "b": ["y"]}}
    rows = {"GridView1": ("Delete$0", "Delete$1", "Sort$Name"), "row1": ("a",), "row2": ("b",)}
    assert encode(rows, (), digest=DIGEST) == reference_encode(rows, (), digest=DIGEST)


class _Text(str):
    """A str subclass: ``str.rstrip`` returns a copy of it even when it strips nothing."""


def test_str_subclasses_encode_as_str() -> None:
    pairs = {"G": [_Text(a) for a in ("x", "x1", "x2", "Sort$Name", "y7")],
             "H": [_Text("x"), _Text("x")]}
    old = reference_encode(pairs, (), digest=DIGEST)
    assert encode(pairs, (), digest=DIGEST) == old
    with mock.patch.object(validation, "_ORJSON", False):
        assert encode(pairs, (), digest=DIGEST) == old


@settings(max_examples=300, deadline=None)
@given(pairs=pair_sets(), all_digests=st.booleans())
def test_every_pair_encoded_is_allowed(pairs: dict[str, list[str]], all_digests: bool) -> None:
    check = offered(pairs, all_digests=all_digests)
    for target, arguments in pairs.items():
        for argument in arguments:
            assert check.allows_event(target, argument)


@pytest.mark.parametrize("number", [0, 1, 9, 10, 11, 99, 100, 999, 1000, 9998, 9999])
def test_the_counting_table_is_where_the_encoder_looks(number: int) -> None:
    """Grids' numbers in order are checked against it at once (no int() each)."""
    table = validation._counting() + ","
    assert table[validation._counting_offset(number):].startswith(f",{number},")
    assert table[validation._counting_offset(number + 1) - 1] == str(number)[-1]


@pytest.mark.parametrize(
    "argument",
    ["", "0", "7", "00", "007", "Row$000", "Delete$17", "x" + "9" * 15, "x" + "9" * 16,
     "x" + "0" * 20 + "5", "9" * 5000, "a\u0661", "-3", "é12"],
)
def test_split_number_is_the_reference(argument: str) -> None:
    assert split_number(argument) == reference_split_number(argument)


# -- a grid's arguments read a segment at a time (validation._interleaved_runs) ---------------


def _rows(rows: Iterable[int], verbs: Sequence[str] = ("Edit$", "Delete$", "Select$"),
          spell: Callable[[int], str] = str) -> list[str]:
    return [verb + spell(n) for n in rows for verb in verbs]


_SORT, _PAGER = ["Sort$Name", "Sort$City"], [f"Page${p}" for p in range(2, 11)]
_LONG_HEAD = "z" * 60 + "$"  # (its numbers from 1000 make arguments over MAX_EXACT_CHARS)
# (arguments, whether the one-segment-at-a-time read takes them: else the loop does)
_GRIDS: dict[str, tuple[list[str], bool]] = {
    "gridview": ([*_SORT, *_rows(range(235)), *_PAGER], True),
    "one verb": (_rows(range(100), ["Delete$"]), True),
    "rows from 7": ([*_rows(range(7, 90)), "Page$Next"], True),
    "pager first": ([*_PAGER, *_rows(range(50))], True),
    "gaps": (_rows(range(0, 300, 3)), True),
    "past the counting table": (_rows(range(9_950, 10_050)), True),
    "a duplicated row": (_rows([*range(40), 17]), True),
    "rows twice": (_rows([*range(40), *range(40)]), True),
    "a repeated argument": ([*_rows(range(40)), "Edit$3"], True),
    "a head in two segments": (["Sort$1", *_rows(range(40)), "Sort$2"], True),
    "last row cut short": (_rows(range(40))[:-1], True),
    "a lone numbered one": (["Export$7", *_rows(range(40))], True),
    "rows out of order": (_rows([5, 3, 9, 1, *range(10, 60)]), True),
    "empty arguments": (["", *_rows(range(40)), "", ""], True),
    "empty heads": ([str(n) for n in range(60)], True),
    "digits only, interleaved with a head": (_rows(range(40), ["", "x"]), True),
    "leading zeros": (_rows(range(40), spell=lambda n: f"{n:03}"), False),
    "one leading zero": ([*_rows(range(40)), "Edit$007"], False),
    "Row$007 beside Row$7": ([*_rows(range(40), ["Row$"]), "Row$007"], False),
    "over 15 digits": (_rows(range(10**15 - 20, 10**15 + 20)), False),
    "16 digits alone": ([*_rows(range(40)), "Edit$" + "1" * 16], False),
    "arguments over 64 characters": (_rows(range(980, 1_020), [_LONG_HEAD]), False),
    "one argument over 64 characters": ([*_rows(range(40)), "L" * 70 + "1"], False),
    "a head a prefix of another": (_rows(range(40), ["a", "ab", "abc"]), True),
    "a head a prefix of another's number": (_rows(range(40), ["a", "a1a"]), True),
    "x beside x1": (["x", *_rows(range(40), ["x"]), "x"], True),
    "Arabic-Indic digits": (_rows(range(40), ["Row$", "Col\u0663"]), True),
    "Arabic-Indic numbers": ([f"Row${n}" for n in range(40)]
                             + ["Row$\u0663", "Row$1\u0663", "\u0663\u0664"], True),
    "a newline in an argument": ([*_rows(range(40)), "a\n1", "a\n2"], False),
    "a newline in a plain one": (["Sort\n$Name", *_rows(range(40))], False),
    "signs and spaces": ([*_rows(range(40)), "Edit$-1", "Edit$+2", "Edit$ 3"], False),
    "a sign": ([*_rows(range(40)), "Edit$-1"], True),
    "lone ones at the end": ([*_rows(range(40)), "Export$1", "Print$2", "Mail$3"], False),
    "a comma or a dot": ([*_rows(range(40)), "Edit$1,2", "Edit$4.0"], True),
    "rows that do not line up": (["Edit$1,2", "Edit$3", *_rows(range(40)), "Edit$4.0"], False),
    "shuffled": (random.Random(18).sample(_rows(range(60)), 180), False),
    "GUIDs": ([f"{n * 2654435761 % 2**32:08x}-4f1c-{n:012}" for n in range(60)], False),
}


@pytest.mark.parametrize("check_unique", [True, False], ids=["check unique", "assumed unique"])
@pytest.mark.parametrize(("arguments", "fast"), list(_GRIDS.values()), ids=list(_GRIDS))
def test_a_grid_read_a_segment_at_a_time_is_the_reference(arguments: list[str], fast: bool,
                                                          check_unique: bool) -> None:
    """Each shape the segment reader takes, or leaves to the loop, writes the reference's data
    (with and without orjson); where it takes them, it finds what the exact path finds."""
    read = validation._interleaved_runs(arguments, check_unique=check_unique)
    assert (read is not None) == fast
    if read is not None:
        groups, rest, unique = validation._argument_runs_exact(arguments,
                                                               check_unique=check_unique)
        assert read == (groups, rest, unique)
        assert _spelled(read[0]) == _spelled(groups)
    for pairs in ({"G": arguments}, {"GridView1": arguments, "row1": ["a"], "row2": ["b"]}):
        old = reference_encode(pairs, (), digest=DIGEST)
        assert _spelled(encode(pairs, (), digest=DIGEST)) == _spelled(old)
        with mock.patch.object(validation, "_ORJSON", False):
            assert _spelled(encode(pairs, (), digest=DIGEST)) == _spelled(old)


# Many arguments of one target, none ending in an ASCII digit (a card list's JSON, long values):
# read with one look at their last characters, then written as the reference wrote them.
_UNNUMBERED: dict[str, list[str]] = {
    "cards": [f'{n}:"' + "x" * 40 for n in range(36)] + [f"{n}:" + "q" * 600 for n in range(4)],
    "numbers inside": [f"a{n}b" for n in range(40)],
    "Arabic-Indic digits at the end": [f"a\u0663{'x' * n}\u0664" for n in range(40)],
    "repeated": ["same"] * 20 + [f"x{n}y" for n in range(20)],
    "empty and newlines": ["", "a\n", "b\n1x", *(f"k{n}-" for n in range(40))],
    "one number at the end": [*(f"a{n}b" for n in range(40)), "a7"],
}


@pytest.mark.parametrize("check_unique", [True, False], ids=["check unique", "assumed unique"])
@pytest.mark.parametrize("arguments", list(_UNNUMBERED.values()), ids=list(_UNNUMBERED))
def test_arguments_without_numbers_are_the_reference(arguments: list[str],
                                                      check_unique: bool) -> None:
    assert len(arguments) >= validation._INTERLEAVED_FROM  # (the path under test)
    read = validation._argument_runs(arguments, check_unique=check_unique)
    assert read == validation._argument_runs_exact(arguments, check_unique=check_unique)
    for all_digests in (False, True):
        pairs = {"card": arguments}
        old = reference_encode(pairs, (), digest=DIGEST, all_digests=all_digests)
        assert _spelled(encode(pairs, (), digest=DIGEST, all_digests=all_digests)) \
            == _spelled(old)


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        pytest.param({"grid": [f"Delete${n}" for n in range(50)]}, True, id="a-grid"),
        pytest.param({f"row{n}": ["delete"] for n in range(50)}, True, id="numbered-targets"),
        pytest.param({"vote": ["up", *(f"x{n}" for n in range(9)), "down:9"]}, True,
                     id="last-argument-numbered"),
        pytest.param({"card": _UNNUMBERED["cards"]}, False, id="cards"),
        pytest.param({"tag": ["alpha", "bravo"], "go": []}, False, id="words"),
        pytest.param({}, False, id="no-events"),
    ],
)
def test_may_have_runs(pairs: dict[str, list[str]], expected: bool) -> None:
    """What tells a grid's events (compact: a few bytes) from cards' (as large as they are),
    before encoding them, is a look at each target's ends; when it says no, encoding them
    indeed finds no run."""
    assert validation.may_have_runs(pairs) is expected
    if not expected:
        data = encode(pairs, (), digest=DIGEST)
        assert "r" not in data and "t" not in data


@st.composite
def _grid_arguments(draw: st.DrawFn) -> list[str]:
    """A grid's arguments (rows of a few heads, counting or not), then spoiled a little."""
    heads = draw(st.lists(_prefixes, min_size=1, max_size=4, unique=True))
    start, count = draw(_numbers), draw(st.integers(1, 60))
    step = draw(st.sampled_from([1, 1, 1, 3]))
    zeros = draw(st.sampled_from([0] * 8 + [1]))
    arguments = [head + _spell(n, zeros, False) for n in range(start, start + count * step, step)
                 for head in heads]
    before, after = draw(_arguments()), draw(_arguments())
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(arguments)))
        spoil = draw(st.sampled_from(["drop", "repeat", "insert"]))
        if spoil == "drop" and at < len(arguments):
            del arguments[at]
        elif spoil == "repeat" and arguments:
            arguments.insert(at, draw(st.sampled_from(arguments)))
        else:
            arguments.insert(at, draw(st.text(max_size=8)))
    return [*before, *arguments, *after]


@settings(max_examples=500, deadline=None)
@given(arguments=_grid_arguments(), all_digests=st.booleans())
def test_grids_encode_as_the_reference_wrote(arguments: list[str], all_digests: bool) -> None:
    pairs = {"GridView1": arguments}
    old = reference_encode(pairs, (), digest=DIGEST, all_digests=all_digests)
    assert _spelled(encode(pairs, (), digest=DIGEST, all_digests=all_digests)) == _spelled(old)
    with mock.patch.object(validation, "_ORJSON", False):
        assert encode(pairs, (), digest=DIGEST, all_digests=all_digests) == old
    for check_unique in (True, False):
        read = validation._interleaved_runs(arguments, check_unique=check_unique)
        if read is not None:
            groups, rest, unique = validation._argument_runs_exact(arguments,
                                                                   check_unique=check_unique)
            assert read == (groups, rest, unique)


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


def _fields_read_by(engine: str, app: webtest.TestApp) -> dict[str, str]:
    """The fields of ``/grid``'s first form, the page read by the scanner ``engine``."""
    previous = html_scan.use_engine(engine)  # type: ignore[arg-type]
    try:
        return hidden_fields(app.get("/grid").body)
    finally:
        html_scan.use_engine(previous)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_a_page_of_rows_each_with_its_own_target_is_verified(engine: str) -> None:
    """400 rows, ``data-postback="row17" data-postback-argument="delete:17"`` (the compiled
    scanner reads them as one family, the Python one as pairs): the same offer either way."""
    require_engine(engine)
    rows = "".join(f'<tr><td><a href="#" data-postback="row{n}" '
                   f'data-postback-argument="delete:{n}">Delete</a></td></tr>'
                   for n in range(1, 401))
    page = f'<html><body><form method="post" action="/grid"><table>{rows}</table></form>'
    inner = RecordingApp(page=page)
    app = webtest.TestApp(PostbackMiddleware(inner, secret_keys=[new_key()]))
    fields = _fields_read_by(engine, app)
    if engine == "compiled":
        assert len(fields["__EVENTVALIDATION"]) < 300  # one run, not 400 pairs written out
    tokens = {name: fields[name] for name in ("__VIEWSTATE", "__EVENTVALIDATION")}
    for target, argument, status in [("row17", "delete:17", 200), ("row400", "delete:400", 200),
                                     ("row1", "delete:1", 200), ("row401", "delete:401", 403),
                                     ("row0", "delete:0", 403), ("row17", "delete:18", 403),
                                     ("row017", "delete:017", 403), ("row17", "", 403)]:
        app.post("/grid", {"__EVENTTARGET": target, "__EVENTARGUMENT": argument, **tokens},
                 status=status)
    assert [(call.event.target, call.event.argument) for call in inner.calls if call.event] == [
        ("row17", "delete:17"), ("row400", "delete:400"), ("row1", "delete:1")]


@pytest.mark.parametrize("aspnet", [False, True], ids=["data-postback", "aspnet-links"])
@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_a_gridview_page_is_verified(engine: str, aspnet: bool) -> None:
    """A GridView's sorting links, 235 rows of Edit/Delete/Select and a pager (the compiled
    scanner reads the rows as html_scan.Rows, the Python one as pairs): the same offer."""
    require_engine(engine)

    def link(argument: str) -> str:
        if aspnet:
            return (f"<a href=\"javascript:__doPostBack(&#39;grid&#39;,&#39;{argument}&#39;)\">"
                    "x</a>")
        return f'<a data-postback="grid" data-postback-argument="{argument}">x</a>'

    links = (link("Sort$Name") + "".join(link(f"{verb}${n}") for n in range(235)
                                         for verb in ("Edit", "Delete", "Select"))
             + "".join(link(f"Page${n}") for n in range(2, 11)))
    app, ran = serve(grid_page(links))
    fields = _fields_read_by(engine, app)
    if engine == "compiled":
        assert len(fields["__EVENTVALIDATION"]) < 400  # runs, not 714 pairs written out
    for argument in ("Sort$Name", "Edit$0", "Select$234", "Delete$117", "Page$10"):
        post(app, fields, argument)
    for argument in ("Edit$235", "Delete$-1", "Page$1", "Page$11", "Sort$City", "Edit$07"):
        post(app, fields, argument, status=403)
    assert ran == ["Sort$Name", "Edit$0", "Select$234", "Delete$117", "Page$10"]


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


class _Posted(str):
    """A posted value that counts the offered values it is compared with."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        _Posted.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


@pytest.mark.parametrize("encoder", [written_out, partial(encode, digest=DIGEST)],
                         ids=["written-out", "compact"])
def test_many_posted_values_of_a_long_listbox_cost_a_look_each(
        encoder: Callable[..., dict[str, Any]]) -> None:
    """(red team) Each posted value was looked for in the list of the select's values: 990
    values of a listbox of 15,000 cost 15 million comparisons; the list is a set now."""
    offered = [f"{i}x" for i in range(15_000)]  # (no runs: each written out)
    choices = Offered(encoder({}, (), choices={"s": offered}), digest=DIGEST)
    posted = [_Posted(value) for value in offered[-990:]]
    _Posted.compared = 0
    choices.check_choices({"s": posted})
    assert _Posted.compared <= 2 * len(posted)
    with pytest.raises(Forbidden):
        choices.check_choices({"s": [*posted, _Posted("15000x")]})


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


def test_the_encoding_a_form_is_submitted_in() -> None:
    """``s``: the form's encoding where it is not UTF-8 (see charset.form_encoding)."""
    assert Offered({"e": {"a": ["ü"]}}, digest=DIGEST).encoding == "utf-8"
    assert Offered({"e": {"a": ["ü"]}, "s": "cp1252"}, digest=DIGEST).encoding == "cp1252"
    for odd in ("utf-8", "utf-7", "iso2022_jp", "hex", "windows-1252", None, 1252, ["cp1252"]):
        with pytest.raises(TokenError):
            Offered({"e": {"a": ["ü"]}, "s": odd}, digest=DIGEST)
    with pytest.raises(TokenError):  # (not among the choices' parts)
        Offered({"n": ["a"], "v": {"e": {"a": ["1"]}, "s": "cp1252"}}, digest=DIGEST)


@pytest.mark.parametrize("item", [1, 1.5, True, None, ["a"], {"a": "b"}])
@pytest.mark.parametrize("where", ["event", "second-target", "callback", "choice-name"])
def test_an_item_that_is_no_string_is_refused(item: object, where: str) -> None:
    """Every other type JSON reads, as an argument, a callback or a choice's name (checked
    in C, by joining the lists), is not event validation data."""
    data: dict[str, object] = {
        "event": {"e": {"a": ["1", item, "2"]}},
        "second-target": {"e": {"a": ["1"], "b": [item]}},
        "callback": {"e": {"a": ["1"]}, "c": ["cb", item]},
        "choice-name": {"n": [item], "v": {"e": {"a": ["1"]}}},
    }[where]
    with pytest.raises(TokenError):
        Offered(data, digest=DIGEST)
    good = {"event": {"e": {"a": ["1", "x", "2"]}}, "second-target": {"e": {"a": ["1"],
            "b": ["x"]}}, "callback": {"e": {"a": ["1"]}, "c": ["cb", "x"]},
            "choice-name": {"n": ["x"], "v": {"e": {"a": ["1"]}}}}[where]
    Offered(good, digest=DIGEST)  # (the same, with a string)


# -- families: a grid's rows, as the scanner reads them (html_scan.Family) --------------------

_FAMILY_TEXT = st.lists(st.sampled_from(["row", "x", "0", "7", "10", "\n", ":", "é", "z" * 30,
                                         "$", "Delete$"]), max_size=3).map("".join)


@settings(max_examples=1500, deadline=None)
@given(prefix=_FAMILY_TEXT, argument=_FAMILY_TEXT, numbered=st.booleans(),
       first=st.sampled_from([0, 1, 7, 9, 10, 99, 9_999, 10**14, 10**15 - 2]),
       count=st.integers(2, 30), callbacks=st.lists(st.sampled_from(["A", "B"]), max_size=2),
       choices=st.one_of(st.none(), pair_sets()))
@example(prefix="row", argument="delete:", numbered=True, first=1, count=400, callbacks=[],
         choices=None)
@example(prefix="row", argument="page5", numbered=False, first=1, count=9, callbacks=[],
         choices=None)  # (row5 reads its own number in it: the reference writes it otherwise)
@example(prefix="r", argument="x1", numbered=True, first=5, count=2, callbacks=[], choices=None)
def test_a_family_encodes_as_its_pairs_do(prefix: str, argument: str, numbered: bool,
                                          first: int, count: int, callbacks: list[str],
                                          choices: dict[str, list[str]] | None) -> None:
    """encode_family writes what encode writes for the family's pairs, or declines (None)."""
    family = html_scan.Family(prefix, argument, numbered, first, count)
    pairs = family.pairs()
    if len(pairs) < count:  # (two numbers spell one target: "r1" + "0" is "r10")
        return
    data = encode_family(family, callbacks, digest=DIGEST, choices=choices)
    expected = encode(pairs, callbacks, digest=DIGEST, choices=choices)
    if data is not None:
        assert data == expected
    if (prefix in ("row", "x") and argument in ("", "row", "x", ":", "Delete$")
            and first + count <= 10**15):
        assert data is not None  # (the shapes of a grid's rows are not declined)


def test_a_grid_of_rows_is_one_run() -> None:
    """400 rows of ``row17``/``delete:17``: a few bytes, and exactly those pairs allowed."""
    family = html_scan.Family("row", "delete:", True, 1, 400)
    data = encode_family(family, ["A"], digest=DIGEST)
    assert data == {"t": {"row": {"#delete:": [1, 400]}}, "c": ["A"]}
    check = Offered(data, digest=DIGEST)
    assert check.allows_event("row17", "delete:17")
    assert check.allows_event("row400", "delete:400")
    for target, argument in [("row17", "delete:18"), ("row401", "delete:401"),
                             ("row0", "delete:0"), ("row017", "delete:017"), ("row17", "")]:
        assert not check.allows_event(target, argument)


# -- rows: a grid's commands, as the scanner reads them (html_scan.Rows) -----------------------


@st.composite
def _forms_with_rows(draw: st.DrawFn
                     ) -> tuple[dict[str, list[str]], dict[str, list[tuple[int, Any]]]]:
    """A form's pairs and rows kept apart, as ``PostForm.compact_pairs`` gives them: the rows'
    arguments are not among the pairs, and a target with rows has each argument once."""
    pairs = draw(pair_sets())
    rows: dict[str, list[tuple[int, Any]]] = {}
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.one_of(st.sampled_from(["GridView1", "G", "row1", "row2", "", "x\n"]),
                                st.sampled_from(sorted(pairs) or ["G"])))
        heads = tuple(draw(st.lists(st.sampled_from(["Edit$", "Delete$", "", "Page$", "x0",
                                                     "a\n", "L" * 62, "Delete$1"]),
                                    min_size=1, max_size=3, unique=True)))
        run = html_scan.Rows(target, heads, draw(st.sampled_from([0, 1, 9, 10**15 - 5])),
                             draw(st.integers(2, 12)))
        runs = rows.setdefault(target, [])
        members = set(run.arguments())
        if runs:  # another run of the target: after the first, among what the form kept
            if members.intersection(pairs[target]):
                continue
            runs.append((draw(st.integers(runs[-1][0], len(pairs[target]))), run))
            continue
        known = [argument for argument in dict.fromkeys(pairs.get(target, []))  # (each once)
                 if argument not in members]
        pairs[target] = known
        runs.append((draw(st.integers(0, len(known))), run))
    return pairs, rows


@settings(max_examples=1500, deadline=None)
@given(form=_forms_with_rows(), callbacks=st.lists(st.sampled_from(["A", "B"]), max_size=2),
       all_digests=st.booleans(), choices=st.one_of(st.none(), pair_sets()))
@example(form=({"GridView1": ["Sort$Name", "Sort$City", "Page$2", "Page$3"]},
               {"GridView1": [(2, html_scan.Rows("GridView1", ("Edit$", "Delete$", "Select$"), 0,
                                                 235))]}),
         callbacks=[], all_digests=False, choices=None)
def test_rows_encode_as_their_pairs_do(
    form: tuple[dict[str, list[str]], dict[str, list[tuple[int, Any]]]], callbacks: list[str],
    all_digests: bool, choices: dict[str, list[str]] | None,
) -> None:
    """encode with rows kept apart writes what it writes for the pairs written out."""
    pairs, rows = form
    expected = encode(validation.with_rows(pairs, rows), callbacks, digest=DIGEST,
                      all_digests=all_digests, choices=choices)
    fits = validation._rows_fit(pairs, rows)
    event(f"rows fit: {fits}")
    event(f"read at a look: {validation._rows_beside_plain_pairs(pairs, rows) is not None}")
    assert encode(pairs, callbacks, digest=DIGEST, all_digests=all_digests, choices=choices,
                  rows=rows) == expected


@st.composite
def _grids_beside_plain_pairs(draw: st.DrawFn
                              ) -> tuple[dict[str, list[str]], dict[str, list[tuple[int, Any]]]]:
    """A form's pairs and rows in the shape encode reads at a look (a grid's rows, its sort
    links, a form's plain buttons), and its near misses: a digit, a long or multi-line string,
    two grids of one prefix, a head among the plain arguments, a run of one, numbers past
    15 digits. A target with rows has each argument once (as ``PostForm.compact_pairs`` gives
    them)."""
    clean = draw(st.booleans())  # (drawn from the shape's own strings: mostly read at a look)
    plain = ["Sort$Name", "Sort$City", "", "go", "Edit$"]
    words = st.sampled_from(plain if clean else [*plain, "Page$2", "x\n", "L" * 65])
    targets = ["sort", "save", ""] if clean else ["sort", "save", "", "row7", "L" * 65]
    pairs = draw(st.dictionaries(st.sampled_from(targets), st.lists(words, max_size=3),
                                 max_size=3))
    rows: dict[str, list[tuple[int, Any]]] = {}
    for target in draw(st.lists(st.sampled_from(["GridView1", "GridView2", "G", "sort"]),
                                min_size=1, max_size=2, unique=True)):
        pairs[target] = draw(st.lists(words, max_size=3))
        heads = draw(st.lists(st.sampled_from(["Edit$", "Delete$", "", "Page$"] if clean else
                                              ["Edit$", "Delete$", "", "a\n", "Row1", "L" * 60]),
                              min_size=1, max_size=3, unique=True))
        first = draw(st.sampled_from([0, 1, 10**15 - 3] if clean else [1, 10**15 - 1]))
        count = draw(st.sampled_from([2, 3, 40] if clean else [1, 2, 40]))
        rows[target] = [(0, html_scan.Rows(target, tuple(heads), first, count))]
        members = set(rows[target][0][1].arguments())  # (a rows' target: each argument once)
        pairs[target] = [argument for argument in dict.fromkeys(pairs[target])
                         if argument not in members]
    return pairs, rows


@settings(max_examples=1000, deadline=None)
@given(form=_grids_beside_plain_pairs(), callbacks=st.lists(st.sampled_from(["A"]), max_size=1))
def test_a_grid_beside_plain_pairs_reads_as_its_pairs_do(
    form: tuple[dict[str, list[str]], dict[str, list[tuple[int, Any]]]], callbacks: list[str],
) -> None:
    """The look that reads a grid's commonest form (rows, plain pairs beside them) writes what
    encode writes for the pairs written out, and declines every other shape (near misses)."""
    pairs, rows = form
    looked = validation._rows_beside_plain_pairs(pairs, rows)
    event(f"read at a look: {looked is not None}")
    expected = encode(validation.with_rows(pairs, rows), callbacks, digest=DIGEST)
    assert encode(pairs, callbacks, digest=DIGEST, rows=rows) == expected
    if looked is not None:
        exact, numbered, per_row, to_digest = looked
        assert per_row == {} and to_digest == []  # (no family, no digest: nothing read)
        assert ({"e": exact} if exact else {}) | {"r": numbered} | (
            {"c": callbacks} if callbacks else {}) == expected


@pytest.mark.parametrize(("head", "tail", "numbers"), [
    pytest.param("/u/", "/delete", range(1, 151), id="a-list"),
    pytest.param("", "", range(0, 3), id="bare-numbers"),
    pytest.param("%d", "\0", range(9_990, 10_000), id="the-tables-end"),
    pytest.param("a", "b", range(5, 5), id="none"),
])
def test_joined_numbers_are_each_number_written(head: str, tail: str, numbers: range) -> None:
    assert validation.joined_numbers(head, tail, "\0", numbers) == "\0".join(
        f"{head}{n}{tail}" for n in numbers)


@pytest.mark.parametrize("numbers", [range(9_990, 10_001), range(-1, 3), range(0, 10, 2)],
                         ids=["past-the-table", "negative", "a-step"])
def test_joined_numbers_leave_what_their_table_lacks_to_the_caller(numbers: range) -> None:
    assert validation.joined_numbers("a", "b", ",", numbers) is None


def test_a_gridview_is_a_few_runs() -> None:
    """A GridView's commands kept as rows: runs, its sorting links written out."""
    rows = html_scan.Rows("GridView1", ("Edit$", "Delete$", "Select$"), 0, 235)
    data = encode({"GridView1": ["Sort$Name", "Page$2", "Page$3"]}, (), digest=DIGEST,
                  rows={"GridView1": [(1, rows)]})
    assert data == {"e": {"GridView1": ["Sort$Name"]}, "r": {"GridView1": {
        "Page$": [2, 2], "Edit$": [0, 235], "Delete$": [0, 235], "Select$": [0, 235]}}}
