"""Page tokens: one signed token that the plain post forms of a page share.

A list page with a small post form a row (an admin's delete buttons, a discussion's vote
buttons) would sign two tokens a form, 300 for 150 rows, each bound to its form's path: most of
the cost of such a page. Instead, the *plain* forms of a response (or of one piece of a
streamed one) share one **page token** (``tokens.Purpose.PAGE``, its own key), signed once,
whose claims describe each of them: where it posts to and the events it offers. A form's
fields are then::

    __VIEWSTATE       = the page token (the same text in each of these forms)
    __EVENTVALIDATION = "<i>." + the page token's signature   (i: the form's index)
                        [+ "." + the index's tag, when the token's indices are keyed]

Checking a postback that carries them (``form_tokens``): the page token as any token (size,
signature against every key, canonical JSON, age, binding: see ``tokens``), then the
``__EVENTVALIDATION`` must name it (its signature) and a form it describes; that form must post
to the request's path exactly, and the event must be one it offered. The index is not signed,
and needs no signature: another index names another form of the same page, issued to the same
browser, and is accepted only at that form's path and with that form's events, which is that
form's own submission. The form's id is the page's id and the index (``single_use`` spends
each form of a page on its own). A renewal (``X-Postback-Renew``) answers with a page token
that describes that one form only, so renewing one form never yields fresh tokens for the
others.

**Keyed indices.** An index is not signed when nothing can send a form's fields off the
origin after they were written: then a form's fields name only forms whose fields stay home
too. That holds for the forms of a whole page (every ``<base href>``, ``form="ID"`` button
and ``<noscript>`` is read before any token is written: a form they could send elsewhere gets
no tokens) when the page does not use htmx (``inject.PostForm.settled``). Where it does not
hold (the forms of a streamed page's piece, whose actions a ``<base href>`` in a later piece
could still move; a page that uses htmx, whose ``hx-include`` can take any form's fields),
the token says its indices are keyed (its claims' ``"i": 2``) and each form's
``__EVENTVALIDATION`` carries a tag, 96 bits read at the index's place from a stream that
only the key makes (``tokens.TokenSigner.index_tags``: an HMAC of the token's signature,
under a key of its own, seeds SHAKE-256; tokens of ``"i": 1``, an HMAC an index, are still
read): fields that leave name their own form only, as a form's own tokens would.

Which forms join (the rest of the page keeps tokens of their own, as before; the issuer
decides, see ``form_tokens``): forms bound to one path (their doubts and binding are judged
first, see ``inject``: a form the page also posts elsewhere, by a ``formaction`` button or
an ``hx-post``, is bound to several and keeps its own); without an id (a ``form="ID"``
button later in a streamed page could still send it elsewhere); offering no callbacks
(neither their ``data-callbacks`` nor the registry's for their path: a callback's answer
carries a fresh ``__EVENTVALIDATION`` of its form's own); holding no ASP.NET fields taken
over; without ``validate_choices``; with few short events (:data:`MAX_PAIR_CHARS`), or
events that their compact event validation data writes in a few bytes (a grid's rows as one
run: :class:`Encoded`, :data:`MAX_ENCODED_BYTES`; such a form is an entry of its own). At
least :data:`MIN_FORMS` such forms: a page with one keeps today's tokens. If the description
is over :data:`MAX_DESCRIPTION_BYTES` (forms with unrelated paths: each copy of the token
would cost more than the tokens it saves), every form gets tokens of its own.

The description (the claims' ``F``) lists the forms in page order, as entries:

* ``[path, data]``: one form (``data``: its event validation data, ``validation``'s format);
* ``[path, data, count]``: ``count`` forms alike (the same path, the same events);
* ``{"n": first, "c": count, "r": [[prefix, suffix, template], ...]}``: ``count`` rows of
  forms, numbered ``n = first ... first + count - 1``, each row one form for each item of
  ``r`` (a delete and a vote form, say), in that order: that form posts to
  ``prefix + str(n) + suffix`` (``/admin/users/17/delete/``) and offers ``template`` with
  ``n`` put in: a target or argument written ``"=" + text`` is that text, ``"#" + head`` is
  ``head + str(n)`` (``{"=vote": ["#up:", "#down:"]}``).

So the token of a page of 150 delete forms is the size of one form's: each form carries it
once, about what its own two tokens took.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, overload

from .errors import TokenError
from .tokens import INDEX_TAG_CHARS, MAC_CHARS, encode_json
from .validation import joined_numbers, split_number, written_out

MIN_FORMS = 2
"""A page token is used for two plain forms or more (one form keeps tokens of its own)."""
MAX_FORMS = 1_000_000
"""And for at most this many (an index is written in at most six digits)."""
MAX_PAIR_CHARS = 256
"""A form whose events' targets and arguments take more characters is described by its
compact event validation data (see ``validation``), or keeps tokens of its own (see
:data:`MAX_ENCODED_BYTES`)."""
MAX_FORMS_A_ROW = 4
"""Rows of up to this many forms are read as runs (a row with a delete and an edit form)."""
MAX_ENCODED_BYTES = 96
"""A form whose events are over :data:`MAX_PAIR_CHARS` joins as :class:`Encoded` when their
event validation data takes at most this many bytes of JSON (a grid's rows, one run:
``{"t":{"row":{"#delete:":[1,100]}}}``); else it keeps tokens of its own."""
MAX_DESCRIPTION_BYTES = 256
"""The most bytes of JSON the forms' description may take. Every form carries the page token
once: up to this, a form's two fields take at most about one and a half times what its own
two tokens would (some 380 characters for a form without events); past it, forms get tokens
of their own, smaller than copies of a large page token."""

Pairs = Mapping[str, Sequence[str]]
# Where a form's index is written: "0", "17" (no sign, no leading zero), at most a million.
_INDEX = re.compile(r"0|[1-9][0-9]{0,5}")
_DIGITS = frozenset("0123456789")
_MAX_DIGITS = 15  # (numbers JSON readers all read exactly, as validation's)
# A keyed index's tag (``tokens.TokenSigner.index_tags``, or ``index_tag`` of the first
# kind): base64url.
_TAG = re.compile(rf"[A-Za-z0-9_-]{{{INDEX_TAG_CHARS}}}")


def fits(pairs: Pairs) -> bool:
    """Whether a form's events are few and short enough to join a page token."""
    total = 0
    for target, arguments in pairs.items():
        total += len(target) + sum(map(len, arguments))
        if total > MAX_PAIR_CHARS:
            return False
    return True


