"""Event validation: what a form offered, written compactly, and the check of a request against it.

``__EVENTVALIDATION`` names every (target, argument) pair a form's elements can raise and every
callback the form offers; a postback or callback that names anything else is refused. Pages with
thousands of events (a grid with a Delete link per row) must not make the token huge, so the
data (the ``d`` of the signed token, see ``tokens``) has up to five parts, and two more::

    {"e": {target: [argument, ...]},                # pairs written out
     "r": {target: {prefix: [start, count, ...]}},  # runs: prefix + str(n) for each n in a run
     "t": {prefix: {key: [start, count, ...]}},     # numbered targets: prefix + str(n), each
                                                    # with argument key[1:] ("=" key) or
                                                    # key[1:] + str(n) ("#" key)
     "h": "base64url of 6-byte digests",            # pairs too long to write out, or too many
     "c": [callback name, ...],                     # the callbacks the form offers
     "n": [control name, ...],                      # choices (option validate_choices):
     "v": {"e": ..., "r": ..., "t": ..., "h": ...}, # the names checked, and their values
     "s": "cp1252"}                                 # the form's encoding, when not UTF-8

* **Written out** (:func:`written_out`): the pairs as they are, for the small forms of most
  pages (the middleware uses it while the token stays under a few KB): no work a pair.
* **Runs.** ASP.NET grids raise ``Delete$0``, ``Delete$1``...: arguments that are a prefix and
  a canonical decimal number (no leading zero) are grouped by (target, prefix) and their numbers
  written as runs, so 100,000 rows cost a few bytes. Pages with a target per row (``row17``
  raising ``delete`` or ``delete:17``) get the same treatment under ``t``. The compiled
  scanner hands most such rows over already compact (``html_scan.Family`` and ``Rows``):
  :func:`encode_family` and ``encode(rows=...)`` write them without a string a row, the same
  data as for the pairs written out.
* **Digests.** A target or argument over :data:`MAX_EXACT_CHARS` characters, or every pair
  outside a run when the compact data would not fit ``max_state_size``, travels as the first
  :data:`DIGEST_BYTES` bytes of an HMAC-SHA256 under a key derived from the secret key that
  signed the token. Forging a pair then needs that key: without it, a guessed pair passes with
  a chance of n / 2**48 for a form of n digests (one in 23 billion for 12,000), and every
  guess is a refused, logged request.
* **Callbacks.** A form offers the callbacks its ``<form data-callbacks="A B">`` names; a
  callback runs only for a request whose event validation lists it, so a public page's token
  never runs an admin page's callback.
* **Choices** (only with the ``validate_choices`` option, as ASP.NET validates a posted
  DropDownList or RadioButtonList value): the values the form offers for each of its
  ``<select>`` and radio groups, as (name, value) pairs written like the events (``v``, the
  same parts but callbacks), and the names (``n``). A postback that posts any other value for
  one of those names is refused (:meth:`Offered.check_choices`).
* **Encoding.** A browser submits a form in its encoding (``charset.form_encoding``): a form
  of a windows-1252 page posts ``Müller`` as ``M%FCller``. Its data names that encoding
  (a Python codec: ``charset.form_encoding``), so that the pairs and values posted are read
  in it once the token is verified (:attr:`Offered.encoding`); a UTF-8 form's data has no
  ``s``, as before.

Everything here works on plain JSON values (the token's JSON is canonical, see ``tokens``), so
the data re-signs unchanged when a callback refreshes the token.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain, islice, repeat
from typing import Any, Protocol

from .errors import Forbidden, Reason, TokenError
from .http import is_form_encoding, is_number

try:
    import orjson
except ImportError:  # (a dependency; without it, numbers are read one int() each)
    orjson = None  # type: ignore[assignment]
_ORJSON = orjson is not None

MAX_EXACT_CHARS = 64
"""A target or argument longer than this is written as a digest (a 128 KB argument then costs
eight characters)."""
DIGEST_BYTES = 6  # 12,000 pairs of any shape fit the default max_state_size of 128 KiB
_DIGITS = "0123456789"
_MAX_DIGITS = 15  # numbers up to 10**15: JSON integers that every parser reads exactly
_MIN_RUN_GROUP = 2  # a lone numbered argument is cheaper written out
_NUMBER_LIMIT = 10**_MAX_DIGITS

# (target, argument) -> its keyed digest (``TokenSigner.event_digest``; the first
# DIGEST_BYTES of it are kept).
Digester = Callable[[str, str], bytes]


def split_number(argument: str) -> tuple[str, int] | None:
    """``("Delete$", 17)`` for ``"Delete$17"``: a prefix and a canonical decimal, or None.

    Canonical: ``prefix + str(n)`` is the argument again, so ``"Row$007"`` is ``("Row$00", 7)``.
    """
    head = argument.rstrip(_DIGITS)
    start, end = len(head), len(argument)
    if start == end:
        return None
    if argument[start] == "0" and end - start > 1:  # leading zeros belong to the prefix
        start = end - len(argument[start:].lstrip("0") or "0")
        head = argument[:start]
    if end - start > _MAX_DIGITS:
        return None
    return head, int(argument[start:])


def _runs(numbers: Iterable[int]) -> list[int]:
    """Sorted distinct numbers as ``[start, count, start, count, ...]``."""
    return _runs_of(sorted(set(numbers)))


def _runs_of(ordered: Sequence[int]) -> list[int]:
    """:func:`_runs` of numbers already sorted and distinct."""
    if not ordered:
        return []
    first, count = ordered[0], len(ordered)
    if ordered[-1] - first == count - 1:  # one run (a grid's rows): no loop
        return [first, count]
    flat: list[int] = []
    append = flat.append
    start = previous = first
    for number in islice(ordered, 1, None):
        if number != previous + 1:
            append(start)
            append(previous - start + 1)
            start = number
        previous = number
    append(start)
    append(previous - start + 1)
    return flat


def written_out(
    pairs: Mapping[str, Sequence[str]],
    callbacks: Sequence[str],
    choices: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The event validation data with every pair written out as it is: no work a pair, for the
    small forms of most pages (:func:`encode` costs some 0.1 µs a pair)."""
    data: dict[str, Any] = {}
    if pairs:
        data["e"] = pairs  # (plain JSON data, signed at once: no copy needed)
    if callbacks:
        data["c"] = sorted(set(callbacks))
    if choices:
        data["n"], data["v"] = sorted(choices), written_out(choices, ())
    return data


