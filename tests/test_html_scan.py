"""Tests for postback_middleware.html_scan: a table of tricky cases, and html5lib as an oracle."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

from postback_middleware.html_scan import Tag, TagScanner, iter_tags

from .html_reference import (
    Simple,
    as_tuples,
    assert_offsets,
    html5lib_tags,
    scanned,
    scanned_in_pieces,
)
from .strategies import HTML_FRAGMENTS

# Every test here runs once per scanner engine (python, compiled).
pytestmark = pytest.mark.usefixtures("scanner_engine")

# --------------------------------------------------------------------------- table

S, E = False, True  # start / end


def st_(name: str, **attrs: str) -> Simple:
    return (S, name, {k.replace("_", "-"): v for k, v in attrs.items()})


def en(name: str) -> Simple:
    return (E, name, {})


CASES = [
    pytest.param(b"<form method=post>", [st_("form", method="post")], id="simple"),
    pytest.param(
        b"<FORM Method=POST></Form >", [st_("form", method="POST"), en("form")], id="case-folding"
    ),
    pytest.param(b"<!-- <form> -->x<p>", [st_("p")], id="comment"),
    pytest.param(b"<!--><form>", [st_("form")], id="comment-abrupt"),
    pytest.param(b"<!---><form>", [st_("form")], id="comment-abrupt-dash"),
    pytest.param(b"<!----><form>", [st_("form")], id="comment-empty"),
    pytest.param(b"<!-- a --!><form>", [st_("form")], id="comment-bang-closer"),
    pytest.param(b"<!-- a --!x <p> --><form>", [st_("form")], id="comment-bang-not-closer"),
    pytest.param(b"<!-- a -- > <p> --><form>", [st_("form")], id="comment-dashes-space"),
    pytest.param(b"<!-- <!-- nested --> <form>", [st_("form")], id="comment-nested-opener"),
    pytest.param(b"<p><!-- <form> unterminated", [st_("p")], id="comment-eof"),
    pytest.param(
        b'<!DOCTYPE html PUBLIC "a>b"><form>', [st_("form")], id="doctype-quoted-gt-ends-it"
    ),
    pytest.param(b"<!x <form> y><p>", [st_("p")], id="bogus-comment-bang"),
    pytest.param(b"<?php echo '<form>' ?><p>", [st_("p")], id="bogus-comment-pi-ends-at-first-gt"),
    pytest.param(b"</ form><p>", [st_("p")], id="bogus-end-space"),
    pytest.param(b"</3><p>", [st_("p")], id="bogus-end-digit"),
    pytest.param(b"</><p>", [st_("p")], id="end-tag-empty"),
    pytest.param(b"a < b <3 <\xc3\xa9 <p>", [st_("p")], id="stray-lt"),
    pytest.param(b"<p", [], id="eof-in-tag-name"),
    pytest.param(b"<p a='>", [], id="eof-in-quoted-value"),
    pytest.param(b"<p a=b", [], id="eof-in-unquoted-value"),
    pytest.param(b"<p></p", [st_("p")], id="eof-in-end-tag"),
    pytest.param(
        b"<a title='<form>' b=\"x>y\" c=d>e>",
        [st_("a", title="<form>", b="x>y", c="d")],
        id="gt-in-values",
    ),
    pytest.param(b"<a b='x'c=\"y\"d>", [st_("a", b="x", c="y", d="")], id="no-space-after-quoted"),
    pytest.param(b"<a b = 'x' c =d e>", [st_("a", b="x", c="d", e="")], id="spaces-around-eq"),
    pytest.param(b"<a =b ==c>", [(S, "a", {"=b": "=c"})], id="attr-name-starts-with-eq"),
    pytest.param(b"<a b==c>", [st_("a", b="=c")], id="value-starts-with-eq"),
    pytest.param(
        b"<a b=c d=c e=f/>", [st_("a", b="c", d="c", e="f/")], id="slash-in-unquoted-value"
    ),
    pytest.param(b"<a/b/c=d/>", [st_("a", b="", c="d/")], id="slashes-between-attrs"),
    pytest.param(b"<a / b=c />", [st_("a", b="c")], id="slash-alone"),
    pytest.param(b"<a /=b>", [(S, "a", {"=b": ""})], id="slash-then-eq"),
    pytest.param(b"<a b\"c='d' e'=f>", [(S, "a", {'b"c': "d", "e'": "f"})], id="quote-in-name"),
    pytest.param(b"<a b=c\"d'e>", [st_("a", b="c\"d'e")], id="quote-in-unquoted-value"),
    pytest.param(b'<a"b>', [(S, 'a"b', {})], id="quote-in-tag-name"),
    pytest.param(b"<a b=1 B=2 b=3>", [st_("a", b="1")], id="duplicate-first-wins"),
    pytest.param(b"<a b=>", [st_("a", b="")], id="empty-unquoted-value"),
    pytest.param(b"<a\tb\nc\rd\x0ce>", [st_("a", b="", c="", d="", e="")], id="whitespace-kinds"),
    pytest.param(b"<a b='x\r\ny\rz'>", [st_("a", b="x\ny\nz")], id="cr-normalized"),
    pytest.param(b"<a b='&amp;&lt;&#62;&#x3C;&copy'>", [st_("a", b="&<><\xa9")], id="charrefs"),
    pytest.param(
        b"<a b='&ampx &amp= &amp- &notit; &notin;'>",
        [st_("a", b="&ampx &amp= &- &notit; \u2209")],
        id="charrefs-attribute-rule",
    ),
    pytest.param(
        b"<a b='&#0;&#x80;&#xD800;&#x110000;&#x81;'>",
        [st_("a", b="\ufffd\u20ac\ufffd\ufffd\x81")],
        id="charrefs-numeric-specials",
    ),
    pytest.param(
        b"<br/><br /><p/>", [(S, "br", {}), (S, "br", {}), (S, "p", {})], id="self-closing"
    ),
    pytest.param(b"</p a=b>", [en("p")], id="end-tag-attrs-dropped"),
    pytest.param(b"</p a='>'>", [en("p")], id="end-tag-quoted-gt"),
    pytest.param(
        b"<script>a<b</p>'<form>'</script><p>", [st_("script"), en("script"), st_("p")], id="script"
    ),
    pytest.param(
        b"<script>x</scripty></SCRIPT\t><p>",
        [st_("script"), en("script"), st_("p")],
        id="script-end-case-and-whitespace",
    ),
    pytest.param(
        b"<script></script foo='</script>'>x<p>",
        [st_("script"), en("script"), st_("p")],
        id="script-end-tag-with-attrs",
    ),
    pytest.param(
        b"<script><!-- <script> </script> <form> --></script><p>",
        [st_("script"), en("script"), st_("p")],
        id="script-double-escaped",
    ),
    pytest.param(
        b"<script><!-- </script><p>",
        [st_("script"), en("script"), st_("p")],
        id="script-escaped-end",
    ),
    pytest.param(
        b"<script><!--> </script><p>",
        [st_("script"), en("script"), st_("p")],
        id="script-escape-closed-at-once",
    ),
    pytest.param(
        b"<script><!--<script>--></script><p>",
        [st_("script"), en("script"), st_("p")],
        id="script-double-escape-closed",
    ),
    pytest.param(
        b"<script><!--<script></script>x</script><p>",
        [st_("script"), en("script"), st_("p")],
        id="script-double-escape-end",
    ),
    pytest.param(b"<script>x", [st_("script")], id="script-eof"),
    pytest.param(b"<style><form></style ><p>", [st_("style"), en("style"), st_("p")], id="style"),
    pytest.param(b"<title><form></title><p>", [st_("title"), en("title"), st_("p")], id="title"),
    pytest.param(
        b"<textarea><form></textarea ><p>",
        [st_("textarea"), en("textarea"), st_("p")],
        id="textarea",
    ),
    pytest.param(
        b"<xmp><form></xmp><iframe><form></iframe><noembed><p></noembed>"
        b"<noframes><p></noframes><noscript><form></noscript>",
        [
            st_("xmp"),
            en("xmp"),
            st_("iframe"),
            en("iframe"),
            st_("noembed"),
            en("noembed"),
            st_("noframes"),
            en("noframes"),
            st_("noscript"),
            en("noscript"),
        ],
        id="rawtext-family",
    ),
    pytest.param(b"<plaintext></plaintext><form>", [st_("plaintext")], id="plaintext"),
    pytest.param(
        b"<svg><title><a></a></title><style><a></style></svg>",
        [
            st_("svg"),
            st_("title"),
            st_("a"),
            en("a"),
            en("title"),
            st_("style"),
            st_("a"),
            en("style"),
            en("svg"),
        ],
        id="svg-title-closed",
    ),
    pytest.param(
        b"<svg><title><a></title><style><a></style></svg>",
        [st_("svg"), st_("title"), st_("a"), en("title"), st_("style"), en("style"), en("svg")],
        id="svg-end-tag-matches-html-elements-only",
    ),
    pytest.param(
        b"<svg><![CDATA[<form>]]><g></svg><![CDATA[<form>]]>",
        [st_("svg"), st_("g"), en("svg")],
        id="cdata-foreign-only",
    ),
    pytest.param(
        b"<svg><foreignObject><style><p></style></foreignObject></svg>",
        [
            st_("svg"),
            st_("foreignobject"),
            st_("style"),
            en("style"),
            en("foreignobject"),
            en("svg"),
        ],
        id="svg-integration-point",
    ),
    pytest.param(
        b"<math><mi><title><p></title></mi><ms><![CDATA[<p>]]></ms></math>",
        [
            st_("math"),
            st_("mi"),
            st_("title"),
            en("title"),
            en("mi"),
            st_("ms"),
            en("ms"),
            en("math"),
        ],
        id="math-text-integration-point",
    ),
    pytest.param(
        b"<svg><p><title><b></title>",
        [st_("svg"), st_("p"), st_("title"), en("title")],
        id="svg-breakout",
    ),
    pytest.param(
        b"<svg/><title><b></title>", [st_("svg"), st_("title"), en("title")], id="svg-self-closing"
    ),
    pytest.param(
        b"<select><xmp><b></xmp><script><b></script>",
        [st_("select"), st_("xmp"), st_("b"), en("xmp"), st_("script"), en("script")],
        id="select-ignores-rawtext",
    ),
    pytest.param(
        b"<select><textarea><b></textarea>",
        [st_("select"), st_("textarea"), en("textarea")],
        id="select-closed-by-textarea",
    ),
]


@pytest.mark.parametrize(("document", "expected"), CASES)
def test_table(document: bytes, expected: list[Simple]) -> None:
    assert scanned(document) == expected
    assert_offsets(document, list(iter_tags(document)))


@pytest.mark.parametrize(("document", "expected"), CASES)
def test_table_agrees_with_html5lib(document: bytes, expected: list[Simple]) -> None:
    assert html5lib_tags(document.decode("utf-8")) == expected


# Where html5lib departs from the standard (and from browsers), the scanner follows the
# standard; the oracle is corrected for it. Checked here so that the correction stays needed.
HTML5LIB_DIFFERS = [
    pytest.param(
        b"<svg><title><a></title><style><a></style></svg>",
        id="svg-end-tag-matches-html-elements-only",
    ),
]


@pytest.mark.parametrize("document", HTML5LIB_DIFFERS)
def test_html5lib_departure_from_the_standard(document: bytes) -> None:
    text = document.decode("utf-8")
    assert html5lib_tags(text, spec_end_tags=False) != html5lib_tags(text)
    assert scanned(document) == html5lib_tags(text)


def test_offsets_slice_exact_tag_text() -> None:
    document = (
        b"<!DOCTYPE html><html><head><title>a</title></head><body>\n"
        b"<FORM method='post' action=\"/x?a=1&amp;b=>\"><input name=q></form>"
        b"<svg/></body></html>"
    )
    by_name = {(t.name, t.is_end): document[t.start : t.end] for t in iter_tags(document)}
    assert by_name[("form", False)] == b"<FORM method='post' action=\"/x?a=1&amp;b=>\">"
    assert by_name[("form", True)] == b"</form>"
    assert by_name[("head", True)] == b"</head>"
    assert by_name[("input", False)] == b"<input name=q>"
    assert by_name[("svg", False)] == b"<svg/>"
    form = next(t for t in iter_tags(document) if t.name == "form")
    assert form.start == document.index(b"<FORM")
    assert form.attrs == {"method": "post", "action": "/x?a=1&b=>"}
    assert not form.self_closing
    svg = next(t for t in iter_tags(document) if t.name == "svg")
    assert svg.self_closing


def test_encoding_and_names_filter() -> None:
    document = "<p title='caf\xe9'><FORM ACTION=\xe9><b></form>".encode("latin-1")
    tags = list(iter_tags(document, encoding="latin-1"))
    assert tags[0].attrs == {"title": "caf\xe9"}
    assert tags[1].attrs == {"action": "\xe9"}
    wanted = [t for t in tags if t.name == "form"]
    assert list(iter_tags(document, encoding="latin-1", names={"form"})) == wanted
    # invalid UTF-8 is replaced, never raises
    assert next(iter_tags(b"<p a='\xff'>")).attrs == {"a": "\ufffd"}


def test_attrs_is_read_only_mapping() -> None:
    tag = next(iter_tags(b"<p a=1>"))
    assert dict(tag.attrs) == {"a": "1"}
    assert "a" in tag.attrs and len(tag.attrs) == 1
    with pytest.raises(TypeError):
        tag.attrs["b"] = "2"  # type: ignore[index]


def test_pathological_inputs_are_linear() -> None:
    # no ">" anywhere: each of these would backtrack exponentially in a naive grammar
    for document in (
        b"<a " + b"b " * 20000,
        b"<a" + b"b" * 40000,
        b"<a " + b"b=c " * 10000,
        b"<a " + b"b='c' " * 10000 + b"d='",
        b"<!--" + b"-" * 40000,
        b"<script><!--<script>" + b"-" * 40000,
    ):
        expected = [st_("script")] if document.startswith(b"<script") else []
        assert scanned(document) == expected


# --------------------------------------------------------------------------- differential

TRICKY = [
    "<!DOCTYPE html><html><head><title>x<form></title><script>var s='</scr'+'ipt>';"
    "if (a<b && c>d) {}</script><style>p>a{}</style></head><body>"
    "<form method=post action='/a?b=1&amp;c=2'><input name=x value='<form>'></form></body>",
    "<table><tr><td><select><option>1<xmp><b></xmp></select><xmp><b></xmp></td></tr></table>",
    "<table><select><td><xmp><b></xmp>",
    "<svg><desc><script><b></script></desc><title><b></title><g/><![CDATA[</svg>]]></svg><b>",
    "<math><annotation-xml encoding='TEXT/HTML'><style><b></style></annotation-xml></math>",
    "<math><annotation-xml><style><b></style></annotation-xml></math>",
    "<math><annotation-xml><svg><style><b></style></svg></annotation-xml></math>",
    "<math><mi><mglyph><style><b></style></mglyph></mi></math>",
    "<svg><font color=red><style><b></style></font></svg>",
    "<svg><font><style><b></style></font></svg>",
    "<div><svg><g></div><style><b></style>",
    "<svg><foreignObject><div><![CDATA[<b>]]></div></foreignObject></svg>",
    "<svg><foreignObject><![CDATA[<b>]]></foreignObject></svg>",
    "<script><!--<script>--><b></script>",
    "<script><!--<script></script>--><b></script><i>",
    "<script><!--<scripty></script><b>",
    "<script><!-- <SCRIPT/></SCRIPT/>--></script x='>'><b>",
    "<noscript><form></noscript><iframe src=x></iframe>",
    "<head><noscript><style><b></style></noscript></head>",
    "<p a='&#X41;&#65&#x;&#;&am;&AMP&AMP;&lt'>",
    "<select><svg><style><b></style></select><svg><style><b></style>",
    "<select><input><xmp><b></xmp>",
    "<a href=x\x00y n\x00m=1><b\x00c>",
    # a table part outside a table never opens, so its end tag cannot close the <svg>
    "<form><form><td><svg><form></td><script><b></script>",
    "<td><table><svg></td><script><b></script>",
    "<table><td></td></table><td><svg></td><script><b></script>",
    "<p>\r\n<a\rb='c\r\nd'>",
    # states carried from one piece to the next (each of these is also cut at every byte)
    "<!-- a -- b --!><b><!---x--><i><!-- - > -- ><u>",
    "<!x-y><b><?x ?><i></3 x><u><![CDATA[x]]><s>",
    "<textarea></textare</textarea ><b><title>a</titl</title/><i>",
    "<p a=\"x>y\" b='>' c=d/e/><i e = 'f'/>",
    "<script>a</script  x=\"</script>\"  ><b>",
    "<style>a</style\n/><b><xmp></xm</xmp\t><i>",
]


@pytest.mark.parametrize("document", TRICKY, ids=[f"tricky-{i}" for i in range(len(TRICKY))])
def test_tricky_documents_match_html5lib(document: str) -> None:
    encoded = document.encode("utf-8")
    assert scanned(encoded) == html5lib_tags(document)
    assert_offsets(encoded, list(iter_tags(encoded)))


def test_table_parts_open_inside_a_template() -> None:
    # html5lib has no <template> insertion mode (it ignores the <td>); Chromium's DOMParser
    # gives template.content = td, svg:svg, script (no <b>): </td> closes the cell and the
    # <svg> in it, so the <script> is HTML script data.
    document = b"<template><td><svg></td><script><b></script></template>"
    assert scanned(document) == [st_("template"), st_("td"), st_("svg"), en("td"),
                                 st_("script"), en("script"), en("template")]


_SELECT_IN_TABLE_END = re.compile(
    r"<table.*<select.*</(?:td|th|tr|tbody|thead|tfoot|caption)\b", re.IGNORECASE | re.DOTALL)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(HTML_FRAGMENTS, max_size=14).map("".join))
def test_generated_documents_match_html5lib(document: str) -> None:
    # A known divergence (html_scan's docstring): html5lib keeps a select in a table open past
    # the end tag of a table part that is not open (<table><select></td><style><form>); the
    # model closes it, as today's browsers do (Chromium 156 makes the <style> raw text there).
    assume(_SELECT_IN_TABLE_END.search(document) is None)
    try:
        expected = html5lib_tags(document)
    except AssertionError:  # an internal assertion of html5lib fails, e.g. <table><svg><html>
        reject()
    encoded = document.encode("utf-8")
    tags = list(iter_tags(encoded))
    assert [(t.is_end, t.name, dict(t.attrs)) for t in tags] == expected
    assert_offsets(encoded, tags)


# --------------------------------------------------------------------------- streaming


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(HTML_FRAGMENTS, max_size=14).map("".join),
       st.lists(st.integers(0, 400), max_size=8))
def test_scanning_in_pieces_finds_the_same_tags(document: str, cuts: list[int]) -> None:
    encoded = document.encode("utf-8")
    assert as_tuples(scanned_in_pieces(encoded, cuts)) == as_tuples(list(iter_tags(encoded)))


@pytest.mark.parametrize("document", [t.encode() for t in TRICKY],
                         ids=[f"tricky-{i}" for i in range(len(TRICKY))])
def test_tricky_documents_byte_by_byte(document: bytes) -> None:
    every_byte = list(range(1, len(document)))
    assert as_tuples(scanned_in_pieces(document, every_byte)) == as_tuples(
        list(iter_tags(document)))


def test_attr_hint_returns_only_named_and_hinted_tags() -> None:
    document = (b'<head></head><div id=a><a DATA-POSTBACK="x">1</a><p title="postback">'
                b"<script>'<a data-postback=y>'</script><form>")
    scanner = TagScanner(names={"form", "head"}, attr_hints=[b"postback"])
    tags = scanner.scan(document, final=True)[0]
    assert [(t.is_end, t.name) for t in tags] == [
        (False, "head"), (True, "head"), (False, "a"), (False, "p"), (False, "form")]


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(b'<p a= "x>', id="space-then-unterminated-double-quote"),
        pytest.param(b"<p a=\t'x>y", id="tab-then-unterminated-single-quote"),
        pytest.param(b'<p a = \n "x>', id="spaces-both-sides"),
    ],
)
def test_unterminated_quoted_value_after_spaces_is_no_tag(document: bytes) -> None:
    """Found by fuzzing: the spaces after "=" must not be given back to the grammar."""
    assert scanned(document) == html5lib_tags(document.decode()) == []


def test_piece_ending_inside_a_spaced_quoted_value() -> None:
    document = b'<html><body><input value= "1><form method=post>2"></body></html>'
    cut = document.index(b"<form")
    assert as_tuples(scanned_in_pieces(document, [cut])) == as_tuples(list(iter_tags(document)))


def test_a_tag_longer_than_many_steps_is_read_in_bytes_linear_in_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """iter_tags reads a document a step at a time, from where the last step decided: a tag
    longer than a step (an inline ``data:`` image) decides nothing until its end. (A red-team
    pass: read again from its start at every 16 KB step, a 32 MB image took 14 s.)"""
    read: list[int] = []
    scan = TagScanner.scan

    def counted(self: TagScanner, data: bytes, *, final: bool) -> tuple[list[Tag], int]:
        read.append(len(data))
        return scan(self, data, final=final)

    monkeypatch.setattr(TagScanner, "scan", counted)
    document = (b'<div id="p"><img src="data:image/png;base64,' + b"A" * (2 << 20)
                + b'"></div><p>after</p>')
    tags = list(iter_tags(document, names={"div", "img", "p"}))
    assert [(tag.name, tag.is_end) for tag in tags] == [
        ("div", False), ("img", False), ("div", True), ("p", False), ("p", True)]
    assert document[tags[-1].start:tags[-1].end] == b"</p>"
    assert sum(read) <= 4 * len(document)  # (each step read again from the tag's start: 64x)
