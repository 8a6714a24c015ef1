"""Coverage-guided fuzzing of the HTML tag scanner (``postback_middleware.html_scan``).

Usage: .venv/bin/python fuzz/fuzz_html.py [--seconds N] [--check FILE ...] [-- libFuzzer flags]

Each input is one control byte followed by a document. Bits 0-1 of the control byte pick the
encoding (``_ENCODINGS``); bit 2 asks for the ``names=`` fast path (``_NAMES``).

Invariants checked on every input:

* :func:`~postback_middleware.html_scan.iter_tags` never raises, and neither does reading
  every tag's attributes;
* tags come in document order, do not overlap, and lie within the document;
* each tag's slice starts with ``<`` (``</`` for an end tag) and ends with ``>``, and its name
  is the lower-cased name written there;
* with ``names=``, the result is exactly the full scan filtered by name;
* streaming: :class:`~postback_middleware.html_scan.TagScanner` fed the document in two pieces
  (split at a point chosen from the input, the unscanned rest carried over as documented)
  reports the same tags at the same offsets as the one-shot scan; so does the rewriter's
  :class:`~postback_middleware.html_scan.PostbackScanner` fed it in many small pieces (every
  1 to 32 bytes, chosen from the input: pieces end inside raw text, comments and tags, whose
  state the engine carries over), and what it leaves undecided between pieces is a tag
  still open or at most 10 bytes;
* engines: the compiled engine (``_cscan.c``, when built) returns exactly what the Python engine
  returns, for the full scan, for :class:`~postback_middleware.html_scan.PostbackScanner`
  (also asked for a partial postback's panels, ``_PANELS``: their start tags and their ends,
  :class:`~postback_middleware.html_scan.PanelEnd`), for
  :func:`~postback_middleware.html_scan.scan_panels` and for
  :func:`~postback_middleware.html_scan.top_level_cuts`.
  Coverage guides the fuzzer through the Python engine only (atheris instruments Python code);
  the compiled one is held to it on every input.
"""

from __future__ import annotations

import atheris  # type: ignore[import-untyped]
from runner import run

with atheris.instrument_imports(include=["postback_middleware", "multipart"]):
    from postback_middleware import html_scan, inject
    from postback_middleware.html_scan import (
        PanelEnd,
        PostbackScanner,
        Tag,
        TagScanner,
        iter_tags,
    )

html_scan.use_engine("python")  # the instrumented engine; the compiled one is compared
_COMPILED = "compiled" in html_scan.ENGINES

_ENCODINGS = ("utf-8", "latin-1", "cp1252", "utf-8")
_NAMES = frozenset({"form", "head", "body", "input", "script", "a", "button", "select"})
_PANELS = ("p", "q", "")  # ids a partial postback may ask for (html.dict has panel words)


class InvariantError(AssertionError):
    """An input broke one of the invariants (a finding)."""


def _key(tag: Tag, shift: int = 0) -> tuple[str, bool, int, int, bool, tuple[tuple[str, str], ...]]:
    return (
        tag.name, tag.is_end, tag.start + shift, tag.end + shift, tag.self_closing,
        tuple(tag.attrs.items()),
    )


_PLAIN_FORM_ATTRS = inject._PLAIN_FORM_ATTRS


def _read_key(tag: Tag, shift: int = 0) -> tuple[str, bool, int, int, bool,
                                                 tuple[tuple[str, str], ...]]:
    """:func:`_key` of a tag as the injector reads it: a plain post form's start tag by its
    method and action only (what ``BareForm.items()`` gives back for a bare form)."""
    attrs = tag.attrs
    if (tag.name == "form" and not tag.is_end and not tag.self_closing
            and _PLAIN_FORM_ATTRS.issuperset(attrs) and attrs.get("method", "").lower() == "post"):
        attrs = {"method": "post", **({"action": attrs["action"]} if "action" in attrs else {})}
    return (tag.name, tag.is_end, tag.start + shift, tag.end + shift, tag.self_closing,
            tuple(attrs.items()))


def _check_tags(document: bytes, tags: list[Tag]) -> None:
    previous_end = 0
    for tag in tags:
        if not previous_end <= tag.start < tag.end <= len(document):
            raise InvariantError(
                f"tag {tag.name!r} at [{tag.start}, {tag.end}) out of order or bounds "
                f"(previous end {previous_end}, length {len(document)})"
            )
        text = document[tag.start : tag.end]
        opener = b"</" if tag.is_end else b"<"
        if not text.startswith(opener) or not text.endswith(b">"):
            raise InvariantError(f"tag slice {text[:80]!r} is not {opener!r}...'>'")
        first = text[len(opener) : len(opener) + 1]
        if not (first.isalpha() and tag.name[:1] == first.decode("ascii").lower()):
            raise InvariantError(f"tag name {tag.name!r} does not start the slice {text[:80]!r}")
        dict(tag.attrs)  # decoding attributes must not raise
        previous_end = tag.end


def _streamed(document: bytes, split: int, encoding: str) -> list[Tag]:
    scanner = TagScanner(encoding=encoding)
    first, safe = scanner.scan(document[:split], final=False)
    if not 0 <= safe <= split:
        raise InvariantError(f"scan of the first {split} bytes says {safe} are safe")
    rest, done = scanner.scan(document[safe:], final=True)
    if done != len(document) - safe:
        raise InvariantError(f"final scan stopped at {done} of {len(document) - safe}")
    return [*first, *(Tag(t.name, t.is_end, t.start + safe, t.end + safe, t.attrs,
                          t.self_closing) for t in rest)]


