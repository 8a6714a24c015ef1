"""The two scanner engines of html_scan: the compiled one must do exactly what the Python one does.

``test_html_scan``, ``test_real_pages`` and ``test_inject`` run every case on both engines
(html5lib is the oracle for each). Here the engines meet directly: on generated documents and
on arbitrary bytes, whole and in pieces, in several encodings, the tags, the offsets and how
far each piece is decided must be equal, and so must the postback pairs the rewriter reads.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from postback_middleware import html_scan
from postback_middleware.aspnet.markup import _HREF_CALL, MAX_VALUE_LENGTH, references
from postback_middleware.errors import InvalidArgument, InvalidType
from postback_middleware.html_scan import (
    Pairs,
    PanelEnd,
    PostbackScanner,
    Tag,
    TagScanner,
    scan_panels,
    scanners,
    top_level_cuts,
)
from postback_middleware.inject import _NAMES

from .helpers import injector, pairs_of, require_engine
from .strategies import HTML_FRAGMENTS

Item = tuple[Any, ...]


def _items(found: list[Tag | Pairs | PanelEnd], offset: int) -> list[Item]:
    return [
        ("pairs", tuple((k, tuple(v)) for k, v in item.items())) if isinstance(item, dict)
        else ("end", type(item.panel), item.panel, item.start + offset, item.end + offset)
        if isinstance(item, PanelEnd)
        else (item.is_end, item.name, item.start + offset, item.end + offset,
              dict(item.attrs), item.self_closing)
        for item in found
    ]


def _scan(scanner: Any, document: bytes, cuts: list[int]) -> tuple[list[Item], list[int]]:
    """Everything a scanner returns for ``document`` fed in pieces cut at ``cuts``."""
    items: list[Item] = []
    decided: list[int] = []
    kept, offset, start = b"", 0, 0
    for bound in [*sorted({c for c in cuts if 0 < c < len(document)}), len(document)]:
        data = kept + document[start:bound]
        found, safe = scanner.scan(data, final=bound == len(document))
        items += _items(found, offset)
        decided.append(offset + safe)
        kept, offset, start = data[safe:], offset + safe, bound
    return items, decided


def _both(make: Any, document: bytes, cuts: list[int]) -> None:
    require_engine("compiled")
    assert _scan(make("python"), document, cuts) == _scan(make("compiled"), document, cuts)


_ENCODINGS = st.sampled_from(["utf-8", "latin-1", "cp1252", "iso8859-15", "koi8-r"])
_POSTBACK_FRAGMENTS = st.sampled_from([
    "<form method=post>", "</form>", "<head>", "</head>",
    '<a data-postback="del" data-postback-argument="1">', "<a data-postback=del>",
    "<A DATA-POSTBACK=x Data-PostBack-Argument='a&amp;b'>", '<a data-postback="">',
    "<a data-postback=del data-postback=other data-postback-argument=2>",
    "<select name=s data-autopostback>", "<input name='q' data-autopostback>",
    "<div name=d data-autopostback>", "<textarea name=t data-autopostback></textarea>",
    "<button formaction=/x data-postback=b>", "<input type=submit formaction='//evil'>",
    '<div id="__VIEWSTATE">', "<p id=__main class=a__b>", "<p class=card__title>",
    "<p title=postback>", "</a data-postback=x>", "<script>'<a data-postback=s>'</script>",
    "<a data-postback=é data-postback-argument=\xe9>",
    "<base href=/x/>", '<base target=_top href="//evil.example/">',
    "<button form=f1 formaction=//evil>", "<input type=image FORMMETHOD=get>",
    "<p class=form-control id=a>", '<p form="">', "<form id=f1 method=post>",
    "<button formmethod=get data-postback=g>",
    # ASP.NET's postback references and hidden fields (returned for the injector to read)
    "<a href=\"javascript:__doPostBack('G','Sort$Name')\">",
    "<a href='javascript:__doPostBack(&#39;G&#39;,&#39;Page$2&#39;)'>",
    "<a HREF=javascript:__DOPOSTBACK(1)>", "<a href=x href=__doPostBack>",
    "<a title=__doPostBack href=/x>", "<a href=\"javascript:&#95;_doPostBack('a','')\">",
    "<input type=submit ONCLICK='WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions("
    "\"B\", \"\", true, \"\", \"\", false, false))'>",
    "<select name=ctl00$D onchange=\"javascript:setTimeout("
    "'__doPostBack(\\'ctl00$D\\',\\'\\')', 0)\">",
    "<input type=checkbox onclick=doPostBack>", "<p onchange=dopostbac>", "<a onclick>",
    "<a href=\"javascript:__doPostBack('G','A');\">",
    "<a id=__a href=javascript:__doPostBack('G','')>",
    "<area href='javascript:__doPostBack(&#39;\u00e9&#39;,&#39;&#39;)'>",
    "<a href=\"javascript:__doPostBack('G','A')\" onchange>",
    '<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEP">',
    '<input type="hidden" name="__EVENTVALIDATION" value="x">', "<input name=__>",
    "<input name=&#95;_x>", "<input name=_x_ class=__>", "<input NAME=__LASTFOCUS>",
])
_DOCUMENTS = st.lists(st.one_of(HTML_FRAGMENTS, _POSTBACK_FRAGMENTS), max_size=16).map("".join)
_CUTS = st.lists(st.integers(0, 300), max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCUMENTS, _CUTS, _ENCODINGS)
def test_tag_scanner_engines_agree_on_generated_documents(
    document: str, cuts: list[int], encoding: str
) -> None:
    encoded = document.encode(encoding, "replace")
    _both(lambda engine: TagScanner(encoding=encoding, engine=engine), encoded, cuts)
    _both(lambda engine: TagScanner(encoding=encoding, names={"form", "a", "svg"},
                                    attr_hints=[b"postback"], engine=engine), encoded, cuts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCUMENTS, _CUTS, _ENCODINGS)
def test_postback_scanner_engines_agree_on_generated_documents(
    document: str, cuts: list[int], encoding: str
) -> None:
    encoded = document.encode(encoding, "replace")
    _both(lambda engine: PostbackScanner(encoding=encoding, names=("form", "head", "base"),
                                         engine=engine), encoded, cuts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), _CUTS, _ENCODINGS)
def test_engines_agree_on_arbitrary_bytes(document: bytes, cuts: list[int], encoding: str) -> None:
    _both(lambda engine: TagScanner(encoding=encoding, engine=engine), document, cuts)
    _both(lambda engine: PostbackScanner(encoding=encoding, names=("form",), engine=engine),
          document, cuts)


# Values the compiled engine reads on their raw bytes where those are their own text: a
# row's postback target and argument (16 bytes at a time, then byte by byte), the target and
# argument of ASP.NET's href="javascript:__doPostBack('T','A')" (a table of plain bytes).
_RAW_VALUES = {
    "postback-argument": b'<form method=post><a data-postback="t" data-postback-argument="%s">',
    "href-call-target": b"<form method=post><a href=\"javascript:__doPostBack('%s','a')\">",
    "href-call-argument": b"<form method=post><a href=\"javascript:__doPostBack('t','%s')\">",
    # a row's pair, which may open a family (a target that ends in a number): read raw
    "family-target": b'<form method=post><a data-postback="%s1" data-postback-argument="d">',
    "family-argument": b'<form method=post><a data-postback="r1" data-postback-argument="%s">',
}


@pytest.mark.parametrize("place", [0, 15, 16, 31, 39], ids=lambda place: f"byte-{place}")
@pytest.mark.parametrize("container", list(_RAW_VALUES))
def test_engines_agree_on_every_byte_in_a_value_read_raw(container: str, place: int) -> None:
    """Each of the 256 bytes, and a few character references, at a place of a 40-byte value
    (as the injector scans: its pairs come in batches, a tag only where they cannot): in
    the first 16-byte block, at the start of the second, at the end of it, in the tail read
    byte by byte."""
    for item in [bytes([byte]) for byte in range(256)] + [b"&amp;", b"&#39;", b"&lt;", b"&#x41;"]:
        value = b"x" * place + item + b"y" * (39 - place)
        document = _RAW_VALUES[container] % value
        _both(lambda engine: PostbackScanner(encoding="latin-1", names=_NAMES, families=True,
                                             engine=engine), document, [])


@pytest.mark.parametrize(
    ("document", "names"),
    [
        pytest.param(b"<\xff></\xfe><svg></\xff>", None, id="invalid-utf8-names-decode-alike"),
        pytest.param(b"<a\x00b><svg></a\xef\xbf\xbdb><p>", None, id="nul-in-name"),
        pytest.param(b"<FORM><Form></fORM>", ("form",), id="case-of-wanted-names"),
        pytest.param(b"<my-widget a=1></my-widget>", ("my-widget",), id="wanted-unknown-name"),
        pytest.param(b"<x " + b"a" * 70 + b"=1>", None, id="long-attribute-name"),
        pytest.param(b"<" + b"n" * 100 + b" a=1>", None, id="long-tag-name"),
    ],
)
def test_engines_agree_on_names(document: bytes, names: tuple[str, ...] | None) -> None:
    _both(lambda engine: TagScanner(names=names, engine=engine), document, [])


@pytest.mark.parametrize(
    "document",
    [
        # what the compiled engine counts from one word of the name (plain_tag): the open
        # counts show where an end tag in foreign content closes an element opened before it
        b"<p><svg></p><form method=post></form>", b"<P><svg></p><form method=post></form>",
        b"<Span><svg></SPAN><form method=post></form>", b"<p></p><svg></p><form method=post>",
        b"<table><TR><Td>1</tD></Tr></table><svg><td></svg></td><form method=post></form>",
        b"<td><tr></td></tr><svg></td><form method=post></form>",
        b"<template><td><svg></td><form method=post></form></template>",
        b"<h1><h\x111><svg></h1><form method=post></form>",
        b"<annotation\rxml><math></annotation-xml><form method=post>",
        b"<b\x01><svg></b><form method=post></form>", b"<b\x00><svg></b><form method=post>",
        b"<b\xc3\xa9><svg></b\xc3\xa9><form method=post>", b"<td\t><svg></td ><form method=post>",
        b"<select><td></select><td><svg></td><form method=post>", b"<p>x</p" + b"<td>" * 3,
        b"<br></br><col></col><html></html><svg></br><form method=post></form>",
    ],
)
@pytest.mark.parametrize("cuts", [[], [5], [3, 9, 17]])
def test_engines_agree_on_tags_counted_without_attributes(document: bytes, cuts: list[int]
                                                          ) -> None:
    _injector_and_tag_scanners_agree(document, cuts, {"form", "b"})


def _injector_and_tag_scanners_agree(document: bytes, cuts: list[int], names: set[str]
                                     ) -> None:
    """The engines agree on ``document`` (in pieces at ``cuts``) read as the injector's
    PostbackScanner reads it and as a TagScanner of ``names``."""
    injector = ("form", "head", "base", "noscript", "script")  # (the injector's names)
    _both(lambda engine: PostbackScanner(names=injector, families=True, engine=engine),
          document, cuts)
    _both(lambda engine: TagScanner(names=names, engine=engine), document, cuts)


@pytest.mark.parametrize(
    "document",
    [
        # names the compiled engine looks up from their words with bit 0x20 set on each byte
        # (read_tag): upper case is lower case, a control byte never makes a digit of a name
        # (0x11 | 0x20 is "1"), other bytes never make a letter of it
        b"<H1 class=a><svg></h1><form method=post></form>",
        b"<h\x11 class=a><svg></h1><form method=post></form>",
        b"<h\x11\x12\x13\x14\x15\x16\x17\x18\x19 a=1><svg></h123456789><form method=post>",
        b"<TBODY class=a><table><svg></tbody><form method=post>",
        b"<BlockQuote class=a><svg></blockquote><form method=post></form>",
        b"<blockquote\x10 a=1><svg></blockquote0><form method=post>",
        b"<b@ a=1><svg></b`><form method=post></form>", b"<B[ a=1><svg></b{><form method=post>",
        b"<my-element a=1><svg></my-element><form method=post>",
        b"<FORM method=post action=/x><INPUT name=a data-postback=t></FORM>",
    ],
)
@pytest.mark.parametrize("cuts", [[], [5], [3, 9, 17]])
def test_engines_agree_on_names_of_tags_with_attributes(document: bytes, cuts: list[int]
                                                        ) -> None:
    _injector_and_tag_scanners_agree(document, cuts, {"form", "h1", "blockquote"})


# --------------------------------------------------------------------------- choosing


@pytest.mark.parametrize(
    ("encoding", "compiled"),
    [
        pytest.param("utf-8", True, id="utf-8"),
        pytest.param("UTF8", True, id="utf-8-alias"),
        pytest.param("latin-1", True, id="latin-1"),
        pytest.param("ascii", True, id="ascii"),
        pytest.param("cp1252", True, id="cp1252"),
        pytest.param("iso8859-15", True, id="iso8859-15"),
        pytest.param("koi8-r", True, id="koi8-r"),
        pytest.param("shift_jis", False, id="multi-byte"),
        pytest.param("utf-7", False, id="ascii-bytes-not-ascii-text"),
        pytest.param("utf-8-sig", False, id="bom-stripping"),
        pytest.param("cp037", False, id="ebcdic"),
        pytest.param("no-such-codec", False, id="unknown"),
    ],
)
def test_which_encodings_the_compiled_engine_reads(encoding: str, compiled: bool) -> None:
    assert html_scan.compiled_engine_reads(encoding) is compiled


def test_the_python_engine_reads_what_the_compiled_one_cannot() -> None:
    require_engine("compiled")
    document = "<form><a title='\u30d5'>".encode("shift_jis")
    assert [t.attrs for t in TagScanner(encoding="shift_jis").scan(document, final=True)[0]][1] \
        == {"title": "\u30d5"}
    with pytest.raises(ValueError, match="cannot read"):
        TagScanner(encoding="shift_jis", engine="compiled")


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        pytest.param({"engine": "fast"}, InvalidArgument, id="unknown-engine"),
        pytest.param({"attr_hints": ["postback"]}, InvalidType, id="hint-not-bytes"),
        pytest.param({"attr_hints": [b"postback", b""]}, InvalidArgument, id="empty-hint"),
    ],
)
def test_mistaken_arguments_raise_from_the_one_hierarchy(
    arguments: dict[str, Any], error: type[Exception]
) -> None:
    """Refused before either engine is made, so both engines refuse them alike."""
    with pytest.raises(error):
        TagScanner(**arguments)


# --------------------------------------------------------------------------- postback pairs


@pytest.fixture(params=["python", "compiled"])
def engine(request: pytest.FixtureRequest) -> str:
    require_engine(request.param)
    return str(request.param)


def _postback_items(engine: str, document: bytes) -> list[Any]:
    items = PostbackScanner(names=("form",), engine=engine).scan(document, final=True)[0]
    return [item if isinstance(item, dict) else ("/" * item.is_end) + item.name
            for item in items]


# ------------------------------------------------------------- forms that are none to a browser


@pytest.mark.parametrize(("document", "expected"), [
    # (the post form's start inside the GET form is returned: the injector ignores it, as
    # browsers do, while a form is open)
    pytest.param(b"<form method=get><svg><form></form></svg><form method=post></form></form>",
                 ["form", "form", "/form", "/form"], id="an-svgs-form-inside-a-get-form"),
    pytest.param(b"<form method=get><math><form></form></math></form>", ["form", "/form"],
                 id="a-maths-form"),
    pytest.param(b"<form method=get><select><option></form><form method=post></select></form>",
                 ["form", "/form"], id="a-form-in-a-select"),
    # (at an HTML integration point a </form> is the HTML one: the pointer is gone, as a
    # browser has it, so the next <form> opens one)
    pytest.param(b"<form method=get><svg><foreignObject><form></form></foreignObject></svg>"
                 b"<form method=post></form>", ["form", "form", "/form", "form", "/form"],
                 id="a-form-in-a-foreign-object"),
    pytest.param(b"<svg><form></form></svg><form method=post></form>", ["form", "/form"],
                 id="an-svgs-form-before-a-post-form"),
])
def test_a_form_a_browser_does_not_make_is_no_form_to_the_injector(
        engine: str, document: bytes, expected: list[str]) -> None:
    """(a red-team pass: an <svg>'s </form> closed the GET form around it to the injector,
    but not to the browser, which put the next post form's fields and tokens in the GET
    form's URL) The injector's scanner returns no form tag a browser does not read as a form
    (an <svg>'s or <math>'s, or one in a <select>, which ignores it); a TagScanner returns
    every tag, the tokenizer's."""
    assert _postback_items(engine, document) == expected
    every = html_scan.TagScanner(names=("form",), engine=engine).scan(document, final=True)[0]
    assert len(every) == document.count(b"form>") + document.count(b"<form ")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(
            b'<form><a data-postback="del" data-postback-argument="1"></a>'
            b"<a data-postback=del data-postback-argument=2><a data-postback=sort></form>",
            ["form", {"del": ["1", "2"], "sort": [""]}, "/form"],
            id="grouped-by-target-in-page-order",
        ),
        pytest.param(
            b"<a data-postback=del data-postback-argument=1>"
            b"<a data-postback=del data-postback-argument='1'>"
            b"<a data-postback=del data-postback-argument='&amp;'>"
            b"<a data-postback=d&#101;l data-postback-argument='&#38;'>",
            [{"del": ["1", "&"]}],
            id="each-pair-once-however-spelled",
        ),
        pytest.param(b"<a data-postback='' data-postback-argument=1>", [], id="empty-target"),
        pytest.param(
            b"<a DATA-POSTBACK='a&amp;b' data-postback-argument='&lt;'>", [{"a&b": ["<"]}],
            id="case-and-entities",
        ),
        pytest.param(
            b"<select name=s data-autopostback><input name=q data-autopostback>"
            b"<textarea name=t data-autopostback></textarea><div name=d data-autopostback>"
            b"<input data-autopostback>",
            [{"s": [""], "q": [""], "t": [""]}],
            id="autopostback-named-controls-only",
        ),
        pytest.param(
            b"<a data-postback=x><button formaction=/y data-postback=b><a data-postback=z>",
            [{"x": [""], "b": [""]}, "button", {"z": [""]}],
            id="formaction-after-its-pairs",
        ),
        pytest.param(
            b'<p class="card__title"><div id="__VIEWSTATE"><p id=__x data-postback=p>',
            ["div", {"p": [""]}, "p"],
            id="ids-beginning-with-two-underscores",
        ),
        pytest.param(b"</a data-postback=x><p title=postback>", [], id="no-pairs"),
        pytest.param(
            b"<button form=f1><input FormMethod=get><i formaction=x data-postback=i>"
            b"<p class=form-control id=form><p data-form=x><div form>",
            ["button", "input", {"i": [""]}, "i", "div"],
            id="form-formaction-formmethod-attributes",
        ),
        pytest.param(
            b"<a href=\"javascript:__doPostBack('G','Sort$Name')\"><a href=/x title=doPostBack>"
            b"<a href=x href=__doPostBack><input onclick='WebForm_DoPostBackWithOptions(o)'>"
            b"<select onchange=\"setTimeout('__doPostBack(\\'D\\',\\'\\')', 0)\">"
            b"<a onclick=DOPOSTBACK data-postback=p>",
            [{"G": ["Sort$Name"]}, "input", "select", {"p": [""]}, "a"],  # (see _HREF_CALLS)
            id="aspnet-postback-references-by-their-raw-value",
        ),
        pytest.param(
            b'<input type="hidden" name="__VIEWSTATE" value="/wEP"><input name=_x_ class=__>'
            b"<input name=&#95;_x><input NAME=__LASTFOCUS>",
            ["input", "input"],
            id="names-beginning-with-two-underscores",
        ),
    ],
)
def test_postback_scanner(engine: str, document: bytes, expected: list[Any]) -> None:
    assert _postback_items(engine, document) == expected


