"""Which forms get fields, which events they register, where the script goes."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postback_middleware.inject import FormRewriter, PostForm, action_path, splice

from .test_html_scan import _FRAGMENTS

# Every test here runs once per scanner engine (python, compiled).
pytestmark = pytest.mark.usefixtures("scanner_engine")

PAGE_URL = "http://shop.example/cart/view?id=3"
# The script tag the tests insert: nothing a generated page contains can look like it.
SCRIPT = b"<script src=/inserted-by-the-test.js></script>"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        pytest.param(None, "/cart/view", id="absent"),
        pytest.param("", "/cart/view", id="empty"),
        pytest.param("  ", "/cart/view", id="blank"),
        pytest.param("save", "/cart/save", id="relative"),
        pytest.param("../admin/", "/admin/", id="dot-dot"),
        pytest.param("/checkout?step=2#top", "/checkout", id="absolute-path-query-ignored"),
        pytest.param("http://shop.example/pay", "/pay", id="same-origin-url"),
        pytest.param("HTTP://SHOP.EXAMPLE:80/pay", "/pay", id="same-origin-default-port"),
        pytest.param("/caf%C3%A9", "/caf\xc3\xa9", id="percent-encoded-path-as-wsgi-text"),
        pytest.param("https://shop.example/pay", None, id="other-scheme"),
        pytest.param("http://shop.example:8080/pay", None, id="other-port"),
        pytest.param("http://evil.example/pay", None, id="other-host"),
        pytest.param("//evil.example/pay", None, id="scheme-relative"),
        pytest.param("\\\\evil.example/pay", None, id="backslashes"),
        pytest.param("/\\evil.example/pay", None, id="slash-backslash"),
        pytest.param("javascript:alert(1)", None, id="javascript"),
        pytest.param("java\nscript:alert(1)", None, id="javascript-with-newline"),
        pytest.param("mailto:a@b.example", None, id="mailto"),
        pytest.param("http://[::1", None, id="unparseable"),
    ],
)
def test_action_path(action: str | None, expected: str | None) -> None:
    assert action_path(action, PAGE_URL) == expected


def pairs_of(form: PostForm) -> list[list[str]]:
    """A form's (target, argument) pairs, flattened in page order of their targets."""
    return [[target, argument] for target, arguments in form.pairs.items()
            for argument in arguments]


def rewriter(**options: Any) -> FormRewriter:
    def sign(form: PostForm) -> tuple[str, str]:
        return "VS", "EV:" + ";".join(",".join(pair) for pair in pairs_of(form))

    settings = {"page_url": PAGE_URL, "encoding": "utf-8", "sign_form": sign,
                "script_tag": SCRIPT, "client_fields": None, **options}
    return FormRewriter(**settings)


def forms_of(document: str) -> list[tuple[str, list[list[str]]]]:
    editor = rewriter()
    editor.rewrite(document.encode())
    return [(form.action_path, pairs_of(form)) for form in editor.forms]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param('<form method="post"></form>', [("/cart/view", [])], id="plain"),
        pytest.param('<FORM METHOD="POST"></FORM>', [("/cart/view", [])], id="upper-case"),
        pytest.param('<form method="get"></form>', [], id="get"),
        pytest.param("<form></form>", [], id="no-method-is-get"),
        pytest.param('<form method="dialog"></form>', [], id="dialog"),
        pytest.param('<form method=" post"></form>', [], id="method-with-space-is-invalid"),
        pytest.param('<form method="post" action="//evil.example/"></form>', [], id="cross-origin"),
        pytest.param('<form method="post"><a data-postback="del" data-postback-argument="7">x</a>'
                     '<b data-postback="del" data-postback-argument="7"></b></form>',
                     [("/cart/view", [["del", "7"]])], id="pairs-deduplicated"),
        pytest.param('<form method="post"><a data-postback="del" data-postback-argument="7">'
                     '<button formaction="/cart/other" data-postback="b"></button>'
                     '<div id="__x"></div><form method="post"><a data-postback="del" '
                     'data-postback-argument="7"><a data-postback="del" data-postback-argument='
                     '"8"><a data-postback="b"></form>',
                     [("/cart/view", [["del", "7"], ["del", "8"], ["b", ""]])],
                     id="pairs-deduplicated-across-tags-the-scanner-returns"),
        pytest.param('<form method="post"><a data-postback="a&amp;b" data-postback-argument="&lt;">'
                     "</a></form>", [("/cart/view", [["a&b", "<"]])], id="entities-decoded"),
        pytest.param('<form method="post"><select name="sort" data-autopostback></select>'
                     '<input data-autopostback><div name="x" data-autopostback></div></form>',
                     [("/cart/view", [["sort", ""]])], id="autopostback-needs-named-control"),
        pytest.param('<a data-postback="out"></a><form method="post"></form>'
                     '<a data-postback="after"></a>', [("/cart/view", [])],
                     id="outside-elements-ignored"),
        pytest.param('<form method="post" action="a"><b data-postback="1"></b></form>'
                     '<form method="post" action="b"><b data-postback="2"></b></form>',
                     [("/cart/a", [["1", ""]]), ("/cart/b", [["2", ""]])], id="two-forms"),
        pytest.param('<form method="post" action="a"><form method="post" action="b">'
                     '<b data-postback="x"></b></form><b data-postback="y"></b>',
                     [("/cart/a", [["x", ""]])], id="nested-form-ignored"),
        pytest.param('<form method="get"><form method="post"></form>', [],
                     id="post-form-nested-in-get-form-ignored"),
        pytest.param('<script>"<form method=post>"</script><!-- <form method="post"> -->'
                     '<textarea><form method="post"></textarea><title><form method="post"></title>'
                     '<style>/*<form method="post">*/</style>', [], id="raw-text-and-comments"),
        pytest.param('<form method="post">', [("/cart/view", [])], id="unclosed"),
    ],
)
def test_find_post_forms(document: str, expected: list[tuple[str, list[list[str]]]]) -> None:
    assert forms_of(document) == expected


