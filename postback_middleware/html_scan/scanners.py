"""The scanners callers use (:class:`TagScanner`, :class:`PostbackScanner`, :func:`iter_tags`)
and the choice of the engine behind each.

Both engines do the same work with the same results: the Python engine (``python_engine``)
is the reference and always there; the compiled one (``_cscan``, built from ``_cscan.c`` where
a C compiler was found at install) is much faster and reads UTF-8 and the ASCII-compatible
single-byte encodings (:func:`compiled_engine_reads`). A scanner takes the compiled engine
when it can, unless ``engine=`` (or, for the test suite and the fuzzer, :func:`use_engine`)
says otherwise; the choice and its lookups are made once per kind of
scanner, since a process makes the same few kinds page after page.
"""

from __future__ import annotations

import codecs
import functools
import re
import sys
from collections.abc import Callable, Collection, Iterator
from functools import partial
from typing import Any, Literal, Protocol, TypeVar, cast

from ..errors import EngineUnavailable, InvalidArgument, InvalidType
from .attributes import _ATTR_PARTS, _text, _value
from .python_engine import _PythonEngine
from .tag import BareForm, Family, Pairs, PanelEnd, Rows, Tag
from .tokenizer import _TAG
from .tree import VOID_ELEMENTS

try:
    from . import _cscan
except ImportError:  # installed without a C compiler: the Python engine does the same work
    _cscan = None  # type: ignore[assignment]

Engine = Literal["python", "compiled"]
ENGINES: tuple[Engine, ...] = ("python", "compiled") if _cscan is not None else ("python",)
"""The engines this installation has (the compiled one is built when a C compiler is there)."""

# None: the compiled one where it can read the page (see use_engine).
_default_engine: Engine | None = None


def use_engine(engine: Engine | None) -> Engine | None:
    """Make ``engine`` the one every scanner uses unless given ``engine=`` (None: the compiled
    one where it can read the page, as by default); returns the choice it replaces.

    For the test suite and the fuzzer, which run every scanner on one engine.
    """
    global _default_engine
    if engine is not None and engine not in ("python", "compiled"):
        raise InvalidArgument(f"engine must be 'python', 'compiled' or None, not {engine!r}")
    if engine is not None and engine not in ENGINES:
        raise EngineUnavailable(f"the {engine} scanner engine is not built in this installation")
    previous, _default_engine = _default_engine, engine
    return previous


def page_engine(encoding: str = "utf-8") -> Engine:
    """The engine that reads a page of ``encoding`` (UTF-8 by default) unless told otherwise:
    the compiled one where it is built and reads that encoding, else the Python one."""
    if _default_engine is not None:
        return _default_engine
    return "compiled" if _cscan is not None and compiled_engine_reads(encoding) else "python"


_POSTBACK_HINTS = (b"postback", b"formaction", b"__")
_PANEL_HINT = b"update-panel"  # (data-update-panel: see PostbackScanner's panels)


class TagScanner:
    """Tokenizes a document that arrives in pieces (a streamed response).

    :meth:`scan` tokenizes as much of the data as can be decided and says how far that is:
    what more bytes could change (a tag without its ``>``, the last bytes of raw text, a
    comment or CDATA section that could begin its end, a trailing ``<``) is left for the next
    call, which gets it again at the start of its data. The tree model, the state of raw
    text, comments and CDATA sections, and how far an open tag was read carry over between
    calls, so the engine reads on rather than again: it relies on the caller passing exactly
    the undecided bytes again (the data may be a ``bytearray`` the caller grows in place).

    ``names`` limits the tags returned by name (as in :func:`iter_tags`); ``attr_hints`` also
    returns any tag whose attribute text contains one of those words (ASCII case-insensitive),
    so a caller that looks for a few attributes (``data-postback``) never decodes the
    attributes of the other tags. ``engine`` picks the implementation (see :data:`ENGINES`);
    by default the compiled one, where it can read the encoding. A new scanner can also read
    on from where another decided, in its state (:meth:`PostbackScanner.restart_into`).
    """

    def __init__(
        self,
        *,
        encoding: str = "utf-8",
        names: Collection[str] | None = None,
        attr_hints: Collection[bytes] = (),
        engine: Engine | None = None,
    ) -> None:
        self._engine = _engine(engine, encoding, names, attr_hints, postbacks=False)

    def scan(self, data: bytes | bytearray, *, final: bool) -> tuple[list[Tag], int]:
        """The tags of ``data`` (offsets into it) and how far it is tokenized.

        With ``final`` the data runs to the end of the document and is tokenized to its end;
        otherwise the caller keeps ``data[safe:]`` and passes it again, followed by more.
        """
        return self._engine.scan(data, final)