def test_a_stretch_between_returned_tags_gives_one_batch_across_pieces(engine: str) -> None:
    """Pieces in the middle of a stretch return nothing; its pairs come, each once, with the
    tag that ends it, and the next stretch starts afresh."""
    scanner = PostbackScanner(names=("form",), engine=engine)
    first, _ = scanner.scan(b"<a data-postback=d data-postback-argument=1>", final=False)
    second, _ = scanner.scan(b"<a data-postback=d data-postback-argument=1>"
                             b"<a data-postback=d data-postback-argument=2><form>"
                             b"<a data-postback=d data-postback-argument=1>", final=False)
    third, _ = scanner.scan(b"<a data-postback=e>", final=True)
    assert first == []
    assert [item if isinstance(item, dict) else item.name for item in second] == [
        {"d": ["1", "2"]}, "form"]
    assert third == [{"d": ["1"], "e": [""]}]


def test_pairs_of_a_raw_text_start_tag_are_counted_once_when_streamed(engine: str) -> None:
    """A textarea whose end has not arrived is scanned again with the next piece."""
    document = b"<form><textarea name=t data-autopostback>ab</textarea></form>"
    scanner = PostbackScanner(names=("form",), engine=engine)
    first, decided = scanner.scan(document[: document.index(b"ab") + 1], final=False)
    rest, _ = scanner.scan(document[decided:], final=True)
    assert [item for item in first + rest if isinstance(item, dict)] == [{"t": [""]}]


# --------------------------------------------------------------------------- linear streaming

# Raw text of every kind, its escaped states, comments, CDATA and open tags, with their ends
# and near-misses cut anywhere: whole or in pieces, both engines give the same items.
_RAW_FRAGMENTS = st.sampled_from([
    "<script>", "<SCRIPT type=x>", "</script>", "</script ", "</SCRIPT/>", "</scrip", "t>",
    "<script", "<!--", "<!-", "-->", "--!>", "--", "-", "<", "/", ">", "x", " ", "\n",
    "<style>", "</style>", "<textarea>", "</textarea>", "<title>", "</title>", "<xmp>",
    "</xmp>", "<noscript>", "</noscript>", "<iframe>", "</iframe>", "<svg>", "</svg>",
    "<![CDATA[", "]]>", "]", "<!x", "<?", "</3", "<!DOCTYPE", "<p a='", "<p a=\"", "'", '"',
    "=", "<p", "</p", " a=b", " c='>'", "/>", "<a data-postback=r>", "<form method=post>",
    "</form>", "<select>", "<math><mi>",
])
_RAW_DOCUMENTS = st.lists(_RAW_FRAGMENTS, max_size=30).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_RAW_DOCUMENTS, st.lists(st.integers(0, 150), max_size=12))
def test_pieces_cut_inside_raw_text_comments_and_tags(document: str, cuts: list[int]) -> None:
    """Whole or cut anywhere (inside script data, its escaped states, RCDATA, RAWTEXT, a
    comment, CDATA or a tag): the same items on each engine, and the engines agree."""
    encoded = document.encode()
    for make in (lambda engine: TagScanner(engine=engine),
                 lambda engine: PostbackScanner(names=("form", "head", "base"), engine=engine)):
        _both(make, encoded, cuts)
        for engine in html_scan.ENGINES:
            assert _scan(make(engine), encoded, cuts)[0] == _scan(make(engine), encoded, [])[0]


_LONG = b"a < b && c -- d ] ] '</scrip' + '<scrip' + \"</styl\" <!- \n"  # no end in it


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        pytest.param(b"<script>", b"</script>", id="script-data"),
        pytest.param(b"<script><!--", b"--></script>", id="script-escaped"),
        pytest.param(b"<script><!--<script>", b"</script>--></script>", id="script-double-escaped"),
        pytest.param(b"<style>", b"</style>", id="rawtext"),
        pytest.param(b"<textarea name=t data-autopostback>", b"</textarea>", id="rcdata"),
        pytest.param(b"<title>", b"</title >", id="rcdata-title"),
        pytest.param(b"<!--", b"-->", id="comment"),
        pytest.param(b"<svg><![CDATA[", b"]]></svg>", id="cdata"),
        pytest.param(b"<?php ", b"?>", id="bogus-comment"),
    ],
)
def test_a_long_construct_streamed_in_pieces_is_read_once(
    engine: str, opening: bytes, closing: bytes
) -> None:
    """The work is counted, not timed: each call gets what the last one left undecided plus
    the new piece, and what it leaves is at most the few bytes that could begin the end
    (``</textarea`` cut short): so no byte is given to the engine more than twice."""
    body = _LONG * (300_000 // len(_LONG))
    document = b"<form method=post>" + opening + body + closing + b"<a data-postback=z></form>"
    cuts = list(range(8192, len(document), 8192))
    scanner = PostbackScanner(names=("form",), engine=engine)
    given, kept, start = 0, b"", 0
    for bound in [*cuts, len(document)]:
        data = kept + document[start:bound]
        _, decided = scanner.scan(data, final=bound == len(document))
        given += len(data)
        kept, start = data[decided:], bound
        assert len(kept) <= 10  # ("</textarea" is the longest)
    assert given <= len(document) + 10 * len(cuts)
    # and the same items as the page scanned whole
    whole = PostbackScanner(names=("form",), engine=engine)
    assert _scan(PostbackScanner(names=("form",), engine=engine), document, cuts)[0] == _items(
        whole.scan(document, final=True)[0], 0)


def test_an_open_tag_is_read_on_not_read_again(engine: str) -> None:
    """A tag still open when a piece ends stays undecided (its bytes are needed whole), but the
    next calls read on from where the last stopped: bytes already read are not looked at
    again (here, a quote slipped into them goes unseen: that is what the probe shows)."""
    scanner = TagScanner(names=("div",), engine=engine)
    found, decided = scanner.scan(b"<p><div title='" + b"x" * 100, final=False)
    assert (found, decided) == ([], 3)
    kept = b"<div title='" + b"x" * 100
    tampered = kept.replace(b"xxx", b"'>x", 1) + b"y" * 50  # (not what a caller may do)
    assert scanner.scan(tampered, final=False) == ([], 0)
    # (the call that completes the tag tokenizes it whole, once: its attributes are needed)
    honest = TagScanner(names=("div",), engine=engine)
    honest.scan(b"<p><div title='" + b"x" * 100, final=False)
    honest.scan(kept + b"y" * 50, final=False)
    found, decided = honest.scan(kept + b"y" * 50 + b"' b=1>", final=False)
    assert [(t.name, t.start, t.end, dict(t.attrs)) for t in found] == [
        ("div", 0, len(kept) + 56, {"title": "x" * 100 + "y" * 50, "b": "1"})]
    assert decided == len(kept) + 56


@pytest.mark.parametrize(
    "tag",
    [
        pytest.param(b"<div title='" + b"v" * 50_000 + b"'>", id="long-quoted-value"),
        pytest.param(b"<div title=" + b"v" * 50_000 + b">", id="long-unquoted-value"),
        pytest.param(b"<div" + b" a=1 b" * 10_000 + b">", id="many-attributes"),
        pytest.param(b"<d" + b"i" * 50_000 + b" x>", id="long-name"),
        pytest.param(b"</div" + b" \t" * 25_000 + b"/>", id="long-end-tag"),
        pytest.param(b"<script></script" + b" a='>'" * 10_000 + b">", id="long-raw-end-tag"),
    ],
)
def test_a_long_tag_in_pieces_gives_the_tag_once(engine: str, tag: bytes) -> None:
    document = b"<p>" + tag + b"<form>"
    cuts = list(range(1, len(document), 997))
    assert _scan(TagScanner(engine=engine), document, cuts)[0] == _scan(
        TagScanner(engine=engine), document, [])[0]



# ------------------------------------------------ reading on from an offset; post forms' places


def _scan_from(scanner: Any, document: bytes, cuts: list[int]
               ) -> tuple[list[Item], list[int], list[bool]]:
    """:func:`_scan`, but each call given the document up to the cut and where to start
    (``scan(data, final, start)``, as ``FieldInjector.edit`` reads a page), and whether the
    scanner is in the data state where each piece was decided."""
    items: list[Item] = []
    decided: list[int] = []
    in_data: list[bool] = []
    start = 0
    view = memoryview(document)
    for bound in [*sorted({c for c in cuts if 0 < c < len(document)}), len(document)]:
        found, start = scanner.scan(view[:bound], final=bound == len(document), start=start)
        items += _items(found, 0)
        decided.append(start)
        in_data.append(scanner.in_data)
    return items, decided, in_data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_DOCUMENTS.map(str.encode), st.binary(max_size=300)), _CUTS)