def encode(
    pairs: Mapping[str, Sequence[str]],
    callbacks: Sequence[str],
    *,
    digest: Digester,
    all_digests: bool = False,
    choices: Mapping[str, Sequence[str]] | None = None,
    rows: Rows | None = None,
) -> dict[str, Any]:
    """The event validation data for a form's pairs and callbacks (and choices, the pairs of
    its select and radio values), compact (runs, digests).

    ``all_digests``: write every pair that is not in a run as a digest (for a form whose compact
    data still does not fit ``max_state_size``).

    ``rows``: runs of commands kept apart from ``pairs`` (a GridView's, as the scanner reads
    them: see ``inject.PostForm.compact_pairs``), written as runs without a string a command;
    the data is that of the pairs with the rows' arguments in their places (a property test
    holds the two equal), which is what is written when the rows do not fit beside the
    others (:func:`_rows_fit`).

    The data is exactly what the first, pair-by-pair version of this function wrote, so tokens
    in pages keep verifying (a property test holds the two equal). It is found with a few C
    calls for a whole group of pairs (a grid's ``Delete$0`` ... ``Delete$234``, targets
    ``row1`` ... ``row400``) rather than with a ``split_number`` a pair; shapes that the fast
    paths do not fit take the pair-by-pair way.
    """
    parts = _rows_beside_plain_pairs(pairs, rows) if rows and not all_digests else None
    if parts is None:
        if rows and not _rows_fit(pairs, rows):
            pairs, rows = with_rows(pairs, rows), None
        parts = _encode_pairs(pairs, all_digests=all_digests, assume_unique=True, rows=rows)
    if parts is None:  # a target repeats an argument (see _numbered_targets): read it all
        parts = _encode_pairs(pairs, all_digests=all_digests, assume_unique=False, rows=rows)
        assert parts is not None
    data: dict[str, Any] = {}
    exact, numbered, per_row, to_digest = parts
    if exact:
        data["e"] = exact
    if numbered:
        data["r"] = numbered
    if per_row:
        data["t"] = per_row
    if to_digest:
        digests = {digest(target, argument)[:DIGEST_BYTES] for target, argument in to_digest}
        data["h"] = base64.urlsafe_b64encode(b"".join(sorted(digests))).decode("ascii")
    if callbacks:
        data["c"] = sorted(set(callbacks))
    if choices:
        data["n"] = sorted(choices)
        data["v"] = encode(choices, (), digest=digest, all_digests=all_digests)
    return data


def _rows_beside_plain_pairs(pairs: Mapping[str, Sequence[str]], rows: Rows) -> _Parts | None:
    """The parts :func:`_encode_pairs` gives a grid's form in its commonest shape, at a look
    at each run and pair: its rows as runs (``r``), and beside them pairs that hold no number
    (a grid's ``Sort$Name``, a form's ``sort``): no argument or target ending in a digit but
    the rows' targets (each of its own prefix), none over MAX_EXACT_CHARS, no argument of a
    rows' target twice (``PostForm.compact_pairs`` gives each once). None for any other shape:
    the general way then reads it (property tests hold the two ways equal)."""
    exact: dict[str, Sequence[str]] = {}
    numbered: dict[str, dict[str, list[int]]] = {}
    prefixes: set[str] = set()
    for target, runs in rows.items():
        if len(target) > MAX_EXACT_CHARS:
            return None
        if target[-1:] in _DIGIT_SET:  # (a GridView1: another target of its prefix is a row)
            prefix = target.rstrip(_DIGITS)
            if prefix in prefixes:
                return None
            prefixes.add(prefix)
        groups: dict[str, list[int]] = {}
        for _, run in runs:
            first, count = run.first, run.count
            last = first + count - 1
            if count < _MIN_RUN_GROUP or first < 0 or last >= _NUMBER_LIMIT:
                return None
            room = MAX_EXACT_CHARS - len(str(last))
            for head in run.heads:
                if (head in groups or len(head) > room or "\n" in head
                        or head[-1:] in _DIGIT_SET):
                    return None
                groups[head] = [first, count]
        others = pairs.get(target)
        if others:
            if (ends_in_a_digit(others) or max(map(len, others)) > MAX_EXACT_CHARS
                    or len(set(others)) != len(others)):  # (never, from compact_pairs)
                return None
            exact[target] = list(others)
        numbered[target] = groups
    for target, arguments in pairs.items():
        if target in rows or not arguments:
            continue
        if (target[-1:] in _DIGIT_SET or len(target) > MAX_EXACT_CHARS
                or ends_in_a_digit(arguments) or max(map(len, arguments)) > MAX_EXACT_CHARS):
            return None
        exact[target] = list(arguments)
    return exact, numbered, {}, []


class NumberedFamily(Protocol):
    """Pairs that are one numbered family (the response side's ``html_scan.Family``, which
    the scanner returns for a grid's rows): targets ``prefix + str(n)`` for n = ``first`` ...
    ``first + count - 1``, each with ``argument``, or (``numbered``) ``argument + str(n)``."""

    @property
    def prefix(self) -> str: ...
    @property
    def argument(self) -> str: ...
    @property
    def numbered(self) -> bool: ...
    @property
    def first(self) -> int: ...
    @property
    def count(self) -> int: ...


class CommandRows(Protocol):
    """One target's arguments in rows (the response side's ``html_scan.Rows``, which the
    scanner returns for a GridView's commands): ``head + str(n)`` for each of ``heads`` in
    turn, for n = ``first`` ... ``first + count - 1``."""

    @property
    def target(self) -> str: ...
    @property
    def heads(self) -> tuple[str, ...]: ...
    @property
    def first(self) -> int: ...
    @property
    def count(self) -> int: ...
    def arguments(self) -> list[str]: ...