class _Reader(Protocol):
    """:meth:`PostbackScanner.reader`'s answer: the engine's ``scan``, positional."""

    def __call__(self, data: bytes | bytearray | memoryview, final: bool, start: int = 0, /
                 ) -> tuple[list[Tag | Pairs | Family | Rows | BareForm | PanelEnd], int]: ...


class PostbackScanner:
    """What the injector needs from a page: the tags named ``names`` and the postback pairs.

    :meth:`scan` works as :meth:`TagScanner.scan`, but returns, in document order, the tags
    named ``names``, :data:`Pairs` dicts of the pairs declared since the previous returned
    tag (``data-postback`` is the target, ``data-postback-argument`` the argument, empty by
    default; an ``input``, ``select`` or ``textarea`` marked ``data-autopostback`` gives
    its ``name`` with an empty argument; an ASP.NET link, below, gives its pair after
    those), and, after its pairs, any start tag that has a ``form``, ``formaction`` or
    ``formmethod`` attribute (the caller decides where that control may send a form's
    tokens), an ``id`` beginning with ``__`` (the caller's own field ids must stay unique), a
    ``name`` beginning with ``__`` (a field of ASP.NET's that the caller takes over), or an
    ``href``, ``onclick`` or ``onchange`` whose raw value mentions ``doPostBack`` in any case
    (a postback reference ASP.NET rendered: the caller reads it with ``aspnet.markup``).
    The compiled engine tells these attributes by name as it reads a tag, so a
    ``class="form-control"`` costs it nothing.

    But the commonest of ASP.NET's references, a GridView's hundreds of links, is read by
    the engines themselves: an ``a`` or ``area`` without ``onclick`` or ``onchange`` whose
    first ``href``, decoded, is ``javascript:__doPostBack('T','A')`` with an optional ``;``
    (``aspnet.markup._HREF_CALL``, at most ``MAX_VALUE_LENGTH`` characters) gives the pair
    (T, A) as a ``data-postback`` would, and is not returned for it (a tag returned for one
    of the other reasons keeps its href for the caller to read, and gives no such pair).

    ``families``: pairs in rows may come compact, read by the compiled engine on the raw bytes
    of values that are their own text (ASCII without ``&``, CR or NUL), so a grid's rows cost
    it no string at all. A stretch whose pairs are one numbered family (``data-postback=
    "row17" data-postback-argument="delete:17"`` for rows 1 to 400) comes as a
    :class:`Family` instead of its dict; and a run of one target's commands in rows (a
    GridView's ``Edit$0 Delete$0 Select$0 Edit$1 ...``, two rows or more) as a :class:`Rows`,
    between the dicts of the stretch's pairs before and after it, as soon as the run ends (so
    a piece in the middle of a stretch may return a Rows and the dict before it). Together,
    merged in order (each pair once, where it first came: as ``inject.PostForm.add_pairs``
    merges batches), they are the pairs of the stretch. The Python engine gives one dict a
    stretch (the test suite holds the engines equal once the compact items are expanded and
    merged).

    ``bare_forms``: a plain post form with no tag returned inside it (only attributes that
    decide nothing but where it posts, method "post"; its pairs, if any, in one dict) may
    come as one :class:`BareForm` in place of its tags and pairs (the compiled engine does,
    when no panels are watched and the form is in one piece: a list page's delete or vote
    forms cost it one small object each); ``BareForm.items()`` gives them back. The Python
    engine returns the tags and pairs.

    ``panels``: the ids of the update panels a partial postback asks for (:attr:`panels`: the
    ids this scanner finds). The start tag of each (a ``data-update-panel`` attribute and one
    of those ids) is returned too, and where its element ends, a :class:`PanelEnd`: the tags
    of its name after it are counted with nesting (as ``partial.end_tag`` counts them), and
    the end tag that brings the count to 0 is given as the panel's end, after that tag
    itself if it is returned (the tags counted are returned only when wanted for
    themselves: a panel of thousands of ``<div>`` costs two objects). So the one scan that
    edits the page also finds where ``partial`` cuts each panel out. Both engines find them.
    A panel is the first start tag of its id (``partial.panel_starts``): a later one is
    returned too but opens no region of its own, so a page that repeats an id on thousands
    of nested elements costs one region, not one a tag counted into each.

    The pairs of a stretch between two returned tags come in one dict, each pair once, just
    before the tag that ends the stretch (or at the end of the document), however many calls
    the stretch spans: the pieces in the middle of a long streamed form return nothing at
    all. Both engines gather the pairs themselves, so a page's hundreds of postback links
    cost no Python object each.
    """

    def __init__(
        self,
        *,
        encoding: str = "utf-8",
        names: Collection[str] = (),
        engine: Engine | None = None,
        panels: Collection[str] = (),
        families: bool = False,
        bare_forms: bool = False,
    ) -> None:
        hints = (*_POSTBACK_HINTS, _PANEL_HINT) if panels else _POSTBACK_HINTS
        self._engine = _engine(engine, encoding, names, hints, postbacks=True,
                               families=families, bare_forms=bare_forms and not panels)
        self.panels: frozenset[str] = frozenset(panels)  # the ids this scanner finds
        if self.panels:
            self._engine.watch_panels(self.panels)

    def scan(self, data: bytes | bytearray | memoryview, *, final: bool, start: int = 0
             ) -> tuple[list[Tag | Pairs | Family | Rows | BareForm | PanelEnd], int]:
        """:meth:`TagScanner.scan`; ``start``: read ``data`` from there, its offsets ``data``'s
        (the caller passes the same document again from ``decided``, rather than the rest of
        it: see :func:`find_post_form`)."""
        if start and not 0 <= start <= len(data):
            raise InvalidArgument(f"start {start} is outside the data (0 to {len(data)})")
        return self._engine.scan(data, final, start)

    @property
    def in_data(self) -> bool:
        """Whether the data read so far was decided in the data state, where a ``<`` opens a
        tag: not inside a tag, raw text, a comment, a CDATA section or a bogus comment, nor
        after ``<plaintext>``. (What follows the offset it was decided to is read again with
        the next data; see :func:`find_post_form`.)"""
        return self._engine.in_data

    def restart_into(self, scanner: TagScanner) -> bool:
        """Put ``scanner`` (a new one, of the same engine) in the state this one decided in,
        so that, given the rest of the document from the offset the data so far was decided
        to, it reads it as this scanner reads it (a tag this one read in part starts there).
        Returns whether it did: not inside raw text, a comment, a CDATA section or a bogus
        comment, after ``<plaintext>``, in foreign content (``<svg>``, ``<math>``) or in a
        ``<select>``, where a new scanner would not read on alike. What is left of the tree
        there is copied: the open elements (an end tag in a later ``<svg>`` closes it when an
        HTML element of its name is open), the form pointer (a ``<form>`` in its
        ``<foreignObject>`` is ignored while a form is open), the tables open (a ``<select>``
        opened in one ends at a table part). (The injector's: a streamed page that shows htmx
        only after its first piece has its hx-* attributes read from the piece where it did,
        see ``inject.FieldInjector._read_htmx``.)"""
        return self.restarter(scanner)()

    def restarter(self, scanner: TagScanner) -> Callable[[], bool]:
        """:meth:`restart_into` of ``scanner``, as a function: the engine's own method, for a
        caller that asks it of every piece of a streamed page (checked once, here)."""
        if type(scanner._engine) is not type(self._engine):
            raise InvalidArgument("restart_into: a scanner of the same engine as this one")
        return partial(self._engine.restart_into, scanner._engine)

    def reader(self) -> _Reader:
        """:meth:`scan`, called ``reader(data, final)`` (or ``reader(data, final, start)``):
        the engine's own method, for a caller that scans a streamed page piece after piece
        (no call in between)."""
        return self._engine.scan


