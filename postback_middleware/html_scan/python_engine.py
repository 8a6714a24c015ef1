"""The Python engine: the reference implementation of the scan, always available.

:class:`_PythonEngine` drives the tokenizer's grammar (``tokenizer``) and the tree model
(``tree``) over the data: it finds the tags in the data state, steps over raw text, comments
and CDATA sections, keeps the state of a construct (or an open tag) that a piece ends inside
for the next call, and returns the tags asked for (by name, by attribute hint) or, in the
injector's mode, gathers their postback pairs. ``_cscan.c`` follows it function by function,
so a change here is made there too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from ..aspnet.markup import _HREF_CALL, MAX_VALUE_LENGTH
from .attributes import _NO_ATTRS, _LazyAttrs, _raw_values, _text
from .tag import Pairs, PanelEnd, Tag, declared_pairs
from .tokenizer import (
    _CARRY_BOGUS,
    _CARRY_CDATA,
    _CARRY_COMMENT,
    _CARRY_RAW,
    _CARRY_SCRIPT,
    _COMMENT_END,
    _NEXT,
    _PENDING_TAG,
    _RAW_END,
    _T_NAME,
    _TAG,
    _raw_end,
    _script_end,
    _self_closing,
    _tag_progress,
    _unterminated,
)
from .tree import _NOT_COUNTED, _TABLE_ONLY, _TREE_NAMES, VOID_ELEMENTS, _Tree, closes_itself

_NAME_CACHE: dict[str, dict[bytes, str]] = {}
_NAME_CACHE_SIZE = 4096  # distinct spellings of tag names; pages make up few
# Added to what _wants returns for a tag of an open panel's name: counted into the depths of
# the panels open (and returned only if wanted for itself: see watch_panels).
_COUNTED = 4
# The attributes in which ASP.NET renders a postback reference, and the word that shows one
# (``__doPostBack``, ``WebForm_DoPostBackWithOptions``), matched on the raw value as the
# compiled engine matches it.
_SCRIPTED = frozenset({b"href", b"onclick", b"onchange"})
_DOPOSTBACK = re.compile(b"dopostback", re.IGNORECASE).search
# Of those, the tags whose href is the commonest reference (see _href_call): their pair is
# gathered here, as a data-postback one, instead of the tag being returned (a GridView has
# hundreds of such links).
_HREF_TAGS = frozenset({"a", "area"})


class _PythonEngine:
    """The reference engine: the tokenizer's regexes and the tree model (``_cscan.c`` follows
    it)."""

    def __init__(
        self,
        *,
        encoding: str,
        names: Collection[str] | None,
        hints: Collection[bytes],
        postbacks: bool,
    ) -> None:
        self._encoding = encoding
        self._wanted = None if names is None else frozenset(names)
        self._tree = _Tree()
        self._plaintext = False  # after <plaintext> nothing is markup any more
        # The construct a piece ended inside, carried over to the next call (see _CARRY_*):
        # (kind, script state or raw-text element name).
        self._carry: tuple[int, Any] | None = None
        # A tag the last piece ended inside (it starts the next data): how far it was read,
        # and the tokenizer's state there (see _tag_progress).
        self._pending: tuple[int, int] | None = None
        self._fresh = False  # restarted by restart_into, and not scanned since
        # Tag names decoded once per encoding for the life of the process (bounded).
        self._decoded = _NAME_CACHE.setdefault(encoding, {})
        if postbacks and hints:
            # The injector also reads form, formaction and formmethod attributes (the compiled
            # engine tells them by name as it reads a tag; here the text search finds them).
            hints = (*hints, b"form")
        self._hint_search = (
            re.compile(b"|".join(map(re.escape, hints)), re.IGNORECASE).search
            if hints
            else None
        )
        self._postbacks = postbacks
        # Postbacks mode: the pairs met since the last returned tag, and the same as a set.
        self._batch: Pairs | None = None
        self._in_scope: set[tuple[str, str]] = set()
        # For a partial postback (see watch_panels): the ids of the panels asked for, the
        # regions open: [tag name, depth, id] of each such panel's start tag, in the order
        # they opened, and the ids that opened one: only the first start tag of an id does
        # (the one partial.panel_starts takes), so that a page repeating an id on nested
        # elements cannot make every tag count into thousands of regions.
        self._panels: frozenset[str] = frozenset()
        self._regions: list[list[Any]] = []
        self._opened: set[str] = set()

    def watch_panels(self, ids: Collection[str]) -> None:
        """Also return the start tag of each panel named (``data-update-panel`` and an id in
        ``ids``) and, where its element ends, a :class:`PanelEnd`: the tags of its name after
        it are counted with nesting (as ``partial.end_tag`` counts them), and the end tag
        that brings the count to 0 ends it (its PanelEnd comes after that tag, if the tag is
        returned). The tags counted are returned only when wanted for themselves, so the
        other tags of a panel's name cost no object. A panel is the first start tag of its
        id (a later start tag of its id is returned, but opens no region of its own)."""
        self._panels = frozenset(ids)

    def scan(self, data: bytes | bytearray | memoryview, final: bool, start: int = 0
             ) -> tuple[list[Any], int]:
        out: list[Any] = []
        if not 0 <= start <= len(data):
            raise ValueError("scan(): start out of the data's range")
        self._fresh = False  # (its tree is its own now: see restart_into)
        if self._pending is not None:  # read on in the open tag, from where it was left
            pos, state = self._pending
            end, state = _tag_progress(data, min(start + pos, len(data)), state)
            if state >= 0 and not final:
                self._pending = (end - start, state)
                return out, start
            self._pending = None  # complete (or the document ends): tokenized whole, once
        if not isinstance(data, bytes):
            data = bytes(data)
        decided = len(data) if self._plaintext else self._scan(data, final, out, start)
        if final:  # the end of the document ends the stretch
            if self._batch is not None:
                out.append(self._batch)
                self._batch = None
            self._in_scope.clear()
        return out, decided

    # ----------------------------------------------------------------------- what is returned

    def _wants(self, name: str, area: bytes | None, full_area: bytes | None) -> int:
        """1: return the tag; 2: gather its pairs (postbacks mode); 0: neither; plus
        :data:`_COUNTED` for a tag of an open panel's name (counted: see
        :meth:`watch_panels`)."""
        if self._regions and any(region[0] == name for region in self._regions):
            return _COUNTED | self._wants_outside(name, area, full_area)
        return self._wants_outside(name, area, full_area)

    def _wants_outside(self, name: str, area: bytes | None, full_area: bytes | None) -> int:
        """:meth:`_wants` but for the panels."""
        if self._wanted is None or name in self._wanted:
            return 1
        search = self._hint_search
        if search is None:
            return 0
        text = area if area is not None else full_area
        if text is None or search(text) is None:
            return 0
        return 2 if self._postbacks else 1

    def _emit(self, tag: Tag, want: int, out: list[Any]) -> None:
        """Return a wanted tag (``want`` from :meth:`_wants`), or gather its pairs; count a
        tag of an open panel's name, and give the end of each panel it closes after it."""
        if want & _COUNTED:
            closed = self._count_regions(tag)  # (a start tag first: it may open its own)
            want &= ~_COUNTED
            if want:
                self._give(tag, want, out)
            out += [PanelEnd(panel, tag.start, tag.end) for panel in closed]
        else:
            self._give(tag, want, out)

    def _give(self, tag: Tag, want: int, out: list[Any]) -> None:
        """:meth:`_emit` but for the panels' counts."""
        if want >= 2 and not tag.is_end:
            attrs = tag.attrs
            for target, argument in declared_pairs(tag.name, attrs):
                self._add_pair(target, argument)
            if (
                want == 2
                and "formaction" not in attrs
                and "form" not in attrs
                and "formmethod" not in attrs
                and not attrs.get("id", "").startswith("__")
                and not attrs.get("name", "").startswith("__")
                and not self._opens_panel(tag)
            ):
                if not _calls_postback(attrs):
                    return
                pair = _href_call(tag.name, attrs)
                if pair is not None:  # (the commonest reference: not returned for it)
                    self._add_pair(*pair)
                    return
        elif want == 2:
            return
        if self._panels and self._opens_panel(tag):
            panel = tag.attrs.get("id", "")
            if panel not in self._opened:  # (its first start tag: see __init__)
                self._opened.add(panel)
                self._regions.append([tag.name, 1, panel])
        if self._batch is not None:
            out.append(self._batch)
            self._batch = None
        out.append(tag)
        self._in_scope.clear()  # a returned tag starts a new scope for the pairs

    def _opens_panel(self, tag: Tag) -> bool:
        """Whether a start tag is one of the panels asked for (see :meth:`watch_panels`)."""
        if not self._panels or tag.is_end:
            return False
        attrs = tag.attrs
        return "data-update-panel" in attrs and attrs.get("id", "") in self._panels

    def _count_regions(self, tag: Tag) -> list[str]:
        """Count a tag of an open panel's name into the depths; the ids of the panels at 0
        (ended, at an end tag), in the order they opened."""
        delta = -1 if tag.is_end else (0 if closes_itself(tag) else 1)
        closed = []
        for region in self._regions:
            if region[0] == tag.name:
                region[1] += delta
                if region[1] <= 0:
                    closed.append(region[2])
        if closed:
            self._regions = [region for region in self._regions if region[1] > 0]
        return closed

    def _add_pair(self, target: str, argument: str) -> None:
        """Add a pair to the batch, unless already in it."""
        if (target, argument) not in self._in_scope:
            self._in_scope.add((target, argument))
            if self._batch is None:
                self._batch = {}
            self._batch.setdefault(target, []).append(argument)

    # ----------------------------------------------------------------------- the data state

    @property
    def in_data(self) -> bool:
        """Whether the data so far was decided in the data state (``PostbackScanner.in_data``)."""
        return self._carry is None and self._pending is None and not self._plaintext

    @property
    def open_regions(self) -> int:
        """How many panels asked for are open (a test's look at :meth:`watch_panels`' work:
        at most one a panel id)."""
        return len(self._regions)

    def restart_into(self, other: _PythonEngine) -> bool:
        """Put ``other`` (an engine that is to read the rest of the document, from where this
        one decided) in the state this one decided in, if a new engine can read on from
        there as this one reads on (in the data state, outside foreign content and a
        ``<select>``: a tag read in part starts there): the tree model's open elements, form
        pointer and tables are copied. Returns whether it did (``PostbackScanner.restart_into``;
        ``_cscan.Scanner.restart_into`` is its twin)."""
        tree = self._tree
        if self._carry is not None or self._plaintext or tree.foreign or tree.in_select:
            return False
        if other is self:
            return True
        counts = tree.open_counts
        copy = other._tree
        if tree.changed is not None and copy is tree.copied_into and other._fresh:
            # (the same one again, untouched since: the counts changed since then, only; a
            # streamed page is restarted into the same one for each piece, see the injector)
            into = copy.open_counts
            for name in tree.changed:
                if counts.get(name):
                    into[name] = counts[name]
                else:
                    into.pop(name, None)
            tree.changed.clear()
        else:
            copy = other._tree = tree.copied_into = _Tree()
            copy.open_counts = {name: count for name, count in counts.items() if count}
            tree.changed = set()
        copy.form_open, copy.table_depth = tree.form_open, tree.table_depth
        other._carry = other._pending = None
        other._plaintext = False
        other._fresh = True
        return True

    def _scan(self, document: bytes, final: bool, out: list[Any], start: int = 0) -> int:

        """The scanning loop; returns the offset up to which ``document`` is tokenized.

        Tags are read here, one match of :data:`_NEXT` each: the hot path (every tag of the
        page passes through this loop, so what it can do inline it does inline). A construct
        whose content is not markup is read by :meth:`_resume` and the loop goes on after it:
        raw text, entered here after its start tag, or (through :meth:`_open_construct`) a
        CDATA section, or a comment or tag that runs past the data.
        """
        decoded = self._decoded
        encoding = self._encoding
        tree = self._tree
        counts = tree.open_counts
        changed = tree.changed  # (see restart_into)
        wants = self._wants
        emit = self._emit
        pos = start
        if self._carry is not None:  # the last piece ended inside raw text, a comment...
            pos, more = self._resume(document, start, final, out)
            if not more:
                return pos
        while True:
            for m in _NEXT.finditer(document, pos):
                slash, raw_name, area, full_area, _, closing, fallback = m.groups()
                if raw_name is None:
                    if fallback is None:
                        continue  # comment, bogus comment, DOCTYPE or "</>": skipped
                    pos, more = self._open_construct(document, m.start(), final, out)
                    break
                name = decoded.get(raw_name)
                if name is None:
                    name = self._decode_name(raw_name)
                want = wants(name, area, full_area)
                if slash:
                    # (to the injector an <svg>'s </form>, or one in a <select>, which
                    # ignores it, is no form's end: see _no_form_end)
                    if want and not (name == "form" and self._no_form_end(name)):
                        emit(_make_tag(m, name, True, area, full_area, closing, encoding), want,
                             out)
                    if tree.foreign or tree.in_select or name == "table" or name == "form":
                        tree.end(name)
                    else:
                        count = counts.get(name)
                        if count:
                            counts[name] = count - 1
                            if changed is not None:
                                changed.add(name)
                    continue
                if not (tree.foreign or tree.in_select or name in _TREE_NAMES):
                    if want:
                        emit(_make_tag(m, name, False, area, full_area, closing, encoding), want,
                             out)
                    if name not in VOID_ELEMENTS and name not in _NOT_COUNTED and (
                        name not in _TABLE_ONLY or tree.table_depth or counts.get("template")
                    ):  # (tree.opens, inline)
                        counts[name] = counts.get(name, 0) + 1
                        if changed is not None:
                            changed.add(name)
                    continue
                tag = _make_tag(m, name, False, area, full_area, closing, encoding)
                raw = tree.start(tag)
                if want and not (name == "form" and self._no_form_start()):
                    emit(tag, want, out)
                if raw is None:
                    continue
                if raw == "plaintext":
                    self._plaintext = True
                    return len(document)
                # Raw text: its state is carried over when the piece ends inside it, so a long
                # inline script streamed in pieces is read once (each piece from where the
                # last one left off), and the start tag is given once.
                self._carry = (_CARRY_SCRIPT, 0) if raw == "script" else (_CARRY_RAW, raw)
                pos, more = self._resume_raw_text(document, m.end(), final, out)
                break
            else:
                # A "<" at the very end may open a tag once more bytes come.
                if not final and document.endswith(b"<"):
                    return len(document) - 1
                return len(document)
            if not more:
                return pos

    def _no_form_start(self) -> bool:
        """Whether the ``<form>`` just read is no form to the injector (postbacks mode, no
        panels watched): an ``<svg>``'s or ``<math>``'s, or one in a ``<select>``, which
        ignores it. Its tag is not returned, so that a form it seems to open or close (a GET
        form's, around a post form's fields) stays as a browser has it. (Every tag is
        returned otherwise: the tokenizer's; a partial postback's panels are found among
        them as before.)"""
        return (self._postbacks and not self._panels
                and (self._tree.started_foreign or self._tree.in_select))

    def _no_form_end(self, name: str) -> bool:
        """:meth:`_no_form_start` for ``</form>``, read before the tree ends it."""
        return (self._postbacks and not self._panels
                and (self._tree.in_select or self._tree.closes_foreign(name)))

    def _decode_name(self, raw_name: bytes) -> str:
        """A tag name not yet in the cache of this encoding's names: decoded, and kept."""
        name = _text(raw_name.lower(), self._encoding)
        if len(self._decoded) < _NAME_CACHE_SIZE:
            self._decoded[raw_name] = name
        return name

    def _open_construct(
        self, document: bytes, start: int, final: bool, out: list[Any]
    ) -> tuple[int, bool]:
        """The ``<`` at ``start`` opens a CDATA section, or a comment, bogus comment or tag
        that runs past the data: read it (as :meth:`_resume`), or say how far the data is
        decided (more bytes tell the rest)."""
        if document.startswith(b"<![CDATA[", start):
            self._carry = (_CARRY_CDATA if self._tree.cdata_allowed() else _CARRY_BOGUS, None)
            return self._resume(document, start + 9, final, out)
        kind = _unterminated(document, start)
        if final:
            return len(document), False  # it runs to the end of the document
        if kind is None:  # too little to tell: more bytes decide
            return start, False
        if kind == _PENDING_TAG:
            return self._pend(document, start), False
        self._carry = (kind, None)
        return self._resume(document, start + (4 if kind == _CARRY_COMMENT else 1), final, out)

    def _pend(self, document: bytes, start: int) -> int:
        """A tag at ``start`` runs past the data: note how far it is read (the next data
        starts with it), so that the next pieces read on instead of starting it again."""
        name = start + (2 if document[start + 1] == 0x2F else 1)
        end, state = _tag_progress(document, name, _T_NAME)
        self._pending = (end - start, state)
        return start

    # ----------------------------------------------------------------------- carried constructs

    def _resume(self, document: bytes, pos: int, final: bool, out: list[Any]) -> tuple[int, bool]:
        """Read on in the carried construct from ``pos``: (where it ends, True), or, when the
        data ends first, (how far the data is decided, False), the construct still carried.

        What is left undecided is only what could begin the construct's end (a cut
        ``</scrip``, ``--``, ``]]``), so the caller keeps a few bytes, never the construct.
        """
        assert self._carry is not None
        kind = self._carry[0]
        if kind in (_CARRY_SCRIPT, _CARRY_RAW):
            return self._resume_raw_text(document, pos, final, out)
        if kind == _CARRY_COMMENT:
            m = _COMMENT_END.search(document, pos)
            end, keep = (-1, 3) if m is None else (m.end(), 0)
        elif kind == _CARRY_CDATA:
            end, keep = document.find(b"]]>", pos), 2
            end = end if end < 0 else end + 3
        else:  # a bogus comment
            end, keep = document.find(b">", pos), 0
            end = end if end < 0 else end + 1
        if end >= 0:
            self._carry = None
            return end, True
        n = len(document)
        if final:
            self._carry = None
            return n, False
        return max(pos, n - keep), False

    def _resume_raw_text(
        self, document: bytes, pos: int, final: bool, out: list[Any]
    ) -> tuple[int, bool]:
        """:meth:`_resume` in script data or RAWTEXT / RCDATA, up to and including the end
        tag (given if wanted)."""
        assert self._carry is not None
        kind, arg = self._carry  # (the script state, or the raw-text element's name)
        n = len(document)
        if kind == _CARRY_SCRIPT:
            close, state, pos = _script_end(document, pos, arg)
            self._carry = (kind, state)
            keep, raw = 8, "script"  # "</script" and one more byte decide
        else:
            close, raw = _raw_end(_RAW_END[arg], document, pos), arg
            keep = len(arg) + 2
        if close < 0:
            if final:
                self._carry = None
                return n, False
            return max(pos, n - keep), False
        t = _TAG.match(document, close)
        if t is None:  # the end tag runs to the end of the data
            if final:
                self._carry = None
                return n, False
            return self._pend(document, close), False  # (found again there, same state)
        self._carry = None
        end_want = self._wants(raw, t.group(3), t.group(4))
        if end_want:
            self._emit(_make_tag(t, raw, True, t.group(3), t.group(4), t.group(6),
                                 self._encoding), end_want, out)
        # (the end tag only closes the raw-text element, which the model never opened)
        return t.end(), True