class SharedToken(NamedTuple):
    """A page token made for forms in bulk (``FormTokens.issue_bare``): form ``i``'s
    ``__VIEWSTATE`` is ``token`` and its ``__EVENTVALIDATION`` is
    ``event_validation(i, signature, self.tag(i))``."""

    token: str
    signature: str  # the token's own (the text after its last ".")
    # Each index's tag, one after the other, when its indices are keyed (ASCII bytes,
    # INDEX_TAG_CHARS each: written into a piece as they are, see inject.splice_forms).
    tags: bytes | None

    def tag(self, index: int) -> str | None:
        """Form ``index``'s tag (None: its indices are not keyed)."""
        if self.tags is None:
            return None
        return self.tags[index * INDEX_TAG_CHARS:(index + 1) * INDEX_TAG_CHARS].decode("ascii")


def event_validation(index: int, signature: str, tag: str | None = None) -> str:
    """The ``__EVENTVALIDATION`` of a page token's form ``index`` (with its ``tag`` when the
    token's indices are keyed)."""
    return f"{index}{after_index(signature, tag)}"


def after_index(signature: str, tag: str | None = None) -> str:
    """What follows a form's index in its ``__EVENTVALIDATION`` (see :func:`event_validation`:
    the same for every form of an unkeyed page token, written once for them all)."""
    return f".{signature}" if tag is None else f".{signature}.{tag}"


def names_page_token(event_validation: str) -> bool:
    """Whether an ``__EVENTVALIDATION`` is a page token's form's (else a token of its own,
    whose base64url payload starts with ``eyJ``: JSON's ``{"``)."""
    return "0" <= event_validation[:1] <= "9"


def read_event_validation(value: str) -> tuple[int, str, str | None]:
    """The index, the signature and the tag (None: none) a page token's form's
    ``__EVENTVALIDATION`` names (TokenError if it is not spelled as
    :func:`event_validation` writes it)."""
    index, dot, rest = value.partition(".")
    signature, tagged, tag = rest.partition(".")
    if not (dot and _INDEX.fullmatch(index) and len(signature) == MAC_CHARS
            and (not tagged or _TAG.fullmatch(tag))):
        raise TokenError("__EVENTVALIDATION is not a page token's form")
    return int(index), signature, tag if tagged else None