def iter_tags(
    document: bytes, *, encoding: str = "utf-8", names: Collection[str] | None = None
) -> Iterator[Tag]:
    """Every start and end tag an HTML5 tokenizer would emit, in document order.

    ``encoding`` only decodes names and attribute values; the structure is found on the
    bytes, so it must be ASCII-compatible. ``names`` is the fast path: when given, only tags
    with those (lowercase) names are yielded, the others are still tokenized (they decide
    what is markup) but cost no object.

    The document is read :data:`_STEP` bytes at a time, each step from where the last one
    decided, and its tags yielded with the document's offsets: a page of a hundred thousand
    tags of a name asked for holds a step's tags at a time, not an object a tag of the page.
    """
    scanner = TagScanner(encoding=encoding, names=names)
    return _in_steps(lambda data, final: scanner.scan(data, final=final), document)


_Data = TypeVar("_Data", bytes, memoryview)


def _in_steps(scan: Callable[[_Data, bool], tuple[list[Tag], int]], document: _Data
              ) -> Iterator[Tag]:
    """The tags ``scan`` (a scanner's, called ``scan(data, final)``) finds in ``document``,
    read :data:`_STEP` bytes at a time, each step from where the last one decided, with the
    document's offsets: a step's tags are held at a time, not a whole document's. A step
    that decides nothing (a tag longer than it: an inline ``data:`` image) is read again
    twice as long, so that such a tag costs reads of twice its length, not one a step."""
    base, total, step = 0, len(document), _STEP
    while True:
        end = min(base + step, total)
        tags, decided = scan(document[base:end], end >= total)
        if base:
            for tag in tags:
                yield tag._replace(start=tag.start + base, end=tag.end + base)
        else:
            yield from tags
        if end >= total:
            return
        base += decided
        step = step * 2 if not decided else _STEP