# A form's rows, by target: each run with where it stands among the target's other arguments.
Rows = Mapping[str, Sequence[tuple[int, CommandRows]]]


def with_rows(pairs: Mapping[str, Sequence[str]], rows: Rows) -> dict[str, list[str]]:
    """The pairs with the rows' arguments in their places: every pair written out."""
    whole = {target: list(arguments) for target, arguments in pairs.items()}
    for target, runs in rows.items():
        arguments = whole.setdefault(target, [])
        for at, run in reversed(runs):  # (a later run's place counts no earlier one)
            arguments[at:at] = run.arguments()
    return whole


def _rows_fit(pairs: Mapping[str, Sequence[str]], rows: Rows) -> bool:
    """Whether :func:`encode` can write the rows as runs beside the other pairs, with the
    data it writes for all of them written out: each target's runs and other arguments share
    no head, and no other numbered target shares its prefix (``t``: see
    ``_numbered_targets``); names within :data:`MAX_EXACT_CHARS`."""
    for target, runs in rows.items():
        heads: set[str] = set()
        for _, run in runs:
            last = run.first + run.count - 1
            if (len(target) > MAX_EXACT_CHARS or run.count < _MIN_RUN_GROUP or run.first < 0
                    or not heads.isdisjoint(run.heads) or len(set(run.heads)) != len(run.heads)
                    or not all(_numbers_read_apart(head, last) for head in run.heads)):
                return False
            heads.update(run.heads)
        if any(argument.rstrip(_DIGITS) in heads for argument in pairs.get(target, ())):
            return False
        prefix = target.rstrip(_DIGITS)
        if prefix != target and any(other != target and other.rstrip(_DIGITS) == prefix
                                    and other[-1:] in _DIGIT_SET for other in pairs):
            return False
    return True


def _numbers_read_apart(head: str, last: int) -> bool:
    """Whether ``head + str(n)``, for numbers n up to ``last``, is read as ``head`` and n
    when the pairs are written out (what runs stand for): no newline (the encoder joins
    strings with one), no digit at its end, numbers of at most _MAX_DIGITS digits, none of
    the strings over MAX_EXACT_CHARS."""
    return ("\n" not in head and not (head and head[-1] in _DIGIT_SET)
            and last < 10**_MAX_DIGITS and len(head) + len(str(last)) <= MAX_EXACT_CHARS)


def encode_family(
    family: NumberedFamily,
    callbacks: Sequence[str],
    *,
    digest: Digester,
    choices: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any] | None:
    """:func:`encode` of a form whose pairs are one family (a grid's rows), without a string
    a pair: its ``t`` part, one run. None when :func:`encode` would write the pairs another
    way (a prefix or argument that makes the numbers ambiguous, or over
    :data:`MAX_EXACT_CHARS`): the caller then encodes the pairs themselves (a property test
    holds the two equal)."""
    prefix, argument, first, count = family.prefix, family.argument, family.first, family.count
    last = first + count - 1
    if count < _MIN_RUN_GROUP or first < 0 or not _numbers_read_apart(prefix, last):
        return None
    if family.numbered:  # each argument + str(n): the number must read as its target's
        if ("\n" in argument or len(argument) + len(str(last)) > MAX_EXACT_CHARS
                or split_number(argument + str(first)) != (argument, first)):
            return None
        key = "#" + argument
    else:  # one argument for all, unless one target's own number could be read in it
        own = split_number(argument)
        if len(argument) > MAX_EXACT_CHARS or (own is not None and first <= own[1] <= last):
            return None
        key = "=" + argument
    data: dict[str, Any] = {"t": {prefix: {key: [first, count]}}}
    if callbacks:
        data["c"] = sorted(set(callbacks))
    if choices:
        data["n"] = sorted(choices)
        data["v"] = encode(choices, (), digest=digest)
    return data


_Parts = tuple[
    dict[str, Sequence[str]],  # e
    dict[str, dict[str, list[int]]],  # r
    dict[str, dict[str, list[int]]],  # t
    list[tuple[str, str]],  # the pairs that travel as digests
]


def _encode_pairs(
    pairs: Mapping[str, Sequence[str]], *, all_digests: bool, assume_unique: bool,
    rows: Rows | None = None,
) -> _Parts | None:
    """The ``e``, ``r`` and ``t`` parts and the pairs to digest; None when ``assume_unique``
    turns out wrong (a target assumed to repeat no argument repeats one). ``rows``: see
    :func:`encode` (they fit)."""
    pairs_given = pairs
    candidates = [target for target in pairs if target and target[-1] in _DIGIT_SET]
    if not candidates and not all_digests and not rows:
        simple = _written_as_they_are(pairs)
        if simple is not None:
            return simple, {}, {}, []
    exact: dict[str, Sequence[str]] = {}
    numbered: dict[str, dict[str, list[int]]] = {}
    to_digest: list[tuple[str, str]] = []
    per_row, pairs, unchecked = _numbered_targets(pairs, candidates,
                                                  assume_unique=assume_unique)
    # A target with rows: its other arguments, as the loop below reads them all (its pairs
    # are in no ``t`` family: see _rows_fit).
    with_runs = ((target, pairs_given.get(target, ())) for target in rows or ())
    for target, arguments in chain(with_runs, pairs.items()):
        if rows and target in rows:
            if target in numbered:
                continue  # (read above)
            check = target in unchecked
            groups, others, unique = _argument_runs(arguments, check_unique=check)
            if check and not unique:
                return None
            for _, run in rows[target]:
                groups.update((head, [run.first, run.count]) for head in run.heads)
            numbered[target] = groups
            if all_digests:
                to_digest += zip(repeat(target), others)
                continue
            written = [argument for argument in others if len(argument) <= MAX_EXACT_CHARS]
            to_digest += ((target, argument) for argument in others
                          if len(argument) > MAX_EXACT_CHARS)
            if written:
                exact[target] = written
            continue
        if len(arguments) == 1 and len(target) <= MAX_EXACT_CHARS and not all_digests:
            # Most targets of a many-target form: one argument, written out as it is.
            if len(arguments[0]) <= MAX_EXACT_CHARS:
                exact[target] = arguments if type(arguments) is list else list(arguments)
            else:
                to_digest.append((target, arguments[0]))
            continue
        if not arguments:
            continue
        if len(target) > MAX_EXACT_CHARS:
            to_digest += zip(repeat(target), arguments)
            continue
        if len(arguments) == 1:  # (one argument is never a run)
            rest: Sequence[str] = arguments
        else:
            check = target in unchecked
            groups, rest, unique = _argument_runs(arguments, check_unique=check)
            if check and not unique:
                return None
            if groups:
                numbered[target] = groups
        if all_digests:
            to_digest += zip(repeat(target), rest)
            continue
        written = [argument for argument in rest if len(argument) <= MAX_EXACT_CHARS]
        if len(written) != len(rest):
            to_digest += ((target, argument) for argument in rest
                          if len(argument) > MAX_EXACT_CHARS)
        if written:
            exact[target] = written
    return exact, numbered, per_row, to_digest