# -- describing the forms (issuing) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Encoded:
    """A form's events as its event validation data already (``validation``'s format: a
    grid's rows as one run, long values as digests), where written out they would be over
    :data:`MAX_PAIR_CHARS`: the form joins a page token as one entry of its own, never in a
    run, if the data takes at most :data:`MAX_ENCODED_BYTES` of JSON."""

    data: dict[str, Any]


Events = Pairs | Encoded  # (what describe is given of each form's events)
_E = TypeVar("_E", bound=Events)


class Columns(Sequence[tuple[str, _E]]):
    """Forms given as two lists, each one's path and each one's events, as a sequence of
    pairs of them: how the injector hands over a piece's bare forms (a list page's), whose
    stretches :func:`describe` then reads without a Python step a form (a stretch's paths
    joined, its events tested, in one call each)."""

    __slots__ = ("events", "paths")

    def __init__(self, paths: list[str], events: list[_E]) -> None:
        if len(paths) != len(events):
            raise ValueError("Columns: as many paths as events")
        self.paths = paths
        self.events = events

    def __len__(self) -> int:
        return len(self.paths)

    @overload
    def __getitem__(self, index: int) -> tuple[str, _E]: ...
    @overload
    def __getitem__(self, index: slice) -> Columns[_E]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, _E] | Columns[_E]:
        if isinstance(index, slice):
            return Columns(self.paths[index], self.events[index])
        return self.paths[index], self.events[index]

    def __iter__(self) -> Iterator[tuple[str, _E]]:
        return zip(self.paths, self.events, strict=True)


def _paths(forms: Sequence[tuple[str, Events]]) -> list[str]:
    return forms.paths if type(forms) is Columns else [path for path, _ in forms]


def _events(forms: Sequence[tuple[str, Events]]) -> list[Events]:
    return forms.events if type(forms) is Columns else [pairs for _, pairs in forms]


def describe(forms: Sequence[tuple[str, Events]], max_bytes: int = MAX_DESCRIPTION_BYTES,
             *, each_fits: bool = False, last_run: RunShape | None = None) -> list[Any] | None:
    """The description of ``forms`` (each its path and its events, as pairs or
    :class:`Encoded`), in order: the index of each form in it is its place in ``forms``.
    Numbered paths and forms alike are read as runs (see the module's docstring). None when
    its JSON would be over ``max_bytes`` (known as soon as it is: a page of many unrelated
    forms is not read to its end), or (``each_fits``) when a form's pairs do not
    :func:`fit <fits>`: read once an entry, for a run's forms are alike but for their number,
    and its last row's, the longest, fit when any do not; ValueError
    (``errors.InvalidArgument``) if JSON cannot write the forms' events (a lone surrogate).

    ``last_run``: the shape of the last run of a form a row read (a streamed page's pieces
    share one): forms that continue it (the next piece's, mostly) are read without finding
    their shape again, each compared exactly as any run's; a run found is kept there."""
    entries: list[Any] = []
    size, at, total = 1, 0, len(forms)  # (the JSON's "[", each entry and its "," or "]")
    while at < total:
        path, pairs = forms[at]
        entry: Any = None
        alike = at + 1
        if at + 1 < total:
            entry = None if type(pairs) is Encoded else _numbered_run(forms, at, last_run)
            if entry is not None:
                at += entry["c"] * len(entry["r"])
                if each_fits and not all(isinstance(events, Encoded) or fits(events)
                                         for _, events in forms[at - len(entry["r"]):at]):
                    return None  # (its last row's events, the longest: see describe)
            else:
                while alike < total and forms[alike][0] == path and forms[alike][1] == pairs:
                    alike += 1
        if entry is None:  # (a form, or forms alike: judged before their data is written)
            if each_fits and not (isinstance(pairs, Encoded) or fits(pairs)):
                return None
            entry = ([path, _data(pairs)] if alike - at == 1
                     else [path, _data(pairs), alike - at])
            at = alike
        size += len(encode_json(entry, plain=True)) + 1
        if size > max_bytes:
            return None
        entries.append(entry)
    return entries


def _data(pairs: Events) -> dict[str, Any]:
    if isinstance(pairs, Encoded):
        return pairs.data
    return written_out({target: list(arguments) for target, arguments in pairs.items()}, ())