def scan_panels(document: bytes, panels: Collection[str], *, encoding: str = "utf-8",
                engine: Engine | None = None) -> list[Tag | PanelEnd]:
    """The update panels of ``document`` with the ids ``panels``, read in one light scan: the
    tags with "update-panel" in their attribute text (ASCII case-insensitive), among
    them each panel's (its first start tag with ``data-update-panel`` and its id), and the
    :class:`PanelEnd` of each panel whose element ends, as :class:`PostbackScanner` finds
    them (``partial``'s, for a page its editor did not scan: no other tag costs an object).
    """
    scanner = TagScanner(encoding=encoding, names=(), attr_hints=(_PANEL_HINT,), engine=engine)
    scanner._engine.watch_panels(panels)
    return cast(list[Tag | PanelEnd], scanner.scan(document, final=True)[0])


def top_level_cuts(markup: bytes | memoryview, *, encoding: str = "utf-8",
                   engine: Engine | None = None) -> list[int]:
    """Where ``markup`` (a fragment read on its own: a panel's content) divides into its
    top-level pieces, each element with its content, each run of text: offsets from 0 to
    ``len(markup)``, in order (``markup[a:b]`` for each pair, ``b > a``).

    A rough model of nesting serves (joined again, the pieces are the markup whatever the
    cuts; ``partial`` matches them against what a client has): an end tag closes the nearest
    open element of its name (and those opened inside it), a void or self-closing tag
    (``<br>``, ``<svg/>``) is whole; implied end tags (``<li>`` after ``<li>``) leave the rest
    in one piece. The compiled engine follows it in C, so a panel of thousands of tags costs
    no object a tag.
    """
    scanner = _engine(engine, encoding, None, (), postbacks=False, cuts=True)
    if not isinstance(scanner, _PythonEngine):
        cuts: list[int] = scanner.scan(markup, True)[0]
        cuts.insert(0, 0)  # (in place: a panel of thousands of children has as many cuts)
        cuts.append(len(markup))
        return cuts
    cuts = [0]
    open_names: list[str] = []
    # (read a step at a time, as iter_tags reads: the Python engine returns a Tag a tag, so a
    # whole panel's at once would take many times its size)
    for tag in _in_steps(scanner.scan, memoryview(markup)):
        if not open_names and tag.start > cuts[-1]:
            cuts.append(tag.start)  # text before a top-level tag
        if tag.is_end:
            if tag.name in open_names:
                while open_names.pop() != tag.name:
                    pass  # elements left open inside it end with it
                if not open_names:
                    cuts.append(tag.end)
        elif tag.name in VOID_ELEMENTS or tag.self_closing:
            if not open_names:
                cuts.append(tag.end)
        else:
            open_names.append(tag.name)
    cuts.append(len(markup))
    return cuts