def test_a_document_read_on_from_where_it_was_decided_gives_what_its_pieces_give(
    document: bytes, cuts: list[int]
) -> None:
    """Read on from an offset, a document gives the items and decided offsets it gives cut in
    pieces, on both engines; and the engines agree on where it ends in the data state."""
    results = []
    for engine in html_scan.ENGINES:
        def make(engine: str = engine) -> PostbackScanner:
            return PostbackScanner(names=("form", "head"), engine=engine, families=True)
        items, decided, in_data = _scan_from(make(), document, cuts)
        assert (items, decided) == _scan(make(), document, cuts)
        results.append(in_data)
    assert all(result == results[0] for result in results)


@pytest.mark.parametrize(
    ("data", "in_data"),
    [
        pytest.param(b"<p>text", True, id="text"),
        pytest.param(b"<p><", True, id="a-lone-lt-left-undecided"),
        pytest.param(b"<script>var s = '", False, id="script"),
        pytest.param(b"<script></script>", True, id="script-ended"),
        pytest.param(b"<style>a {", False, id="raw-text"),
        pytest.param(b"<textarea>", False, id="rcdata"),
        pytest.param(b"<!-- a", False, id="comment"),
        pytest.param(b"<!-- a -->", True, id="comment-ended"),
        pytest.param(b"<div title='", False, id="inside-a-tag"),
        pytest.param(b"<!x", True, id="a-construct-not-told-yet-is-left-undecided"),
        pytest.param(b"<!xxxxxxxxx", False, id="bogus-comment"),
        pytest.param(b"<svg><![CDATA[", False, id="cdata"),
        pytest.param(b"<plaintext>", False, id="plaintext"),
    ],
)
def test_in_data_says_whether_a_tag_can_start_next(engine: str, data: bytes, in_data: bool
                                                   ) -> None:
    scanner = PostbackScanner(names=("form",), engine=engine)
    scanner.scan(data, final=False)
    assert scanner.in_data is in_data


@pytest.mark.parametrize(
    ("data", "can"),
    [
        pytest.param(b"<p>text", True, id="text"),
        pytest.param(b"<table><tr><td>", True, id="in-a-table"),
        pytest.param(b"<div title='", True, id="a-tag-read-in-part-starts-there"),
        pytest.param(b"<script>var s = '", False, id="in-a-script"),
        pytest.param(b"<!-- a", False, id="in-a-comment"),
        pytest.param(b"<plaintext>", False, id="after-plaintext"),
        pytest.param(b"<svg><g>", False, id="in-foreign-content"),
        pytest.param(b"<svg><g></svg>", True, id="foreign-content-ended"),
        pytest.param(b"<select><option>", False, id="in-a-select"),
        pytest.param(b"<select></select>", True, id="a-select-ended"),
    ],
)
def test_restart_into_says_whether_a_new_scanner_could_read_on(engine: str, data: bytes,
                                                                can: bool) -> None:
    scanner = PostbackScanner(names=("form",), engine=engine)
    scanner.scan(data, final=False)
    assert scanner.restart_into(TagScanner(engine=engine)) is can


def test_restart_into_takes_a_scanner_of_the_same_engine() -> None:
    require_engine("compiled")
    with pytest.raises(InvalidArgument, match="same engine"):
        PostbackScanner(engine="compiled").restart_into(TagScanner(engine="python"))


def _read_on_at_restarts(engine: str, document: bytes, cuts: list[int]) -> list[tuple[int, bool]]:
    """Feed a page's scanner ``document`` cut at ``cuts`` (as the injector feeds a streamed
    page); where it can put a new scanner in its state, check that one, given the rest of
    the page, returns the tags one that read the page from its start returns there. Returns
    each piece's offset and whether it could."""
    main = PostbackScanner(names=("form", "head"), engine=engine, families=True)
    whole = _items(TagScanner(engine=engine).scan(document, final=True)[0], 0)
    kept, offset, start, found = b"", 0, 0, []
    for bound in sorted({cut for cut in cuts if 0 < cut < len(document)}):
        data = kept + document[start:bound]
        decided = main.scan(data, final=False)[1]
        kept, offset, start = data[decided:], offset + decided, bound
        restarted = TagScanner(engine=engine)
        can = main.restart_into(restarted)
        found.append((offset, can))
        if can:
            rest = restarted.scan(document[offset:], final=True)[0]
            assert _items(rest, offset) == [item for item in whole if item[2] >= offset]
    return found


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCUMENTS.map(str.encode), st.lists(st.integers(0, 300), min_size=1, max_size=4))
def test_a_scanner_restarted_reads_on_as_one_that_read_it_all(
        document: bytes, cuts: list[int]) -> None:
    """:func:`_read_on_at_restarts` on both engines, which agree on where it could."""
    found = [_read_on_at_restarts(engine, document, cuts) for engine in html_scan.ENGINES]
    event("a restart" if any(can for _, can in found[0]) else "none")
    assert all(each == found[0] for each in found)


def _read_on_restarted_again(engine: str, document: bytes, cuts: list[int]
                             ) -> list[tuple[int, bool]]:
    """:func:`_read_on_at_restarts`, but restarting one scanner at every piece, as the
    injector does until a page shows htmx (only what changed since is copied into it then):
    for each piece, a page's scanner fed the pieces up to it restarts the same scanner at
    each; at that piece, that one reads on as one that read the page from its start."""
    bounds = sorted({cut for cut in cuts if 0 < cut < len(document)})
    whole = _items(TagScanner(engine=engine).scan(document, final=True)[0], 0)
    found = []
    for last in range(len(bounds)):
        main = PostbackScanner(names=("form", "head"), engine=engine, families=True)
        ready = TagScanner(engine=engine)
        kept, offset, start, can = b"", 0, 0, False
        for bound in bounds[:last + 1]:
            data = kept + document[start:bound]
            decided = main.scan(data, final=False)[1]
            kept, offset, start = data[decided:], offset + decided, bound
            can = main.restart_into(ready)
        found.append((offset, can))
        if can:
            rest = ready.scan(document[offset:], final=True)[0]
            assert _items(rest, offset) == [item for item in whole if item[2] >= offset]
    return found


# Elements of a few names opened and closed across pieces, and what an end tag in an <svg>
# or a table part does where one of them is open (see restart_into).
_NESTING = st.lists(st.sampled_from([
    "<x-a>", "</x-a>", "<x-b>", "</x-b>", "<div>", "</div>", "<p>", "<template>",
    "</template>", "<table>", "</table>", "<td>", "<svg>", "</svg>", "<select>", "</select>",
    "<form>", "</form>", "<svg></x-a><![CDATA[x><b hx-post=/e>]]>",
    "<svg></x-b><![CDATA[<i>]]>", "<svg></div><![CDATA[<u>]]>", "<style><s></style>", "t",
]), max_size=30).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_NESTING, _DOCUMENTS).map(str.encode),
       st.lists(st.integers(0, 200), min_size=1, max_size=6))
def test_a_scanner_restarted_again_reads_on_as_one_that_read_it_all(
        document: bytes, cuts: list[int]) -> None:
    """(found by a red-team pass: each restart copied every name ever counted, pieces x
    names) :func:`_read_on_restarted_again` on both engines, which agree."""
    found = [_read_on_restarted_again(engine, document, cuts) for engine in html_scan.ENGINES]
    assert all(each == found[0] for each in found)


@pytest.mark.parametrize("pieces", [
    pytest.param([b"<x-z>", b"<x-a>", b"<b>", b"<svg></x-a><![CDATA[x><b hx-post=/e>]]>"],
                 id="opened-after-the-first-restart"),
    pytest.param([b"<x-a>", b"</x-a>", b"<b>", b"<svg></x-a><![CDATA[x><b hx-post=/e>]]>"],
                 id="closed-after-the-first-restart"),
    pytest.param([b"<x-a>", b"<x-b>" + b"".join(b"<x%d>" % n for n in range(100)), b"</x-a>",
                  b"<svg></x-a><![CDATA[x><b hx-post=/e>]]>"],
                 id="closed-after-the-table-grew"),
])
def test_a_scanner_restarted_again_cases(engine: str, pieces: list[bytes]) -> None:
    cuts = list(itertools.accumulate(map(len, pieces)))[:-1]
    assert all(can for _, can in _read_on_restarted_again(engine, b"".join(pieces), cuts))


class _CountedWrites(dict[str, int]):
    """A dict that counts the items set in it."""

    writes = 0

    def __setitem__(self, key: str, value: int) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def test_a_scanner_restarted_again_copies_what_changed_only() -> None:
    """(found by a red-team pass) Restarted into the same scanner after each piece, the
    Python engine copies the counts of the names the piece opened or closed, not every name
    the page opened so far (the compiled engine lists them alike: see the test above)."""
    main = PostbackScanner(names=("form",), engine="python")
    ready = TagScanner(engine="python")
    main.scan(b"".join(b"<x%d>" % n for n in range(1000)), final=False)
    assert main.restart_into(ready)
    tree = ready._engine._tree
    tree.open_counts = counts = _CountedWrites(tree.open_counts)
    for piece in range(100):
        main.scan(b"<y%d><p>text</p>" % piece, final=False)
        assert main.restart_into(ready)
        assert ready._engine._tree.open_counts is counts
    assert counts.writes == 100  # (each piece's <y.>; its <p>, opened and closed, is none)
    assert counts["y7"] == 1 and "p" not in counts
    assert len([name for name, count in counts.items() if count]) == 1100


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # In a table, a table part ends a <select>: the <style> after it is raw text, and
        # the <script> in it is not one (a scanner that missed the table would read one,
        # and the button after it as a script's text).
        pytest.param(b"<table><tr><td>", b"<select><td><style><script></style><button hx-post=/x>",
                     id="a-select-in-a-table-open-before"),
        pytest.param(b"<table><tr><td><p>", b"</table><select><td><style><script></style><b>",
                     id="the-table-ended-after"),
        # (red team) An end tag in an <svg> closes it where an HTML element of its name is
        # open, so "<![CDATA[" after it is a bogus comment, not a CDATA section that hides
        # the button.
        pytest.param(b"<div>", b"<svg></div><![CDATA[x><button hx-post=//e>]]>",
                     id="an-svg-closed-by-an-element-open-before"),
        pytest.param(b"<table><tr><td>", b"<svg></table><![CDATA[x><b hx-post=//e>]]>",
                     id="an-svg-closed-by-a-table-open-before"),
        pytest.param(b"<template>", b"<svg></template><![CDATA[x><b hx-post=//e>]]>",
                     id="an-svg-closed-by-a-template-open-before"),
        pytest.param(b"<my-card><x-row>", b"<svg></x-row><![CDATA[x><b hx-post=//e>]]>",
                     id="an-svg-closed-by-a-custom-element-open-before"),
        # (red team) While a form is open, a <form> in a <foreignObject> is ignored: its
        # </foreignObject> goes back to the <svg>, where <style> is not raw text.
        pytest.param(b'<form method="post">', b"<svg><foreignObject><form></foreignObject>"
                     b"<style><button hx-post=//e>Go</button></style></svg>",
                     id="a-form-open-before-and-one-in-a-foreign-object"),
        pytest.param(b"<svg></svg><p>", b"<![CDATA[<script>]]><b hx-get=/y>",
                     id="foreign-content-ended-before"),
    ],
)
def test_a_scanner_restarted_reads_on_as_one_that_read_it_all_cases(
        engine: str, before: bytes, after: bytes) -> None:
    assert _read_on_at_restarts(engine, before + after, [len(before)])[0][1]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(b"<p>no form</p>", (-1, 0), id="none"),
        pytest.param(b"<form>", (-1, html_scan.FORM_TAGS), id="a-get-form"),
        pytest.param(b"<form method=get action=/s>", (-1, html_scan.FORM_TAGS), id="get"),
        pytest.param(b"<p><FORM METHOD=POST>", (3, 0), id="post-in-capitals"),
        pytest.param(b"<form method='p&#111;st'>", (0, 0), id="a-reference-may-spell-post"),
        pytest.param(b"<form method=p\xc3\xb6st>", (0, 0), id="non-ascii"),
        pytest.param(b"<form method=get", (0, 0), id="runs-past-the-document"),
        pytest.param(b"<form", (0, 0), id="cut-after-its-name"),
        pytest.param(b"<formula method=post>", (-1, 0), id="another-name"),
        pytest.param(b"<form\x00 method=post", (-1, 0), id="another-name-running-past-the-end"),
        pytest.param(b'<FORM" method=post', (-1, 0), id="a-quote-in-the-name"),
        pytest.param(b"<a data-PostBack=x>", (-1, html_scan.POSTBACK_WORDS), id="postback"),
        pytest.param(b"<form method=get><a data-postback=x><form method=post>",
                     (36, html_scan.FORM_TAGS | html_scan.POSTBACK_WORDS), id="after-both"),
        pytest.param(b"<form title='>' method=post>", (0, 0), id="a-quoted-gt"),
        pytest.param(b"<form method=post/>", (-1, html_scan.FORM_TAGS), id="unquoted-post-slash"),
        pytest.param(b"<form method=post />", (0, 0), id="self-closing"),
        pytest.param(b"<form method=get method=post>", (0, 0), id="any-method-counts"),
        pytest.param(b"<script>'<form method=post>'</script>", (9, 0), id="in-a-script-too"),
    ],
)
def test_find_post_form(engine: str, document: bytes, expected: tuple[int, int]) -> None:
    assert html_scan.find_post_form(document, engine=engine) == expected