class RunShape:
    """The shape of a run of a form a row (``[prefix, suffix, template]`` and the template's
    pattern), kept from one :func:`describe` to the next (see its ``last_run``)."""

    __slots__ = ("pattern", "shape")

    def __init__(self) -> None:
        self.shape: list[Any] | None = None
        self.pattern: tuple[bytes, int] = (b"", 0)


def _numbered_run(forms: Sequence[tuple[str, Events]], at: int,
                  last_run: RunShape | None = None) -> dict[str, Any] | None:
    """The entry of the rows of numbered forms starting at ``at`` (two rows at least, of one
    to :data:`MAX_FORMS_A_ROW` forms each), or None. (``last_run``: see :func:`describe`.)"""
    if last_run is not None and last_run.shape is not None:
        first = _row_number(forms[at][0], last_run.shape)
        if first is not None:  # (its form judged with the rest, as a run's first: rows=0)
            rows = _rows_of_one(forms, at, first, last_run.shape, last_run.pattern, rows=0)
            if rows > 1:
                return {"n": first, "c": rows, "r": [last_run.shape]}
    for width in range(1, MAX_FORMS_A_ROW + 1):
        if at + 2 * width > len(forms):
            return None
        found = _row_shapes(forms, at, width)
        if found is None:
            continue
        first, shapes = found
        rows = 1
        patterns = [_pattern(template) for _, _, template in shapes]
        if width == 1:  # (a form a row, the commonest: see _rows_of_one)
            rows = _rows_of_one(forms, at, first, shapes[0], patterns[0])
            if rows > 1 and last_run is not None:
                last_run.shape, last_run.pattern = shapes[0], patterns[0]
        else:
            while (at + (rows + 1) * width <= len(forms)
                   and _is_row(forms, at + rows * width, shapes, patterns, first + rows)):
                rows += 1
        if rows > 1:
            return {"n": first, "c": rows, "r": shapes}
    return None


def _row_number(path: str, shape: list[Any]) -> int | None:
    """The number n for which ``path`` is row n's of a form a row of ``shape``, read between
    the shape's prefix and suffix (its form is then judged as each row of a run is, by
    :func:`_rows_of_one`: a leading zero makes another path), or None."""
    prefix, suffix, _ = shape
    if not (path.startswith(prefix) and path.endswith(suffix)):
        return None
    digits = path[len(prefix):len(path) - len(suffix)]
    if not (0 < len(digits) <= _MAX_DIGITS and digits.isascii() and digits.isdigit()):
        return None
    return int(digits)


def _rows_of_one(forms: Sequence[tuple[str, Events]], at: int, first: int,
                 shape: list[Any], pattern: tuple[bytes, int], *, rows: int = 1) -> int:
    """How many forms from ``at`` on are the rows numbered ``first``, ``first + 1``... of a
    form a row of ``shape`` (``[prefix, suffix, template]``, the template's ``pattern``),
    the first ``rows`` of them known to be (the one at ``at``, unless ``rows=0``: then it
    is judged too, 0 if it is not row ``first``): what :func:`_is_row` says of each, read a
    stretch at a time.
    Each stretch's paths (and events' JSON) are compared in one step with the ones expected,
    written in one step too (:func:`_paths_alike`, :func:`_events_alike`), the stretches
    doubling from 16 (a streamed piece's forms take one, mostly): a list page's run of forms
    costs no Python step a form, and a short run (where a stretch differs, it is read form by
    form) little more than its forms."""
    prefix, suffix, template = shape
    pattern_bytes, count = pattern
    # (the paths are compared joined by NULs: see _paths_alike; not where a NUL would blur it)
    joinable = "\0" not in prefix and "\0" not in suffix
    size, total = 16, len(forms)
    while True:
        if at + rows >= total:
            return rows
        stretch = forms[at + rows:at + rows + size]
        numbers = range(first + rows, first + rows + len(stretch))
        if joinable and _paths_alike(stretch, numbers, prefix, suffix) and (
                _events_alike(stretch, numbers, pattern_bytes, count) if template
                else not any(_events(stretch))):
            rows += len(stretch)
            size *= 2
            continue
        for (path, pairs), n in zip(stretch, numbers, strict=True):  # (where it ends in it)
            if path != f"{prefix}{n}{suffix}" or type(pairs) is Encoded or (
                    (pairs or template)
                    and encode_json(pairs, plain=True) != pattern_bytes % ((n,) * count)):
                return rows
            rows += 1