_STEP = 1 << 14


# What find_post_form saw on its way (bits of its second answer)
FORM_TAGS = 1
"""Form start tags (or what reads as one, in a script or a comment too), none a post form."""
POSTBACK_WORDS = 2
""""postback" (in any case): maybe a ``data-postback``, ``data-autopostback`` or ASP.NET's
``__doPostBack`` outside any post form."""


def find_post_form(document: bytes | bytearray, start: int = 0, *,
                   engine: Engine | None = None) -> tuple[int, int]:
    """Where a post form may start in ``document`` (a whole page), read without a scan (in
    C some 0.08 ns a byte, 7 µs for 80 KB read to its end, where a scan takes some 35): the
    offset of the first ``<form`` at or after ``start`` that may open one, or -1; and what
    the bytes before it (or to the end) showed, :data:`FORM_TAGS` | :data:`POSTBACK_WORDS`.

    Each ``<form`` (ASCII case-insensitive) is read as the scanner reads a form start tag
    there: one whose ``method`` may read as POST once decoded (``post`` in any case, a
    character reference, a non-ASCII byte), or which runs past the document, is the answer,
    wherever it stands. Whether it is a tag at all, and not text in a script, a comment or an
    attribute value, only a scan up to it tells (``PostbackScanner.in_data``): the injector
    scans a page up to it, and goes on from there (``inject.FieldInjector.edit``). The bytes
    are read as the scanner reads them, so any encoding the scanner takes will do.
    """
    if not 0 <= start <= len(document):
        raise InvalidArgument(f"start {start} is outside the document (0 to {len(document)})")
    return post_form_finder(engine)(document, start)


def post_form_finder(engine: Engine | None = None
                     ) -> Callable[[bytes | bytearray | memoryview, int], tuple[int, int]]:
    """:func:`find_post_form` of the engine chosen now (as it would choose), called
    ``finder(document, start)``: for a caller that asks it several times a page. (The bytes
    are read as any encoding the scanner takes reads them: the engine is the page's.)"""
    if (engine or page_engine()) == "compiled":
        if _cscan is None:
            raise EngineUnavailable(
                "the compiled scanner is not built (no C compiler at install time?)")
        finder: Callable[[bytes | bytearray | memoryview, int], tuple[int, int]] = (
            _cscan.find_post_form)
        return finder
    return python_find_post_form


_POST_WORDS = re.compile(rb"<form|postback", re.IGNORECASE)
_ENDS_A_NAME = frozenset(b"\t\n\f\r />")  # (what ends a tag's name: tokenizer._NAME)


def python_find_post_form(document: bytes | bytearray | memoryview, start: int = 0
                          ) -> tuple[int, int]:
    """:func:`find_post_form` in Python: the reference of the compiled engine's."""
    seen = 0
    for word in _POST_WORDS.finditer(document, start):
        at = word.start()
        if document[at] != 0x3C:  # ("postback")
            seen |= POSTBACK_WORDS
            continue
        if at + 5 < len(document) and document[at + 5] not in _ENDS_A_NAME:
            continue  # (another name: "<formula")
        tag = _TAG.match(document, at)
        if tag is None:  # (a "<form" whose tag runs past the document)
            return at, seen
        area = tag.group(3) if tag.group(3) is not None else tag.group(4)
        for attribute in _ATTR_PARTS.finditer(area):
            if attribute.group(1).lower() != b"method":
                continue
            raw = attribute.group(2) or attribute.group(3) or attribute.group(4)
            if raw is not None and (raw.lower() == b"post" or b"&" in raw
                                    or not raw.isascii()):
                return at, seen
        seen |= FORM_TAGS
    return -1, seen

# --------------------------------------------------------------------------- engine choice


class _Engine(Protocol):
    """What both engines are: :class:`_PythonEngine` and ``_cscan.Scanner``."""

    def scan(self, data: bytes | bytearray | memoryview, final: bool, start: int = 0
             ) -> tuple[list[Any], int]: ...

    @property
    def in_data(self) -> bool: ...

    @property
    def open_regions(self) -> int: ...  # (a test's look at watch_panels' work)

    def restart_into(self, other: Any, /) -> bool: ...

    def watch_panels(self, ids: Collection[str]) -> None: ...


