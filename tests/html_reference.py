"""html5lib as the reference tokenizer, and the helpers the scanner suites share.

``html5lib_tags`` gives the tags a browser's tokenizer and tree builder see (html5lib's, which
follows the standard, with the departures the scanner suite lists); ``scanned`` and
``scanned_in_pieces`` give what ``html_scan`` finds, whole or in a streamed response's pieces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from html5lib import _tokenizer, _utils, html5parser
from html5lib.constants import namespaces, specialElements, tokenTypes

from postback_middleware.html_scan import Tag, TagScanner, iter_tags

Simple = tuple[bool, str, dict[str, str]]  # (is_end, name, attrs)

# --------------------------------------------------------------------------- oracle

_START, _END = tokenTypes["StartTag"], tokenTypes["EndTag"]


class _RecordingTokenizer(_tokenizer.HTMLTokenizer):  # type: ignore[misc]
    """html5lib's tokenizer, recording each tag token as the tree builder receives it.

    The tree builder switches the tokenizer into RAWTEXT/RCDATA/script/PLAINTEXT and decides
    whether CDATA is allowed, so recording inside a real parse is the faithful oracle. The
    copy is taken at yield time, before the tree builder adjusts SVG/MathML names.
    """

    recorded: list[Simple]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            if token["type"] == _START:
                self.recorded.append((False, token["name"], dict(token["data"])))
            elif token["type"] == _END:
                self.recorded.append((True, token["name"], {}))
            yield token


def _spec_end_tag_other(self: Any, token: dict[str, Any]) -> None:
    """html5lib's "in body" *any other end tag*, as the standard (and browsers) have it.

    html5lib matches the end tag against any open element by name; the standard only
    against HTML elements (``<svg><title><a></title>`` leaves the svg ``title`` open).
    """
    for node in self.tree.openElements[::-1]:
        if node.name == token["name"] and node.namespace == namespaces["html"]:
            self.tree.generateImpliedEndTags(exclude=token["name"])
            while self.tree.openElements.pop() is not node:
                pass
            return
        if node.nameTuple in specialElements:
            return


_SPEC_IN_BODY: dict[type, type] = {}


def _spec_in_body(base: type) -> type:
    if base in _SPEC_IN_BODY:
        return _SPEC_IN_BODY[base]
    handlers = _utils.MethodDispatcher(list(dict(base.__dict__["endTagHandler"]).items()))
    handlers.default = _spec_end_tag_other
    spec = type("SpecInBodyPhase", (base,), {"__slots__": (), "endTagHandler": handlers})
    _SPEC_IN_BODY[base] = spec
    return spec


class _RecordingParser(html5parser.HTMLParser):  # type: ignore[misc]
    def __init__(self, spec_end_tags: bool) -> None:
        super().__init__()
        if spec_end_tags:
            in_body = self.phases["inBody"]
            in_body.__class__ = _spec_in_body(type(in_body))

    def reset(self) -> None:
        super().reset()
        self.tokenizer.__class__ = _RecordingTokenizer
        self.tokenizer.recorded = []


def html5lib_tags(document: str, *, spec_end_tags: bool = True) -> list[Simple]:
    """The tags a browser (html5lib, scripting enabled) tokenizes in ``document``.

    With ``spec_end_tags`` html5lib's one known departure from the standard that the
    scanner's tree model meets is corrected (see :func:`_spec_end_tag_other`).
    """
    parser = _RecordingParser(spec_end_tags)
    parser.parse(document, scripting=True)
    recorded: list[Simple] = parser.tokenizer.recorded
    return recorded


def scanned(document: bytes, encoding: str = "utf-8") -> list[Simple]:
    return [(t.is_end, t.name, dict(t.attrs)) for t in iter_tags(document, encoding=encoding)]


def assert_offsets(document: bytes, tags: list[Tag]) -> None:
    """Offsets are in order, don't overlap, and each span re-scans to the same tag alone."""
    previous_end = 0
    for tag in tags:
        assert previous_end <= tag.start < tag.end <= len(document)
        assert document[tag.start : tag.start + 1] == b"<"
        assert document[tag.end - 1 : tag.end] == b">"
        alone = list(iter_tags(document[tag.start : tag.end]))
        assert [(t.is_end, t.name, dict(t.attrs)) for t in alone] == [
            (tag.is_end, tag.name, dict(tag.attrs))
        ]
        assert alone[0].self_closing == tag.self_closing
        previous_end = tag.end



def scanned_in_pieces(document: bytes, cuts: list[int], **options: Any) -> list[Tag]:
    """Feed ``document`` to a TagScanner cut at ``cuts``, as a streamed response arrives."""
    scanner = TagScanner(**options)
    tags: list[Tag] = []
    kept = b""  # what the scanner left undecided, given again with the next piece
    offset = 0  # document offset of kept[0]
    bounds = [*sorted({c for c in cuts if 0 < c < len(document)}), len(document)]
    start = 0
    for bound in bounds:
        data = kept + document[start:bound]
        final = bound == len(document)
        found, safe = scanner.scan(data, final=final)
        assert 0 <= safe <= len(data)
        assert all(tag.end <= safe for tag in found)
        tags += [Tag(t.name, t.is_end, t.start + offset, t.end + offset, t.attrs, t.self_closing)
                 for t in found]
        kept, offset, start = data[safe:], offset + safe, bound
    assert kept == b"" or final
    return tags


def as_tuples(tags: list[Tag]) -> list[tuple[Any, ...]]:
    return [(t.is_end, t.name, t.start, t.end, dict(t.attrs), t.self_closing) for t in tags]