def _written_as_they_are(pairs: Mapping[str, Sequence[str]]) -> dict[str, Sequence[str]] | None:
    """The ``e`` part, when it is all (no target numbered): every target one argument, neither
    over MAX_EXACT_CHARS (ASP.NET's per-row controls, ``gvOrders$ctl02$btnDelete``); else
    None, mostly after a look at the first target."""
    values = list(pairs.values())
    if not values or len(values[0]) != 1:
        return None
    try:
        arguments = [argument for (argument,) in values]
    except ValueError:  # (a target with no argument, or several)
        return None
    if max(map(len, pairs)) > MAX_EXACT_CHARS or max(map(len, arguments)) > MAX_EXACT_CHARS:
        return None
    if set(map(type, values)) != {list}:  # (the data holds lists, as JSON reads them)
        return None
    return dict(pairs)


# ",0,1,2,...": the numbers in order, as a grid writes its rows. A group of strings prefix + n
# in that order is recognised with one string comparison against it (no int() a number).
_COUNTING_LIMIT = 10_000


@functools.cache
def _counting() -> str:
    return "," + ",".join(_counted_strings())


@functools.cache
def _counted_strings() -> list[str]:
    """``str(n)`` for each n of the table: a slice of it joins to a run's strings at once."""
    return list(map(str, range(_COUNTING_LIMIT)))


def joined_numbers(head: str, tail: str, separator: str, numbers: range) -> str | None:
    """``separator.join(f"{head}{n}{tail}" for n in numbers)`` (numbers counting up by one),
    written with one join of the table's strings (what a run of rows is compared against);
    None past the table (the caller formats them)."""
    if numbers.step != 1 or numbers.start < 0 or numbers.stop > _COUNTING_LIMIT:
        return None
    if not numbers:
        return ""
    strings = _counted_strings()[numbers.start:numbers.stop]
    return head + (tail + separator + head).join(strings) + tail


def _counting_offset(number: int) -> int:
    """Where ``"," + str(number)`` starts in ``_counting()``."""
    offset, low, high, width = number, 0, 10, 1  # a comma each, then the digits below
    while number > low:
        offset += (min(number, high) - low) * width
        low, high, width = high, high * 10, width + 1
    return offset


# What _numbers reads: the runs, the numbers (in the strings' order), ",n1,n2,..." and the
# digits of the largest.
_Read = tuple[list[int], Sequence[int], str, int]


def _counted(head: str, strings: Sequence[str]) -> _Read | None:
    """The numbers of ``strings`` when they are exactly ``head + str(n)`` for n = low, low + 1,
    ... (two or more, in that order, none over MAX_EXACT_CHARS), else None. Any strings."""
    first = strings[0][len(head) :]
    if not 0 < len(first) <= 4 or not is_number(first) or first[0] == "0" != first:
        return None
    low = int(first)
    high = low + len(strings)
    if strings[-1] != head + str(high - 1):  # (most groups that are not: at once)
        return None
    width = len(str(high - 1))
    if high > _COUNTING_LIMIT or "\n" in head or len(head) + width > MAX_EXACT_CHARS:
        return None
    # Joined by a character that the head lacks, equal strings have equal parts.
    if "\n".join(strings) != head + ("\n" + head).join(_counted_strings()[low:high]):
        return None
    commas = _counting()[_counting_offset(low) : _counting_offset(high)]
    return [low, len(strings)], range(low, high), commas, width


def _numbers(head: str, group: Sequence[str]) -> _Read | None:
    """The numbers of ``group``: two or more strings ``head`` + ASCII digits, ``head`` not
    ending in a digit; None when one is not canonical (a leading zero: another prefix) or has
    more than _MAX_DIGITS digits, or a string is over MAX_EXACT_CHARS.

    The digits are read at once: ``head`` occurs in ``"".join(group)`` only where a string
    starts (it ends in a non-digit, and what follows it is digits then ``head`` again).
    """
    counted = _counted(head, group)
    if counted is not None:
        return counted
    size = len(head)
    commas = "".join(group).replace(head, ",") if head else "," + ",".join(group)
    limit = min(_MAX_DIGITS, MAX_EXACT_CHARS - size)
    if limit < 1:
        return None
    if _ORJSON:
        try:  # (JSON refuses a leading zero; past 64 bits orjson reads a float: too large)
            numbers: list[int] = orjson.loads("[" + commas[1:] + "]")
        except orjson.JSONDecodeError:
            return None
        largest = max(numbers)
        if largest >= 10**limit:
            return None
    else:
        digits = commas[1:].split(",")
        if max(map(len, digits)) > limit or commas.count(",0") != digits.count("0"):
            return None
        numbers = list(map(int, digits))
        largest = max(numbers)
    return _runs(numbers), numbers, commas, len(str(largest))