@pytest.mark.parametrize("start", [-1, 4])
def test_a_start_outside_the_document_is_refused(engine: str, start: int) -> None:
    with pytest.raises(InvalidArgument, match="outside"):
        html_scan.find_post_form(b"<p>", start, engine=engine)
    with pytest.raises(InvalidArgument, match="outside"):
        PostbackScanner(engine=engine).scan(b"<p>", final=True, start=start)


# "<form" and any byte after it (what ends a name, or not), then whatever
_FORM_AND_A_BYTE = st.builds(lambda byte, rest: b"<FoRm" + bytes([byte]) + rest,
                             st.integers(0, 255), st.binary(max_size=20))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_DOCUMENTS.map(str.encode), st.binary(max_size=300), _FORM_AND_A_BYTE),
       st.integers(0, 300))
def test_find_post_form_engines_agree(document: bytes, start: int) -> None:
    require_engine("compiled")
    start = min(start, len(document))
    found = html_scan.find_post_form(document, start, engine="compiled")
    assert found == scanners.python_find_post_form(document, start)
    assert html_scan.post_form_finder("compiled")(document, start) == found
    at, _ = found
    if at >= 0:  # (a "<form" there, in any case)
        assert document[at:at + 5].lower() == b"<form"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCUMENTS.map(str.encode))
def test_no_post_form_is_missed(document: bytes) -> None:
    """Every post form start tag a scan finds lies where find_post_form says one may start:
    what lets the injector stop a page's scan where none is left."""
    tags = PostbackScanner(names=("form",)).scan(document, final=True)[0]
    places = set()
    at, _ = html_scan.find_post_form(document)
    while at >= 0:
        places.add(at)
        at, _ = html_scan.find_post_form(document, at + 1)
    for tag in tags:
        if isinstance(tag, Tag) and not tag.is_end and tag.attrs.get("method", "").lower() == (
                "post"):
            assert tag.start in places


# --------------------------------------------------------------------------- the fast paths

# The compiled engine reads some things its own way for speed (issue #18): character
# references it decodes itself (numeric ones and the commonest names), attribute and tag names
# compared a word at a time, script data searched 16 bytes at a time, the batch of pairs kept
# in its own tables and made a dict at its end, names decoded once per process, an id or name
# beginning with "__" told on the raw bytes. Each edge of those, on both engines, whole and cut
# into pieces everywhere (and into 8 KB pieces, as the rewriter is fed).

_VALUE = b"v" * 40
_FAST_PATH_DOCUMENTS = [
    # character references: decoded by the compiled engine when common, else by Python's rules
    b"<form title='&#39;a&#39;' a='&#x27;&#X27;&#x;&#;&#' b='&#65&#x41x&#0065;&#0;&#x0;'>",
    b"<form a='&#128;&#129;&#141;&#143;&#144;&#157;&#159;&#160;&#x80;&#x9F;&#x9f;'>",
    b"<form a='&#55296;&#xDFFF;&#xD7FF;&#1114111;&#1114112;&#x110000;&#99999999999;'>",
    b"<form a='&#000000000000065;&#0000000000000065;&#x00000000000041;&#x000000000000041;'>",
    b"<form a='&#" + b"9" * 40 + b";' b='&#x" + b"f" * 40 + b"'>",
    b"<form a='&amp;&lt;&gt;&quot;&apos;&nbsp;' b='&amp &ampx &amp= &amp; &AMP; &Amp;'>",
    b"<form a='&ampfoo; &amp;foo &notit; &notin; &not &copy &copy; &#38;amp;'>",
    b"<form a='x & y &; &# &< &&amp; &\t &\n &' b=&amp;&lt;>",
    b"<form a='" + b"&quot;" * 60 + b"' b='" + b"x" * 300 + b"&#39;'>",
    "<form a='é&amp;€&#233;😀&lt;' b='\u00e9&nbsp;'>".encode(),
    "<form a='é&amp;&#8364;' b='\xff&lt;'>".encode("latin-1"),
    b"<form a='\xc3&amp;\xa9' b='\xe2\x82&#172;' c='\xe2\x82&amp;'>",  # (cut UTF-8 by a ref)
    b"<form a='&amp;\r\n&lt;' b='&amp;\x00' c='\r&#13;' d='&amp;" + b"\r" * 20 + b"'>",
    b"<form a='" + _VALUE + b"\r" + _VALUE + b"' b='" + _VALUE + b"\x00&amp;'>",
    b"<a data-postback='a&amp;b' data-postback-argument='&#39;x&#39;'>"
    b"<a data-postback='a&#38;b' data-postback-argument=&apos;x&apos;>"
    b"<a data-postback='a&b' data-postback-argument=\"'x'\"><form>",
    b"<a href=\"javascript:__doPostBack(&#39;G&#39;,&#39;Delete$1&#39;)\">"
    b"<a href=\"javascript:__doPostBack(&#39;G&#39;,&#39;Sort&#36;Name&#39;)\">",
    # attribute names a word at a time: case, lengths about 8 and 16, odd bytes, the data's end
    b"<a DATA-POSTBACK=a Data-PostBack-Argument=b><a data-postbacK=c ID=__d>",
    b"<a data-postback\x00=a data-postbac=b data-postbackk=c data-postback-argumen=d>",
    b"<a \xc4ata-postback=a d\xc1ta-postback=b data-\xd0ostback=c>",
    b"<a data-autopostback name=n><select data-autopostbacks name=s><input DATA-AUTOPOSTBACK "
    b"NAME=q><input data-autopostbac name=r>",
    b"<a formaction=x><a formactio=x><a formactions=x><a FORMMETHOD=get><a form\x00=x>",
    b"<p i\x01d=__x><p \x0bid=__y><p id\x0b=__z><p @d=__a><p [d=__b><p `d=__c><p {d=__d>",
    b"<x abcdefghijklmno=1 abcdefghijklmnop=2 abcdefghijklmnopq=3 data-postback=e>",
    b"<form><a data-postback=end data-postback-argument=1>",
    b"<form><a data-postback=end",
    b"<form><a id=__v",
    b"<form><a data-postback=\"end\" data-postback-argument='1'",
    # tag names a word at a time
    b"<FORM><Form></fORM><ForM/><head></HEAD><Base href=x><SCRIPT>x</sCrIpT><noScript></NOSCRIPT>",
    b"<abcdefg><abcdefgh><abcdefghi></abcdefgh><abcdefghijklmno><abcdefghijklmnop></abcdefgh>",
    b"<svg><foreignobject><p></foreignObject><annotation-xml><malignmark></svg><form>",
    b"<\xd3cript>x</script><form><scrip\xd4>y<form>",
    b"<f\x00rm><form\x01><form\x0b></form\x0b>",
    b"<table><tr><td><form></td></tr></table></form><form>",
    b"<p>x</p><form>",
    b"<form>",
    b"</form>",
    # raw text searched ahead: ends, near-ends, escaped states, long content
    b"<script>" + b"x" * 200 + b"</scriptx></script-></script\x00>" + b"y" * 20
    + b"</SCRIPT \t><form>",
    b"<script>" + b"a-b<c " * 40 + b"<!--" + b"-x" * 30 + b"<script>" + b"-" * 33
    + b"</script>" + b"--" * 20 + b"-->" + b"z" * 17 + b"</script ><form>",
    b"<script><!--" + b"q" * 100 + b"-- >--!>-->" + b"r" * 40 + b"</script/><form>",
    b"<style>" + b"<" * 50 + b"</styl></stylex></STYLE><form>",
    b"<textarea name=t data-autopostback>" + b"</textare" * 20 + b"</TEXTAREA\n><form>",
    b"<title>" + b"t" * 300 + b"</title><form method=post>",
    # quoted values of every length about the 16-byte steps, with ">" and the other quote
    *[b"<form a='" + b"x" * k + b"' b=\"" + b"y>'" * (k // 3) + b"\">" for k in
      (0, 1, 7, 8, 14, 15, 16, 17, 31, 32, 127, 128, 129, 143, 144, 145, 300)],
    # ids and names beginning with "__", told on the raw bytes unless a reference begins them
    b"<p id=__x><p id=_&#95;x><p id=&#95;_x><p id=&lowbar;&lowbar;><p id='_\r_'>"
    b"<p id=__><p id=_><p id><p id=''><p id=&#x5F;&#x5f;><p name=&#95;&#95;x class=postback>",
    b"<p id=&#95;&#95;a class=form-control><p name=&#95;_b data-x=FORM><p id=&#95;_c>",
    b"<p id=_&amp;_d class=formy><p id='&#95;\x00_' data-form>",
    # names decoded once per process: many distinct ones (the cache is bounded), CR and NUL
    b"<form " + b" ".join(b"attr%d=%d" % (k, k) for k in range(300)) + b">"
    + b"<form " + b" ".join(b"ATTR%d=%d" % (k, k) for k in range(300, -1, -7)) + b">",
    b"<form m\rx=1 m\x00x=2 mx=3 abcdefghijklmnopqrstuvwx=4 abcdefghijklmnopqrstuvwxy=5 "
    b"\xc3\xa9=6 \xe9=7>",
]


def _pairs_page(targets: int, arguments: int, repeat: int) -> bytes:
    """Many pairs between two returned tags: targets interleaved, repeated, some spelled
    differently (the batch's tables grow, and shrink back for the small batches after)."""
    links = [
        b"<a data-postback=t%d data-postback-argument=%d>" % (k % targets, k % arguments)
        for k in range(targets * repeat)
    ]
    links += [b"<a data-postback=t&#49; data-postback-argument=&#48;>",
              "<a data-postback=\u20ac data-postback-argument=\U0001f600>".encode(),
              "<a data-postback=\u20ac data-postback-argument=\u20ac>".encode()]
    small = b"<form><a data-postback=s data-postback-argument=1></form>" * 5
    return b"<form>" + b"".join(links) + b"</form>" + small + b"".join(links[:50])


_FAST_PATH_DOCUMENTS += [_pairs_page(3, 1000, 400), _pairs_page(700, 3, 2), _pairs_page(1, 1, 90)]


@pytest.mark.parametrize("document", _FAST_PATH_DOCUMENTS, ids=range(len(_FAST_PATH_DOCUMENTS)))
def test_engines_agree_on_the_fast_paths(document: bytes) -> None:
    cuts = [list(range(8192, len(document), 8192)), list(range(7, len(document), 7)), []]
    if len(document) < 400:
        cuts += [[k] for k in range(1, len(document))]
    for encoding in ("utf-8", "latin-1"):
        for some in cuts:
            _both(lambda engine, e=encoding: PostbackScanner(
                encoding=e, names=("form", "head", "base", "noscript", "script"),
                engine=engine), document, some)
            _both(lambda engine, e=encoding: TagScanner(encoding=e, engine=engine), document,
                  some)


_REF_PARTS = st.sampled_from([
    "&", "#", "x", "X", ";", "amp", "lt", "quot", "nbsp", "apos", "AMP", "not", "in", "0",
    "9", "12", "65", "128", "55296", "1114112", "f", "A", "=", " ", "\t", "<", "é", "€",
    "😀", "\r", "\x00", "'", "_", "__",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_REF_PARTS, max_size=20).map("".join), _ENCODINGS)
def test_engines_decode_character_references_alike(value: str, encoding: str) -> None:
    """Attribute values made of references and near-references, in a returned tag, a pair
    and an id: decoded alike by the compiled engine's own reading and by Python's."""
    quoted = value.replace("'", "&#39;")
    document = (f"<form a='{quoted}'><a data-postback='t{quoted}' "
                f"data-postback-argument='{quoted}' id='{quoted}' class=form>").encode(
                    encoding, "replace")
    _both(lambda engine: PostbackScanner(encoding=encoding, names=("form",), engine=engine),
          document, [])


# --------------------------------------------------------------------------- ASP.NET's links
#
# An a or area whose first href, decoded, is "javascript:__doPostBack('T','A')" (and an optional
# ";": aspnet.markup._HREF_CALL, the fast path's first form) and which has no onclick or
# onchange gives its pair in the batch, as a data-postback would, instead of being returned for
# the injector to read (python_engine._href_call, _cscan.c's href_call). Anything else is as
# before: returned when an href, onclick or onchange mentions doPostBack in its raw value.

_CALL = "javascript:__doPostBack('{}','{}')"
_AT_LIMIT = _CALL.format("G", "x" * (MAX_VALUE_LENGTH - len(_CALL.format("G", ""))))


def _link(href: str, tag: str = "a", more: str = "") -> bytes:
    """A tag with that href, written as HtmlAttributeEncode writes it (' as &#39;)."""
    return f'<{tag}{more} href="{href.replace(chr(39), "&#39;")}">'.encode()


_HREF_CALLS = [
    # gathered: the pair comes in the batch, the tag is not returned
    pytest.param(b"<a href=\"javascript:__doPostBack('GridView1','Delete$17')\">",
                 [{"GridView1": ["Delete$17"]}], [["GridView1", "Delete$17"]],
                 id="gathered-plain-quotes"),
    pytest.param(_link("javascript:__doPostBack('GridView1','Delete$17')"),
                 [{"GridView1": ["Delete$17"]}], [["GridView1", "Delete$17"]],
                 id="gathered-quotes-as-numeric-references"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','Page$Next');\">",
                 [{"G": ["Page$Next"]}], [["G", "Page$Next"]], id="gathered-semicolon"),
    pytest.param(b"<a href=\"javascript:__doPostBack('LinkButton1','')\">",
                 [{"LinkButton1": [""]}], [["LinkButton1", ""]], id="gathered-empty-argument"),
    pytest.param(b"<a href='javascript:__doPostBack(&#x27;G&#X27;,&apos;A&apos;)'>",
                 [{"G": ["A"]}], [["G", "A"]], id="gathered-hex-and-apos-references"),
    pytest.param(b"<a href=javascript:__doPostBack('G','A')>", [{"G": ["A"]}], [["G", "A"]],
                 id="gathered-unquoted-value"),
    pytest.param(b"<A HREF=\"javascript:__doPostBack('G','A')\">", [{"G": ["A"]}], [["G", "A"]],
                 id="gathered-names-in-capitals"),
    pytest.param(b"<a href=\"&#106;avascript:__doPostBack('G','A')\">", [{"G": ["A"]}],
                 [["G", "A"]], id="gathered-reference-in-the-scheme-decoded-first"),
    pytest.param("<a href=\"javascript:__doPostBack('é€','名前 🙂 #?=&amp;<>')\">".encode(),
                 [{"é€": ["名前 🙂 #?=&<>"]}], [["é€", "名前 🙂 #?=&<>"]],
                 id="gathered-unicode-and-punctuation"),
    pytest.param("<a href=\"javascript:__doPostBack('G','\x7f\x85\xa0')\">".encode(),
                 [{"G": ["\x7f\x85\xa0"]}], [["G", "\x7f\x85\xa0"]],
                 id="gathered-del-and-c1-controls-are-plain"),
    pytest.param(b"<area href=\"javascript:__doPostBack('ImageMap1','0')\">",
                 [{"ImageMap1": ["0"]}], [["ImageMap1", "0"]], id="gathered-area"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','1')\" "
                 b"href=\"javascript:__doPostBack('G','2')\">",
                 [{"G": ["1"]}], [["G", "1"]], id="gathered-first-href-only"),
    pytest.param(b"<a data-postback=X href=\"javascript:__doPostBack('G','A')\">",
                 [{"X": [""], "G": ["A"]}], [["X", ""], ["G", "A"]],
                 id="gathered-after-a-data-postback-pair"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','A')\" class=x title=y>",
                 [{"G": ["A"]}], [["G", "A"]], id="gathered-other-attributes"),
    pytest.param(_link(_AT_LIMIT), [{"G": [_AT_LIMIT[29:-2]]}], [["G", _AT_LIMIT[29:-2]]],
                 id="gathered-at-max-value-length"),
    # (the compiled engine reads ASCII hrefs whose quotes are ' or &#39; on their raw bytes,
    # any other spelling on its decoded text: both ways alike)
    pytest.param(_link("javascript:__doPostBack('G','A');"), [{"G": ["A"]}], [["G", "A"]],
                 id="gathered-references-and-semicolon"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G&#39;,&#39;A')\">", [{"G": ["A"]}],
                 [["G", "A"]], id="gathered-quotes-mixed"),
    pytest.param(b"<a href=\"javascript:__doPostBack(&#039;G&#39;,&#39;A&#0039;)\">",
                 [{"G": ["A"]}], [["G", "A"]], id="gathered-references-with-leading-zeros"),
    pytest.param(b"<a href=\"javascript:__doPostBack(&#39G&#39,&#39A&#39)\">", [{"G": ["A"]}],
                 [["G", "A"]], id="gathered-references-without-semicolons"),
    pytest.param(_link("javascript:__doPostBack('G','a&amp;b&#36;')"), [{"G": ["a&b$"]}],
                 [["G", "a&b$"]], id="gathered-other-references-inside"),
    pytest.param(_link("javascript:__doPostBack('G','\x7f~ ')"), [{"G": ["\x7f~ "]}],
                 [["G", "\x7f~ "]], id="gathered-del-beside-references"),
    pytest.param(_link("javascript:__doPostBack('G\u00e9','A')"), [{"G\u00e9": ["A"]}],
                 [["G\u00e9", "A"]], id="gathered-non-ascii-beside-references"),
    pytest.param(_link("javascript:__doPostBack('G','A')").replace(b"&#39;)", b"&#39;\r)"),
                 ["a"], [["G", "A"]], id="returned-cr-before-the-parenthesis"),
    pytest.param(_link("javascript:__doPostBack('Calendar1','V4475%25')"), ["a"],
                 [["Calendar1", "V4475%"]], id="returned-percent-beside-references"),
    pytest.param(_link("javascript:__doPostBack('G','A'"), ["a"], [],
                 id="returned-no-parenthesis"),
    pytest.param(_link("javascript:__doPostBack('G','A');x"), ["a"], [],
                 id="returned-text-after-the-semicolon"),
    pytest.param(_link("javascript:__doPostBack('G',A')"), ["a"], [],
                 id="returned-argument-unquoted"),
    # returned as before: the injector reads them (aspnet.markup), to the same pairs or none
    pytest.param(_link(_AT_LIMIT[:-2] + "x')"), ["a"], [], id="returned-over-max-value-length"),
    pytest.param(b"<a href=\"JAVASCRIPT:__doPostBack('G','A')\">", ["a"], [["G", "A"]],
                 id="returned-scheme-in-capitals"),
    pytest.param(b"<a href=\" javascript:__doPostBack('G','A')\">", ["a"], [["G", "A"]],
                 id="returned-leading-space"),
    pytest.param(b"<a href=\"javascript:__doPostBack( 'G','A')\">", ["a"], [["G", "A"]],
                 id="returned-space-in-the-call"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','O\\'Brien')\">", ["a"],
                 [["G", "O'Brien"]], id="returned-escaped-quote"),
    pytest.param(b"<a href=\"javascript:__doPostBack('Calendar1','V4475%25')\">", ["a"],
                 [["Calendar1", "V4475%"]], id="returned-percent-in-the-argument"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','A\tB')\">", ["a"], [["G", "AB"]],
                 id="returned-tab-inside"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','A\nB')\">", ["a"], [["G", "AB"]],
                 id="returned-newline-inside"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','A&#13;B')\">", ["a"], [["G", "AB"]],
                 id="returned-cr-reference-inside"),
    pytest.param("<a href=\"javascript:__doPostBack('G','a\u2028b')\">".encode(), ["a"],
                 [["G", "a\u2028b"]], id="returned-line-separator"),
    pytest.param(b"<a href=\"javascript:__doPostBack('','A')\">", ["a"], [],
                 id="returned-empty-target"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','A');;\">", ["a"], [],
                 id="returned-two-semicolons"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','A');return false;\">", ["a"], [],
                 id="returned-statement-after"),
    pytest.param(b"<a href='javascript:__doPostBack(\"G\",\"A\")'>", ["a"], [["G", "A"]],
                 id="returned-double-quoted-strings"),
    pytest.param(b"<a onclick=\"return true;\" href=\"javascript:__doPostBack('G','A')\">",
                 ["a"], [["G", "A"]], id="returned-onclick-beside"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','A')\" onclick>", ["a"], [["G", "A"]],
                 id="returned-empty-onclick-beside"),
    pytest.param(b"<a href=\"javascript:__doPostBack('G','A')\" "
                 b"onclick=\"javascript:__doPostBack('G','B')\">",
                 ["a"], [["G", "A"], ["G", "B"]], id="returned-onclick-reference-beside"),
    pytest.param(b"<a onchange=x href=\"javascript:__doPostBack('G','A')\">", ["a"],
                 [["G", "A"]], id="returned-onchange-beside"),
    pytest.param(b"<a id=__x href=\"javascript:__doPostBack('G','A')\">", ["a"], [["G", "A"]],
                 id="returned-id-beginning-with-two-underscores"),
    pytest.param(b"<a name=__n href=\"javascript:__doPostBack('G','A')\">", ["a"],
                 [["G", "A"]], id="returned-name-beginning-with-two-underscores"),
    pytest.param(b"<a form=f1 href=\"javascript:__doPostBack('G','A')\">", ["a"], [["G", "A"]],
                 id="returned-form-attribute"),
    pytest.param(b"<a formaction=/x href=\"javascript:__doPostBack('G','A')\">", ["a"],
                 [["G", "A"]], id="returned-formaction-attribute"),
    pytest.param(b"<a data-postback=X id=__x href=\"javascript:__doPostBack('G','A')\">",
                 [{"X": [""]}, "a"], [["X", ""], ["G", "A"]],
                 id="returned-after-its-data-postback-pair"),
    pytest.param(b"<button href=\"javascript:__doPostBack('G','A')\">", ["button"], [],
                 id="button-returned-as-before-no-pair"),
    pytest.param(b"<span href=\"javascript:__doPostBack('G','A')\">", ["span"], [],
                 id="span-returned-as-before-no-pair"),
    pytest.param(b"<a href=/x href=\"javascript:__doPostBack('G','A')\">", [], [],
                 id="second-href-not-read"),
    pytest.param(b"<a href=\"javascript:__do&#80;ostBack('G','A')\">", [], [],
                 id="name-spelled-with-a-reference-neither-as-before"),
]