def _paths_alike(stretch: Sequence[tuple[str, Events]], numbers: range, prefix: str,
                 suffix: str) -> bool:
    """Whether each form of ``stretch`` posts to ``prefix + str(n) + suffix`` for its number:
    the paths joined by NULs against theirs, written for all in one step (``joined_numbers``, or a
    format past its table; neither holds a NUL of its own: the paths' would add one to
    theirs)."""
    paths = "\0".join(_paths(stretch))
    expected = joined_numbers(prefix, suffix, "\0", numbers)
    if expected is None:
        path_format = prefix.replace("%", "%%") + "%d" + suffix.replace("%", "%%")
        expected = "\0".join([path_format] * len(stretch)) % tuple(numbers)
    return paths == expected


def _events_alike(stretch: Sequence[tuple[str, Events]], numbers: range, pattern: bytes,
                  count: int) -> bool:
    """Whether each form of ``stretch`` offers the events of ``pattern`` for its number: the
    JSON of their list against the pattern's list, written for all in one step (a JSON array
    is its items' JSON between commas, and canonical JSON is one spelling a value); False
    where one is Encoded or JSON cannot write one (the form-by-form reading then raises only
    where it comes to such a form, as it did alone)."""
    events = _events(stretch)
    if Encoded in set(map(type, events)):
        return False
    try:
        written = encode_json(events, plain=True)
    except ValueError:  # (errors.InvalidArgument: a lone surrogate)
        return False
    each = [0] * (len(numbers) * count)  # (each row's number, count times: n, n, n+1...)
    for place in range(count):
        each[place::count] = numbers
    return written == b"[" + b",".join([pattern] * len(events)) % tuple(each) + b"]"


def _row_shapes(forms: Sequence[tuple[str, Events]], at: int, width: int
                ) -> tuple[int, list[list[Any]]] | None:
    """The number of the row at ``at`` and each of its forms as ``[prefix, suffix,
    template]`` around it, where the form ``width`` places on posts to the same with the
    number after it (None if one does not, or their numbers differ)."""
    first: int | None = None
    shapes: list[list[Any]] = []
    for place in range(at, at + width):
        path, pairs = forms[place]
        if isinstance(pairs, Encoded):
            return None
        step = _step(path, forms[place + width][0])
        if step is None or (first is not None and step[2] != first):
            return None
        prefix, suffix, first = step
        shapes.append([prefix, suffix, _template(pairs, first)])
    assert first is not None  # (width >= 1)
    return first, shapes


def _step(path: str, following: str) -> tuple[str, str, int] | None:
    """``(prefix, suffix, n)`` such that ``path`` is ``prefix + str(n) + suffix`` and
    ``following`` is ``prefix + str(n + 1) + suffix``, n a canonical decimal with no digit
    beside it; else None. In time linear in the paths: the only number that can be n is
    the one where the two paths first differ."""
    if not 0 <= len(following) - len(path) <= 1:
        return None
    start = _common_prefix(path, following)
    if start == len(path):
        return None
    end = start
    while start and path[start - 1] in _DIGITS:
        start -= 1
    while end < len(path) and path[end] in _DIGITS:
        end += 1
    digits = path[start:end]
    if not digits or len(digits) > _MAX_DIGITS or (digits[0] == "0" and len(digits) > 1):
        return None
    prefix, suffix, n = path[:start], path[end:], int(digits)
    if following != f"{prefix}{n + 1}{suffix}":
        return None
    return prefix, suffix, n