def _argument_runs(arguments: Sequence[str], *, check_unique: bool
                   ) -> tuple[dict[str, list[int]], list[str], bool]:
    """One target's arguments as runs (prefix -> ``[start, count, ...]``, for the prefixes of
    two or more numbers), the arguments left in the order the ``e`` part lists them (those
    that are no number, then the lone numbered ones, by prefix), and (``check_unique``)
    whether the arguments of at most MAX_EXACT_CHARS are distinct (else True).

    Groups the arguments by what ``str.rstrip`` leaves of them (one C call an argument), then
    reads each group at once (:func:`_numbers`). A group that does not fit (a leading zero, an
    overlong number or argument) sends the whole target to :func:`_argument_runs_exact`: it
    changes the order of the arguments left.
    """
    if len(arguments) >= _INTERLEAVED_FROM and type(arguments) in (list, tuple):
        # No argument ends in a digit (cards, long JSON arguments): no run, nothing to read.
        if not ends_in_a_digit(arguments):
            return {}, list(arguments), not check_unique or _distinct(arguments)
        found = _interleaved_runs(arguments, check_unique=check_unique)
        if found is not None:
            return found
    plain: list[str] = []  # no trailing digit
    by_head: dict[str, list[str]] = {}
    get = by_head.get
    for argument in arguments:
        head = argument.rstrip(_DIGITS)
        if head is argument:  # (CPython: nothing stripped, the same str)
            plain.append(argument)
            continue
        group = get(head)
        if group is None:
            by_head[head] = [argument]
        else:
            group.append(argument)
    groups: dict[str, list[int]] = {}
    lone: list[str] = []
    unique = not check_unique or _distinct(plain)
    for head, group in by_head.items():
        if len(group) == 1:
            argument = group[0]
            if len(head) < len(argument) <= MAX_EXACT_CHARS and (
                    len(argument) - len(head) <= _MAX_DIGITS or split_number(argument)):
                lone.append(argument)
                continue
            # No number (among the plain ones, in order), or a str that rstrip copied.
            return _argument_runs_exact(arguments, check_unique=check_unique)
        read = _numbers(head, group) if head not in group else None  # ("x" beside "x1")
        if read is None:
            return _argument_runs_exact(arguments, check_unique=check_unique)
        runs = read[0]
        if sum(runs[1::2]) != len(group):  # (fewer distinct numbers)
            unique = False
        groups[head] = runs
    return groups, plain + lone if lone else plain, unique


def ends_in_a_digit(texts: Iterable[str]) -> bool:
    """Whether one of ``texts`` ends in an ASCII digit (what runs are made of: a grid's
    ``Delete$17``), read with one look at their last characters."""
    return _ASCII_DIGIT.search("".join([text[-1:] for text in texts])) is not None


def may_have_runs(pairs: Mapping[str, Sequence[str]]) -> bool:
    """Whether :func:`encode` may write many of ``pairs`` as runs, at a look at each target
    and its first and last arguments: one of them ends in a digit (a grid's ``Delete$0`` ...
    ``Delete$99``). Else their compact data is about as large as they are (cards, long
    values); a grid whose first and last arguments are no rows' (``Sort$Name`` ...
    ``Page$Next``) is not told apart here."""
    ends = list(pairs)
    ends += [argument for arguments in pairs.values() if arguments
             for argument in (arguments[0], arguments[-1])]
    return ends_in_a_digit(ends)


def _distinct(arguments: Sequence[str]) -> bool:
    """Whether the arguments of at most MAX_EXACT_CHARS are distinct (the longer ones travel
    as digests, where equal ones are one)."""
    short = [argument for argument in arguments if len(argument) <= MAX_EXACT_CHARS]
    return len(set(short)) == len(short)


# A grid's arguments, read a segment at a time (see _interleaved_runs).
_INTERLEAVED_FROM = 32  # (fewer arguments: the loop of _argument_runs is as quick)
_MAX_HEADS = 8  # commands of a row (Edit, Delete, Select, Update...)
_MAX_SEGMENTS = 8
_MAX_SHORT_SEGMENTS = 2  # of fewer than _SHORT arguments: no grid's shape, give up early
_SHORT = 4
_PLAIN_WINDOW = 2048  # characters read for the next numbered argument
_TRAILING_DIGIT = re.compile("[0-9]$", re.MULTILINE)  # (ASCII digits only, as split_number)
_ASCII_DIGIT = re.compile("[0-9]")
_ONLY_INT = frozenset({int})
_Numbers = tuple[list[int], Sequence[int]]  # runs, and the numbers in the strings' order


def _interleaved_runs(arguments: Sequence[str], *, check_unique: bool
                      ) -> tuple[dict[str, list[int]], list[str], bool] | None:
    """:func:`_argument_runs` with a few C calls for the whole of a grid's arguments, not one
    an argument; None when they do not have the shape it reads.

    The shape: segments of arguments with no trailing digit, and segments of rows, each row
    the same few heads with a number (``Edit$0 Delete$0 Select$0 Edit$1 ...``, or one head:
    ``Page$2 Page$3 ...``). A row segment's strings of one head are a slice with a step, read
    and checked at once (:func:`_head_numbers`); where the rows end is only guessed, since
    each slice is checked to be exactly ``head + str(n)`` for canonical numbers, so any guess
    gives the data of the pair-by-pair reference (a bad one gives None).
    """
    count = len(arguments)
    joined = "\n".join(arguments)
    plain: list[str] = []  # no trailing digit: a line the regular expression does not match
    read: dict[str, list[_Numbers]] = {}  # head -> its numbers, a segment at a time
    start = offset = 0  # a segment's first argument, and where its line starts in joined
    short = 0
    for _ in range(_MAX_SEGMENTS):
        # (a window: many long arguments with no number are left to the loop, which reads
        # them quicker than a regular expression their characters)
        window = offset + _PLAIN_WINDOW
        found = _TRAILING_DIGIT.search(joined, offset, window)
        if found is None and window < len(joined):
            return None
        if found is None:
            plain += arguments[start:]
            break
        if found.end() == window and window < len(joined) and joined[window] != "\n":
            return None  # (a digit at the window's end, not at its line's)
        first = start + joined.count("\n", offset, found.start())
        if first >= count:  # (an argument's own newline and digits: see below)
            return None
        plain += arguments[start:first]
        heads = _row_heads(arguments, first)
        width = len(heads)
        end = first + width * _row_count(arguments, first, heads)
        chars = end - first  # (the segment's length in joined, a newline after each)
        for index, head in enumerate(heads):
            taken = _head_numbers(head, arguments[first + index : end : width])
            if taken is None:
                return None
            read.setdefault(head, []).append(taken[:2])
            chars += taken[2]
        if end == count:
            break
        if end - first < _SHORT:
            short += 1
            if short == _MAX_SHORT_SEGMENTS:
                return None
        offset = found.end() - len(arguments[first]) + chars  # (where line `end` starts)
        start = end
    else:
        return None
    # A plain argument with a newline would have made the lines of joined differ from the
    # arguments (the numbered ones were checked to have none).
    if "\n" in "".join(plain):
        return None
    groups: dict[str, list[int]] = {}
    lone: list[str] = []
    unique = not check_unique or _distinct(plain)
    for head, segments in read.items():
        if len(segments) == 1:
            runs, numbers = segments[0]
        else:
            numbers = list(chain.from_iterable(part for _, part in segments))
            runs = _runs(numbers)
        if len(numbers) == 1:
            lone.append(head + str(numbers[0]))
            continue
        if sum(runs[1::2]) != len(numbers):  # (fewer distinct numbers)
            unique = False
        groups[head] = runs
    return groups, plain + lone if lone else plain, unique or not check_unique