@contextlib.contextmanager
def _engine_used(engine: str) -> Iterator[None]:
    saved = html_scan.use_engine(engine)
    try:
        yield
    finally:
        html_scan.use_engine(saved)


@pytest.mark.parametrize(("tag", "items", "pairs"), _HREF_CALLS)
def test_the_commonest_aspnet_link_is_gathered(
    engine: str, tag: bytes, items: list[Any], pairs: list[list[str]]
) -> None:
    """What the scanner gives for the tag (its batch, or the tag itself, returned), and the
    pairs the injector ends with either way."""
    document = b'<form method="post">' + tag + b"</form>"
    assert _postback_items(engine, document) == ["form", *items, "/form"]
    with _engine_used(engine):
        editor = injector()
        edited = editor.edit(document)
    assert pairs_of(editor.forms[0]) == pairs
    assert edited.count(tag) == 1


def test_a_grid_of_links_gives_one_batch(engine: str) -> None:
    """A GridView's links, one target and many arguments (repeated, the last target reused)."""
    links = b"".join(_link(_CALL.format(target, f"{verb}${row}"))
                     for row in range(300) for verb in ("Edit", "Delete", "Select")
                     for target in ("GridView1", "GridView1", "é", "😀"))
    document = b"<form>" + links + b"<a data-postback=GridView1 data-postback-argument=x></form>"
    arguments = [f"{verb}${row}" for row in range(300) for verb in ("Edit", "Delete", "Select")]
    assert _postback_items(engine, document) == [
        "form", {"GridView1": [*arguments, "x"], "é": arguments, "😀": arguments}, "/form"]
    _both(lambda engine: PostbackScanner(names=("form",), engine=engine), document,
          list(range(8192, len(document), 8192)))


# A grammar of the href and its near misses (as tests/test_aspnet_markup.py builds the fast
# path's): slots, each with what ASP.NET writes there and what could stand there instead.
_PLAIN_PIECES = ["G", "GridView1", "ctl00$Main$Grid", "Delete$17", " ", "é", "名前", "🙂", "$",
                 "#", "?", "=", "&", "<", ">", "!", "-", "_", "\x7f", "\x85", "\xa0"]
_NEAR_PIECES = ["'", '"', "\\", "\\'", "%", "%27", "%41", "\t", "\n", "\r", "\x01", "\x1f",
                "\u2028", "\u2029", "\ufeff", "`", ";", ",", "(", ")", "__doPostBack", "//"]
_PIECE = st.one_of(*[st.sampled_from(_PLAIN_PIECES)] * 3, st.sampled_from(_NEAR_PIECES),
                   st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
                           max_size=2))
_TEXT = st.lists(_PIECE, max_size=4).map("".join)
_TARGET = st.lists(_PIECE, min_size=1, max_size=4).map("".join)
_QUOTE_SLOT = ("'", ['"', "\\'", "", "''", "`", "' ", " '"])
_HREF_SLOTS = [
    ("javascript:", ["JavaScript:", "JAVASCRIPT:", " javascript:", "javascript: ", "javascript",
                     "", "vbscript:", "\tjavascript:", "java\nscript:", "javascript:javascript:"]),
    ("__doPostBack", ["__dopostback", "__DoPostBack", "__doPostBack2", "x.__doPostBack",
                      "__doPostBack "]),
    ("(", ["( ", "((", " (", "(\n", ""]),
    _QUOTE_SLOT, None, _QUOTE_SLOT,  # (None: the target)
    (",", [", ", " ,", ",,", "", ";"]),
    _QUOTE_SLOT, None, _QUOTE_SLOT,  # (the argument)
    (")", [") ", "))", "", ")()", ",)"]),
]
_ENDINGS = ["", ";"]
_NEAR_ENDINGS = [";;", " ", "\n", "//", ";return false;", "\x01", ";x", "%3B", "\xa0"]


@st.composite
def _hrefs(draw: st.DrawFn) -> str:
    """An href value (decoded): the exact shape, or one with a slot or two changed, sometimes
    about MAX_VALUE_LENGTH long."""
    strings = [draw(_TARGET), draw(_TEXT)]
    texts = [slot[0] if slot else strings.pop(0) for slot in _HREF_SLOTS]
    texts.append(draw(st.sampled_from(_ENDINGS)))
    slots = [*_HREF_SLOTS, ("", _NEAR_ENDINGS)]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2]))):
        at = draw(st.integers(0, len(slots) - 1))
        slot = slots[at]
        if slot is not None:
            texts[at] = draw(st.sampled_from(slot[1]) | st.text(max_size=2))
    if draw(st.integers(0, 9)) == 0:  # the argument padded to about the limit
        length = sum(map(len, texts))
        texts[8] += "a" * max(0, MAX_VALUE_LENGTH - length + draw(st.integers(-1, 1)))
    return "".join(texts)