def _calls_postback(attrs: Mapping[str, str]) -> bool:
    """Whether a tag's ``href``, ``onclick`` or ``onchange`` (the first of each) mentions
    ``doPostBack`` (ASCII case-insensitive) in its raw value: ASP.NET's references (the
    injector reads them: see ``aspnet.markup``), found without decoding the tag."""
    if not isinstance(attrs, _LazyAttrs):
        return False
    area = attrs._area
    if _DOPOSTBACK(area) is None:  # (the common case: no need to find the attributes)
        return False
    return any(_DOPOSTBACK(value) is not None for value in _raw_values(area, _SCRIPTED))


def _href_call(name: str, attrs: Mapping[str, str]) -> tuple[str, str] | None:
    """The pair of an ``a`` or ``area`` whose first ``href``, decoded, is ASP.NET's commonest
    reference, ``javascript:__doPostBack('T','A')`` (``aspnet.markup._HREF_CALL``: the fast
    path's first form, which reads it exactly as the lexer does), and which has no ``onclick``
    or ``onchange`` to read as well; else None (the injector reads the tag)."""
    if name not in _HREF_TAGS or "onclick" in attrs or "onchange" in attrs:
        return None
    href = attrs.get("href")
    if href is None or len(href) > MAX_VALUE_LENGTH:
        return None
    match = _HREF_CALL.fullmatch(href)
    return None if match is None else (match[1], match[2])


def _make_tag(
    m: re.Match[bytes],
    name: str,
    is_end: bool,
    area: bytes | None,
    full_area: bytes | None,
    closing: bytes | None,
    encoding: str,
) -> Tag:
    """Build a Tag from a match of :data:`_NEXT` (or :data:`_TAG`)."""
    if area is None:
        area = full_area or b""
        self_closing = bool(closing)
    else:
        self_closing = area.endswith(b"/") and _self_closing(m.string, m.start())
    if is_end or not area:
        return Tag(name, is_end, m.start(), m.end(), _NO_ATTRS, self_closing)
    return Tag(name, False, m.start(), m.end(), _LazyAttrs(area, encoding), self_closing)
