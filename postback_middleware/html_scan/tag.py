"""What the scanners return: :class:`Tag`, one start or end tag, :data:`Pairs`, and the
compact forms of pairs, :class:`Family` and :class:`Rows`, and of a plain post form's two tags,
:class:`BareForm`; and, for a partial postback's panels, :class:`PanelEnd`.

A module of its own because every other module of the package uses these types (the tree
model reads tags, both engines make them, the scanners return them) and depends on nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple


class Tag(NamedTuple):
    """One start or end tag, as the HTML5 tokenizer emits it, with its byte span.

    (A named tuple: the compiled engine builds them directly, as it builds tuples.)
    """

    name: str
    is_end: bool
    start: int
    end: int
    attrs: Mapping[str, str]
    self_closing: bool


class PanelEnd(NamedTuple):
    """Where an update panel asked for ends: the end tag (``start`` to ``end``) that closed the
    region of ``panel`` (its id), which the panel's first start tag opened.

    What a scanner watching panels returns (``PostbackScanner(panels=...)``,
    ``TagScanner(panels=...)``) when a tag of a panel's name, counted with nesting, brings
    the panel's depth to 0 (the other tags it counts are returned only when wanted for
    themselves), so that a panel of thousands of tags of its name costs two objects:
    ``partial`` cuts the panel out between its start tag and this. Given after that end tag's
    own :class:`Tag` when that is returned too, one for each panel it closes (two panels of
    one name end on one tag where the inner one's start tag closes itself,
    ``<g id=p data-update-panel><g id=q data-update-panel/></g>``). (A named tuple: the
    compiled engine builds them directly, as it builds tuples.)
    """

    panel: str
    start: int
    end: int


Pairs = dict[str, list[str]]
"""(target, argument) pairs met in a stretch of a page: target -> arguments, in page order."""

AUTOPOSTBACK_TAGS = frozenset({"input", "select", "textarea"})
"""The controls whose ``data-autopostback`` raises an event named by their ``name``."""

FORM_ASSOCIATED = frozenset({"button", "fieldset", "input", "object", "output", "select",
                             "textarea"})
"""The elements whose ``form="ID"`` names their form owner (the HTML standard's *listed*
elements): the form ``el.form`` gives, which the client script raises their events on."""


def declared_pairs(name: str, attrs: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (target, argument) pairs a start tag's own attributes declare: its
    ``data-postback`` (with its ``data-postback-argument``), and the ``name`` of a
    ``data-autopostback`` control (:data:`AUTOPOSTBACK_TAGS`)."""
    pairs = []
    target = attrs.get("data-postback")
    if target:
        pairs.append((target, attrs.get("data-postback-argument", "")))
    control = attrs.get("name")
    if control and "data-autopostback" in attrs and name in AUTOPOSTBACK_TAGS:
        pairs.append((control, ""))
    return pairs


class BareForm(NamedTuple):
    """A plain post form whose start tag (``start`` to ``end``) and end tag (``closed_at`` to
    ``closed_end``) come with nothing returned between them but its ``pairs`` (None: none).

    What the compiled engine returns, asked for bare forms (see
    :class:`~.scanners.PostbackScanner`), in place of those items when a form's start tag has
    only attributes that decide nothing but where it posts (``method`` "post", ``action``,
    ``class``, ``style``...: the injector's ``_PLAIN_FORM_ATTRS``): the delete or vote forms of
    a list page, one small object each instead of two tags with their attributes.
    ``action``: its first ``action`` attribute's value, None without one. (A named tuple: the
    compiled engine builds them directly, as it builds tuples.)
    """

    start: int
    end: int
    closed_at: int
    closed_end: int
    action: str | None
    pairs: Pairs | None

    def items(self) -> list[Tag | Pairs]:
        """The items it stands for: its start tag (with the attributes the injector reads of
        it), its pairs if any, its end tag."""
        attrs = {"method": "post"} if self.action is None else {"method": "post",
                                                                 "action": self.action}
        found: list[Tag | Pairs] = [
            Tag("form", False, self.start, self.end, MappingProxyType(attrs), False)]
        if self.pairs is not None:
            found.append(self.pairs)
        found.append(Tag("form", True, self.closed_at, self.closed_end, MappingProxyType({}),
                         False))
        return found




@dataclass(frozen=True, slots=True)
class Family:
    """The pairs of a stretch when they are one numbered family, as a grid writes its rows:
    targets ``prefix + str(n)`` for n = ``first``, ``first + 1``, ... (``count`` of them, two or
    more), each with the argument ``argument``, or (``numbered``) with ``argument + str(n)``:
    ``data-postback="row17" data-postback-argument="delete:17"``.

    What :class:`~.scanners.PostbackScanner` may return for a stretch instead of its
    :data:`Pairs` when asked for families (the compiled engine does, on values that are their
    own text): the same pairs (:meth:`pairs`), read without a string a row.
    """

    prefix: str
    argument: str
    numbered: bool
    first: int
    count: int

    def pairs(self) -> Pairs:
        """The family's pairs as the scanner's dict gives them, in order."""
        numbers = map(str, range(self.first, self.first + self.count))
        if self.numbered:
            return {self.prefix + n: [self.argument + n] for n in numbers}
        return {self.prefix + n: [self.argument] for n in numbers}


@dataclass(frozen=True, slots=True)
class Rows:
    """One target's arguments in rows, as a GridView writes its commands: ``head + str(n)``
    for each of ``heads`` in turn, for n = ``first``, ``first + 1``, ... (``count`` rows, two
    or more): ``Edit$0 Delete$0 Select$0 Edit$1 ...``, or one head, a pager's ``Page$2
    Page$3 ...``.

    What :class:`~.scanners.PostbackScanner` may return, asked for families, for part of a
    stretch (between the dicts of the pairs before and after it): the same pairs, read by the
    compiled engine without a string a command.
    """

    target: str
    heads: tuple[str, ...]
    first: int
    count: int

    def arguments(self) -> list[str]:
        """Its arguments, in order."""
        heads = self.heads
        return [head + n for n in map(str, range(self.first, self.first + self.count))
                for head in heads]

    def pairs(self) -> Pairs:
        """Its pairs as the scanner's dict gives them."""
        return {self.target: self.arguments()}

    def __contains__(self, argument: object) -> bool:
        """Whether ``argument`` is one of its arguments."""
        if not isinstance(argument, str):
            return False
        digits = argument[len(argument.rstrip("0123456789")):]
        if not digits or (digits[0] == "0" and len(digits) > 1) or len(digits) > 15:
            return False
        number = int(digits)
        return (argument[: -len(digits)] in self.heads
                and self.first <= number < self.first + self.count)