def run(document: str) -> bytes | None:
    editor = rewriter()
    out = editor.rewrite(document.encode())
    return out if editor.changed else None


def test_script_goes_before_head_end_once() -> None:
    out = run('<html><head><title>t</title></head><form method="post"></form>'
              '<form method="post"></form>')
    assert out is not None
    assert out.count(SCRIPT) == 1
    assert out.index(SCRIPT) < out.index(b"</head>")


def test_script_goes_before_first_form_without_head() -> None:
    out = run('<p>x</p><form method="post"></form>')
    assert out is not None
    assert out.startswith(b"<p>x</p>" + SCRIPT + b"<form")


def test_ids_only_on_first_form_and_only_when_unique() -> None:
    out = run('<form method="post"></form><form method="post"></form>')
    assert out is not None
    assert out.count(b'id="__VIEWSTATE"') == 1
    # The page already uses id="__VIEWSTATE": the inserted field goes without one.
    clash = run('<div id="__VIEWSTATE"></div><form method="post"></form>')
    assert clash is not None
    assert clash.count(b'id="__VIEWSTATE"') == 1
    assert b'name="__VIEWSTATE" value="VS"' in clash
    assert clash.count(b'id="__EVENTTARGET"') == 1


def test_no_post_form_means_no_change() -> None:
    assert run('<form method="get"></form><p data-postback="x">') is None


def test_fields_go_right_after_the_form_start_tag() -> None:
    out = run('<form method="post" data-x=">"><input name="a"></form>')
    assert out is not None
    assert out.startswith(SCRIPT + b'<form method="post" data-x=">"><input type="hidden" '
                          b'name="__EVENTTARGET"')


def test_splice_keeps_every_byte() -> None:
    document = b"0123456789"
    out = splice(document, [(5, b"[b]"), (0, b"[a]"), (5, b"[c]"), (10, b"[d]")])
    assert out == b"[a]01234[b][c]56789[d]"


# -- streamed pages -------------------------------------------------------------------------

INSERTED = re.compile(rb'<input type="hidden" name="__[A-Z]+"(?: id="__[A-Z]+")? value="[^"]*" />'
                      rb"|" + re.escape(SCRIPT))