def _row_heads(arguments: Sequence[str], first: int) -> list[str]:
    """The heads of the row that starts at ``first`` (an argument with a trailing digit): its
    argument's head and those after it up to the next argument of that head, if they are all
    numbered and distinct; else that head alone."""
    head = arguments[first].rstrip(_DIGITS)
    heads = [head]
    for argument in islice(arguments, first + 1, first + _MAX_HEADS):
        other = argument.rstrip(_DIGITS)
        if other == head:
            return heads
        if len(other) == len(argument) or other in heads:
            break
        heads.append(other)
    return [head]


def _row_count(arguments: Sequence[str], first: int, heads: list[str]) -> int:
    """How many rows of ``heads`` seem to follow from ``first`` (a row's first head looked at,
    the rows found by doubling, then halving: a few look-ups for any count)."""
    width, size, head = len(heads), len(arguments), heads[0]

    def looks_like_row(row: int) -> bool:
        at = first + row * width
        if at + width > size:
            return False
        argument = arguments[at]
        return argument.rstrip(_DIGITS) == head != argument

    good, bad = 0, 1  # (row 0 is one)
    while looks_like_row(bad):
        good, bad = bad, bad * 2
    while bad - good > 1:
        middle = (good + bad) // 2
        if looks_like_row(middle):
            good = middle
        else:
            bad = middle
    return good + 1


def _head_numbers(head: str, strings: Sequence[str]
                  ) -> tuple[list[int], Sequence[int], int] | None:
    """The runs and numbers of ``strings``, and their length in all, when each is exactly
    ``head + str(n)``, n a canonical number of at most _MAX_DIGITS digits, the string at most
    MAX_EXACT_CHARS (what ``split_number`` reads as ``(head, n)``, ``head`` not ending in a
    digit); else None. Any strings: they are read at once, then checked by writing them
    again."""
    counted = _counted(head, strings)
    if counted is not None:  # (commas: a comma and the digits a number)
        return counted[0], counted[1], len(head) * len(strings) + len(counted[2]) - len(strings)
    limit = min(_MAX_DIGITS, MAX_EXACT_CHARS - len(head))
    if limit < 1 or "\n" in head:
        return None
    text = "\n".join(strings)
    commas = ("\n" + text).replace("\n" + head, ",")[1:]
    numbers: list[Any]
    if _ORJSON:
        try:
            numbers = orjson.loads("[" + commas + "]")
        except orjson.JSONDecodeError:
            return None
    else:
        try:
            numbers = list(map(int, commas.split(",")))
        except ValueError:
            return None
    if (len(numbers) != len(strings) or not _ONLY_INT.issuperset(map(type, numbers))
            or min(numbers) < 0 or max(numbers) >= 10**limit):
        return None
    # Joined by a character that neither the head nor a number has, equal strings have equal
    # parts: each string is head + str(n), so canonical (no sign, no leading zero, ASCII).
    if text != head + ("\n" + head).join(map(str, numbers)):
        return None
    return _runs(numbers), numbers, len(text) - len(strings) + 1


def _argument_runs_exact(arguments: Sequence[str], *, check_unique: bool
                         ) -> tuple[dict[str, list[int]], list[str], bool]:
    """:func:`_argument_runs` one ``split_number`` an argument, for any arguments."""
    numbers: dict[str, list[int]] = {}
    rest: list[str] = []
    for argument in arguments:
        split = split_number(argument) if len(argument) <= MAX_EXACT_CHARS else None
        if split is None:
            rest.append(argument)
        else:
            numbers.setdefault(split[0], []).append(split[1])
    groups: dict[str, list[int]] = {}
    for prefix, found in numbers.items():
        if len(found) < _MIN_RUN_GROUP:
            rest += (prefix + str(number) for number in found)
        else:
            groups[prefix] = _runs(found)
    if not check_unique:
        return groups, rest, True
    short = [argument for argument in arguments if len(argument) <= MAX_EXACT_CHARS]
    return groups, rest, len(set(short)) == len(short)


_DIGIT_SET = frozenset(_DIGITS)
_PerRow = tuple[dict[str, dict[str, list[int]]], Mapping[str, Sequence[str]], set[str]]


def _numbered_targets(pairs: Mapping[str, Sequence[str]], candidates: list[str], *,
                      assume_unique: bool) -> _PerRow:
    """The ``t`` part (targets ``prefix + n`` with a shared argument shape), the pairs left,
    and the targets whose arguments were assumed distinct.

    A (target prefix, argument key) family is used when at least two pairs share it: pairs of
    two targets, or one target's repeated argument. With ``assume_unique``, a target that is
    the only one of its prefix (a GridView1) is not read here at all, and is returned as
    unchecked: the caller checks that it repeats no argument (or calls again without).
    ``candidates``: the targets that end in a digit, in order.
    """
    if not candidates:
        return {}, pairs, set()
    if assume_unique:
        found = _uniform_families(pairs, candidates)
        if found is not None:
            return found
    return _numbered_targets_exact(pairs, candidates, assume_unique=assume_unique)