@st.composite
def _spelled(draw: st.DrawFn, value: str) -> str:
    """An attribute holding ``value``, quoted either way, its quotes written raw where they may
    be or as any of their references (never "doPostBack" itself)."""
    quote = draw(st.sampled_from(['"', "'"]))
    spellings = {"'": ["&#39;", "&#x27;", "&apos;", "&#039;"], '"': ["&quot;", "&#34;"]}
    spellings["'" if quote == '"' else '"'].append("'" if quote == '"' else '"')
    out = []
    for char in value.replace("\x00", "?"):
        if char in spellings:
            out.append(draw(st.sampled_from(spellings[char])))
        else:
            out.append({"&": "&amp;", "\r": "&#13;"}.get(char, char))
    return quote + "".join(out) + quote


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), _hrefs(), st.sampled_from(["a", "area", "A"]), _CUTS)
def test_the_gathered_link_is_what_markup_reads(
    data: st.DataObject, value: str, name: str, cuts: list[int]
) -> None:
    """Differential: the engines gather a pair exactly for the values of _HREF_CALL's language
    (up to MAX_VALUE_LENGTH), and it is the pair aspnet.markup reads in the tag; any other
    value leaves the tag as before: returned when its raw href mentions doPostBack (so no
    reference aspnet.markup reads is lost: "doPostBack" is always written as itself here).
    Both engines alike, whole and in pieces."""
    value = value.replace("\x00", "?")
    attribute = data.draw(_spelled(value))
    document = f"<form><{name} href={attribute}></form>".encode()
    found = references(name.lower(), {"href": value})
    gathered = len(value) <= MAX_VALUE_LENGTH and _HREF_CALL.fullmatch(value) is not None
    returned = not gathered and "dopostback" in attribute.lower()
    for engine in html_scan.ENGINES:
        items = _postback_items(engine, document)
        if gathered:
            assert len(found) == 1
            assert items == ["form", {found[0].target: [found[0].argument]}, "/form"]
        else:
            assert items == ["form", *([name.lower()] if returned else []), "/form"]
            assert returned or not found
    for pieces in (cuts, list(range(1, len(document)))):
        _both(lambda engine: PostbackScanner(names=("form",), engine=engine), document, pieces)
    event("gathered" if gathered else "returned" if returned else "neither")


# --------------------------------------------------------------------------- update panels

# A partial postback's panels (PostbackScanner(panels=...)): each panel asked for is returned,
# after its pairs, and the end tag that closes it (its name counted with nesting) gives a
# PanelEnd (the tags counted, and the other tags inside, only when wanted for themselves).
# Panels of several names and spellings, nested, self-closing, with references in their ids,
# with pairs of their own, in raw text, near-misses, and the constructs that decide what is a
# tag around them.
_PANEL_FRAGMENTS = st.sampled_from([
    "<div id=p data-update-panel>", "</div>", "<DIV DATA-UPDATE-PANEL ID=p>", "</DIV >",
    "<div id='&#112;' data-update-panel>", "<div id=&#x71; data-update-panel>",
    "<div id=p data-update-panel/>", "<div/>", "</div/>", "<div>", "<span id=q data-update-panel>",
    "</span>", "<section data-update-panel id=q data-postback=s data-postback-argument=1>",
    "</section>", "<div data-update-panel>", "<div data-update-panel id>",
    "<div id=other data-update-panel=x>", "<div id=p data-update-panels>",
    "<div data-update-panel id=q id=p>", "<div id=p class=update-panel>",
    "<form id=q data-update-panel method=post>", "</form>", "<table><tbody id=p data-update-panel>",
    "</tbody>", "<textarea id=p data-update-panel>t</textarea>", "<script id=q data-update-panel>",
    "</script>", "<textarea><div id=p data-update-panel></textarea>",
    "<!-- <div id=p data-update-panel> -->", "<a data-postback=r>", "<input name=__x>",
    "<svg><div id=q data-update-panel>", "<select><span id=p data-update-panel>",
    "<d\xe9v id=p data-update-panel>", "</d\xe9v>",
])
_OTHER_FRAGMENTS = st.one_of(HTML_FRAGMENTS, _POSTBACK_FRAGMENTS)
# (half of the pieces are about panels: one_of would give them a sixth, its branches flattened)
_PANEL_DOCUMENTS = st.lists(
    st.booleans().flatmap(lambda panel: _PANEL_FRAGMENTS if panel else _OTHER_FRAGMENTS),
    max_size=16).map("".join)
# and documents of panels and their nesting only (a few names, self-closing or not), where
# a miscounted depth shows in a few pieces
_PANEL_SKELETONS = st.lists(st.sampled_from([
    "<div id=p data-update-panel>", "<div id=p data-update-panel/>",
    "<DIV data-update-panel id=q>", "<div>", "<div/>", "</div>", "</DIV/>", "<i>",
    "<a data-postback=r>", "<script>x</script>",
]), min_size=4, max_size=24).map("".join)
_PANEL_IDS = st.lists(st.sampled_from(["p", "q", "p", "q", "other", "", "P"]), min_size=1,
                      max_size=3)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_PANEL_DOCUMENTS, _PANEL_SKELETONS), _PANEL_IDS, _CUTS, _ENCODINGS)
def test_postback_scanner_engines_agree_on_panels(
    document: str, ids: list[str], cuts: list[int], encoding: str
) -> None:
    """Tags and batches of pairs alike on both engines, with panels asked for, whole and cut
    into pieces (the regions open carry over between pieces)."""
    encoded = document.encode(encoding, "replace")
    for some in (cuts, []):
        _both(lambda engine: PostbackScanner(encoding=encoding, names=("form", "head", "base"),
                                             panels=ids, engine=engine), encoded, some)
    assert (_items(scan_panels(encoded, ids, encoding=encoding, engine="python"), 0)
            == _items(scan_panels(encoded, ids, encoding=encoding, engine="compiled"), 0))


def _panel_items(engine: str, pieces: list[bytes], ids: list[str]) -> list[list[Any]]:
    """What a scanner asked for ``ids`` returns for each piece (a tag as its name, an end tag
    as "/" and its name, a panel's end as "end" and its id, pairs as their dict)."""
    scanner = PostbackScanner(names=("form",), panels=ids, engine=engine)
    assert scanner.panels == frozenset(ids)
    found, kept = [], b""
    for index, piece in enumerate(pieces):
        data = kept + piece
        items, decided = scanner.scan(data, final=index == len(pieces) - 1)
        found.append([item if isinstance(item, dict) else f"end {item.panel}"
                      if isinstance(item, PanelEnd) else ("/" * item.is_end) + item.name
                      for item in items])
        kept = data[decided:]
    return found


_PANEL_CASES = [
    pytest.param(
        [b"<b><div id=p data-update-panel><div id=q data-update-panel><div></div></div>"
         b"<i></i></div><b></b>"], ["p", "q"],
        [["div", "div", "end q", "end p"]],
        id="panel-nested-in-a-panel-of-the-same-name",
    ),
    pytest.param(
        [b"<div id=p data-update-panel><div></div><i></i></div><b>"], ["p"],
        [["div", "end p"]],
        id="same-name-inside-counted-with-nesting",
    ),
    pytest.param(
        [b"<div id=p data-update-panel/><span><div/></span></div><b>"], ["p"],
        [["div"]],
        id="self-closing-panel-start-and-self-closing-inside",
    ),
    pytest.param(
        [b"<div id=\"&#112;\" data-update-panel><i></i></div><div id='&#113;' data-update-panel>"
         b"<b>"], ["p"],
        [["div", "end p"]],
        id="id-with-a-character-reference",
    ),
    pytest.param(
        [b"<a data-postback=x><div id=p data-update-panel data-postback=t "
         b"data-postback-argument=1><a data-postback=z></a></div><a data-postback=y><b>"],
        ["p"],
        [[{"x": [""], "t": ["1"]}, "div", "end p", {"z": [""], "y": [""]}]],
        id="panel-start-with-a-data-postback-after-its-pairs",
    ),
    pytest.param(
        [b"<i><div id=p data-upd", b"ate-panel><i>x</", b"i><di", b"v></div></div><b>"], ["p"],
        [[], ["div"], [], ["end p"]],
        id="panel-split-across-pieces",
    ),
    pytest.param(
        [b"<textarea><div id=p data-update-panel></textarea><i></i>"
         b"<script>'<div id=p data-update-panel>'</script><!-- <div id=p data-update-panel> -->"
         b"<b></b>"], ["p"],
        [[]],
        id="panel-inside-raw-text-is-not-a-tag",
    ),
    pytest.param(
        [b"<div id=p data-update-panel><script>x</script><textarea>y</textarea></div><i>"],
        ["p"],
        [["div", "end p"]],
        id="raw-text-end-tags-inside-a-panel",
    ),
    pytest.param(
        [b"<div id=q data-update-panel></div><div data-update-panel id=other id=p></div>"
         b"<div id=p data-update-panels></div><div id=p class=update-panel></div>"], ["p"],
        [[]],
        id="not-asked-first-id-wins-and-near-misses",
    ),
    pytest.param(
        [b"<div data-update-panel><i></i></div><b>"], [""],
        [["div", "end "]],
        id="no-id-is-the-empty-id",
    ),
    pytest.param(
        [b"<form id=p data-update-panel method=post><i></i></form><b>"], ["p"],
        [["form", "/form", "end p"]],
        id="panel-wanted-by-name",
    ),
    pytest.param(
        [b"<div id=p data-update-panel><span id=__a><div id=__b data-postback=t>"
         b"<input name=__x></div></span><form method=post></form></div><div>"], ["p"],
        [["div", "span", {"t": [""]}, "div", "input", "form", "/form", "end p"]],
        id="tags-wanted-for-themselves-inside-a-panel",
    ),
    pytest.param(
        [b"<div id=p data-update-panel>" * 3 + b"<div></div>" + b"</div>" * 3 + b"<div>"],
        ["p"],
        [["div", "div", "div", "end p"]],
        id="an-id-repeated-on-nested-panels",
    ),
    pytest.param(
        [b"<div id=p data-update-panel><i></i></div><div id=p data-update-panel><div></div>"
         b"</div><b>"], ["p"],
        [["div", "end p", "div"]],
        id="a-later-start-of-the-id-opens-no-region",
    ),
    pytest.param(
        [b"<svg><g id=p data-update-panel><g id=q data-update-panel/></g><g></g>"], ["p", "q"],
        [["g", "g", "end p", "end q"]],
        id="two-panels-end-on-one-tag-the-inner-start-closing-itself",
    ),
    pytest.param(
        [b"<svg><g id=p data-update-panel><g><g id=q data-update-panel/></g></g><g></g>"],
        ["p", "q"],
        [["g", "g", "end q", "end p"]],
        id="a-self-closing-start-inside-ends-first",
    ),
    pytest.param(
        [b"<div id=p data-update-panel><span id=q data-update-panel></div></span>"], ["p", "q"],
        [["div", "span", "end p", "end q"]],
        id="panels-of-two-names-crossing",
    ),
    pytest.param(
        [b"<script id=p data-update-panel>x</script><input id=q data-update-panel><input>"
         b"</input></input>"], ["p", "q"],
        [["script", "end p", "input", "end q"]],
        id="panels-named-like-what-the-injector-writes",
    ),
    # (tags with no attributes inside a panel: those of another name are only counted on the
    # compiled scan's short way, those of the panel's name count into its depth)
    pytest.param(
        [b"<div id=p data-update-panel><td></td><P>x</p><DIV><span></span></DIV><tr></div><div>"],
        ["p"],
        [["div", "end p"]],
        id="plain-tags-inside-a-panel-of-their-name-or-not",
    ),
    pytest.param(
        [b"<ul id=p data-update-panel><li>a</li><UL><li></li></UL></ul><ul></ul>"], ["p"],
        [["ul", "end p"]],
        id="plain-tags-of-a-list-panel",
    ),
    pytest.param(
        [b"<div id=p data-update-panel><span id=q data-update-panel><span></span><div></div>"
         b"<b></b></span><i></i></div><b>"], ["p", "q"],
        [["div", "span", "end q", "end p"]],
        id="plain-tags-of-two-open-panels-names",
    ),
]


@pytest.mark.parametrize(("pieces", "ids", "expected"), _PANEL_CASES)
def test_panels(engine: str, pieces: list[bytes], ids: list[str], expected: list[Any]) -> None:
    assert _panel_items(engine, pieces, ids) == expected


@pytest.mark.parametrize(("pieces", "ids", "expected"), _PANEL_CASES)
def test_engines_agree_on_panels_cut_anywhere(
    pieces: list[bytes], ids: list[str], expected: list[Any]
) -> None:
    document = b"".join(pieces)
    for cuts in ([], *([k] for k in range(1, len(document))), list(range(3, len(document), 3))):
        _both(lambda engine: PostbackScanner(names=("form",), panels=ids, engine=engine),
              document, cuts)


@pytest.mark.parametrize("count", [1, 10_000])
def test_a_panel_costs_two_items_whatever_it_holds(engine: str, count: int) -> None:
    """A panel of thousands of tags of its name (any visitor may ask for a partial postback
    of it) is its start tag and its end, not an object a tag: the tags counted are returned
    only when wanted for themselves, and the one that ends the panel gives a PanelEnd."""
    document = (b"<form method=post><div id=p data-update-panel>"
                + b"<div>x</div>" * count + b"</div><div></div></form>")
    scanner = PostbackScanner(names=("form",), panels=["p"], engine=engine)
    items = scanner.scan(document, final=True)[0]
    end = len(document) - len(b"</div><div></div></form>")
    assert items[2:] == [PanelEnd("p", end, end + 6), items[3]]
    assert [type(item) for item in items] == [Tag, Tag, PanelEnd, Tag]
    assert scan_panels(document, ["p"], engine=engine)[1:] == [PanelEnd("p", end, end + 6)]