def streamed(document: bytes, cuts: list[int], **options: Any) -> bytes:
    editor = rewriter(**options)
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(document)}), len(document)]
    out = b"".join(editor.feed(document[a:b]) for a, b in itertools.pairwise(bounds))
    return out + editor.finish()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_FRAGMENTS, st.sampled_from([
        '<form method="post">', "</form>", '<form method="post" action="//x.example/">',
        '<a data-postback="t" data-postback-argument="1">', "<select name=s data-autopostback>",
        "</head>", '<form method="get">',
    ])), max_size=16).map("".join),
    st.lists(st.integers(0, 300), max_size=6),
)
def test_insertions_are_all_that_changes(document: str, cuts: list[int]) -> None:
    """Faithful: whole or in pieces, the output minus the insertions is the input."""
    encoded = document.encode()
    whole = rewriter().rewrite(encoded)
    assert INSERTED.sub(b"", whole) == encoded
    assert INSERTED.sub(b"", streamed(encoded, cuts)) == encoded


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from([
        '<form method="post">', "</form>", '<form method="post" action="/b">',
        '<a data-postback="t" data-postback-argument="1">', '<a data-postback="t">',
        '<a data-postback="u" data-postback-argument="2">', "<select name=s data-autopostback>",
        '<button formaction="/c">', '<p id="__x">', "<p>text</p>", "<!-- <a data-postback=t> -->",
    ]), max_size=20).map("".join),
    st.lists(st.integers(0, 400), max_size=8),
)
def test_pieces_give_each_form_the_pairs_of_the_whole_page(document: str, cuts: list[int]) -> None:
    """However the page is cut, each form's event validation lists the same pairs, in page
    order, each once (batches span pieces; tags the scanner returns start new ones)."""
    encoded = document.encode()
    whole = rewriter()
    whole.rewrite(encoded)
    editor = rewriter()
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(encoded)}), len(encoded)]
    for a, b in itertools.pairwise(bounds):
        editor.feed(encoded[a:b])
    editor.finish()
    assert [pairs_of(form) for form in editor.forms] == [pairs_of(form) for form in whole.forms]
    for form in whole.forms:
        pairs = [tuple(pair) for pair in pairs_of(form)]
        assert len(set(pairs)) == len(pairs)


def test_form_split_across_pieces_gets_its_tokens_before_its_end() -> None:
    document = (b'<html><head></head><body><form method="post"><p>'
                + b"x" * 100 + b'<a data-postback="del" data-postback-argument="7">d</a></p>'
                b"</form><p>after</p></body></html>")
    out = streamed(document, [60, 120])
    top = out.index(b'name="__EVENTTARGET"')
    tokens = out.index(b'name="__VIEWSTATE"')
    assert out.index(b"<form") < top < out.index(b"<a data-postback") < tokens
    assert out.index(b'value="EV:del,7"') < out.index(b"</form>")
    # the script goes before the first post form: </head> was already sent
    assert out.index(SCRIPT) < out.index(b"<form")


def test_buffered_and_single_piece_pages_get_everything_on_top() -> None:
    document = b'<head></head><form method="post"><a data-postback="x"></a></form>'
    for out in (rewriter().rewrite(document), streamed(document, [])):
        assert out.index(b'name="__EVENTVALIDATION"') < out.index(b"<a ")
        assert out.index(SCRIPT) < out.index(b"</head>")


def test_unclosed_form_streamed_gets_tokens_at_the_end() -> None:
    document = b'<form method="post"><a data-postback="x"></a>' + b"y" * 50
    out = streamed(document, [25])
    assert out.endswith(b'value="EV:x," />')


def test_each_field_once_per_form_whatever_the_pieces() -> None:
    document = (b'<form method="post"><a data-postback="a"></a></form>' * 3).replace(
        b"</form>", b"</form><p>" + b"z" * 30 + b"</p>")
    for cuts in ([], [10], list(range(1, len(document), 7))):
        out = streamed(document, cuts)
        for name in (b"__EVENTTARGET", b"__EVENTARGUMENT", b"__VIEWSTATE", b"__EVENTVALIDATION"):
            assert out.count(b'name="' + name + b'"') == 3


@pytest.mark.parametrize(
    ("button", "tokens"),
    [
        pytest.param('<button formaction="https://evil.example/">', False, id="button-off-origin"),
        pytest.param('<button type=SUBMIT formaction="//evil.example/">', False,
                     id="submit-button-scheme-relative"),
        pytest.param('<input type=image formaction="http://evil.example/">', False,
                     id="image-input-off-origin"),
        pytest.param('<button type=button formaction="https://evil.example/">', True,
                     id="plain-button-ignored"),
        pytest.param('<input type=" submit" formaction="https://evil.example/">', True,
                     id="invalid-input-type-is-text"),
        pytest.param('<button formaction="/elsewhere">', True, id="same-origin"),
    ],
)
def test_formaction_that_leaves_the_origin_gets_no_tokens(
    button: str, tokens: bool, caplog: pytest.LogCaptureFixture
) -> None:
    document = f'<form method="post"><a data-postback="x"></a>{button}</form>'
    for out in (run(document), streamed(document.encode(), [25])):
        assert out is not None
        assert (b'name="__VIEWSTATE"' in out) is tokens
        assert (b'name="__EVENTVALIDATION"' in out) is tokens
    assert ("formaction leaves the origin" in caplog.text) is not tokens