def _uniform_families(pairs: Mapping[str, Sequence[str]], candidates: list[str]
                      ) -> _PerRow | None:
    """:func:`_numbered_targets` (``assume_unique``) when each prefix's targets make one
    family (``row1`` ... ``row400`` each offering ``delete:N``, or each ``""``), read a prefix
    at a time; None when a prefix's targets do not."""
    head = candidates[0].rstrip(_DIGITS)
    counted = _counted(head, candidates) if len(candidates) > 1 else None
    by_head: dict[str, list[str]]
    if counted is not None:  # (one prefix, the rows in order: no call a target)
        by_head = {head: candidates}
    else:
        by_head = {}
        for head, target in zip(map(str.rstrip, candidates, repeat(_DIGITS)), candidates,
                                strict=True):
            group = by_head.get(head)
            if group is None:
                by_head[head] = [target]
            else:
                group.append(target)
    per_row: dict[str, dict[str, list[int]]] = {}
    taken: list[list[str]] = []
    unchecked: set[str] = set()
    for head, targets in by_head.items():
        if len(targets) == 1:  # (its own family only if it repeats an argument)
            target = targets[0]
            if (len(pairs[target]) > 1 and len(target) <= MAX_EXACT_CHARS
                    and split_number(target) is not None):
                unchecked.add(target)
            continue
        read = counted if counted is not None else _numbers(head, targets)
        family = _uniform_family(pairs, targets, read) if read is not None else None
        if family is None:
            return None
        per_row[head] = family
        taken.append(targets)
    if not taken:
        return per_row, pairs, unchecked
    if sum(map(len, taken)) == len(pairs):  # (every target is a row's)
        return per_row, {}, unchecked
    gone = set(chain.from_iterable(taken))
    return per_row, {t: a for t, a in pairs.items() if t not in gone}, unchecked


def _uniform_family(pairs: Mapping[str, Sequence[str]], targets: list[str], read: _Read
                    ) -> dict[str, list[int]] | None:
    """``{key: runs}``: the one family that the targets (two or more of a prefix, their numbers
    ``read``) make when each has one argument, the same for all or the same prefix + its own
    number; else None."""
    runs, numbers, commas, width = read
    values = (list(pairs.values()) if len(targets) == len(pairs)
              else list(map(pairs.__getitem__, targets)))
    try:
        arguments = [argument for (argument,) in values]
    except ValueError:  # (a target with no argument, or several)
        return None
    first = arguments[0]
    if len(first) > MAX_EXACT_CHARS:
        return None
    own = split_number(first)
    if arguments.count(first) == len(arguments):  # the same for all: "=" key...
        if own is not None and own[1] in numbers:  # ...but one target's own number: "#"
            return None
        return {"=" + first: runs}
    if own is None or own[1] != numbers[0]:
        return None
    prefix = own[0]  # each argument is prefix + str(n), n its target's number
    if "\n" in prefix or len(prefix) + width > MAX_EXACT_CHARS:
        return None
    # Joined by a character that the prefix lacks, equal strings have equal parts.
    if "\n".join(arguments) != prefix + commas[1:].replace(",", "\n" + prefix):
        return None
    return {"#" + prefix: runs}


def _numbered_targets_exact(pairs: Mapping[str, Sequence[str]], candidates: list[str], *,
                            assume_unique: bool) -> _PerRow:
    """:func:`_numbered_targets` a pair at a time, for any pairs."""
    found: list[tuple[str, int, str, Sequence[str]]] = []
    targets_of: dict[str, int] = {}  # prefix -> how many targets have it
    for target in candidates:
        arguments = pairs[target]
        split = split_number(target) if arguments and len(target) <= MAX_EXACT_CHARS else None
        if split is not None:
            found.append((*split, target, arguments))
            targets_of[split[0]] = targets_of.get(split[0], 0) + 1
    unchecked: set[str] = set()
    families: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for prefix, number, target, arguments in found:
        if assume_unique and targets_of[prefix] == 1:
            if len(arguments) > 1:
                unchecked.add(target)
            continue
        own = str(number)  # an argument that ends in the target's own number: "#" key
        cut = -len(own)
        for argument in arguments:
            if len(argument) > MAX_EXACT_CHARS:
                continue
            key = "=" + argument
            if argument.endswith(own):
                head = argument[:cut]
                stem = head.rstrip("0")
                if not stem or stem[-1] not in _DIGIT_SET:  # (else the number is longer)
                    key = "#" + head
            families.setdefault((prefix, key), []).append((number, target, argument))
    per_row: dict[str, dict[str, list[int]]] = {}
    taken: dict[str, set[str]] = {}
    for (prefix, key), members in families.items():
        if len(members) < _MIN_RUN_GROUP:
            continue
        per_row.setdefault(prefix, {})[key] = _runs([number for number, _, _ in members])
        for _, target, argument in members:
            taken.setdefault(target, set()).add(argument)
    if not taken:
        return per_row, pairs, unchecked
    rest: dict[str, Sequence[str]] = {}
    for target, arguments in pairs.items():
        gone = taken.get(target)
        if gone is None:
            if arguments:
                rest[target] = arguments
        elif len(gone) < len(arguments):  # (else every argument is taken)
            left = [argument for argument in arguments if argument not in gone]
            if left:
                rest[target] = left
    return per_row, rest, unchecked


def _in_runs(flat: Sequence[int], number: int) -> bool:
    return any(flat[i] <= number < flat[i] + flat[i + 1] for i in range(0, len(flat), 2))