def test_only_the_first_start_tag_of_an_id_opens_a_region(engine: str) -> None:
    """A page repeating a panel's id on nested elements opens one region an id asked for (the
    first start tag, which ``partial.panel_starts`` takes), not one a tag: every later tag is
    counted into the regions open (4,000 nested ``<div id=p>`` took 1.8 s)."""
    scanner = PostbackScanner(names=("form",), panels=["p", "q", "r"], engine=engine)
    document = (b"<div id=p data-update-panel>" * 50 + b"<span id=q data-update-panel>" * 5
                + b"<span></span>" + b"<div id=other data-update-panel>" * 5)
    scanner.scan(document, final=False)
    assert scanner._engine.open_regions == 2
    scanner.scan(b"</div>" * 5 + b"</span>" * 5 + b"</div>" * 50, final=True)
    assert scanner._engine.open_regions == 0


# --------------------------------------------------------------------------- top-level cuts
#
# html_scan.top_level_cuts: where a fragment (a panel's content) divides into its top-level
# pieces. The compiled engine follows the model in C (no tag object); the Python one builds the
# tags and follows it in Python: the same cuts, on any bytes.


@pytest.mark.parametrize(
    ("markup", "cuts"),
    [
        pytest.param(b"<tr><td>1</td></tr>\n<tr></tr>", [0, 19, 20, 29, 29], id="rows-and-text"),
        pytest.param(b"<div><div>x</div></div>y", [0, 23, 24], id="nested-same-name"),
        pytest.param(b"<DIV>x</div >y", [0, 13, 14], id="case-and-space-in-end-tag"),
        pytest.param(b"a<br>b<svg/>", [0, 1, 5, 6, 12, 12], id="void-and-self-closing"),
        pytest.param(b"<b><i>x</b>y", [0, 11, 12], id="end-tag-closes-those-opened-inside"),
        pytest.param(b"</b>x<i>", [0, 5, 8], id="stray-end-tag-and-unclosed"),
        pytest.param(b"<a\xff>x</a\xff>y", [0, 10, 11], id="invalid-utf8-name"),
        pytest.param(b"<\xff>x</\xff>y", [0, 9], id="no-tag-at-all"),
        pytest.param(b"<a\x00b>x</a\xef\xbf\xbdb>", [0, 14, 14], id="nul-in-name"),
        pytest.param(b"<script>'</p>'</script><p>", [0, 23, 26], id="raw-text"),
        pytest.param(b"", [0, 0], id="empty"),
    ],
)
def test_top_level_cuts(engine: str, markup: bytes, cuts: list[int]) -> None:
    assert top_level_cuts(markup, engine=engine) == cuts


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_DOCUMENTS.map(str.encode), st.binary(max_size=300)), _ENCODINGS)
def test_engines_agree_on_top_level_cuts(markup: bytes, encoding: str) -> None:
    require_engine("compiled")
    assert (top_level_cuts(markup, encoding=encoding, engine="compiled")
            == top_level_cuts(markup, encoding=encoding, engine="python"))


def _long_markup() -> bytes:
    """A panel's content over several of the Python engine's reads (64 KB each), with a
    comment, a script, a tag and a text run that each straddle a boundary between two (and a
    row cut in two, whose open div the next rows' first end tag closes)."""
    rows = b"".join(b"<div class='r'>%d</div>\n" % n for n in range(2700))  # (~62 KB)
    return (rows + b"<!-- " + b"c" * 9000 + b" <div> -->" + rows[:1000]
            + b"<script>if (a < b) '</div>';" + b" " * 70000 + b"</script>"
            + b"<p title='" + b"t" * 70000 + b"'>x</p>" + b"text " * 20000 + b"<br>" + rows)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_top_level_cuts_of_markup_read_in_several_steps(engine: str) -> None:
    """The Python engine reads a long panel a step at a time (a whole one's tags at once took
    29 times its size): what straddles two steps is cut as if read at once, and both engines
    agree; joined, the pieces are the markup."""
    require_engine("compiled")
    markup = _long_markup()
    cuts = top_level_cuts(markup, engine=engine)
    assert cuts == top_level_cuts(markup, engine="compiled")
    assert b"".join(markup[a:b] for a, b in itertools.pairwise(cuts)) == markup
    assert len(cuts) > 2 * 2700  # (each row of the first rows and the text after it)


@pytest.mark.parametrize("engine", ["python", "compiled"])
@pytest.mark.parametrize("names", [None, ("div", "script", "p", "br")], ids=["all", "some"])
def test_iter_tags_reads_a_step_at_a_time_as_one_scan_reads(engine: str,
                                                             names: tuple[str, ...] | None
                                                             ) -> None:
    """``iter_tags`` reads a long document a step (16 KB) at a time, so that a page of a
    hundred thousand tags asked for holds a step's at a time: the tags, and their offsets in
    the document, are those one scan of the whole gives."""
    require_engine(engine)
    markup = _long_markup()
    previous = html_scan.use_engine(engine)
    try:
        stepped = list(html_scan.iter_tags(markup, names=names))
    finally:
        html_scan.use_engine(previous)
    whole = TagScanner(names=names, engine=engine).scan(markup, final=True)[0]
    assert stepped == whole
    assert len(whole) > 2 * 2700


def test_the_compiled_cuts_mode_reads_one_whole_document() -> None:
    """Misuse of the engine's cuts mode says what is wrong (the public function never does)."""
    require_engine("compiled")
    with pytest.raises(ValueError, match="final=True"):
        scanners._engine("compiled", "utf-8", None, (), postbacks=False, cuts=True).scan(
            b"<p>", False)


# --------------------------------------------------------------------------- families of rows
# PostbackScanner(families=True): a stretch whose pairs are one numbered family (a grid's rows)
# may come as a Family, read by the compiled engine on the raw bytes; once expanded it must be
# exactly the dict the stretch gives without families, on either engine.


def _expanded(found: list[Any]) -> list[Any]:
    """The items with each stretch's pairs in one dict, as one dict a stretch gives them:
    families and rows expanded, and merged with the dicts beside them (each pair once, where
    it first came, as ``PostForm.add_pairs`` merges them)."""
    merged: list[Any] = []
    for item in found:
        if isinstance(item, html_scan.Family | html_scan.Rows):
            item = item.pairs()
        if not isinstance(item, dict) or not merged or not isinstance(merged[-1], dict):
            merged.append(item)
            continue
        for target, arguments in item.items():
            known = merged[-1].setdefault(target, [])
            known += [argument for argument in arguments if argument not in known]
    return merged


def _family_items(engine: str, pieces: list[bytes], *, families: bool = True) -> list[Any]:
    """What the scanner returns for a document given in ``pieces`` (tags by name)."""
    scanner = PostbackScanner(names=("form",), engine=engine, families=families)
    found: list[Any] = []
    kept = b""
    for index, piece in enumerate(pieces):
        data = kept + piece
        items, safe = scanner.scan(data, final=index == len(pieces) - 1)
        found += items
        kept = data[safe:]
    return [item if isinstance(item, dict | html_scan.Family | html_scan.Rows)
            else ("/" * item.is_end) + item.name for item in found]


def _rows(numbers: Iterable[int], argument: str = "delete:{}", target: str = "row{}") -> bytes:
    return b"".join(
        f'<tr><td><a href="#" data-postback="{target.format(n)}" '
        f'data-postback-argument="{argument.format(n)}">Delete</a></td></tr>\n'.encode()
        for n in numbers)


_Family = html_scan.Family
_FAMILIES = [
    pytest.param(_rows(range(1, 101)), [_Family("row", "delete:", True, 1, 100)],
                 id="rows-with-their-own-number"),
    pytest.param(_rows(range(0, 3), "open"), [_Family("row", "open", False, 0, 3)],
                 id="rows-with-one-argument-from-row-0"),
    pytest.param(b"<a data-postback=r7><a data-postback=r8 data-postback-argument>",
                 [_Family("r", "", False, 7, 2)], id="rows-without-an-argument"),
    pytest.param(_rows([9, 10, 11], "x{}y"), [{"row9": ["x9y"], "row10": ["x10y"],
                                               "row11": ["x11y"]}],
                 id="a-number-inside-the-argument-is-no-family"),
    pytest.param(_rows([98, 99, 100, 101]), [_Family("row", "delete:", True, 98, 4)],
                 id="rows-across-a-power-of-ten"),
    pytest.param(_rows([5]), [{"row5": ["delete:5"]}], id="one-row-is-a-dict"),
    pytest.param(_rows([1, 2, 4]), [{"row1": ["delete:1"], "row2": ["delete:2"],
                                     "row4": ["delete:4"]}], id="a-gap-spills-into-the-dict"),
    pytest.param(_rows([1, 2, 2]), [{"row1": ["delete:1"], "row2": ["delete:2"]}],
                 id="a-repeated-row-spills-and-counts-once"),
    pytest.param(_rows([1, 2]) + b'<a data-postback="row3" data-postback-argument="edit:3">',
                 [{"row1": ["delete:1"], "row2": ["delete:2"], "row3": ["edit:3"]}],
                 id="another-argument-spills"),
    pytest.param(_rows([1, 2]) + b"<select name=s data-autopostback></select>",
                 [{"row1": ["delete:1"], "row2": ["delete:2"], "s": [""]}],
                 id="an-autopostback-after-rows-spills"),
    pytest.param(_rows([1, 2], "a&amp;b{}"), [{"row1": ["a&b1"], "row2": ["a&b2"]}],
                 id="a-character-reference-is-read-as-text"),
    pytest.param(_rows([1, 2], "\u00e9{}"), [{"row1": ["\u00e91"], "row2": ["\u00e92"]}],
                 id="non-ascii-is-read-as-text"),
    pytest.param(_rows([7, 8], target="row0{}"), [{"row07": ["delete:7"], "row08": ["delete:8"]}],
                 id="a-leading-zero-is-no-number"),
    pytest.param(_rows([10**15 - 2, 10**15 - 1, 10**15]),
                 [{f"row{n}": [f"delete:{n}"] for n in (10**15 - 2, 10**15 - 1, 10**15)}],
                 id="past-fifteen-digits-spills"),
    pytest.param(_rows([1, 2]) + b'<p id="__x">' + _rows([3, 4]),
                 [_Family("row", "delete:", True, 1, 2), "p",
                  _Family("row", "delete:", True, 3, 2)],
                 id="a-returned-tag-ends-the-family"),
    pytest.param(b"<a data-postback=7 data-postback-argument=7><a data-postback=8 "
                 b"data-postback-argument=8>", [_Family("", "", True, 7, 2)],
                 id="targets-that-are-numbers"),
]


@pytest.mark.parametrize(("document", "expected"), _FAMILIES)
def test_a_stretch_of_rows_comes_as_a_family(document: bytes, expected: list[Any]) -> None:
    _assert_compact(document, expected)


