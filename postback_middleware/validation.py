"""Event validation: what a form offered, written compactly, and the check of a request against it.

``__EVENTVALIDATION`` names every (target, argument) pair a form's elements can raise and every
callback the form offers; a postback or callback that names anything else is refused. Pages with
thousands of events (a grid with a Delete link per row) must not make the token huge, so the
data (the ``d`` of the signed token, see ``tokens``) has up to five parts::

    {"e": {target: [argument, ...]},                # pairs written out
     "r": {target: {prefix: [start, count, ...]}},  # runs: prefix + str(n) for each n in a run
     "t": {prefix: {key: [start, count, ...]}},     # numbered targets: prefix + str(n), each
                                                    # with argument key[1:] ("=" key) or
                                                    # key[1:] + str(n) ("#" key)
     "h": "base64url of 6-byte digests",            # pairs too long to write out, or too many
     "c": [callback name, ...],                     # the callbacks the form offers
     "n": [control name, ...],                      # choices (option validate_choices):
     "v": {"e": ..., "r": ..., "t": ..., "h": ...}} # the names checked, and their values

* **Written out** (:func:`written_out`): the pairs as they are, for the small forms of most
  pages (the middleware uses it while the token stays under a few KB): no work a pair.
* **Runs.** ASP.NET grids raise ``Delete$0``, ``Delete$1``...: arguments that are a prefix and
  a canonical decimal number (no leading zero) are grouped by (target, prefix) and their numbers
  written as runs, so 100,000 rows cost a few bytes. Pages with a target per row (``row17``
  raising ``delete`` or ``delete:17``) get the same treatment under ``t``.
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

Everything here works on plain JSON values (the token's JSON is canonical, see ``tokens``), so
the data re-signs unchanged when a callback refreshes the token.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .errors import Forbidden, Reason, TokenError

MAX_EXACT_CHARS = 64
"""A target or argument longer than this is written as a digest (a 128 KB argument then costs
eight characters)."""
DIGEST_BYTES = 6  # 12,000 pairs of any shape fit the default max_state_size of 128 KiB
_DIGITS = "0123456789"
_MAX_DIGITS = 15  # numbers up to 10**15: JSON integers that every parser reads exactly
_MIN_RUN_GROUP = 2  # a lone numbered argument is cheaper written out

# (target, argument) -> its keyed digest (``TokenSigner.event_digest``; the first
# DIGEST_BYTES of it are kept).
Digester = Callable[[str, str], bytes]


def split_number(argument: str) -> tuple[str, int] | None:
    """``("Delete$", 17)`` for ``"Delete$17"``: a prefix and a canonical decimal, or None.

    Canonical: ``prefix + str(n)`` is the argument again, so ``"Row$007"`` is ``("Row$00", 7)``.
    """
    head = argument.rstrip(_DIGITS)
    digits = argument[len(head):]
    if not digits:
        return None
    if len(digits) > 1 and digits[0] == "0":
        significant = digits.lstrip("0") or "0"
        head += digits[: len(digits) - len(significant)]
        digits = significant
    if len(digits) > _MAX_DIGITS:
        return None
    return head, int(digits)


def _runs(numbers: Iterable[int]) -> list[int]:
    """Sorted distinct numbers as ``[start, count, start, count, ...]``."""
    flat: list[int] = []
    for n in sorted(set(numbers)):
        if flat and flat[-2] + flat[-1] == n:
            flat[-1] += 1
        else:
            flat += [n, 1]
    return flat


def written_out(
    pairs: Mapping[str, Sequence[str]],
    callbacks: Sequence[str],
    choices: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The event validation data with every pair written out as it is: no work a pair, for the
    small forms of most pages (grouping into runs costs about a microsecond a pair)."""
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
) -> dict[str, Any]:
    """The event validation data for a form's pairs and callbacks (and choices, the pairs of
    its select and radio values), compact (runs, digests).

    ``all_digests``: write every pair that is not in a run as a digest (for a form whose compact
    data still does not fit ``max_state_size``).
    """
    data: dict[str, Any] = {}
    exact: dict[str, list[str]] = {}
    numbered: dict[str, dict[str, list[int]]] = {}
    digests: list[bytes] = []
    per_row, pairs = _numbered_targets(pairs)
    for target, arguments in pairs.items():
        if len(target) > MAX_EXACT_CHARS:
            digests.extend(digest(target, argument)[:DIGEST_BYTES] for argument in arguments)
            continue
        groups: dict[str, list[int]] = {}
        rest: list[str] = []
        for argument in arguments:
            split = split_number(argument) if len(argument) <= MAX_EXACT_CHARS else None
            if split is None:
                rest.append(argument)
            else:
                groups.setdefault(split[0], []).append(split[1])
        for prefix, numbers in list(groups.items()):
            if len(numbers) < _MIN_RUN_GROUP:
                rest.extend(prefix + str(n) for n in numbers)
                del groups[prefix]
        if groups:
            numbered[target] = {prefix: _runs(numbers) for prefix, numbers in groups.items()}
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
        data["v"] = encode(choices, (), digest=digest, all_digests=all_digests)
    return data


