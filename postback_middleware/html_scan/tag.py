"""What the scanners return: :class:`Tag`, one start or end tag, :data:`Pairs` and
:class:`Family`.

A module of its own because every other module of the package uses these types (the tree
model reads tags, both engines make them, the scanners return them) and depends on nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


Pairs = dict[str, list[str]]
"""(target, argument) pairs met in a stretch of a page: target -> arguments, in page order."""


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