def _engine(
    engine: Engine | None,
    encoding: str,
    names: Collection[str] | None,
    hints: Collection[bytes],
    postbacks: bool,
    cuts: bool = False,
    families: bool = False,
    bare_forms: bool = False,
) -> _Engine:
    """The scanning engine for these settings (``cuts``: see :func:`top_level_cuts`;
    ``families``, ``bare_forms``: see :class:`PostbackScanner`)."""
    if names is not None and not isinstance(names, tuple | frozenset):
        names = tuple(names)
    return _engine_maker(engine or _default_engine, encoding, names, tuple(hints), postbacks,
                         cuts, families, bare_forms)()


@functools.lru_cache(maxsize=256)  # a process scans with a few kinds of scanner, page after page
def _engine_maker(
    engine: Engine | None,
    encoding: str,
    names: tuple[str, ...] | frozenset[str] | None,
    hints: tuple[bytes, ...],
    postbacks: bool,
    cuts: bool,
    families: bool = False,
    bare_forms: bool = False,
) -> Callable[[], _Engine]:
    """What makes an engine of this kind: the choice and its lookups, done once per kind."""
    if engine not in (None, "python", "compiled"):
        raise InvalidArgument(f"no scanner engine {engine!r}: 'python' or 'compiled'")
    for hint in hints:
        if not isinstance(hint, bytes):
            raise InvalidType(f"attr_hints are bytes, not {type(hint).__name__}")
        if not hint:
            raise InvalidArgument("an empty word in attr_hints would match every tag")
    hints = tuple(hint.lower() for hint in hints)
    name_bytes = None if names is None else _name_bytes(names)
    if engine is None:
        usable = (_cscan is not None and compiled_engine_reads(encoding)
                  and (names is None or name_bytes is not None))
        engine = "compiled" if usable else "python"
    if engine == "python":
        return partial(_PythonEngine, encoding=encoding, names=names, hints=hints,
                       postbacks=postbacks)
    if _cscan is None:
        raise EngineUnavailable(
            "the compiled scanner is not built (no C compiler at install time?)")
    if not compiled_engine_reads(encoding):
        raise InvalidArgument(f"the compiled scanner cannot read {encoding!r}")
    if names is not None and name_bytes is None:
        raise InvalidArgument("the compiled scanner takes ASCII tag names only")
    # (given by place, in the order of _cscan.pyi: parsing twelve keywords took three
    # quarters of the making of a scanner, some 1.5 µs, made once a page or twice)
    return partial(
        _cscan.Scanner,
        codecs.lookup(encoding).name,  # encoding
        name_bytes,  # names
        hints,
        postbacks,
        partial(_text, encoding=encoding),  # decode_text
        partial(_value, encoding=encoding),  # decode_value
        Tag,  # tag_type
        cuts,
        Family if families else None,  # family_type
        Rows if families else None,  # rows_type
        BareForm if bare_forms else None,  # bare_type
        PanelEnd,  # panel_end_type
    )


def _name_bytes(names: tuple[str, ...] | frozenset[str]) -> tuple[bytes, ...] | None:
    """Tag names as the compiled engine takes them, or None if one is not plain ASCII."""
    if not all(name.isascii() and "\x00" not in name for name in names):
        return None
    return tuple(name.encode("ascii") for name in names)


@functools.lru_cache(maxsize=64)  # encodings a site serves: a handful
def compiled_engine_reads(encoding: str) -> bool:
    """Whether the compiled engine decodes ``encoding`` exactly as the Python one does (so
    scanners of that encoding use it, where it is built).

    It compares ASCII names as bytes and decodes all-ASCII text without the codec, so it
    takes UTF-8 and the single-byte encodings in which ASCII bytes are ASCII characters and
    no other byte is (Latin-1, cp1252, the ISO 8859 family, KOI8...).
    """
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        return False
    if info.name in ("utf-8", "ascii", "iso8859-1"):
        return True
    codec = getattr(info.decode, "__self__", None)
    table = getattr(sys.modules.get(type(codec).__module__), "decoding_table", None)
    return (
        isinstance(table, str)
        and len(table) == 256
        and table[:128] == "".join(map(chr, range(128)))
        and all(ord(char) >= 128 for char in table[128:])
    )