class Offered:
    """The verified event validation of a request: what its form offered."""

    def __init__(self, data: Any, *, digest: Digester) -> None:
        self.data = _checked(data)  # re-signed as is when a callback refreshes the token
        self._digest = digest
        self._digests: frozenset[bytes] | None = None
        self._starts: dict[int, list[int]] = {}  # id of a long run list -> its starts
        self._exact: dict[str, frozenset[str]] = {}  # target -> its long "e" list, as a set
        self._choices: Offered | None = None

    def allows_event(self, target: str, argument: str) -> bool:
        """Whether the form offered this (target, argument) pair."""
        if self._written_out(target, argument):
            return True
        runs = self.data.get("r", {}).get(target)
        split = split_number(argument) if runs else None
        if split is not None and runs is not None and self._in_runs(runs.get(split[0], ()),
                                                                    split[1]):
            return True
        if "t" in self.data and self._numbered_target(target, argument):
            return True
        if "h" not in self.data:
            return False
        if self._digests is None:
            raw = base64.urlsafe_b64decode(self.data["h"])
            self._digests = frozenset(
                raw[i : i + DIGEST_BYTES] for i in range(0, len(raw), DIGEST_BYTES)
            )
        return self._digest(target, argument)[:DIGEST_BYTES] in self._digests

    def _written_out(self, target: str, argument: str) -> bool:
        """Whether the pair is in the part written out (``e``): a long list is made a set on
        first use, so a request that posts hundreds of a listbox's thousands of values (see
        :meth:`check_choices`) costs hundreds of steps, not millions."""
        arguments = self.data.get("e", {}).get(target, ())
        if len(arguments) <= 32:
            return argument in arguments
        found = self._exact.get(target)
        if found is None:
            found = self._exact[target] = frozenset(arguments)
        return argument in found

    def _numbered_target(self, target: str, argument: str) -> bool:
        split = split_number(target)
        families = self.data["t"].get(split[0]) if split is not None else None
        if split is None or not families:
            return False
        number = split[1]
        if self._in_runs(families.get("=" + argument, ()), number):
            return True
        own = split_number(argument)
        return own is not None and own[1] == number and self._in_runs(
            families.get("#" + own[0], ()), number)

    def _in_runs(self, flat: Sequence[int], number: int) -> bool:
        """Whether ``number`` is in runs ``[start, count, ...]`` (sorted, as ``_runs`` writes
        them): a long list is searched by bisection, so a request that names thousands of
        numbers costs thousands of steps, not millions."""
        if len(flat) <= 32:
            return _in_runs(flat, number)
        starts = self._starts.get(id(flat))
        if starts is None:
            starts = self._starts[id(flat)] = list(flat[0::2])
        index = bisect.bisect_right(starts, number) - 1
        return index >= 0 and number < flat[2 * index] + flat[2 * index + 1]

    @property
    def encoding(self) -> str:
        """The encoding the form is submitted in (its ``s``; UTF-8 where it names none)."""
        encoding: str = self.data.get("s", "utf-8")
        return encoding

    def allows_callback(self, name: str) -> bool:
        """Whether the form offered the callback ``name`` (its ``data-callbacks``)."""
        return name in self.data.get("c", ())

    @property
    def choice_names(self) -> frozenset[str]:
        """The names of the selects and radio groups whose posted values are checked (none
        unless the form was issued with ``validate_choices``)."""
        return frozenset(self.data.get("n", ()))

    def check_choices(self, posted: Mapping[str, Sequence[str]]) -> None:
        """Refuse a posted value of one of :attr:`choice_names` that the form did not offer
        (``posted``: name -> the values the request carries for it)."""
        if self._choices is None:
            self._choices = Offered(self.data.get("v", {}), digest=self._digest)
        offered, names = self._choices, self.choice_names
        for name, values in posted.items():
            for value in dict.fromkeys(values):  # (each distinct value once)
                if name in names and not offered.allows_event(name, value):
                    raise Forbidden(f"value {value[:80]!r} of {name[:80]!r} was not one the "
                                    "form offered", kind=Reason.NOT_OFFERED)


_ONLY_LIST = frozenset({list})
_DATA_KEYS = frozenset({"e", "r", "t", "h", "c", "n", "v", "s"})
_CHOICE_KEYS = frozenset({"e", "r", "t", "h"})
_join = "".join


def _all_strings(lists: Iterable[list[Any]]) -> bool:
    """Whether every item of these lists is a string: each list joined in C, which refuses
    any item that is none (a number, boolean, null, list or object: whatever else JSON reads,
    and JSON makes no subclass of str). A third of the cost of reading each item's type: a
    callback checks a grid's hundreds of arguments, and one call in C a list (not a Python
    call) for a grid's hundreds of targets."""
    try:
        _join(map(_join, lists))
    except TypeError:
        return False
    return True


def _strings(value: Any) -> bool:
    return isinstance(value, list) and _all_strings((value,))


def _is_runs(value: Any) -> bool:
    return (isinstance(value, list) and len(value) % 2 == 0
            and all(type(item) is int and item >= 0 for item in value))


def _checked(data: Any) -> dict[str, Any]:
    """The data, if it has exactly the shape :func:`encode` writes; else TokenError."""
    ok = isinstance(data, dict) and data.keys() <= _DATA_KEYS
    if ok and ("n" in data) != ("v" in data):
        ok = False
    if ok and "n" in data:
        ok = _strings(data["n"]) and isinstance(data.get("v"), dict) and (
            data["v"].keys() <= _CHOICE_KEYS)
        if ok:
            _checked(data["v"])
    if ok and "e" in data:
        events = data["e"]
        # (every value a list, every item of them a str: in C, not a Python call for each of
        # a grid's hundreds of targets)
        ok = (isinstance(events, dict) and _ONLY_LIST.issuperset(map(type, events.values()))
              and _all_strings(events.values()))
    if ok and "r" in data:
        ok = isinstance(data["r"], dict) and all(
            isinstance(groups, dict) and all(map(_is_runs, groups.values()))
            for groups in data["r"].values()
        )
    if ok and "t" in data:
        ok = isinstance(data["t"], dict) and all(
            isinstance(families, dict) and all(map(_is_runs, families.values()))
            and all(key[:1] in ("=", "#") for key in families)
            for families in data["t"].values()
        )
    if ok and "h" in data:
        try:
            ok = len(base64.urlsafe_b64decode(data["h"])) % DIGEST_BYTES == 0
        except (TypeError, ValueError, binascii.Error):
            ok = False
    if ok and "c" in data:
        ok = _strings(data["c"])
    if ok and "s" in data:
        ok = is_form_encoding(data["s"])
    if not ok:
        raise TokenError("__EVENTVALIDATION payload is not event validation data")
    return data  # type: ignore[no-any-return]