def _assert_compact(document: bytes, expected: list[Any]) -> None:
    """The compiled engine gives ``expected`` between a form's tags, and the same pairs as
    without families, on both engines, whole and cut anywhere."""
    require_engine("compiled")
    document = b"<form method=post>" + document + b"</form>"
    whole = _family_items("compiled", [document])
    assert whole == ["form", *expected, "/form"]
    plain = _family_items("python", [document], families=False)
    assert _expanded(whole) == plain
    for cut in range(1, len(document), max(1, len(document) // 40)):
        pieces = [document[:cut], document[cut:]]
        assert _expanded(_family_items("compiled", pieces)) == plain
        assert _family_items("python", pieces, families=True) == plain  # (dicts only)


_ROW_PARTS = st.sampled_from([
    "row", "r", "", "0", "1", "9", "10", "99", "100", "&#49;", "é", "-", ":", "delete:",
    "x", "\r",
])


@st.composite
def _row_documents(draw: st.DrawFn) -> bytes:
    """Runs of rows, with breaks of every kind: gaps, repeats, other arguments, spelled
    numbers, tags the scanner returns, autopostbacks."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        target = draw(st.one_of(st.sampled_from(["row", "Grid$ctl"]),
                                st.lists(_ROW_PARTS, max_size=2).map("".join)))
        argument = draw(st.one_of(st.sampled_from(["delete:", "Open"]),
                                  st.lists(_ROW_PARTS, max_size=2).map("".join)))
        first = draw(st.sampled_from([0, 1, 8, 9, 95, 10**14, 10**15 - 3]))
        count = draw(st.integers(0, 14))
        numbered = draw(st.booleans())
        for n in range(first, first + count):
            if draw(st.integers(0, 19)) == 0:
                n += draw(st.sampled_from([-1, 1, 2]))
            value = argument + str(n) if numbered else argument
            if draw(st.integers(0, 6)) == 0:
                parts.append(f"<a data-postback='{target}{n}'>")
            else:
                parts.append(f"<a data-postback='{target}{n}' data-postback-argument='{value}'>")
        parts.append(draw(st.sampled_from(["", "<p id=__a>", "<input name=q data-autopostback>",
                                           "</form><form method=post>", "<td>"])))
    return ("<form method=post>" + "".join(parts) + "</form>").encode()


def _grid(rows: Iterable[int], heads: tuple[str, ...] = ("Edit$", "Delete$", "Select$"),
          target: str = "GridView1", *, aspnet: bool = False) -> bytes:
    """A grid's command links, ``heads`` a row (as data-postback, or as ASP.NET writes them)."""
    if aspnet:
        return b"".join(_link(_CALL.format(target, f"{head}{n}")) for n in rows for head in heads)
    return b"".join(f'<a data-postback="{target}" data-postback-argument="{head}{n}">'.encode()
                    for n in rows for head in heads)


_Rows = html_scan.Rows
_GRID = ("Edit$", "Delete$", "Select$")
_ROWS = [
    pytest.param(_grid(range(235)), [_Rows("GridView1", _GRID, 0, 235)], id="a-gridview"),
    pytest.param(_grid(range(235), aspnet=True), [_Rows("GridView1", _GRID, 0, 235)],
                 id="a-gridview-as-aspnet-writes-it"),
    pytest.param(_grid(range(2, 11), ("Page$",)), [_Rows("GridView1", ("Page$",), 2, 9)],
                 id="a-pager"),
    pytest.param(b'<a data-postback=G data-postback-argument="Sort$Name">'
                 + _grid(range(3), target="G") + _grid(range(2, 5), ("Page$",), "G"),
                 [{"G": ["Sort$Name"]}, _Rows("G", _GRID, 0, 3), _Rows("G", ("Page$",), 2, 3)],
                 id="sorting-rows-and-pager"),
    pytest.param(_grid(range(1, 5), ("",), "delete"), [_Rows("delete", ("",), 1, 4)],
                 id="numbers-alone"),
    pytest.param(_grid(range(3)) + _grid([3], ("Edit$", "Delete$")),
                 [_Rows("GridView1", _GRID, 0, 3),
                  {"GridView1": ["Edit$3", "Delete$3"]}], id="a-last-row-cut-short"),
    pytest.param(_grid([0]), [{"GridView1": ["Edit$0", "Delete$0", "Select$0"]}],
                 id="one-row-is-a-dict"),
    pytest.param(_grid([0, 1]) + _grid([1], ("Edit$",)),
                 [_Rows("GridView1", _GRID, 0, 2), {"GridView1": ["Edit$1"]}],
                 id="a-repeat-after-the-rows"),
    pytest.param(_grid([0, 1, 3]), [_Rows("GridView1", _GRID, 0, 2),
                                    {"GridView1": ["Edit$3", "Delete$3", "Select$3"]}],
                 id="a-gap-ends-the-rows"),
    pytest.param(_grid([0, 1]) + b'<a data-postback="H" data-postback-argument="x">'
                 + _grid([2, 3]),
                 [_Rows("GridView1", _GRID, 0, 2), {"H": ["x"]}, _Rows("GridView1", _GRID, 2, 2)],
                 id="another-target-between-rows"),
    pytest.param(_grid([0, 1], ("Edit$", "Edit$")),  # (merged, each pair counts once)
                 [{"GridView1": ["Edit$0"]}, _Rows("GridView1", ("Edit$",), 0, 2),
                  {"GridView1": ["Edit$1"]}], id="a-head-twice-in-a-row"),
    pytest.param(_grid([7, 8], ("Row$0",)), [{"GridView1": ["Row$07", "Row$08"]}],
                 id="a-leading-zero-is-no-number"),
    pytest.param(_grid([0, 1], ("a&amp;",)), [{"GridView1": ["a&0", "a&1"]}],
                 id="a-reference-is-read-as-text"),
    pytest.param(_grid([0, 1], tuple(f"h{k}$" for k in range(9))),
                 [{"GridView1": [f"h{k}${n}" for n in (0, 1) for k in range(9)]}],
                 id="more-heads-than-a-row-holds"),
]


@pytest.mark.parametrize(("document", "expected"), _ROWS)
def test_a_grids_commands_come_as_rows(document: bytes, expected: list[Any]) -> None:
    _assert_compact(document, expected)


@st.composite
def _grid_documents(draw: st.DrawFn) -> bytes:
    """Grids' commands with breaks of every kind: gaps, repeats, short rows, other targets,
    spelled numbers, tags the scanner returns, written as data-postback or as ASP.NET does."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(["G", "GridView1", "row1", "é"]))
        heads = draw(st.lists(st.sampled_from(["Edit$", "Delete$", "", "x0", "Page$", "&#36;",
                                               "a\n"]), min_size=1, max_size=4))
        first = draw(st.sampled_from([0, 1, 9, 10**15 - 3]))
        aspnet = draw(st.booleans())
        for n in range(first, first + draw(st.integers(0, 6))):
            for head in heads:
                if draw(st.integers(0, 14)) == 0:
                    continue  # (a command left out)
                number = n + draw(st.sampled_from([0] * 12 + [-1, 1]))
                parts.append(_grid([number], (head,), target, aspnet=aspnet).decode())
        parts.append(draw(st.sampled_from(["", "<p id=__a>", "<input name=q data-autopostback>",
                                           "</form><form method=post>",
                                           "<a data-postback=row1 data-postback-argument=d1>"])))
    return ("<form method=post>" + "".join(parts) + "</form>").encode()


@settings(max_examples=900, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_row_documents(), _row_documents(), _grid_documents()), _CUTS)
def test_families_and_rows_are_the_pairs_of_their_stretch(document: bytes, cuts: list[int]
                                                          ) -> None:
    require_engine("compiled")
    pieces = [document[a:b] for a, b in zip([0, *sorted(set(cuts))],
                                            [*sorted(set(cuts)), len(document)], strict=True)]
    pieces = [piece for piece in pieces if piece] or [b""]
    found = _family_items("compiled", pieces)
    for item in found:
        if isinstance(item, html_scan.Family | html_scan.Rows):
            event(type(item).__name__)
            assert item.count >= 2
    assert _expanded(found) == _family_items("python", pieces, families=False)
    assert _expanded(found) == _family_items("compiled", pieces, families=False)


# PostbackScanner(bare_forms=True): a plain post form with nothing returned inside it comes
# as one html_scan.BareForm from the compiled engine (see _cscan.c's emit_tag).

_PLAIN_FORM_ATTRS = frozenset({
    "method", "action", "class", "style", "title", "role", "name", "target", "enctype",
    "autocomplete", "novalidate", "lang", "dir",
})


def test_the_compiled_engine_knows_the_injectors_plain_attributes() -> None:
    """_cscan.c's PLAIN_FORM_ATTRS is inject._PLAIN_FORM_ATTRS (written out here, and
    checked against the C source)."""
    from pathlib import Path

    from postback_middleware import inject

    assert inject._PLAIN_FORM_ATTRS == _PLAIN_FORM_ATTRS
    source = (Path(html_scan.__file__).parent / "_cscan.c").read_text()
    table = source[source.index("PLAIN_FORM_ATTRS[] = {"):]
    table = table[:table.index("};")]
    assert {name for name in _PLAIN_FORM_ATTRS if f'"{name}"' in table} == _PLAIN_FORM_ATTRS
    assert table.count('"') == 2 * len(_PLAIN_FORM_ATTRS)


def _reduced(tag: Tag) -> Any:
    """A tag as the injector reads it: a plain post form's start tag by its method and action
    only (what ``BareForm.items()`` gives back)."""
    attrs = tag.attrs
    if (tag.name == "form" and not tag.is_end and not tag.self_closing
            and _PLAIN_FORM_ATTRS.issuperset(attrs) and attrs.get("method", "").lower() == "post"):
        attrs = {"method": "post", **({"action": attrs["action"]} if "action" in attrs else {})}
    return (tag.is_end, tag.name, tag.start, tag.end, dict(attrs), tag.self_closing)


def _bare_scan(document: bytes, cuts: list[int], encoding: str, *, bare: bool,
               panels: tuple[str, ...] = ()) -> tuple[list[Any], list[int], int]:
    """What the compiled PostbackScanner returns for ``document`` in pieces (offsets from the
    document's start), BareForms given back as their two tags, and how many there were."""
    scanner = PostbackScanner(encoding=encoding, names=("form", "head", "base", "script"),
                              engine="compiled", families=True, bare_forms=bare, panels=panels)
    items: list[Any] = []
    decided: list[int] = []
    bare_forms = 0
    kept, offset, start = b"", 0, 0
    for bound in [*sorted({c for c in cuts if 0 < c < len(document)}), len(document)]:
        data = kept + document[start:bound]
        found, safe = scanner.scan(data, final=bound == len(document))
        for item in found:
            if isinstance(item, html_scan.BareForm):
                bare_forms += 1
                items += [_reduced(part._replace(start=part.start + offset,
                                                 end=part.end + offset))
                          if isinstance(part, Tag) else part for part in item.items()]
            elif isinstance(item, Tag):
                items.append(_reduced(item._replace(start=item.start + offset,
                                                    end=item.end + offset)))
            else:
                items.append(item)
        decided.append(offset + safe)
        kept, offset, start = data[safe:], offset + safe, bound
    return _expanded(items), decided, bare_forms


_FORM_FRAGMENTS = st.sampled_from([
    '<form method="post" action="/admin/users/7/delete/" class="inline">', "</form>",
    "<FORM METHOD=POST ACTION=/b STYLE=x>", "<form method=post>", "<form method=post action>",
    "<form method=post action=/a action=/b>", "<form method='pOsT' action='/&#97;'>",
    "<form method=&#112;ost action=/c>", "<form method=post/>", "<form method=get action=/s>",
    "<form method=post id=f>", "<form method=post data-callbacks=cb>",
    "<form method=post hx-post=/h>", "<form method=post action='//evil.example/'>",
    "<form method=post action=/x\x00y>", "<form méthod=post>", "<form method=post lang=en>",
    '<a data-postback="t" data-postback-argument="1">', "<button formaction=/z>",
    "<base href=/x/>", "<script>'</form>'</script>", "<!-- </form> -->", "<p>text</p>",
    "<table><tr><td>", "</td></tr></table>", "<svg><form method=post></form></svg>",
    "</form/>", "</FORM >",
    '<a data-postback="row1" data-postback-argument="d1">',
])
_FORM_DOCUMENTS = st.lists(st.one_of(_FORM_FRAGMENTS, HTML_FRAGMENTS), max_size=16).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_FORM_DOCUMENTS, _CUTS, _ENCODINGS)
def test_bare_forms_are_their_two_tags(document: str, cuts: list[int], encoding: str) -> None:
    """Given back as their tags, the compiled engine's bare forms leave exactly what it
    returns without them (and the Python engine returns), whole or in pieces."""
    require_engine("compiled")
    encoded = document.encode(encoding, "replace")
    with_bare = _bare_scan(encoded, cuts, encoding, bare=True)
    without = _bare_scan(encoded, cuts, encoding, bare=False)
    assert with_bare[:2] == without[:2]
    assert without[2] == 0
    event(f"bare forms: {min(with_bare[2], 3)}")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(b'<form method="post" action="/a/1/" class="inline"><button>x</button>'
                     b"</form>", [("/a/1/",)], id="a-delete-form"),
        pytest.param(b"<FORM METHOD=POST ACTION=/x></FORM>", [("/x",)], id="upper-case"),
        pytest.param(b"<form method=post></form>", [(None,)], id="no-action"),
        pytest.param(b"<form method=post action></form>", [("",)], id="action-without-value"),
        pytest.param(b"<form method=post action=/a action=/b></form>", [("/a",)],
                     id="the-first-action"),
        pytest.param(b"<form method=post action='/&#97;'></form>", [("/a",)],
                     id="a-character-reference-in-the-action"),
        pytest.param(b"<form method=post><a data-postback=t></a></form>",
                     [(None, {"t": [""]})], id="a-pair-inside"),
        pytest.param(b"<form method=post><a data-postback=row1 data-postback-argument=d1></a>"
                     b"</form><form method=post></form>",
                     [(None, {"row1": ["d1"]}), (None,)], id="a-pair-that-may-open-a-family"),
        pytest.param(b"<form method=post>" + b"".join(
            b"<a data-postback=g data-postback-argument=E$%d>" % n for n in range(3)) + b"</form>",
                     ["form", "rows", "/form"], id="a-grid-inside"),
        pytest.param(b"<form method=post id=f></form>", ["form", "/form"], id="an-id"),
        pytest.param(b"<form method=&#112;ost></form>", ["form", "/form"],
                     id="a-reference-in-the-method"),
        pytest.param(b"<form method=post/></form>", ["form", "/form"], id="self-closing"),
        pytest.param(b"<form method=get></form>", ["form", "/form"], id="get"),
        pytest.param(b"<form method=post><base href=/b/></form>", ["form", "base", "/form"],
                     id="a-tag-inside"),
        pytest.param(b"<form id=o method=post><form method=post></form></form>",
                     ["form", (None,), "/form"], id="nested-the-inner-one-bare"),
        pytest.param(b"<form method=post hx-post=/h></form>", ["form", "/form"], id="htmx"),
        pytest.param(b"<form method=post></form/>", ["form", "/form"],
                     id="an-end-tag-written-self-closing"),
    ],
)
def test_which_forms_come_bare(document: bytes, expected: list[Any]) -> None:
    require_engine("compiled")
    scanner = PostbackScanner(names=("form", "base"), engine="compiled", families=True,
                              bare_forms=True)
    found, _ = scanner.scan(document, final=True)
    assert [((item.action,) if item.pairs is None else (item.action, item.pairs))
            if isinstance(item, html_scan.BareForm)
            else "pairs" if isinstance(item, dict)
            else "rows" if isinstance(item, html_scan.Rows) else "/" * item.is_end + item.name
            for item in found] == expected


def test_no_bare_form_spans_pieces_or_panels() -> None:
    require_engine("compiled")
    document = b'<form method="post" action="/a/1/"></form>' * 3
    assert _bare_scan(document, [], "utf-8", bare=True)[2] == 3
    # (a piece that ends between a form's two tags: its start goes out as a tag)
    assert _bare_scan(document, [36, 78], "utf-8", bare=True)[2] == 1
    assert _bare_scan(document, [5, 50, 60], "utf-8", bare=True)[2] == 3  # (each whole)
    assert _bare_scan(document, [], "utf-8", bare=True, panels=("p",))[2] == 0
    assert PostbackScanner(names=("form",), engine="python", bare_forms=True).scan(
        document, final=True)[0][0] == Tag("form", False, 0, 35, {"method": "post",
                                                                 "action": "/a/1/"}, False)