def _postback_pieces(
    document: bytes, step: int, encoding: str, engine: html_scan.Engine
) -> list[object]:
    """PostbackScanner's items (offsets into the document) for the document cut every ``step``
    bytes, the undecided rest carried over as the rewriter does (which asks for families: a
    family or rows count as their pairs, merged with the stretch's others)."""
    scanner = PostbackScanner(encoding=encoding, names=("form", "head", "base"), engine=engine,
                              families=True, bare_forms=True)
    items: list[object] = []
    kept, offset = b"", 0
    for start in range(0, len(document), step):
        data = kept + document[start:start + step]
        final = start + step >= len(document)
        found, decided = scanner.scan(data, final=final)
        if not final and len(data) - decided > 10 and data[decided:decided + 1] != b"<":
            raise InvariantError(f"{len(data) - decided} undecided bytes that are not a tag")
        expanded = [part for item in found for part in (
            item.items() if isinstance(item, html_scan.BareForm) else [item])]  # (its tags, pairs)
        for item in expanded:
            if isinstance(item, html_scan.Family | html_scan.Rows):
                item = item.pairs()
            if not isinstance(item, dict):
                items.append(_read_key(item, offset))
            elif items and isinstance(items[-1], dict):  # (a stretch given in parts: merged)
                for target, arguments in item.items():
                    known = items[-1].setdefault(target, [])
                    known += [argument for argument in arguments if argument not in known]
            else:
                items.append(item)
        kept, offset = data[decided:], offset + decided
    return items


def _compare_pieces(document: bytes, step: int, encoding: str) -> None:
    whole = PostbackScanner(encoding=encoding, names=("form", "head", "base"), engine="python")
    found, _ = whole.scan(document, final=True)
    expected = [item if isinstance(item, dict) else _read_key(item) for item in found]
    engines: list[html_scan.Engine] = ["python"]
    if _COMPILED and html_scan.compiled_engine_reads(encoding):
        engines.append("compiled")
    for engine in engines:
        pieces = _postback_pieces(document, step, encoding, engine)
        if pieces != expected:
            raise InvariantError(
                f"{engine} PostbackScanner in {step}-byte pieces differs from the whole scan:\n"
                f"  whole:  {expected}\n  pieces: {pieces}")


def _postback_items(document: bytes, encoding: str, engine: html_scan.Engine,
                    panels: tuple[str, ...] = ()) -> list[object]:
    items, decided = PostbackScanner(encoding=encoding, names=("form", "head"), engine=engine,
                                     panels=panels).scan(document, final=True)
    return [item if isinstance(item, dict) else tuple(item) if isinstance(item, PanelEnd)
            else _key(item) for item in items] + [decided]


def _compare_engines(document: bytes, encoding: str, tags: list[Tag]) -> None:
    if not _COMPILED or not html_scan.compiled_engine_reads(encoding):
        return
    compiled, _ = TagScanner(encoding=encoding, engine="compiled").scan(document, final=True)
    if [_key(t) for t in compiled] != [_key(t) for t in tags]:
        raise InvariantError(
            f"compiled engine differs:\n  python:   {[_key(t)[:4] for t in tags]}\n"
            f"  compiled: {[_key(t)[:4] for t in compiled]}"
        )
    for panels in ((), _PANELS):
        python_items = _postback_items(document, encoding, "python", panels)
        compiled_items = _postback_items(document, encoding, "compiled", panels)
        if python_items != compiled_items:
            raise InvariantError(
                f"compiled PostbackScanner (panels {panels}) differs:\n"
                f"  python:   {python_items}\n  compiled: {compiled_items}"
            )
    python_panels = html_scan.scan_panels(document, _PANELS, encoding=encoding, engine="python")
    compiled_panels = html_scan.scan_panels(document, _PANELS, encoding=encoding,
                                            engine="compiled")
    if [tuple(item) if isinstance(item, PanelEnd) else _key(item) for item in python_panels] != [
            tuple(item) if isinstance(item, PanelEnd) else _key(item) for item in compiled_panels]:
        raise InvariantError(
            f"compiled scan_panels differs:\n  python:   {python_panels}\n"
            f"  compiled: {compiled_panels}")
    python_cuts = html_scan.top_level_cuts(document, encoding=encoding, engine="python")
    compiled_cuts = html_scan.top_level_cuts(document, encoding=encoding, engine="compiled")
    if python_cuts != compiled_cuts:
        raise InvariantError(
            f"compiled top_level_cuts differs:\n  python:   {python_cuts}\n"
            f"  compiled: {compiled_cuts}")


def test_one_input(data: bytes) -> None:
    if not data:
        return
    control, document = data[0], data[1:]
    encoding = _ENCODINGS[control & 3]
    tags = list(iter_tags(document, encoding=encoding))
    _check_tags(document, tags)
    _compare_engines(document, encoding, tags)
    if control & 4:
        filtered = list(iter_tags(document, encoding=encoding, names=_NAMES))
        want = [_key(t) for t in tags if t.name in _NAMES]
        if [_key(t) for t in filtered] != want:
            raise InvariantError("names= scan differs from the filtered full scan")
    if document:
        _compare_pieces(document, 1 + (control >> 3), encoding)
        split = (control >> 3) * len(document) // 31
        streamed = _streamed(document, split, encoding)
        if [_key(t) for t in streamed] != [_key(t) for t in tags]:
            raise InvariantError(
                f"two-piece scan (split at {split}) differs from the one-shot scan:\n"
                f"  one-shot: {[_key(t)[:4] for t in tags]}\n"
                f"  streamed: {[_key(t)[:4] for t in streamed]}"
            )


if __name__ == "__main__":
    run("html", test_one_input, __doc__.splitlines()[0])
