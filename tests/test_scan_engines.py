"""The two scanner engines of html_scan: the compiled one must do exactly what the Python one does.

``test_html_scan``, ``test_real_pages`` and ``test_inject`` run every case on both engines
(html5lib is the oracle for each). Here the engines meet directly: on generated documents and
on arbitrary bytes, whole and in pieces, in several encodings, the tags, the offsets and how
far each piece is decided must be equal, and so must the postback pairs the rewriter reads.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postback_middleware import html_scan
from postback_middleware.errors import InvalidArgument, InvalidType
from postback_middleware.html_scan import Pairs, PostbackScanner, Tag, TagScanner

from .helpers import require_engine
from .strategies import HTML_FRAGMENTS

Item = tuple[Any, ...]


def _items(found: list[Tag | Pairs], offset: int) -> list[Item]:
    return [
        ("pairs", tuple((k, tuple(v)) for k, v in item.items())) if isinstance(item, dict)
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
            ["a", "input", "select", {"p": [""]}, "a"],
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