def _numbered_targets(
    pairs: Mapping[str, Sequence[str]],
) -> tuple[dict[str, dict[str, list[int]]], Mapping[str, Sequence[str]]]:
    """The ``t`` part (targets ``prefix + n`` with a shared argument shape), and the pairs left.

    A (target prefix, argument key) family is used when at least two targets share it.
    """
    families: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for target, arguments in pairs.items():
        split = split_number(target) if len(target) <= MAX_EXACT_CHARS else None
        if split is None:
            continue
        prefix, number = split
        for argument in arguments:
            if len(argument) > MAX_EXACT_CHARS:
                continue
            own = split_number(argument)
            key = "#" + own[0] if own is not None and own[1] == number else "=" + argument
            families.setdefault((prefix, key), []).append((number, target, argument))
    per_row: dict[str, dict[str, list[int]]] = {}
    taken: set[tuple[str, str]] = set()
    for (prefix, key), members in families.items():
        if len(members) < _MIN_RUN_GROUP:
            continue
        per_row.setdefault(prefix, {})[key] = _runs(number for number, _, _ in members)
        taken.update((target, argument) for _, target, argument in members)
    if not taken:
        return per_row, pairs
    rest: dict[str, list[str]] = {}
    for target, arguments in pairs.items():
        left = [argument for argument in arguments if (target, argument) not in taken]
        if left:
            rest[target] = left
    return per_row, rest


def _in_runs(flat: Sequence[int], number: int) -> bool:
    return any(flat[i] <= number < flat[i] + flat[i + 1] for i in range(0, len(flat), 2))


class Offered:
    """The verified event validation of a request: what its form offered."""

    def __init__(self, data: Any, *, digest: Digester) -> None:
        self.data = _checked(data)  # re-signed as is when a callback refreshes the token
        self._digest = digest
        self._digests: frozenset[bytes] | None = None
        self._starts: dict[int, list[int]] = {}  # id of a long run list -> its starts
        self._choices: Offered | None = None

    def allows_event(self, target: str, argument: str) -> bool:
        """Whether the form offered this (target, argument) pair."""
        if argument in self.data.get("e", {}).get(target, ()):
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


def _checked(data: Any) -> dict[str, Any]:
    """The data, if it has exactly the shape :func:`encode` writes; else TokenError."""

    def strings(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)

    def runs(value: Any) -> bool:
        return (isinstance(value, list) and len(value) % 2 == 0
                and all(type(item) is int and item >= 0 for item in value))

    ok = isinstance(data, dict) and set(data) <= {"e", "r", "t", "h", "c", "n", "v"}
    if ok and ("n" in data) != ("v" in data):
        ok = False
    if ok and "n" in data:
        ok = strings(data["n"]) and isinstance(data.get("v"), dict) and set(data["v"]) <= {
            "e", "r", "t", "h"}
        if ok:
            _checked(data["v"])
    if ok and "e" in data:
        ok = isinstance(data["e"], dict) and all(map(strings, data["e"].values()))
    if ok and "r" in data:
        ok = isinstance(data["r"], dict) and all(
            isinstance(groups, dict) and all(map(runs, groups.values()))
            for groups in data["r"].values()
        )
    if ok and "t" in data:
        ok = isinstance(data["t"], dict) and all(
            isinstance(families, dict) and all(map(runs, families.values()))
            and all(key[:1] in ("=", "#") for key in families)
            for families in data["t"].values()
        )
    if ok and "h" in data:
        try:
            ok = len(base64.urlsafe_b64decode(data["h"])) % DIGEST_BYTES == 0
        except (TypeError, ValueError, binascii.Error):
            ok = False
    if ok and "c" in data:
        ok = strings(data["c"])
    if not ok:
        raise TokenError("__EVENTVALIDATION payload is not event validation data")
    return data  # type: ignore[no-any-return]
