"""What the scanners return: :class:`Tag`, one start or end tag, and :data:`Pairs`.

A module of its own because every other module of the package uses these types (the tree
model reads tags, both engines make them, the scanners return them) and depends on nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
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