def _common_prefix(a: str, b: str) -> int:
    """How many first characters ``a`` and ``b`` share (by halves: a few comparisons of
    slices, each in C, whatever the length)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _is_row(forms: Sequence[tuple[str, Events]], at: int, shapes: list[list[Any]],
            patterns: list[tuple[bytes, int]], n: int) -> bool:
    """Whether the forms at ``at`` are the row numbered ``n`` of ``shapes`` (whose templates'
    patterns are ``patterns``)."""
    for (prefix, suffix, template), (pattern, numbers), (path, pairs) in zip(
            shapes, patterns, forms[at:at + len(shapes)], strict=True):
        if path != f"{prefix}{n}{suffix}" or type(pairs) is Encoded or (
                (pairs or template)
                and encode_json(pairs, plain=True) != pattern % ((n,) * numbers)):
            return False
    return True


def _pattern(template: dict[str, list[str]]) -> tuple[bytes, int]:
    """The JSON of ``template``'s events for a row, with ``%d`` where the row's number goes,
    and how many times it goes there: ``pattern % ((n,) * count)`` is the JSON of row n's
    events (a number needs no JSON escape), so a form is that row's exactly when its events'
    JSON is that (what :func:`form_at` reads back for it: a JSON object has each key once,
    so two keys of the template that give one target at n never match)."""
    count = 0

    def text(key: str) -> bytes:
        nonlocal count
        written = encode_json(key[1:], plain=True).replace(b"%", b"%%")
        if key[0] == "#":
            count += 1
            return written[:-1] + b'%d"'
        return written

    pattern = b"{" + b",".join(text(target) + b":[" + b",".join(map(text, arguments)) + b"]"
                              for target, arguments in template.items()) + b"}"
    return pattern, count


def _template(pairs: Pairs, n: int) -> dict[str, list[str]]:
    """A form's events with its number ``n`` taken out (see the module's docstring)."""
    return {_key(target, n): [_key(argument, n) for argument in arguments]
            for target, arguments in pairs.items()}


def _key(text: str, n: int) -> str:
    split = split_number(text)
    if split is not None and split[1] == n:
        return "#" + split[0]
    return "=" + text


# -- reading a form back (checking) -------------------------------------------------------------


def form_at(described: Any, index: int) -> tuple[str, dict[str, Any]] | None:
    """The path and event validation data (``validation``'s format) of form ``index`` of a
    verified description; None if it has no such form. (Signed by the middleware, so never
    malformed but by a bug: TokenError then, not a crash.)"""
    if type(described) is not list:
        raise TokenError("page token's forms are not a list")
    base = 0
    for entry in described:
        if type(entry) is dict:
            rows, shapes = entry.get("c"), entry.get("r")
            if not (entry.keys() == _ROWS_KEYS and type(rows) is int and rows > 0
                    and type(shapes) is list and shapes):
                raise TokenError("page token's rows of forms have an unknown shape")
            count = rows * len(shapes)
        elif type(entry) is list and len(entry) in (2, 3):
            count = entry[2] if len(entry) == 3 else 1
            if type(count) is not int or count < 1:
                raise TokenError("page token's form entry has an unknown count")
        else:
            raise TokenError("page token's form entry has an unknown shape")
        if index < base + count:
            return _read_entry(entry, index - base)
        base += count
    return None


_ROWS_KEYS = frozenset({"n", "c", "r"})


def _read_entry(entry: Any, offset: int) -> tuple[str, dict[str, Any]]:
    if type(entry) is list:
        path, data = entry[0], entry[1]
        if type(path) is not str or type(data) is not dict:
            raise TokenError("page token's form entry has an unknown shape")
        return path, data
    first, shapes = entry["n"], entry["r"]
    row, place = divmod(offset, len(shapes))
    shape = shapes[place]
    if not (type(first) is int and first >= 0 and type(shape) is list and len(shape) == 3):
        raise TokenError("page token's rows of forms have an unknown shape")
    prefix, suffix, template = shape
    if not (type(prefix) is str and type(suffix) is str and type(template) is dict):
        raise TokenError("page token's rows of forms have an unknown shape")
    n = first + row
    return f"{prefix}{n}{suffix}", written_out(_expand_pairs(template, n), ())


def _expand_pairs(template: dict[str, Any], n: int) -> dict[str, list[str]]:
    """The events of row ``n`` of a form whose events are ``template``."""
    pairs: dict[str, list[str]] = {}
    for target_key, argument_keys in template.items():
        if type(argument_keys) is not list:
            raise TokenError("page token's rows of forms have an unknown shape")
        target = _expand(target_key, n)
        arguments = [_expand(key, n) for key in argument_keys]
        if target in pairs:
            pairs[target] += arguments
        else:
            pairs[target] = arguments
    return pairs


def _expand(key: Any, n: int) -> str:
    if type(key) is not str or key[:1] not in ("=", "#"):
        raise TokenError("page token's run of forms has an unknown shape")
    return key[1:] if key[0] == "=" else f"{key[1:]}{n}"
