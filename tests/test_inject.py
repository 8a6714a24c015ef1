"""Which forms get fields, which events they register, where the script goes."""

from __future__ import annotations

import copy
import functools
import hashlib
import html
import itertools
import logging
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from postback_middleware import fields as f
from postback_middleware import html_scan, inject
from postback_middleware.html_scan import BareForm, Family, Pairs, PanelEnd, Rows, iter_tags
from postback_middleware.htmx import _HX_SIGNS, leaves_out
from postback_middleware.http import without_query
from postback_middleware.inject import MAX_EXTRA_PATHS, PostForm, action_path, base_url, splice
from postback_middleware.page_tokens import SharedToken
from postback_middleware.partial import read_panels

from .counting import growth
from .helpers import (
    FIELD,
    INSERTED,
    PAGE_URL,
    SCRIPT_TAG,
    hidden_fields,
    injector,
    pairs_of,
    panels_counted,
    require_engine,
    streamed,
    streamed_by,
    whole_and_streamed,
)
from .helpers import INJECTOR_SCRIPT_TAG as SCRIPT
from .strategies import HTML_FRAGMENTS

# Every test here runs once per scanner engine (python, compiled).
pytestmark = pytest.mark.usefixtures("scanner_engine")



def test_the_attributes_of_a_plain_form_decide_nothing() -> None:
    """A form whose attributes are all in _PLAIN_FORM_ATTRS takes the short way: none of
    them may be one that the long way reads (an id, callbacks, htmx's, _FORM_EXTRAS')."""
    read = inject._FORM_EXTRAS | _HX_SIGNS | {"id", "data-callbacks"}
    assert inject._PLAIN_FORM_ATTRS.isdisjoint(read)


_PLAIN_FORMS = {
    "admin delete": {"method": "post", "action": "/admin/users/7/delete/", "class": "inline"},
    "upper-case method": {"method": "POST", "action": "/save"},
    "no action": {"method": "post"},
    "empty action": {"method": "post", "action": ""},
    "relative action": {"method": "post", "action": "vote"},
    "get": {"method": "get", "action": "/search"},
    "no method": {"action": "/save"},
    "other origin": {"method": "post", "action": "https://evil.example/steal"},
    "tabs in the action": {"method": "post", "action": "/sa\tve\n"},
    "every plain attribute": {name: "x" for name in inject._PLAIN_FORM_ATTRS}
    | {"method": "post", "action": "/all"},
}


@pytest.mark.parametrize("attrs", list(_PLAIN_FORMS.values()), ids=list(_PLAIN_FORMS))
def test_a_plain_form_is_read_as_any_form_is(attrs: dict[str, str]) -> None:
    assert inject._PLAIN_FORM_ATTRS.issuperset(attrs)
    editor = injector()
    assert editor._plain_post_form(attrs, 42) == editor._post_form(attrs, 42)


@pytest.mark.parametrize("argument", ["plain", "a&amp;b&lt;c&gt;&quot;d&#39;e", "caf&eacute;"],
                         ids=["as it is", "markup characters", "non-ASCII"])
def test_the_fields_of_the_forms_after_the_first_are_escaped_as_any_are(argument: str) -> None:
    """The forms after the first write their fields the short way (a page of many forms):
    a value that is no token is escaped there as hidden_input escapes it."""
    form = (f'<form method="post" action="/a"><button data-postback="t" '
            f'data-postback-argument="{argument}">x</button></form>')
    out = injector().edit(f"<body>{form}{form}</body>".encode())
    first, second = (hidden_fields(out, n)["__EVENTVALIDATION"] for n in (0, 1))
    assert first == second  # (the first form's, written the long way: the same bytes)
    assert html.unescape(second) == "EV:t," + html.unescape(argument)
    assert out.isascii()  # (character references: the field reads the same in any charset)
    assert out.count(b'value="VS"') == 2


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
        pytest.param("http:///evil.example/pay", None, id="three-slashes"),
        pytest.param("HTTP:////evil.example/pay", None, id="four-slashes-upper-case"),
        pytest.param("http:\\\\\\evil.example/pay", None, id="three-backslashes"),
        pytest.param("http:/cart/save", "/cart/save", id="one-slash-is-a-path"),
        pytest.param("\\\\evil.example/pay", None, id="backslashes"),
        pytest.param("/\\evil.example/pay", None, id="slash-backslash"),
        pytest.param("javascript:alert(1)", None, id="javascript"),
        pytest.param("java\nscript:alert(1)", None, id="javascript-with-newline"),
        pytest.param("mailto:a@b.example", None, id="mailto"),
        pytest.param("http://[::1", None, id="unparseable"),
        # (a browser skips every slash and backslash after the first two: a host follows)
        pytest.param("///evil.example/pay", None, id="three-slashes-no-scheme"),
        pytest.param("/\\/evil.example/pay", None, id="slash-backslash-slash"),
        pytest.param("\\\\\\evil.example/pay", None, id="three-backslashes-no-scheme"),
        pytest.param("////shop.example/pay", "/pay", id="four-slashes-to-this-host"),
        # (only C0 controls and spaces are stripped, as the URL standard strips them)
        pytest.param(" \x01/pay\x1f ", "/pay", id="c0-controls-at-the-edges"),
        pytest.param("\xa0", "/cart/\xc2\xa0", id="a-no-break-space-is-not-the-page"),
        pytest.param("\u2028save", "/cart/\xe2\x80\xa8save", id="a-line-separator-too"),
    ],
)
def test_action_path(action: str | None, expected: str | None) -> None:
    assert action_path(action, PAGE_URL) == expected


@pytest.mark.parametrize(
    ("action", "page_url", "expected"),
    [
        # (found by a red-team pass) An escaped dot is a dot to a browser: "%2e%2e" a segment.
        pytest.param("/users/17/%2e%2e/18/delete/", PAGE_URL, "/users/18/delete/",
                     id="escaped-dots-from-the-root"),
        pytest.param("17/%2E%2e/18/delete/", "http://shop.example/users/", "/users/18/delete/",
                     id="escaped-dots-relative"),
        pytest.param("/a%2eb/", PAGE_URL, "/a.b/", id="an-escaped-dot-in-a-name"),
        # A page asked as /users/x%2F..%2F..%2Fadmin%2F: the server decoded the dots, which a
        # browser never resolves; its relative forms resolve nowhere, never to /admin/.
        pytest.param("17/ban/", "http://shop.example/users/x/../../admin/", None,
                     id="relative-on-a-dotted-page"),
        pytest.param("?sort=1", "http://shop.example/users/x/../../admin/",
                     "/users/x/../../admin/", id="query-alone-on-a-dotted-page-is-the-page"),
        pytest.param("/users/17/ban/", "http://shop.example/users/x/../../admin/",
                     "/users/17/ban/", id="from-the-root-on-a-dotted-page"),
        pytest.param("", "http://shop.example/users/x/../../admin/", "/users/x/../../admin/",
                     id="the-dotted-page-itself-as-the-server-reads-it"),
    ],
)
def test_action_path_reads_dots_as_a_browser(action: str, page_url: str,
                                             expected: str | None) -> None:
    assert action_path(action, page_url) == expected
    assert inject._resolved_path(action, page_url, None) == expected


def test_a_base_on_a_dotted_page_leaves_relative_forms_without_tokens() -> None:
    base = inject.base_url("sub/", "http://shop.example/users/x/../../admin/")
    assert action_path("17/ban/", PAGE_URL, base) is None


_PAGE_URLS = st.sampled_from([PAGE_URL, "https://shop.example:8443/a//b/c?q=1#f",
                              "http:///cart/view", "http://shop.example",
                              "http://shop.example/%7Eann/a%2Fb/c%2", "http://shop.example/a/",
                              "http://shop.example/a/..", "http://shop.example?q=1",
                              "http://shop.example/p#f?x", "http://shop.example/a;b/c?d=1;e"])


# Characters a root-relative action is made of, the plain and every one the URL parser reads
# or changes (percent, query, fragment, dot segments, backslash, tab, space, NUL, non-ASCII).
_ACTION_CHARACTERS = st.sampled_from([*"/azAZ09-._~!$&'()*+,;=:@", *"%?#\\\t\n \x00\x7f", "é",
                                      "..", "./", "//", "%2e", "%2F"])


@settings(max_examples=3000, deadline=None)
@given(action=st.tuples(st.sampled_from([
    "/", "", "./", "../", "a:", "?", "#", "/a?", "b#", "././", ".//", "http://shop.example",
    "http://shop.example/", "https://shop.example:8443/", "http://shop.example.evil/",
    "http://shop.example:80/", "HTTP://shop.example/", "http://x@shop.example/"]),
                        st.lists(_ACTION_CHARACTERS, max_size=12)).map(
           lambda parts: parts[0] + "".join(parts[1])),
       page_url=_PAGE_URLS)
def test_a_plain_action_is_read_at_a_look_as_the_parser_reads_it(action: str,
                                                                   page_url: str) -> None:
    """(a list page's actions are read without the URL parser, from the root or relative:
    the same path, on any page)"""
    resolved = inject._resolved_path(action, page_url, None)
    assert action_path(action, page_url) == resolved
    # (what the memo keeps, by the page's URL without its query: read anew, the same)
    assert inject._action_path.__wrapped__(action, without_query(page_url),
                                           None) == resolved


def _read_alone(action: str | None, page_url: str) -> str:
    """How action_path reads ``action`` without the parser: "root", "relative" or "other"."""
    if action is None:
        return "other"
    if inject._PLAIN_ROOT_PATH.fullmatch(action):
        return "root" if "/." not in action else "other"
    plain = (inject._PLAIN_RELATIVE_PATH.fullmatch(action) and "//" not in action
             and "/." not in "/" + action)
    return "relative" if plain and inject._page_directory(page_url) is not None else "other"


@st.composite
def _list_actions(draw: st.DrawFn) -> list[str | None]:
    """A piece's forms' actions: all from the root or all relative, mostly of plain
    characters (a list page's), with near misses among them."""
    start = draw(st.sampled_from(["/", ""]))
    plain = st.sampled_from([*"azAZ09-._~!$&'()*+,=@/", "17", "delete/"])
    action = st.one_of(
        st.lists(plain, min_size=1, max_size=6).map(lambda parts: start + "".join(parts)),
        st.none(), st.tuples(st.sampled_from(["/", "", "./", "//"]), st.lists(
            _ACTION_CHARACTERS, max_size=6)).map(lambda parts: parts[0] + "".join(parts[1])))
    return draw(st.lists(action, min_size=1, max_size=6))


@pytest.fixture(params=["compiled", "python"])
def plain_actions_twin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test that asks for it runs with either twin of ``inject._plain_actions``."""
    if request.param == "compiled" and inject._cscan is None:
        pytest.skip("the compiled scanner is not built")
    monkeypatch.setattr(inject, "_plain_actions", inject._cscan.plain_actions
                        if request.param == "compiled" else inject._python_plain_actions)


@settings(max_examples=2000, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=_list_actions(), page_url=_PAGE_URLS)
@pytest.mark.usefixtures("plain_actions_twin")
def test_a_pieces_plain_actions_are_read_at_once_as_one_by_one(
        actions: list[str | None], page_url: str) -> None:
    """(a list page's bare forms: their actions are read at once where each is read alike
    without the parser, and each is then the path the parser gives it)"""
    items: list[object] = [BareForm(0, 1, 1, 2, action, None) for action in actions]
    items.insert(len(items) // 2, {"A": [""]})  # (other items between them: pairs, tags)
    before = inject._plain_paths(items, page_url)  # type: ignore[arg-type]
    kinds = {_read_alone(action, page_url) for action in actions}
    event(f"read at once: {before is not None}")
    assert (before is not None) == (len(actions) >= 2 and len(kinds) == 1 and "other" not in kinds)
    if before is not None:
        assert all(before + action == inject._resolved_path(action, page_url, None)
                   for action in actions if action is not None)


@pytest.mark.parametrize(("actions", "before"), [
    pytest.param(["/a/1/delete/", "/a/2/delete/"], "", id="a-list"),
    pytest.param(["1/delete/", "2/delete/"], "/cart/", id="a-list-relative"),
    pytest.param(["/a/1/delete/"], None, id="one-form"),
    pytest.param(["/a/1", None], None, id="one-without-an-action"),
    pytest.param(["/a/1", ""], None, id="one-empty"),
    pytest.param(["/a/1\n/b", "/a/2"], None, id="a-newline-in-one"),
    pytest.param(["/a/1", "/a/./2"], None, id="a-dot-segment"),
    pytest.param(["1", "./2"], None, id="a-relative-dot-segment"),
    pytest.param(["1", "2\n.."], None, id="a-newline-then-dots"),
    pytest.param(["/a/1", "//evil.example/2"], None, id="a-host"),
    pytest.param(["/a/1", "a/2"], None, id="from-the-root-and-relative"),
    pytest.param(["a:1", "a:2"], None, id="a-scheme"),
])
@pytest.mark.usefixtures("plain_actions_twin")
def test_plain_actions_read_at_once(actions: list[str | None], before: str | None) -> None:
    items = [BareForm(0, 1, 1, 2, action, None) for action in actions]
    assert inject._plain_paths(items, PAGE_URL) == before  # type: ignore[arg-type]


def forms_of(document: str) -> list[tuple[str, list[list[str]]]]:
    editor = injector()
    editor.edit(document.encode())
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
    editor = injector()
    out = editor.edit(document.encode())
    return out if editor.changed else None


_FORM_A = '<form method="post" action="/a" id="a"><input name="q"></form>'
_GO = 'data-postback="go" data-postback-argument="1"'


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(f'{_FORM_A}<form method="post" action="/b"><button form="a" {_GO}>Go'
                     "</button></form>", [("/a", [["go", "1"]]), ("/b", [["go", "1"]])],
                     id="a-button-in-another-form-names-an-earlier-one"),
        pytest.param(f'<form method="post" action="/b"><button form="a" {_GO}>Go</button>'
                     f"</form>{_FORM_A}", [("/b", [["go", "1"]]), ("/a", [["go", "1"]])],
                     id="names-a-later-one"),
        pytest.param(f'<button form="a" {_GO}>Go</button>{_FORM_A}', [("/a", [["go", "1"]])],
                     id="a-button-outside-any-form"),
        pytest.param(f'{_FORM_A}<table><tr><td><input type="checkbox" name="done" form="a" '
                     "data-autopostback></table>", [("/a", [["done", ""]])],
                     id="an-autopostback-checkbox-in-a-table"),
        pytest.param(f'{_FORM_A}<select name="size" form="a" data-autopostback></select>'
                     f'<fieldset form="a" {_GO}></fieldset>',
                     [("/a", [["size", ""], ["go", "1"]])], id="a-select-and-a-fieldset"),
        pytest.param(f'<form method="post" action="/a" id="a"><button form="a" {_GO}>Go'
                     "</button></form>", [("/a", [["go", "1"]])], id="names-the-form-around-it"),
        # (not a listed element: a link has no form owner, the form around it raises it)
        pytest.param(f'{_FORM_A}<form method="post" action="/b"><a form="a" {_GO}>Go</a>'
                     "</form>", [("/a", []), ("/b", [["go", "1"]])], id="a-link-has-no-owner"),
        # (ids match as written: form="A" names no form, el.form is null)
        pytest.param(f'{_FORM_A}<button form="A" {_GO}>Go</button>', [("/a", [])],
                     id="an-id-of-another-case"),
        pytest.param(f'{_FORM_A}<form method="post" action="/c" id="a"></form>'
                     f'<button form="a" {_GO}>Go</button>', [("/a", [["go", "1"]]), ("/c", [])],
                     id="the-first-form-of-an-id"),
        pytest.param(f'<form id="a" action="/s"></form><form method="post" action="/a" id="a">'
                     f'</form><button form="a" {_GO}>Go</button>', [("/a", [])],
                     id="the-first-of-the-id-is-a-get-form"),
        pytest.param(f'<form method="post" action="/b"><form method="post" action="/a" id="a">'
                     f'<button form="a" {_GO}>Go</button></form>', [("/b", [["go", "1"]])],
                     id="a-form-tag-inside-a-form-makes-no-form"),
    ],
)
def test_a_controls_events_go_to_the_form_it_names(
        document: str, expected: list[tuple[str, list[list[str]]]]) -> None:
    """The client raises the events of a control whose ``form="ID"`` names its form owner on
    that form (``el.form``), so that form offers them; the form around it keeps them too (they
    came in its batch). Read whole and in pieces cut anywhere before the named form's end."""
    assert forms_of(document) == expected
    page = document.encode()
    named_end = page.find(b"</form>", page.find(b'id="a"')) if b'id="a"' in page else len(page)
    for cut in range(1, max(2, min(named_end, len(page)))):
        editor = injector()
        streamed_by(editor, page, [cut])
        assert [(form.action_path, pairs_of(form)) for form in editor.forms] == expected, cut


def test_a_control_after_its_named_form_was_sent_is_logged(caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    """In a streamed page, a control naming a form whose tokens left in an earlier piece
    cannot give it its events: said (those postbacks are refused), never guessed."""
    page = f'{_FORM_A}<p>more</p><button form="a" {_GO}>Go</button>'.encode()
    editor = injector()
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        streamed_by(editor, page, [page.index(b"<p>")])
    assert [(form.action_path, pairs_of(form)) for form in editor.forms] == [("/a", [])]
    assert "names it by form='a' and raises 'go' there" in caplog.text


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

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(HTML_FRAGMENTS, st.sampled_from([
        '<form method="post">', "</form>", '<form method="post" action="//x.example/">',
        '<a data-postback="t" data-postback-argument="1">', "<select name=s data-autopostback>",
        "</head>", '<form method="get">',
    ])), max_size=16).map("".join),
    st.lists(st.integers(0, 300), max_size=6),
)
def test_insertions_are_all_that_changes(document: str, cuts: list[int]) -> None:
    """Faithful: whole or in pieces, the output minus the insertions is the input."""
    encoded = document.encode()
    whole = injector().edit(encoded)
    assert INSERTED.sub(b"", whole) == encoded
    assert INSERTED.sub(b"", streamed(encoded, cuts)) == encoded


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from([
        '<form method="post">', "</form>", '<form method="post" action="/b">',
        '<a data-postback="t" data-postback-argument="1">', '<a data-postback="t">',
        '<a data-postback="u" data-postback-argument="2">', "<select name=s data-autopostback>",
        '<button formaction="/c">', '<p id="__x">', "<p>text</p>", "<!-- <a data-postback=t> -->",
        # rows, which the compiled scanner reads as a family (see html_scan.Family)
        "".join(f'<a data-postback="row{n}" data-postback-argument="d{n}">' for n in (1, 2, 3)),
        '<a data-postback="row4" data-postback-argument="d4">',
        # a grid's commands, which it reads as rows (html_scan.Rows)
        "".join(f'<a data-postback="t" data-postback-argument="{head}{n}">' for n in (1, 2, 3)
                for head in ("E$", "D$")),
        '<a data-postback="t" data-postback-argument="E$4">',
    ]), max_size=20).map("".join),
    st.lists(st.integers(0, 400), max_size=8),
)
def test_pieces_give_each_form_the_pairs_of_the_whole_page(document: str, cuts: list[int]) -> None:
    """However the page is cut, each form's event validation lists the same pairs, in page
    order, each once (batches span pieces; tags the scanner returns start new ones)."""
    encoded = document.encode()
    whole, editor = whole_and_streamed(encoded, cuts)
    assert [pairs_of(form) for form in editor.forms] == [pairs_of(form) for form in whole.forms]
    for form in whole.forms:
        pairs = [tuple(pair) for pair in pairs_of(form)]
        assert len(set(pairs)) == len(pairs)


# Where a post form may start (html_scan.find_post_form), and the text that only looks so.
_PLACES_OF_POST_FORMS = st.sampled_from([
    '<form method="post">', "</form>", "<FORM METHOD=POST ACTION=/b>", '<form method="get">',
    "<script>var t = '<form method=post>';</script>", "<!-- <form method=post> -->",
    "<div title='<form method=post>'>", "<textarea><form method=post></textarea>",
    "<style>/* <form method=post> */</style>", "<svg><![CDATA[<form method=post>]]></svg>",
    "<form method='p&#111;st'>", "<script>", "<!--", "-->", "<plaintext>", "</head>",
    '<a data-postback="t" data-postback-argument="1">', "<p class=postback>",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_PLACES_OF_POST_FORMS, HTML_FRAGMENTS), max_size=24).map("".join))
def test_a_page_scanned_up_to_its_post_forms_is_edited_as_scanned_whole(
        scanner_engine: str, document: str) -> None:
    """edit scans a page up to where a post form may start and on from there, and stops where
    none is left: the page, its forms and their pairs come out as from one scan of it all."""
    encoded = document.encode()
    editor, whole = injector(), injector()
    assert editor.edit(encoded) == whole._edit(encoded, final=True)
    assert editor.changed == whole.changed
    assert [pairs_of(form) for form in editor.forms] == [pairs_of(form) for form in whole.forms]



def test_htmx_read_ahead_counts_for_the_forms_of_a_later_piece(
        caplog: pytest.LogCaptureFixture) -> None:
    """Red team: a place in text where a post form seems to start, then htmx in the same
    first piece, and the form in the next: htmx was read late (after the first piece the
    injector edited), so a button's hx-post off the origin went unseen and the form got its
    tokens. The bytes sent ahead are edited with the form's piece, from the page's start."""
    first = (b"<head><script>var tpl='<form method=\"post\">';</script>"
             b'<script src="/static/htmx.min.js"></script></head>')
    second = (b'<body><form method="post" action="/"><button hx-post='
              b'"https://evil.example/steal">Go</button></form>')
    for pieces in ([first, second], [first[:30], first[30:], second], [first + second]):
        editor = injector()
        out = b"".join(map(editor.feed, pieces)) + editor.finish()
        assert b'name="__VIEWSTATE"' not in out
        assert b'name="__EVENTTARGET"' in out
    assert "leaves the origin" in caplog.text


def test_pieces_of_any_buffer_are_read_as_bytes() -> None:
    """Red team: a memoryview piece, kept in part for the next piece, raised TypeError
    (WSGI asks for bytes; a bytearray or a memoryview works the same)."""
    pieces = [b'<form method="post"><p>', b"abc <", b"b>x</form>"]
    expected = streamed(b"".join(pieces), [len(pieces[0]), len(pieces[0]) + len(pieces[1])])
    for kind in (bytearray, memoryview):
        editor = injector()
        out = b"".join(editor.feed(kind(piece)) for piece in pieces)  # type: ignore[arg-type]
        assert out + editor.finish() == expected


def test_a_piece_the_app_fills_again_is_read_as_it_was_sent() -> None:
    """Red team: a bytearray piece sent ahead, then filled again by the app (WSGI asks for
    bytes, but a bytearray works): what was sent is what is read."""
    buffer = bytearray(b'<base href="https://evil.example/">\n')
    editor = injector()
    out = editor.feed(buffer)  # type: ignore[arg-type]
    buffer[:] = b"<p>" + b" " * (len(buffer) - 3)
    out += editor.feed(b'<form method="post" action="save"></form>') + editor.finish()
    assert b'name="__VIEWSTATE"' not in out

@pytest.mark.parametrize("forms", [0, 1, 2])
def test_a_post_form_after_many_that_are_text_gets_its_fields(forms: int) -> None:
    """Past inject._MOST_FALSE_STARTS places that are text, the rest of the page is scanned
    in one call: every post form after them still gets its fields."""
    fakes = "<script>'<form method=post>'</script>" * (inject._MOST_FALSE_STARTS * 2)
    document = (fakes + '<form method="post"><button>Go</button></form>' * forms).encode()
    out = injector().edit(document)
    assert out.count(b'name="__VIEWSTATE"') == forms
    assert INSERTED.sub(b"", out) == document

# A delete form and a vote form of a list page, whole (bare forms, when the scanner can).
_LIST_ROWS = st.sampled_from([
    '<form method="post" action="/users/3/delete"><button>Delete</button></form>',
    '<form method="post" action="/users/4/delete"><button>Delete</button></form>',
    '<form method=post><a data-postback="vote" data-postback-argument="up:5">+</a></form>',
])
LIST_OF_FORMS = "".join(f'<form method="post" action="/users/{n}/delete"><button>Delete</button>'
                        "</form>" for n in range(1, 6))
_FORMS_OF_A_LIST = st.sampled_from([
    '<form method="post" action="/admin/users/7/delete/" class="inline">', "</form>",
    "<FORM METHOD=POST ACTION=/b>", "<form method=post>", "<form method=post action>",
    "<form method=post action='//evil.example/'>", "<form method=post id=f>",
    "<form method=get>", '<a data-postback="t" data-postback-argument="1">',
    "<button form=f formaction=//evil.example/>", "<base href=/x/>", "</head>", "<p>text</p>",
    "<form method=post hx-post=/h>", '<script src="/htmx.min.js"></script>',
    "<noscript><form method=post></form></noscript>", "<select name=s data-autopostback>",
    '<noscript><button formaction=/x hx-post="/h" hx-include="form">',
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_FORMS_OF_A_LIST, HTML_FRAGMENTS), max_size=16).map("".join),
       st.lists(st.integers(0, 300), max_size=6))
def test_bare_forms_are_edited_as_their_tags_are(document: str, cuts: list[int]) -> None:
    """The compiled engine's bare forms (a plain post form with nothing inside: one item
    for its two tags) give the page, its forms and their fields exactly as the two tags do."""
    encoded = document.encode()
    without = functools.partial(inject.PostbackScanner, bare_forms=False)
    with_bare = injector()
    edited = with_bare.edit(encoded)
    pieces = streamed(encoded, cuts)
    with mock.patch.object(inject, "PostbackScanner", without):
        plain = injector()
        assert plain.edit(encoded) == edited
        assert streamed(encoded, cuts) == pieces
    assert [(form.insert_at, form.closed_at, form.action_path, form.written, pairs_of(form))
            for form in with_bare.forms] == [
        (form.insert_at, form.closed_at, form.action_path, form.written, pairs_of(form))
        for form in plain.forms]


def _events_digest(path: str, pairs: list[list[str]]) -> str:
    """A stand-in event validation naming a form's path and pairs (HTML-safe: written as is)."""
    return "EV" + hashlib.sha256(repr((path, pairs)).encode()).hexdigest()[:16]


def _bulk_injector(signed: bool, **options: Any
                   ) -> tuple[inject.FieldInjector, list[list[tuple[str, Pairs]]]]:
    """An injector whose forms' tokens are :func:`_events_digest`, and which is given
    ``sign_bare`` as the middleware gives it (returning, when ``signed``, the page token
    "VS" with signature "SIG<n>" for its n-th call and, keyed, tags "T<i>", i in 15 digits;
    else None), and
    the forms each call of it was given."""
    asked: list[list[tuple[str, Pairs]]] = []

    def sign(forms: list[PostForm]) -> list[tuple[str, str]]:
        return [("VS", _events_digest(form.action_path, pairs_of(form))) for form in forms]

    def sign_bare(events: list[tuple[str, Pairs]], keyed: bool) -> SharedToken | None:
        asked.append(list(events))
        if not signed:
            return None
        return SharedToken("VS", f"SIG{len(asked) - 1}", b"".join(
            b"T%015d" % index for index in range(len(events))) if keyed else None)

    return injector(sign_forms=sign, sign_bare=sign_bare, **options), asked


_SHARED = re.compile(rb'value="(\d+)\.SIG(\d+)(?:\.T(\d+))?"')


def _as_one_by_one(edited: bytes, asked: list[list[tuple[str, Pairs]]]) -> bytes:
    """``edited`` with each event validation of a bulk-signed form ("i.SIG<n>", with its tag
    "T<i>" if keyed) as the form it names would have it signed one by one."""
    def one(match: re.Match[bytes]) -> bytes:
        index, call = int(match[1]), int(match[2])
        assert match[3] is None or int(match[3]) == index
        path, pairs = asked[call][index]
        return b'value="%s"' % _events_digest(
            path, [[target, argument] for target, arguments in pairs.items()
                   for argument in arguments]).encode()

    return _SHARED.sub(one, edited)


def _form_facts(editor: inject.FieldInjector) -> list[tuple[object, ...]]:
    return [(form.number, form.insert_at, form.closed_at, form.action_path, pairs_of(form),
             form.settled) for form in editor.forms]

def _same_output(ahead: inject.FieldInjector, read: inject.FieldInjector,
                 outs: list[bytes], document: bytes) -> None:
    """The page read ahead comes out as read piece by piece, but for the client script's
    place; and for the tokens, where read piece by piece htmx showed only in a piece that
    starts where its hx-* attributes cannot be read (then the forms after it get none; read
    ahead, the pieces before its first post form are read with it, from the page's start)."""
    if read._htmx_unread is not None:
        assert INSERTED.sub(b"", outs[1]) == document
        assert outs[1].count(b'name="__VIEWSTATE"') <= outs[0].count(b'name="__VIEWSTATE"')
        return
    assert SCRIPT_TAG.sub(b"", outs[0]) == SCRIPT_TAG.sub(b"", outs[1])


def _same_htmx_reading(ahead: inject.FieldInjector, read: inject.FieldInjector) -> None:
    """The forms' paths and htmx requests as reading each piece as it comes gives them, but
    where htmx showed only after the first piece there (its hx-* attributes then go unread):
    reading ahead reads the pieces before the first post form with it, so it may read them."""
    if read.forms and not read._htmx_late:
        assert not ahead._htmx_late
        assert [(form.paths, form.settled, form.hx) for form in ahead.forms] == [
            (form.paths, form.settled, form.hx) for form in read.forms]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_PLACES_OF_POST_FORMS, _FORMS_OF_A_LIST, HTML_FRAGMENTS),
                max_size=24).map("".join),
       st.lists(st.integers(0, 400), max_size=10))
def test_a_streamed_page_read_ahead_is_edited_as_read_piece_by_piece(
        scanner_engine: str, document: str, cuts: list[int]) -> None:
    """Until a post form may start, a streamed page's bytes go out before the scanner reads
    them: the page, its forms, their pairs and fields come out as when each piece is read as
    it comes; only the client script may stand before the first post form rather than at a
    </head> sent ahead."""
    encoded = document.encode()
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(encoded)}), len(encoded)]
    ahead, read = injector(), injector()
    read._ahead = False
    outs = []
    for editor in (ahead, read):
        outs.append(b"".join(editor.feed(encoded[a:b]) for a, b in itertools.pairwise(bounds))
                    + editor.finish())
    assert INSERTED.sub(b"", outs[0]) == encoded
    _same_output(ahead, read, outs, encoded)
    assert len(SCRIPT_TAG.findall(outs[0])) == len(SCRIPT_TAG.findall(outs[1]))
    assert [pairs_of(form) for form in ahead.forms] == [pairs_of(form) for form in read.forms]
    assert ahead.changed == read.changed
    _same_htmx_reading(ahead, read)
    field = FIELD.search(outs[0])
    if field:  # (the script before the first post form's fields, in any case)
        assert outs[0].index(SCRIPT) < field.start()


@pytest.mark.parametrize("document", [
    b'<!xxxxxxxxxx <form method="post">text</form><form method="post"><a data-postback=t>',
    b"<script>'<form method=post>'</script><p>postback</p><form method=post></form>",
    b"<!-- <form method=post> --><div title='<FORM METHOD=POST>'><form method=post>",
    b"<head><style>a[data-postback]{}</style></head><p><form\x00 method=post><form method=get>",
    b"<textarea><form method=post></textarea><p data-postback=x><plaintext><form method=post>",
    b'<head><script src="/htmx.min.js"></script><!-- <form method=post> --></head>'
    b'<form method=post><button hx-post="/h">x</button></form>',
], ids=["a-bogus-comment", "a-script", "a-comment-and-an-attribute", "nul-in-a-name",
        "rcdata-then-plaintext", "htmx-then-a-comment"])
def test_a_page_read_ahead_cut_anywhere(document: bytes) -> None:
    """Every cut of a page with places in text where a post form seems to start (one of them
    at a piece's end, whatever the construct around it) gives what reading each piece as it
    comes gives."""
    for cut in range(1, len(document)):
        ahead, read = injector(), injector()
        read._ahead = False
        outs = [editor.feed(document[:cut]) + editor.feed(document[cut:]) + editor.finish()
                for editor in (ahead, read)]
        _same_output(ahead, read, outs, document)
        assert [pairs_of(form) for form in ahead.forms] == [
            pairs_of(form) for form in read.forms], cut
        _same_htmx_reading(ahead, read)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    # list pages: mostly whole forms, now and then what changes how they are signed
    st.lists(st.one_of(_LIST_ROWS, _LIST_ROWS, _LIST_ROWS, _FORMS_OF_A_LIST), max_size=30),
    st.lists(st.one_of(_LIST_ROWS, _FORMS_OF_A_LIST, HTML_FRAGMENTS), max_size=20),
).map("".join), st.lists(st.integers(0, 2000), max_size=8), st.booleans())
def test_bare_forms_signed_in_bulk_get_what_each_would(document: str, cuts: list[int],
                                                        signed: bool) -> None:
    """Bare forms signed in bulk (``sign_bare``: one page token a piece, each form's event
    validation its index in it, with a tag where it is keyed) get the fields, ids and all,
    that each gets signed one by one, once each index is read as the form it names; without
    that token (None: callbacks on a path, a description over its size...) they are signed
    one by one. So with the page whole and in pieces; their PostForms, asked for, are the
    same too."""
    encoded = document.encode()
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(encoded)}), len(encoded)]
    for whole in (True, False):
        bulk, asked = _bulk_injector(signed)
        one_by_one, _ = _bulk_injector(signed)
        with mock.patch.object(one_by_one, "_sign_bare", None):
            if whole:
                edited, expected = bulk.edit(encoded), one_by_one.edit(encoded)
            else:
                edited, expected = (b"".join([*(editor.feed(encoded[a:b])
                                                for a, b in itertools.pairwise(bounds)),
                                              editor.finish()])
                                    for editor in (bulk, one_by_one))
        assert all(len(events) >= 2 for events in asked)
        if signed:
            assert len(_SHARED.findall(edited)) == sum(map(len, asked))
        assert _as_one_by_one(edited, asked) == expected
        assert _form_facts(bulk) == _form_facts(one_by_one)
        # (a token's indices are keyed where one of its forms' fields could still leave)
        keyed: dict[str, set[tuple[bool, bool]]] = {}
        for form in bulk.forms:
            call = _SHARED.search(b'value="%s"' % form.written.get(f.EVENTVALIDATION,
                                                                    "").encode())
            if call is not None:
                keyed.setdefault(call[2].decode(), set()).add((call[3] is not None,
                                                               form.settled))
        for forms in keyed.values():
            assert {tagged for tagged, _ in forms} == {not all(s for _, s in forms)}


def test_a_list_pages_bare_forms_are_signed_in_bulk_the_first_with_ids(
        scanner_engine: str) -> None:
    """(The Python engine returns no bare forms: its forms are signed one by one.)"""
    bulk, asked = _bulk_injector(True)
    edited = bulk.edit(LIST_OF_FORMS.encode())
    if scanner_engine == "python":
        assert not asked and b"SIG" not in edited
        return
    assert asked == [[(f"/users/{n}/delete", {}) for n in range(1, 6)]]
    assert edited.count(b".SIG0") == 5 and edited.count(b'id="__VIEWSTATE"') == 1
    assert [form.written[f.EVENTVALIDATION] for form in bulk.forms] == [
        f"{index}.SIG0" for index in range(5)]


def test_a_streamed_list_pages_bare_forms_get_keyed_indices(scanner_engine: str) -> None:
    """In a piece of a streamed page, bare forms with an action share a token whose indices
    are keyed (a later piece could still hold a <base href>), as any form of a piece."""
    bulk, _ = _bulk_injector(True)
    edited = bulk.feed(LIST_OF_FORMS.encode()) + bulk.feed(b"<p>more</p>") + bulk.finish()
    if scanner_engine == "compiled":
        assert re.findall(rb'value="(\d+\.SIG0\.T\d+)"', edited) == [
            b"%d.SIG0.T%015d" % (index, index) for index in range(5)]
    assert [form.settled for form in bulk.forms] == [False] * 5


@pytest.mark.parametrize(
    ("page", "accept_charset", "expected"),
    [
        pytest.param("cp1252", "utf-8", ["cp1252", None, "cp1252"], id="utf-8-form-on-1252"),
        pytest.param("utf-8", "windows-1252", [None, "cp1252", None], id="1252-form-on-utf-8"),
        pytest.param("cp1252", "x-klingon", ["cp1252"] * 3, id="no-encoding-named"),
        pytest.param("utf-8", "", [None] * 3, id="utf-8-page"),
    ],
)
@pytest.mark.parametrize("signed", [True, False], ids=["bare-forms-signed", "one-by-one"])
def test_each_form_knows_the_encoding_it_is_submitted_in(
        scanner_engine: str, page: str, accept_charset: str, expected: list[str | None],
        signed: bool) -> None:
    """A list page's forms post in the page's encoding, a form with an accept-charset in
    its own (see charset.form_encoding): such a form is never kept as a bare form (whose
    page token names the page's), in either engine."""
    forms = LIST_OF_FORMS.split("</form>")[:3]
    forms[1] = forms[1].replace('<form method="post"',
                                f'<form method="post" accept-charset="{accept_charset}"')
    editor, asked = _bulk_injector(signed, encoding=page)
    editor.edit("</form>".join(forms).encode() + b"</form>")
    assert [form.encoding for form in editor.forms] == expected
    if signed and scanner_engine == "compiled" and accept_charset:
        assert [path for call in asked for path, _ in call] == [
            "/users/1/delete", "/users/3/delete"]  # (the other one: not bare)


def test_forms_signed_in_bulk_are_checked_against_a_later_base_even_once_asked_for(
        caplog: pytest.LogCaptureFixture) -> None:
    """(found by a red-team pass: asking for the forms mid-page made the bulk-signed ones
    PostForms that a later <base> was no longer checked against)"""
    bulk, _ = _bulk_injector(True)
    bulk.feed(LIST_OF_FORMS.encode())
    assert len(bulk.forms) == 5
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        bulk.feed(b'<base href="https://evil.example/">')
        bulk.finish()
    assert [bool(form.late) for form in bulk.forms] == [True] * 5
    assert caplog.text.count("were sent in an earlier piece") == 5


def test_forms_signed_in_bulk_in_many_pieces_are_checked_in_one_pass(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A <base href> late in a streamed page has every form sent before it checked: the
    forms signed in bulk, a few a piece, are made PostForms in one merge, not one a piece
    (found by a red-team pass: 16,000 pieces took 11 s where one by one took 2)."""
    sorted_items: list[int] = []

    def counting(items: list[PostForm], **kwargs: object) -> list[PostForm]:
        sorted_items.append(len(items))
        return sorted(items, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inject, "sorted", counting, raising=False)
    bulk, _ = _bulk_injector(True)
    pieces = [b"<form method=post action=/first></form>"] + [
        b'<form method="post" action="/i/%d"></form><form method="post" action="/j/%d"></form>'
        % (n, n) for n in range(300)] + [b'<base href="/moved/">']
    for piece in pieces:
        bulk.feed(piece)
    bulk.finish()
    assert len(bulk.forms) == 601 and len(bulk._sent) == 601
    assert sum(sorted_items) <= 2 * 601


@pytest.mark.parametrize("document", [
    pytest.param(LIST_OF_FORMS + "<base href=/elsewhere/>", id="a-base-after-them"),
    pytest.param(LIST_OF_FORMS + "<button form=f formaction=/x>", id="a-form-id-button"),
    pytest.param(LIST_OF_FORMS + '<script src="/htmx.min.js"></script>', id="htmx"),
    # (a <noscript> left open at the end: read for what a browser without scripts sees)
    pytest.param(LIST_OF_FORMS + '<noscript><button formaction=/x hx-post="https://evil.example/"'
                 ' hx-include="form">', id="htmx-in-a-noscript-left-open"),
    # (each thing of the page that puts every form with an action in doubt: _page_in_doubt)
    pytest.param("<noscript><noscript></noscript></noscript>" + LIST_OF_FORMS,
                 id="a-noscript-in-a-noscript-before-them"),
    pytest.param(LIST_OF_FORMS + "<noscript><noscript></noscript></noscript>",
                 id="a-noscript-in-a-noscript-after-them"),
    pytest.param(LIST_OF_FORMS + '<div><button formaction="https://evil.example/">',
                 id="a-submit-button-after-their-ends"),
])
def test_bare_forms_are_not_signed_in_bulk_when_the_page_could_send_them_elsewhere(
        document: str) -> None:
    """Where a page could send a form's fields elsewhere than its action (what the injector
    checks for each form before its tokens are written), its bare forms take that way."""
    bulk, asked = _bulk_injector(True)
    assert b"SIG" not in bulk.edit(document.encode())
    assert not asked


@pytest.mark.parametrize(
    ("batches", "expected"),
    [
        pytest.param([Family("r", "d", True, 1, 2)], {"r1": ["d1"], "r2": ["d2"]},
                     id="a-family-alone-stays-one"),
        pytest.param([Family("r", "d", True, 1, 2), {"r2": ["d2"], "x": [""]}],
                     {"r1": ["d1"], "r2": ["d2"], "x": [""]}, id="then-a-batch-repeating-a-row"),
        pytest.param([{"r1": ["e"]}, Family("r", "d", True, 1, 2)],
                     {"r1": ["e", "d1"], "r2": ["d2"]}, id="after-a-batch"),
        pytest.param([Family("r", "", False, 1, 2), Family("r", "", False, 2, 2)],
                     {"r1": [""], "r2": [""], "r3": [""]}, id="two-families-overlapping"),
    ],
)
def test_a_form_adds_families_as_their_pairs(batches: list[Pairs | Family],
                                              expected: dict[str, list[str]]) -> None:
    form = PostForm(0, "/")
    for batch in copy.deepcopy(batches):  # (the form keeps a batch it gets first)
        form.add_pairs(batch)
    assert (form.family is not None) == (len(batches) == 1)
    assert form.pairs == expected
    assert form.family is None  # (asked for its pairs, it keeps them written out)


_EDIT = Rows("G", ("Edit$", "Delete$"), 0, 2)


@pytest.mark.parametrize(
    ("batches", "compact", "expected"),
    [
        pytest.param([{"G": ["Sort"]}, _EDIT, {"G": ["Page$2"]}],
                     ({"G": ["Sort", "Page$2"]}, {"G": [(1, _EDIT)]}),
                     {"G": ["Sort", "Edit$0", "Delete$0", "Edit$1", "Delete$1", "Page$2"]},
                     id="between-the-pairs-of-its-stretch"),
        pytest.param([_EDIT, {"H": ["x"], "G": ["Edit$1", "Sort"]}],
                     ({"G": ["Sort"], "H": ["x"]}, {"G": [(0, _EDIT)]}),
                     {"G": ["Edit$0", "Delete$0", "Edit$1", "Delete$1", "Sort"], "H": ["x"]},
                     id="a-later-batch-repeating-a-command"),
        pytest.param([{"G": ["Edit$1"]}, _EDIT], ({"G": ["Edit$1", "Edit$0", "Delete$0",
                                                        "Delete$1"]}, {}),
                     {"G": ["Edit$1", "Edit$0", "Delete$0", "Delete$1"]},
                     id="after-a-batch-holding-one-of-its-commands"),
        pytest.param([_EDIT, {"G": ["Sort"]}, Rows("G", ("Page$",), 2, 2)],
                     ({"G": ["Sort"]}, {"G": [(0, _EDIT), (1, Rows("G", ("Page$",), 2, 2))]}),
                     {"G": ["Edit$0", "Delete$0", "Edit$1", "Delete$1", "Sort", "Page$2",
                            "Page$3"]}, id="its-pager-too"),
        pytest.param([_EDIT, Rows("G", ("Delete$",), 5, 2)],
                     ({"G": ["Delete$5", "Delete$6"]}, {"G": [(0, _EDIT)]}),
                     {"G": ["Edit$0", "Delete$0", "Edit$1", "Delete$1", "Delete$5",
                            "Delete$6"]}, id="another-run-of-its-commands-is-written-out"),
        pytest.param([Family("r", "d", True, 1, 2), _EDIT],
                     ({"r1": ["d1"], "r2": ["d2"], "G": []}, {"G": [(0, _EDIT)]}),
                     {"r1": ["d1"], "r2": ["d2"],
                      "G": ["Edit$0", "Delete$0", "Edit$1", "Delete$1"]},
                     id="after-a-family"),
    ],
)
def test_a_form_keeps_rows_apart_until_asked_for_its_pairs(
    batches: list[Pairs | Family | Rows],
    compact: tuple[dict[str, list[str]], dict[str, list[tuple[int, Rows]]]],
    expected: dict[str, list[str]],
) -> None:
    form = PostForm(0, "/")
    for batch in copy.deepcopy(batches):  # (the form keeps a batch it gets first)
        form.add_pairs(batch)
    assert form.compact_pairs == compact
    assert form.pairs == expected
    assert form.compact_pairs == (expected, {})


def _add_pairs(form: PostForm, batch: Pairs | Family | Rows, *, by_head: bool) -> None:
    """``form.add_pairs(batch)`` finding runs by head (the index, ``by_head``) or trying each
    run and argument one by one (the way below its thresholds, the reference the index must
    agree with), whatever the form's size."""
    few = -1 if by_head else sys.maxsize
    with mock.patch.multiple(inject, _FEW_RUNS=few, _FEW_ARGUMENTS=few):
        form.add_pairs(copy.deepcopy(batch))  # (the form keeps a batch it gets first)


_HEADS = ["A$", "B$", "A0$", "A1$", "Page$", "x"]
_ARGUMENTS = ["A$0", "A$1", "A$3", "A$01", "B$2", "A0$1", "A1$0", "A1$00", "Page$4", "Sort",
              "x5", "x", ""]


@st.composite
def _batches(draw: st.DrawFn) -> list[Pairs | Family | Rows | None]:
    """Batches as the scanner gives a form (None: its pairs asked for in between)."""
    batches: list[Pairs | Family | Rows | None] = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["rows", "rows", "pairs", "family", "ask"]))
        target = draw(st.sampled_from(["G", "H"]))
        if kind == "rows":
            heads = draw(st.lists(st.sampled_from(_HEADS), min_size=1, max_size=2, unique=True))
            batches.append(Rows(target, tuple(heads), draw(st.integers(0, 4)),
                                draw(st.integers(2, 3))))
        elif kind == "pairs":
            batches.append({target: draw(st.lists(st.sampled_from(_ARGUMENTS), unique=True)),
                            **draw(st.dictionaries(st.sampled_from(["G", "H", "r1"]), st.lists(
                                st.sampled_from(_ARGUMENTS), min_size=1, unique=True),
                                max_size=1))})
        elif kind == "family":
            batches.append(Family("r", "d", True, draw(st.integers(0, 2)), 2))
        else:
            batches.append(None)
    return batches


@given(_batches())
@example([{"G": ["A$01", "x"]}, Rows("G", ("A$", "x"), 0, 2), {"G": ["A$1"]}])  # no row's
@settings(max_examples=300, deadline=None)
def test_runs_are_kept_apart_exactly_as_run_by_run(
        batches: list[Pairs | Family | Rows | None]) -> None:
    """The index of heads changes how fast, never what: each batch kept compact or written
    out as before, the pairs in the same order."""
    form, reference = PostForm(0, "/"), PostForm(0, "/")
    for batch in batches:
        if batch is None:
            assert form.pairs == reference.pairs
            continue
        _add_pairs(form, batch, by_head=True)
        _add_pairs(reference, batch, by_head=False)
        assert form.compact_pairs == reference.compact_pairs
        assert form.family == reference.family
    assert form.pairs == reference.pairs


@pytest.mark.parametrize("aspnet", [False, True], ids=["data-postback", "aspnet-links"])
def test_short_runs_of_one_target_keep_their_pairs(aspnet: bool) -> None:
    """Many short numbered runs of one target (what the compiled scanner reads as a Rows
    each), between plain arguments of it: every pair, in page order."""
    def link(argument: str) -> str:
        if aspnet:
            return f"<a href=\"javascript:__doPostBack('G','{argument}')\">x</a>"
        return f'<a data-postback="G" data-postback-argument="{argument}">x</a>'

    arguments = [f"A{k}${i}" for k in range(4) for i in range(2)]
    arguments[4:4] = ["Sort", "A0$1", "A0$2"]  # (one repeated, one a run's next number)
    arguments += ["A3$0", "A1$0", "A1$1"]  # (repeated: a run of A1$ again, written out)
    page = ('<form method="post" action="/g">' + "".join(map(link, arguments)) + "</form>")
    assert forms_of(page) == [("/g", [["G", a] for a in dict.fromkeys(arguments)])]


def _short_runs(count: int, *, plain: str) -> PostForm:
    """A form given ``count`` runs of two rows of one target (heads A0$, A1$...), with plain
    arguments of it before them all (``plain="before"``), between them or after them."""
    form = PostForm(0, "/")
    if plain == "before":
        form.add_pairs({"G": [f"B{k}$7" for k in range(count)]})
    for k in range(count):
        form.add_pairs(Rows("G", (f"A{k}$",), 0, 2))
        if plain == "between":
            form.add_pairs({"G": [f"C{k}"]})
    if plain == "after":
        form.add_pairs({"G": [f"A{k}$5" for k in range(count)]})
    return form


@pytest.mark.parametrize("plain", ["before", "between", "after"])
def test_short_runs_of_one_target_are_added_in_linear_work(plain: str) -> None:
    """Each run is checked against the heads of the earlier ones in a dict, each plain
    argument against the one run of its head (they were tried one by one: 8,000 runs, a
    0.9 MB page, took 2.3 s)."""
    assert growth(functools.partial(_short_runs, plain=plain), 300) < 2.5
    form = _short_runs(3, plain="between")
    assert form.compact_pairs == ({"G": ["C0", "C1", "C2"]}, {"G": [
        (0, Rows("G", ("A0$",), 0, 2)), (1, Rows("G", ("A1$",), 0, 2)),
        (2, Rows("G", ("A2$",), 0, 2))]})


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


def test_the_forms_of_a_piece_are_signed_together() -> None:
    """The forms whose tokens a piece writes are signed in one call (so that they may share a
    page token): a whole page's in one, a streamed page's a call a piece, each form once."""
    document = b"<body>" + b"".join(
        b'<form method="post" action="/rows/%d/delete"><button>x</button></form>' % n
        for n in range(1, 7)) + b"</body>"
    calls: list[list[str]] = []

    def sign(forms: list[PostForm]) -> list[tuple[str, str]]:
        calls.append([form.action_path for form in forms])
        return [(f"VS{len(calls)}", f"EV{len(calls)}:{form.action_path}") for form in forms]

    out = injector(sign_forms=sign).edit(document)
    assert calls == [[f"/rows/{n}/delete" for n in range(1, 7)]]
    assert out.count(b'value="VS1"') == 6
    calls.clear()
    editor = injector(sign_forms=sign)
    cuts = [0, 100, 170, 300, len(document)]
    pieces = [editor.feed(document[a:b]) for a, b in itertools.pairwise(cuts)]
    pieces.append(editor.finish())
    assert [path for call in calls for path in call] == [f"/rows/{n}/delete" for n in range(1, 7)]
    assert len(calls) > 1
    for n in range(1, 7):  # each form's two tokens from the same call
        assert re.search(rb'value="VS(\d)" /><input [^>]*value="EV\1:/rows/%d/delete"' % n,
                         b"".join(pieces))


@pytest.mark.parametrize(
    ("document", "cuts", "settled"),
    [
        pytest.param(b'<form method="post" action="/a/1"></form>' * 2, [], [True, True],
                     id="a-whole-page"),
        pytest.param(b'<form method="post" action="/a/1"></form>' * 2 + b"<p>more</p>", [90],
                     [False, False], id="a-piece-before-the-end"),
        pytest.param(b'<form method="post"></form>' * 2 + b"<p>more</p>", [60], [True, True],
                     id="forms-without-an-action-in-a-piece-before-the-end"),
        pytest.param(b'<script src="/htmx.min.js"></script>'
                     + b'<form method="post" action="/a/1"></form>' * 2, [], [False, False],
                     id="a-page-that-uses-htmx"),
    ],
)
def test_a_form_is_settled_when_nothing_later_can_send_it_elsewhere(
    document: bytes, cuts: list[int], settled: list[bool]
) -> None:
    """What lets a form share its page's token (see page_tokens): nothing later in the page,
    read after its fields were sent, can send it elsewhere."""
    found: list[PostForm] = []

    def sign(forms: list[PostForm]) -> list[tuple[str, str]]:
        found.extend(forms)
        return [("VS", "EV")] * len(forms)

    if cuts:
        editor = injector(sign_forms=sign)
        bounds = [0, *cuts, len(document)]
        for a, b in itertools.pairwise(bounds):
            editor.feed(document[a:b])
        editor.finish()
    else:
        injector(sign_forms=sign).edit(document)
    assert [form.settled for form in found] == settled


def test_forms_that_could_not_be_signed_keep_their_empty_fields() -> None:
    document = b'<form method="post"></form>' * 3

    def sign(forms: list[PostForm]) -> list[tuple[str, str]]:
        return [("", "")] * len(forms)

    out = injector(sign_forms=sign).edit(document)
    assert out.count(b'<input type="hidden" name="__VIEWSTATE" value="" />') == 2
    assert out.count(b'name="__EVENTVALIDATION"') == 3  # (and ids on the first form's)


def test_buffered_and_single_piece_pages_get_everything_on_top() -> None:
    document = b'<head></head><form method="post"><a data-postback="x"></a></form>'
    for out in (injector().edit(document), streamed(document, [])):
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


# -- tokens never leave the origin ------------------------------------------------------------

EVIL = "https://evil.example/"


def expect_withheld(document: str, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    """Whole, in one piece, or cut inside the form: no token field, and the log says which
    form and why."""
    encoded = document.encode()
    cut = encoded.index(b"<form") + 8
    for out in (run(document), streamed(encoded, []), streamed(encoded, [cut])):
        assert out is not None
        assert b'name="__EVENTTARGET"' in out
        assert b'name="__VIEWSTATE"' not in out
        assert b'name="__EVENTVALIDATION"' not in out
    assert "post form #1" in caplog.text
    assert "gets no tokens" in caplog.text
    assert reason in caplog.text

@pytest.mark.parametrize(
    ("document", "reason"),
    [
        # a submit button inside the form
        pytest.param(f'<form method="post"><button formaction="{EVIL}"></form>',
                     "formaction that leaves the origin", id="button-off-origin"),
        pytest.param('<form method="post"><button type=SUBMIT formaction="//evil.example/">'
                     "</form>", "formaction that leaves the origin",
                     id="submit-button-scheme-relative"),
        pytest.param('<form method="post"><input type=image formaction="http://evil.example/">'
                     "</form>", "formaction that leaves the origin", id="image-input-off-origin"),
        pytest.param('<form method="post"><button formmethod="get"></form>',
                     "formmethod='get'", id="button-formmethod-get"),
        pytest.param('<form method="post"><input type=submit formmethod=GET></form>',
                     "formmethod='GET'", id="submit-input-formmethod-get-upper-case"),
        pytest.param('<form method="post"><input type=image formmethod=get></form>',
                     "formmethod='get'", id="image-input-formmethod-get"),
        pytest.param('<form method="post"><button formmethod=""></form>',
                     "formmethod=''", id="empty-formmethod-is-get"),
        pytest.param('<form method="post"><button formmethod="put"></form>',
                     "formmethod='put'", id="invalid-formmethod-is-get"),
        pytest.param('<form method="post"><button form=other formaction="//evil.example/">'
                     "</form>", "a submit button inside it has a formaction",
                     id="button-inside-naming-another-form-counts-too"),
        # a <base href> that sends a non-empty action elsewhere
        pytest.param(f'<base href="{EVIL}"><form method="post" action="save"></form>',
                     "resolved against <base href='https://evil.example/'> leaves the origin",
                     id="base-off-origin-relative-action"),
        pytest.param(f'<base href="{EVIL}"><form method="post" action="/save"></form>',
                     "leaves the origin", id="base-off-origin-path-action"),
        pytest.param('<base href="//evil.example/x/"><form method="post" action="?a=1"></form>',
                     "leaves the origin", id="base-scheme-relative"),
        pytest.param('<base href=" https://evil.example/ "><form method="post" action="s"></form>',
                     "leaves the origin", id="base-with-spaces"),
        pytest.param('<base href="javascript:alert(1)//"><form method="post" action="s"></form>',
                     "leaves the origin", id="base-javascript-in-doubt"),
        pytest.param(f'<form method="post" action="save"></form><base href="{EVIL}">',
                     "leaves the origin", id="base-after-the-form"),
        pytest.param(f'<base href="/shop/"><base href="{EVIL}"><form method="post" action="s">'
                     "</form>", "leaves the origin", id="second-base-in-doubt"),
        pytest.param(f'<svg><base href="{EVIL}"/></svg><form method="post" action="s"></form>',
                     "leaves the origin", id="base-in-svg-in-doubt"),
        pytest.param(f'<body><p><base href="{EVIL}"><form method="post" action="s"></form>',
                     "leaves the origin", id="base-in-body"),
        pytest.param(f'<base href="{EVIL}"><form method="post"><button formaction="save">'
                     "</form>", "formaction that leaves the origin",
                     id="base-sends-a-relative-formaction-elsewhere"),
        # a submit button elsewhere in the page that names the form by form="ID"
        pytest.param(f'<form id="f1" method="post"></form><button form="f1" formaction="{EVIL}">',
                     "form='f1' has a formaction that leaves the origin",
                     id="form-attribute-button-after-the-form"),
        pytest.param(f'<button form="f1" formaction="{EVIL}"></button><form id="f1" method="post">'
                     "</form>", "form='f1' has a formaction", id="form-attribute-button-before"),
        pytest.param(f'<form id="f1" method="post"></form><input type=image form=f1 '
                     f'formaction="{EVIL}">', "formaction that leaves the origin",
                     id="form-attribute-image-input"),
        pytest.param('<form id="f1" method="post"></form><input type=submit form=f1 '
                     "formmethod=get>", "formmethod='get'", id="form-attribute-formmethod-get"),
        pytest.param('<form id="f1" method="post"></form><form method="get">'
                     f'<button form="f1" formaction="{EVIL}"></form>', "formaction",
                     id="form-attribute-button-inside-a-get-form"),
        pytest.param(f'<form id="f1" method="post"></form><button form="F1" formaction="{EVIL}">',
                     "formaction", id="form-attribute-case-in-doubt"),
        pytest.param(f'<base href="{EVIL}"><form id=f1 method="post"></form>'
                     '<button form="f1" formaction="x">', "formaction",
                     id="form-attribute-relative-formaction-and-base"),
        # After a </form> that comes before the end of an element opened inside the form, the
        # browser keeps that element, and a button in it, in the form: the scanner cannot
        # tell such an end from a plain one, so a submit button that could send a form
        # elsewhere, where no form is open, counts for every post form before it.
        pytest.param(f'<form method="post" action="/comment"><div></form><button formaction='
                     f'"{EVIL}">Send</button></div>', "after its end that no form holds",
                     id="misnested-end-in-a-div"),
        pytest.param('<form method="post"><table><tr><td></form><button formmethod="get">',
                     "formmethod='get'", id="misnested-end-in-a-table-cell"),
        pytest.param(f'<form method="post"><object></form><input type=image formaction='
                     f'"{EVIL}"></object>', "formaction that leaves the origin",
                     id="misnested-end-in-an-object"),
        pytest.param(f'<form method="post"><math><mi></form><button formaction="{EVIL}">',
                     "after its end", id="misnested-end-in-a-math-text-point"),
        pytest.param(f'<form method="post"><svg><foreignObject></form><button formaction='
                     f'"{EVIL}">', "after its end", id="misnested-end-in-foreign-object"),
        pytest.param(f'<form method="post"><template></form></template><button formaction='
                     f'"{EVIL}">', "after its end", id="end-in-a-template"),
        pytest.param(f'<form method="post"></form><button formaction="{EVIL}">',
                     "after its end", id="button-after-a-form-without-id"),
        pytest.param(f'<form method="post" action="/a"></form><p><form method="post" action="/b">'
                     f'<div></form><button formaction="{EVIL}">', "after its end",
                     id="misnested-second-form-the-first-in-doubt-too"),
        # <noscript> content is markup to a browser with scripting off
        pytest.param(f'<head><noscript><base href="{EVIL}"></noscript></head>'
                     '<form method="post" action="s"></form>', "leaves the origin",
                     id="base-in-noscript"),
        pytest.param(f'<form id="f1" method="post"></form><noscript><p><button form="f1" '
                     f'formaction="{EVIL}"></noscript>', "formaction that leaves the origin",
                     id="form-attribute-button-in-noscript"),
        pytest.param(f'<noscript><noscript><base href="{EVIL}"></noscript></noscript>'
                     '<form method="post" action="s"></form>', "<noscript> inside a <noscript>",
                     id="nested-noscript-in-doubt"),
        # a <form> left open in a <noscript>: with scripting off, the form element pointer
        # stays set after </noscript>, so the next form's start tag is ignored and its fields
        # join that form (a GET: the tokens in the URL; or another origin's)
        pytest.param('<noscript><form method="get" action="/search"><input name=q></noscript>'
                     '<form method="post" action="s"><input name=note></form>',
                     "a <form> left open inside a <noscript>", id="get-form-left-open-in-noscript"),
        pytest.param(f'<noscript><form method="post" action="{EVIL}"></noscript>'
                     '<form method="post" action="s"></form>',
                     "a <form> left open inside a <noscript>", id="off-origin-form-in-noscript"),
        pytest.param('<noscript><p><form><input name=q></p></noscript><p>'
                     '<form method="post"></form>', "a <form> left open inside a <noscript>",
                     id="form-without-attributes-left-open-in-noscript"),
        pytest.param('<noscript><noscript><form method="get"></noscript></noscript>'
                     '<form method="post"></form>', "may leave a <form> open",
                     id="nested-noscript-may-leave-a-form-open"),
    ],
)
def test_tokens_withheld_when_the_page_could_send_them_elsewhere(
    document: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    expect_withheld(document, reason, caplog)


@pytest.mark.parametrize(
    ("document", "path"),
    [
        pytest.param('<form method="post"><button type=button formaction="//evil.example/">'
                     "</form>", "/cart/view", id="plain-button-ignored"),
        pytest.param('<form method="post"><input type=" submit" formaction="//evil.example/">'
                     "</form>", "/cart/view", id="invalid-input-type-is-text"),
        pytest.param('<form method="post"><button type=reset formmethod=get></form>',
                     "/cart/view", id="reset-button-ignored"),
        pytest.param('<form method="post"><button formaction="/elsewhere"></form>', "/cart/view",
                     id="same-origin-formaction"),
        pytest.param('<form method="post"><button formaction=""></form>', "/cart/view",
                     id="empty-formaction-is-the-page"),
        pytest.param('<form method="post"><button formmethod="POST"><button formmethod=dialog>'
                     "</form>", "/cart/view", id="formmethod-post-or-dialog"),
        pytest.param('<form method="post"><button formtarget="_blank"></form>', "/cart/view",
                     id="formtarget-irrelevant"),
        pytest.param(f'<base href="{EVIL}"><form method="post"></form>', "/cart/view",
                     id="off-origin-base-empty-action-is-the-page"),
        pytest.param(f'<base href="{EVIL}"><form method="post" action=""><button formaction="">'
                     "</form>", "/cart/view", id="off-origin-base-empty-action-and-formaction"),
        pytest.param(f'<base href="{EVIL}"><form method="post" action="http://shop.example/p">'
                     "</form>", "/p", id="off-origin-base-absolute-action"),
        pytest.param('<base href="/shop/"><form method="post" action="save"></form>', "/shop/save",
                     id="same-origin-base-binds-the-resolved-path"),
        pytest.param('<base href="http://shop.example/a/b"><form method="post" action="../c">'
                     "</form>", "/c", id="same-origin-absolute-base"),
        pytest.param('<form method="post" action="save"></form><base href="/shop/">',
                     "/shop/save", id="same-origin-base-after-the-form"),
        pytest.param('<base target="_top"><form method="post" action="save"></form>', "/cart/save",
                     id="base-without-href-ignored"),
        pytest.param(f'<!-- <base href="{EVIL}"> --><script>"<base href={EVIL}>"</script>'
                     '<form method="post" action="save"></form>', "/cart/save",
                     id="base-in-comment-or-script-is-text"),
        pytest.param(f'<form id="f1" method="post"></form><button form="f2" formaction="{EVIL}">',
                     "/cart/view", id="form-attribute-naming-another-form"),
        pytest.param('<form id="f1" method="post"></form><button form="f1">', "/cart/view",
                     id="form-attribute-plain-submit"),
        pytest.param('<form id="f1" method="post"></form><button form="f1" formaction="/x">',
                     "/cart/view", id="form-attribute-same-origin-formaction"),
        pytest.param(f'<form id="f1" method="post"></form><button type=button form="f1" '
                     f'formaction="{EVIL}">', "/cart/view", id="form-attribute-plain-button"),
        pytest.param(f'<form id="f1" method="post"></form><input form="f1" formaction="{EVIL}" '
                     'name="q">', "/cart/view", id="form-attribute-text-input"),
        pytest.param('<form method="post"></form><button formaction="/x">', "/cart/view",
                     id="same-origin-formaction-after-a-form"),
        pytest.param(f'<button formaction="{EVIL}"></button><form method="post"></form>',
                     "/cart/view", id="off-origin-formaction-before-any-form"),
        pytest.param(f'<form method="post"></form><form method="get"><button formaction="{EVIL}">'
                     "</form>", "/cart/view", id="off-origin-formaction-in-a-get-form-after"),
        pytest.param('<form method="post" class="form-horizontal"><p class="form-group">'
                     '<input class="form-control" name="x"></form>', "/cart/view",
                     id="form-words-in-classes"),
        pytest.param('<noscript><p>Please enable JavaScript</p><base target=_top></noscript>'
                     '<form method="post" action="s"></form>', "/cart/s",
                     id="noscript-without-base-or-buttons"),
        pytest.param('<noscript><base href="/shop/"></noscript><form method="post" action="s">'
                     "</form>", "/shop/s", id="same-origin-base-in-noscript"),
        # (a no-JS search form: closed inside the <noscript>, or by a </form> after it, which
        # clears the form element pointer before the post form starts)
        pytest.param('<noscript><form method="get" action="/search"><input name=q></form>'
                     '</noscript><form method="post" action="s"></form>', "/cart/s",
                     id="closed-form-in-noscript"),
        pytest.param('<noscript><form method="get" action="/search"><input name=q></noscript>'
                     '</form><form method="post" action="s"></form>', "/cart/s",
                     id="form-in-noscript-closed-after-it"),
        pytest.param('<form method="get" action="/search"><noscript><form method="post">'
                     '</noscript></form><form method="post" action="s"></form>', "/cart/s",
                     id="form-in-noscript-inside-a-form-ignored"),
    ],
)
def test_tokens_given_when_the_page_keeps_them_home(
    document: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    encoded = document.encode()
    cut = encoded.index(b"<form") + 8
    for out in (run(document), streamed(encoded, []), streamed(encoded, [cut])):
        assert out is not None
        assert out.count(b'name="__VIEWSTATE" id="__VIEWSTATE" value="VS"') == 1
        assert b'name="__EVENTVALIDATION"' in out
    editor = injector()
    editor.edit(encoded)
    assert [form.action_path for form in editor.forms] == [path]
    assert not editor.forms[0].posts_elsewhere
    assert "tokens" not in caplog.text


def test_a_form_left_open_in_noscript_takes_only_the_next_forms_tokens(
        caplog: pytest.LogCaptureFixture) -> None:
    """With scripting off, the form element pointer that a <form> left open in a <noscript>
    set stays set until the next </form>: only the next form's fields join that form. So that
    form gets no tokens (and a warning), and the forms after its end get theirs: whole, in
    pieces, and a list page's bare forms signed in bulk."""
    document = ('<noscript><form method="get" action="/search"><input name=q></noscript>'
                + "".join(f'<form method="post" action="/p{n}"><input name=n></form>'
                          for n in range(4))).encode()
    bulk, _ = _bulk_injector(True)
    for out in (run(document.decode()), streamed(document, [30, 90, 150]),
                bulk.edit(document)):
        assert out is not None
        forms = out.split(b'<form method="post"')[1:]
        assert [b'name="__VIEWSTATE"' in form for form in forms] == [False, True, True, True]
        assert all(b'name="__EVENTTARGET"' in form for form in forms)
    assert "post form #1" in caplog.text
    assert "gets no tokens" in caplog.text and "left open inside a <noscript>" in caplog.text
    assert "post form #2" not in caplog.text


def test_a_streamed_form_ended_inside_a_noscript_gets_no_tokens_at_its_end(
        caplog: pytest.LogCaptureFixture) -> None:
    """A </form> inside a <noscript> ends the form open around it for a browser with scripting
    off, and a <form> after it there starts another: the tokens of a form whose start came in
    an earlier piece, written at its end, would join that one (a GET here)."""
    first = b'<form method="post" action="/save"><input name=note>'
    second = (b'<noscript></form><form method="get" action="/search"></noscript>'
              b"<button>Go</button></form>")
    out = streamed(first + second, [len(first)])
    assert b'name="__EVENTTARGET"' in out and b"__VIEWSTATE" not in out
    assert "a </form> inside a <noscript> ends it early" in caplog.text


@pytest.mark.parametrize(
    "late",
    [
        pytest.param(f'<base href="{EVIL}">', id="base"),
        pytest.param(f'<button form="f1" formaction="{EVIL}">Go</button>', id="form-attribute"),
        pytest.param('<input type="image" form="f1" formmethod="get">', id="form-attribute-get"),
    ],
)
def test_streamed_form_sent_before_a_later_piece_redirects_it(
    late: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Tokens that left in an earlier piece cannot be taken back: the log says so; forms
    after it are judged with what came."""
    first = b'<form id="f1" method="post" action="save"><a data-postback="x"></a></form>'
    second = (late + '<form id="f1" method="post" action="save"></form>').encode()
    editor = injector()
    out = editor.feed(first) + editor.feed(second) + editor.finish()
    assert out.count(b'name="__VIEWSTATE"') == 1  # the first form's, sent with the first piece
    assert [form.posts_elsewhere for form in editor.forms] == [False, True]
    assert "post form #1 id='f1' (posting to '/cart/save'): its tokens were sent in an earlier" \
        " piece" in caplog.text
    assert "cannot be taken back" in caplog.text
    assert "post form #2 id='f1' (posting to '/cart/save') gets no tokens" in caplog.text


@pytest.mark.parametrize("action", ["&#xA0;", "&nbsp;", "&#x2028;", "&#x85;"],
                         ids=["nbsp", "nbsp-named", "line-separator", "next-line"])
def test_an_action_of_unicode_space_is_resolved_against_the_base(action: str) -> None:
    """(a red-team pass: str.strip took it for no action, the page itself, so the form got
    tokens that a browser sent to the <base href>'s origin)"""
    document = (f'<base href="https://cdn.example/assets/"><form method="post" '
                f'action="{action}"><button>Go</button></form>').encode()
    editor = injector()
    assert b"__VIEWSTATE" not in editor.edit(document)
    assert b"__VIEWSTATE" in injector().edit(document.replace(b"<base", b"<br"))


@pytest.mark.parametrize("action", ["///evil.example/x", "/&#92;/evil.example/x",
                                    "&#92;&#92;&#92;evil.example/x", "/&#47;&#x2F;evil.example"])
def test_a_form_posting_to_three_slashes_gets_no_tokens(action: str) -> None:
    """(a red-team pass: Python's parser read them as paths on this host, a browser as host
    evil.example: a script's form.submit() sent the tokens there; whole and streamed)"""
    document = f'<form method="post" action="{action}"><input name=q></form>'.encode()
    for out in (injector().edit(document), streamed(document, [10, 30])):
        assert b"__VIEWSTATE" not in out


@pytest.mark.parametrize("inside", [
    "<svg><form></form></svg>", "<math><form></form></math>",
    "<svg><g><form></g></svg>", "<select><option></form>", "<select></form></select>",
], ids=["svg", "math", "svg-form-left-open", "select-left-open", "select"])
def test_a_post_form_inside_a_get_form_gets_no_tokens_whatever_closes_it_for_nothing(
        inside: str) -> None:
    """(a red-team pass, checked in Chromium: an <svg>'s </form> closed the GET form to the
    injector, not to the browser, which then ignored the post form's start and sent its
    fields, tokens too, in the GET form's URL; a <select> ignores a </form> too) Whole and
    streamed, on both engines."""
    document = (f'<form method="get" action="/search"><input name=q>{inside}'
                '<form method="post" action="/save"><button>Save</button></form>').encode()
    for out in (injector().edit(document), streamed(document, [40, 70])):
        assert b"__VIEWSTATE" not in out


def test_a_form_after_a_foreign_objects_form_end_is_its_own() -> None:
    """(at an HTML integration point </form> is the HTML one: the form pointer is gone, so
    a browser makes the next <form> a form of its own, nested in the DOM: its fields are its)"""
    document = (b'<form method="get"><svg><foreignObject><form></form></foreignObject></svg>'
                b'<form method="post" action="/save"><button>Save</button></form>')
    assert b"__VIEWSTATE" in injector().edit(document)


def test_base_url_resolves_against_the_page() -> None:
    assert base_url("/shop/", PAGE_URL) == "http://shop.example/shop/"
    assert base_url(" //evil.example/\t", PAGE_URL) == "http://evil.example/"
    assert base_url("", PAGE_URL) == PAGE_URL
    assert action_path("save", PAGE_URL, "http://shop.example/shop/") == "/shop/save"
    assert action_path("", PAGE_URL, EVIL) == "/cart/view"
    assert action_path("save", PAGE_URL, EVIL) is None


# -- a page's bases and form="ID" buttons cost linear time (red team, complexity) -------------
# (found by a red-team pass: every form was checked against every <base> and every button
# naming its id, and a streamed page's forms sent were checked anew, and logged, on every piece
# that brought one: 1,100 forms and 1,100 distinct bases took 20 s, and 71 KB of page logged
# 83 MB.) The shapes of the repros, small: what each form gets, how many times a URL is
# resolved (at most a few a form or button, and once a distinct URL and base), and how much
# the warnings say.

_FORMS = b'<form method="post" action="a"><input name=q></form>'
_FORMS_F = b'<form method="post" action="a" id="f"><input name=q></form>'


def _pieces(head: bytes, tail: list[bytes]) -> tuple[bytes, list[int]]:
    """A streamed page: ``head`` in its first piece, then each of ``tail`` in a piece."""
    cuts, at = [], len(head)
    for part in tail:
        cuts.append(at)
        at += len(part)
    return head + b"".join(tail), cuts


# (id, the page of n (its pieces: None, whole), what the forms get: (how many got tokens, their
# paths, their other paths, how many were said to be late), the warnings' most records)
_Shape = Callable[[int], tuple[bytes, list[int] | None]]
_SHAPES: list[tuple[str, _Shape, Callable[[int], tuple[int, set[str], set[tuple[str, ...]],
                                                        int]], Callable[[int], int]]] = [
    ("forms-x-one-base-repeated",
     lambda n: (_FORMS * n + b'<base href="/x/">' * n, None),
     lambda n: (n, {"/x/a"}, {()}, 0), lambda n: 0),
    ("forms-x-distinct-same-origin-bases",
     lambda n: (_FORMS * n + b"".join(b'<base href="/x%d/">' % i
                                      for i in range(inject.MAX_BASES)), None),
     lambda n: (n, {"/x0/a"}, {()}, 0), lambda n: 0),
    ("forms-x-more-distinct-bases-than-are-resolved",  # (in doubt: see MAX_BASES)
     lambda n: (_FORMS * n + b"".join(b'<base href="/x%d/">' % i
                                      for i in range(inject.MAX_BASES + 1)), None),
     lambda n: (0, {"/cart/a"}, {()}, 0), lambda n: n),
    ("forms-x-distinct-off-origin-bases",
     lambda n: (_FORMS * n + b"".join(b'<base href="https://e%d.example/">' % i
                                      for i in range(n)), None),
     lambda n: (0, {"/cart/a"}, {()}, 0), lambda n: n),
    ("forms-x-form-id-buttons-x-bases",
     lambda n: (_FORMS_F * n + b'<button form="f" formaction="/y">x</button>' * n
                + b'<base href="/x/">' * n, None),
     lambda n: (n, {"/x/a"}, {("/y",)}, 0), lambda n: 0),
    ("forms-x-form-id-buttons",
     lambda n: (_FORMS_F * n + b'<button form="f" formaction="/y">x</button>' * n, None),
     lambda n: (n, {"/cart/a"}, {("/y",)}, 0), lambda n: 0),
    ("forms-x-form-id-buttons-to-distinct-paths",
     lambda n: (_FORMS_F * n + b"".join(b'<button form="f" formaction="/y%d">x</button>' % i
                                        for i in range(n)), None),
     lambda n: (n, {"/cart/a"}, {tuple(f"/y{i}" for i in range(MAX_EXTRA_PATHS))}, 0),
     lambda n: n),
    ("forms-x-form-id-buttons-off-origin",
     lambda n: (_FORMS_F * n + b"".join(
         b'<button form="f" formaction="https://e%d.example/">x</button>' % i
         for i in range(n)), None),
     lambda n: (0, {"/cart/a"}, {()}, 0), lambda n: n),
    ("streamed-forms-then-a-base-a-piece",
     lambda n: _pieces(_FORMS * n, [b'<base href="/x/">'] * n),
     lambda n: (n, {"/cart/a"}, {()}, 0), lambda n: 0),
    ("streamed-forms-then-distinct-bases-a-piece",
     lambda n: _pieces(_FORMS * n, [b'<base href="/x%d/">' % i for i in range(n)]),
     lambda n: (n, {"/cart/a"}, {()}, n), lambda n: n),
    ("streamed-forms-then-off-origin-bases-a-piece",
     lambda n: _pieces(_FORMS * n, [b'<base href="https://e%d.example/">' % i
                                    for i in range(n)]),
     lambda n: (n, {"/cart/a"}, {()}, n), lambda n: n),
    ("streamed-forms-then-buttons-naming-no-form-a-piece",
     lambda n: _pieces(_FORMS * n, [b'<button form="z" formaction="/y">x</button>'] * n),
     lambda n: (n, {"/cart/a"}, {()}, 0), lambda n: 0),
    ("streamed-forms-of-an-id-then-buttons-naming-it-a-piece",
     lambda n: _pieces(_FORMS_F * n, [b'<button form="f" formaction="https://e%d.example/">x'
                                      b"</button>" % i for i in range(n)]),
     lambda n: (n, {"/cart/a"}, {()}, n), lambda n: n),
]


def _read_counting(document: bytes, cuts: list[int] | None, monkeypatch: pytest.MonkeyPatch,
                   caplog: pytest.LogCaptureFixture
                   ) -> tuple[inject.FieldInjector, bytes, int, int]:
    """``document`` through an injector (whole, or in pieces cut at ``cuts``), counting the
    calls of action_path, which resolves a URL against the page or a base, and of
    FieldInjector._doubts, which judges a form."""
    calls = judged = 0
    resolve, doubts = inject.action_path, inject.FieldInjector._doubts

    def counting(action: str | None, page_url: str, base: str | None = None) -> str | None:
        nonlocal calls
        calls += 1
        return resolve(action, page_url, base)

    def judging(self: inject.FieldInjector, form: PostForm) -> list[str]:
        nonlocal judged
        judged += 1
        return doubts(self, form)

    caplog.clear()
    with monkeypatch.context() as patch, caplog.at_level(logging.WARNING,
                                                         logger="postback_middleware"):
        patch.setattr(inject, "action_path", counting)
        patch.setattr(inject.FieldInjector, "_doubts", judging)
        editor = injector()
        out = editor.edit(document) if cuts is None else streamed_by(editor, document, cuts)
    return editor, out, calls, judged


@pytest.mark.parametrize(("make", "expect", "records"),
                         [pytest.param(*shape[1:], id=shape[0]) for shape in _SHAPES])
def test_a_pages_bases_and_form_id_buttons_cost_linear_time(
        make: _Shape, expect: Callable[[int], tuple[int, set[str], set[tuple[str, ...]], int]],
        records: Callable[[int], int], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """What each form gets is what every base and every button naming it say (the reference
    reading, leaves_origin over all of them, would say the same), for a cost of a few
    resolutions a form, button or base, and warnings of a bounded size, at most one a form."""
    for n in (30, 60):
        document, cuts = make(n)
        editor, out, calls, judged = _read_counting(document, cuts, monkeypatch, caplog)
        forms = editor.forms
        tokens, paths, extra, late = expect(n)
        assert len(forms) == n
        assert sum(not form.withheld for form in forms) == out.count(b'name="__VIEWSTATE"') \
            == tokens
        assert {form.action_path for form in forms} == paths
        assert {tuple(form.extra_paths) for form in forms} == extra
        assert sum(bool(form.late) for form in forms) == late
        assert len(caplog.records) <= records(n)
        assert all(len(record.getMessage()) < 2500 for record in caplog.records)
        # (each form and button resolves its URLs a few times; each distinct URL once
        # against each distinct base, and at most MAX_BASES of them)
        assert calls <= 4 * n + 2 * (inject.MAX_BASES + 2), calls
        # (each form is judged when its tokens are written, and a streamed page's forms sent
        # again only when the page's bases change, at most MAX_BASES + 1 times)
        assert judged <= (inject.MAX_BASES + 3) * n, judged


def test_a_withheld_forms_warning_lists_a_few_reasons(caplog: pytest.LogCaptureFixture) -> None:
    """One warning a form, whatever the page holds: its first reasons, then how many more."""
    document = (_FORMS + b"".join(b'<button form="f" formaction="https://e%d.example/">x'
                                  b"</button>" % i for i in range(50))
                + b'<form method="post" id="f"><button formmethod="get">'
                + b"".join(b'<button formaction="//e%d.example/">' % i for i in range(50))
                + b"</form>")
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        editor = injector()
        editor.edit(document)
    form = editor.forms[1]
    assert form.withheld[0] == "a submit button inside it has formmethod='get': that" \
        " submission puts the tokens in the URL"
    assert len(form.withheld) == 1 + 50 + inject.MAX_REASONS + 1  # (its own, then a few)
    assert form.withheld[-1] == "and 42 more of the controls naming it by form='f'"
    [record] = caplog.records
    said = record.getMessage()
    assert said.startswith("post form #2 id='f' (posting to '/cart/view') gets no tokens")
    assert said.endswith(f"; and {len(form.withheld) - inject.MAX_REASONS} more")
    assert said.count("leaves the origin") == inject.MAX_REASONS - 1


def test_a_sent_form_is_said_to_be_late_once(caplog: pytest.LogCaptureFixture) -> None:
    """A streamed page's form whose tokens left is said to be late once, with what made it
    so then, however many later pieces bring more (each a record, on every piece, made the
    log grow with the pieces times the forms)."""
    editor = injector()
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        editor.feed(b'<form method="post" action="save" id="f"></form>')
        for i in range(30):
            editor.feed(b'<base href="https://e%d.example/">' % i)
            editor.feed(b'<button form="f" formaction="https://b%d.example/">' % i)
        editor.finish()
    [form] = editor.forms
    assert form.late == ("its action 'save' resolved against <base href='https://e0.example/'>"
                         " leaves the origin",)
    assert caplog.text.count("were sent in an earlier piece") == 1


def test_more_distinct_bases_than_are_resolved_put_every_url_in_doubt() -> None:
    """Past MAX_BASES distinct <base href>s (no page needs two), an action or a formaction
    is not resolved against each: any non-empty one is in doubt (when in doubt, withhold);
    the page itself (an empty action) is what it is whatever the base."""
    bases = b"".join(b'<base href="/x%d/">' % i for i in range(inject.MAX_BASES + 1))
    for document, tokens in [
        (bases + b'<form method="post" action="a"></form>', False),
        (bases + b'<form method="post"></form>', True),
        (bases + b'<form method="post"><button formaction="/y">x</button></form>', False),
        (bases + b'<form method="post"><button formaction="">x</button></form>', True),
        (bases[:-len(b'<base href="/x16/">')] + b'<base href="/x0/"><base href="/x1/">'
         b'<form method="post" action="a"></form>', True),  # (the same again: 16 distinct)
    ]:
        for out in (injector().edit(document), streamed(document, [30, len(bases)])):
            assert (b'name="__VIEWSTATE"' in out) == tokens, document


# -- linear streaming -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        pytest.param(b"<script>", b"</script>", id="inline-script"),
        pytest.param(b"<script><!--<script>", b"</script>--></script>", id="script-escaped"),
        pytest.param(b"<textarea>", b"</textarea>", id="textarea"),
        pytest.param(b"<!--", b"-->", id="comment"),
    ],
)
def test_long_raw_text_streamed_keeps_a_few_bytes(opening: bytes, closing: bytes) -> None:
    """A page whose pieces end inside a long inline script (or other raw text) is not read
    again from its start tag with each piece: the injector keeps a few bytes between pieces."""
    body = b"if (a < b && c--) { s = '</scrip' + '<!-' + x; }\n" * 20_000  # 1 MB
    document = (b'<html><head></head><body><form method="post"><a data-postback="x"></a>'
                + opening + body + closing + b"</form></body></html>")
    editor = injector()
    out = []
    for start in range(0, len(document), 8192):
        out.append(editor.feed(document[start:start + 8192]))
        assert len(editor._kept) <= 10
    out.append(editor.finish())
    assert b"".join(out) == streamed(document, [8192])  # (the same as in two pieces)
    assert INSERTED.sub(b"", b"".join(out)) == document


def test_long_tag_streamed_grows_one_buffer() -> None:
    """A tag still open when a piece ends is kept whole (its attributes are needed), in one
    buffer that the next pieces are added to: no copy of it per piece."""
    tag = b'<form method="post" data-big="' + b"v" * 200_000 + b'">'
    document = b"<p>" + tag + b'<a data-postback="x"></a></form>'
    editor = injector()
    out, buffers = [], []
    for start in range(0, len(document), 8192):
        out.append(editor.feed(document[start:start + 8192]))
        if start > 0 and start + 8192 < 3 + len(tag):  # the form tag is still open
            buffers.append(editor._kept)
            assert out[-1] == b""
    out.append(editor.finish())
    assert len(buffers) > 20
    assert all(buffer is buffers[0] for buffer in buffers)
    assert out[0] == b"<p>"
    assert b"".join(out) == injector().edit(document)


def _applied_bytes(editor: inject.FieldInjector) -> list[int]:
    """The lengths of what each call of ``editor._apply`` is given (each is copied there)."""
    sizes: list[int] = []
    apply = editor._apply

    def counted(whole: bytes | bytearray, *args: object, **kwargs: object) -> bytes:
        sizes.append(len(whole))
        return apply(whole, *args, **kwargs)  # type: ignore[arg-type]

    editor._apply = counted  # type: ignore[method-assign]
    return sizes


def test_a_long_tag_read_ahead_grows_one_buffer(scanner_engine: str) -> None:
    """(found by a red-team pass) A tag longer than what _feed_ahead sends unread
    (_MOST_UNREAD) on a page without a post form yet (an inline data: image) is kept in one
    buffer that the next pieces are added to, not joined again and given to _apply with each
    piece: each byte is copied a few times, not once a piece."""
    tag = b'<div title="' + b"x" * (3 * inject._MOST_UNREAD) + b'">'
    document = (b"<html><head></head><body>" + tag + b"</div>"
                b'<form method="post"><a data-postback="x"></a></form></body></html>')
    editor = injector()
    applied = _applied_bytes(editor)
    out, buffers = [], []
    for start in range(0, len(document), 4096):
        out.append(editor.feed(document[start:start + 4096]))
        if inject._MOST_UNREAD + 8192 < start < len(tag) - 8192:  # (the tag open, read on)
            buffers.append(editor._unread[0])
    out.append(editor.finish())
    # (the client script before the post form: the </head> was sent ahead)
    assert SCRIPT_TAG.sub(b"", b"".join(out)) == SCRIPT_TAG.sub(b"", injector().edit(document))
    assert b'name="__VIEWSTATE"' in out[-2] + out[-1]
    assert len(buffers) > 100
    assert all(buffer is buffers[0] for buffer in buffers)
    assert sum(applied) <= 3 * len(document)


def test_a_long_tag_in_a_noscript_grows_one_buffer(scanner_engine: str) -> None:
    """(found by a red-team pass) A tag still open in a <noscript> (a lazy-load image's
    fallback with a data: URI) is kept for the <noscript>'s own scan in one buffer that the
    next pieces are added to, as a tag outside it: no copy of it per piece."""
    tag = b'<img src="data:,' + b"x" * 200_000 + b'">'
    document = (b'<html><head></head><body><form method="post" action="a"><noscript>' + tag
                + b"</noscript></form></body></html>")
    editor = injector()
    out, buffers = [], []
    first = document.index(tag) + 512
    for start in range(0, len(document), 64):
        out.append(editor.feed(document[start:start + 64]))
        if first < start < document.index(tag) + len(tag) - 128:
            buffers.append(editor._noscript_kept)
    out.append(editor.finish())
    assert b"".join(out) == streamed(document, [len(document) // 2])
    assert len(buffers) > 1000
    assert all(buffer is buffers[0] for buffer in buffers)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_PLACES_OF_POST_FORMS, HTML_FRAGMENTS, st.sampled_from([
    '<div title="' + "x" * 300 + '">', '<img src="data:,' + "y" * 200 + '">']),
), max_size=16).map("".join), st.lists(st.integers(0, 1200), max_size=12),
       st.integers(16, 256))
def test_a_page_read_ahead_past_its_budget_is_edited_as_read_piece_by_piece(
        scanner_engine: str, document: str, cuts: list[int], budget: int) -> None:
    """What _feed_ahead reads once it sent _MOST_UNREAD bytes unread (a long tag left open
    among them, kept for the next pieces) comes out as when each piece is read as it comes."""
    encoded = document.encode()
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(encoded)}), len(encoded)]
    ahead, read = injector(), injector()
    read._ahead = False
    outs = []
    with mock.patch.object(inject, "_MOST_UNREAD", budget):
        for editor in (ahead, read):
            outs.append(b"".join(editor.feed(encoded[a:b])
                                 for a, b in itertools.pairwise(bounds)) + editor.finish())
    assert INSERTED.sub(b"", outs[0]) == encoded
    _same_output(ahead, read, outs, encoded)
    assert [pairs_of(form) for form in ahead.forms] == [pairs_of(form) for form in read.forms]
    _same_htmx_reading(ahead, read)


# Pieces with nothing to read or write go through feed's short way (the scanner's call, then
# the piece as it is, or up to where the scanner decided), and a page that ends with nothing
# left open through finish's: cut at the awkward places, the output is what the whole page
# gives (a post form's start and end tags in one piece, as there).
_BLOG = (b"<!DOCTYPE html><html><head><title>t</title>"
         b"<script>if (a < b && c--) { s = '</scrip' + '<!-' + x; }</script></head>"
         b'<body><nav><form method="get" action="/search"><input name="q"></form></nav>'
         b'<article><p>one <b>two</b> &amp; three <a href="/x" title="a &lt; b">x</a></p>'
         b"<!-- a <form method=post> in a comment --><pre><code>&lt;form&gt;</code></pre>"
         b'<script type="application/ld+json">{"a": "</p>"}</script>'
         b"<p>the end</p></article></body></html>\n")
_FORM = (b'<form method="post" action="/orders"><a data-postback="del" '
         b'data-postback-argument="7">d</a></form>')


# (without </head>, the script tag goes before the first post form, in pieces as whole)
_LATE_FORM = _BLOG.replace(b"</head>", b"").replace(b"<p>the end</p>", _FORM)
_EARLY_FORM = _BLOG.replace(b"</head>", b"").replace(b"<nav>", b"<nav>" + _FORM)


def _at(document: bytes, marker: bytes, shift: int = 0) -> int:
    return document.index(marker) + shift


@pytest.mark.parametrize(
    ("document", "cuts"),
    [
        pytest.param(_BLOG, [_at(_BLOG, b"<nav>", 3)], id="inside-a-tag"),
        pytest.param(_BLOG, [_at(_BLOG, b'title="a', 8)], id="inside-an-attribute-value"),
        pytest.param(_BLOG, [_at(_BLOG, b"</script>", 4)], id="inside-a-script-end-tag"),
        pytest.param(_BLOG, [_at(_BLOG, b'{"a"', 3)], id="inside-a-script"),
        pytest.param(_BLOG, [_at(_BLOG, b"<article>", 1)], id="lt-at-a-piece-end"),
        pytest.param(_BLOG, [_at(_BLOG, b"<!--", 2), _at(_BLOG, b"-->", 1)],
                     id="inside-a-comment-and-its-end"),
        pytest.param(_BLOG, list(range(_at(_BLOG, b"<body>"), len(_BLOG))),
                     id="one-byte-pieces"),
        pytest.param(_BLOG, [len(_BLOG) - 1], id="last-byte-alone"),
        pytest.param(_LATE_FORM, [_at(_LATE_FORM, b"<nav>", 3), _at(_LATE_FORM, b"<!--", 2)],
                     id="post-form-in-the-last-piece"),
        pytest.param(_EARLY_FORM, [_at(_EARLY_FORM, b"<article>", 1),
                                   _at(_EARLY_FORM, b'{"a"', 3)],
                     id="post-form-in-an-earlier-piece"),
    ],
)
@pytest.mark.parametrize("empty_pieces", [False, True], ids=["", "with-empty-pieces"])
def test_pieces_with_nothing_to_edit_come_out_as_the_whole_page_does(
    document: bytes, cuts: list[int], empty_pieces: bool,
) -> None:
    editor, whole = injector(), injector()
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(document)}), len(document)]
    out = []
    for a, b in itertools.pairwise(bounds):
        out.append(editor.feed(document[a:b]))
        if empty_pieces:
            out.append(editor.feed(b""))
    out.append(editor.finish())
    assert b"".join(out) == whole.edit(document)
    assert [pairs_of(form) for form in editor.forms] == [pairs_of(form) for form in whole.forms]
    if not whole.forms:
        assert b"".join(out) == document


@pytest.mark.parametrize(
    ("document", "cuts"),
    [
        pytest.param(b'<p><a data-postback="x">x</a>', [5], id="stray-event-at-the-end"),
        pytest.param(b'<p><a data-postback="x">x</a><p>more', [12, 30],
                     id="stray-event-then-text"),
    ],
)
def test_the_end_of_a_streamed_page_still_says_why_nothing_was_inserted(
    document: bytes, cuts: list[int], caplog: pytest.LogCaptureFixture, scanner_engine: str,
) -> None:
    """The pairs read after the last tag come with the end of the document: finish's short
    way still hears of them."""
    page_url = f"http://shop.example/explained/end/{scanner_engine}/{abs(hash(document))}"
    with caplog.at_level(logging.INFO, logger="postback_middleware"):
        assert streamed(document, cuts, page_url=page_url) == document
    assert any("outside any" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("step", [1, 3, 7])
def test_noscript_read_in_pieces(step: int, caplog: pytest.LogCaptureFixture) -> None:
    """A <noscript> cut anywhere is read as a whole: its <base> still counts."""
    document = (f'<html><head><noscript><link rel=x><base href="{EVIL}"><style>p{{}}</style>'
                '</noscript></head><body><form method="post" action="save"></form>').encode()
    out = streamed(document, list(range(step, len(document), step)))
    assert b'name="__EVENTTARGET"' in out
    assert b'name="__VIEWSTATE"' not in out
    assert "leaves the origin" in caplog.text


@pytest.mark.parametrize(
    ("document", "said"),
    [
        pytest.param('<a data-postback="x">x</a><form method="post"></form>', "outside any",
                     id="event-outside-the-post-form"),
        pytest.param('<form method="get"><a data-postback="x">x</a></form>', "outside any",
                     id="event-in-a-get-form"),
        pytest.param('<form method="get"></form><form></form>', "none is a same-origin POST",
                     id="all-forms-get"),
        pytest.param('<script>t = "<form method=post>"</script><form method="get"></form>',
                     "none is a same-origin POST", id="a-post-form-in-a-script-and-a-get-form"),
        pytest.param('<style>a[data-postback] { color: red }</style><a data-postback="x">',
                     "outside any", id="postback-in-a-style-and-an-event-outside"),
        pytest.param('<form method="post"><a data-postback="x">x</a></form>', None,
                     id="nothing-to-say"),
    ],
)
def test_why_nothing_was_inserted_is_logged_once(
    document: str, said: str | None, caplog: pytest.LogCaptureFixture, scanner_engine: str,
) -> None:
    page_url = f"http://shop.example/explained/{scanner_engine}/{abs(hash(document))}"
    with caplog.at_level(logging.INFO, logger="postback_middleware"):
        injector(page_url=page_url).edit(document.encode())
        first = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
        injector(page_url=page_url).edit(document.encode())  # the same page again
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert messages == first  # once a page
    if said is None:
        assert messages == []
    else:
        assert any(said in message for message in messages)


def test_a_page_without_post_forms_is_read_whole_only_where_it_is_told(
        caplog: pytest.LogCaptureFixture, scanner_engine: str) -> None:
    """Where INFO is not logged (most servers), a page without post forms at a new path is
    not read whole to say why it got nothing (a crawler of a large site would have every
    page read whole): the same bytes, and nothing said or kept."""
    document = b'<p><a data-postback="x">x</a></p>' + b"<p>text</p>" * 50
    page_url = f"http://shop.example/untold/{scanner_engine}/{abs(hash(document))}"
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        assert injector(page_url=page_url).edit(document) == document
        assert streamed(document, [7, 40], page_url=page_url) == document
    assert not any(key[0] == urlsplit(page_url).path for key in inject._READ_WHOLE)
    assert not caplog.records
    with caplog.at_level(logging.INFO, logger="postback_middleware"):
        assert injector(page_url=page_url).edit(document) == document
    assert any("outside any" in record.getMessage() for record in caplog.records)


# -- htmx and fetch(): where the tokens are bound, and when they are withheld -------------------
# (the middleware's side, HX-Request and HX-Current-URL, is in test_htmx.py)

HTMX = '<head><script src="/static/htmx.min.js"></script></head>'  # a page that loads htmx


@pytest.mark.parametrize(
    ("document", "path", "bound_by"),
    [
        pytest.param('<form method="post" hx-post="/h1"></form>', "/h1", "its hx-post",
                     id="form-hx-post-without-action"),
        pytest.param('<form method="post" action="/other" hx-post="h1"></form>', "/cart/h1",
                     "its hx-post", id="form-hx-post-relative-to-the-page"),
        pytest.param('<form method="post" data-hx-post="/e1"></form>', "/e1", "its hx-post",
                     id="data-hx-post"),
        pytest.param('<form method="post" hx-post="" data-hx-post="/e2"></form>', "/e2",
                     "its hx-post", id="empty-hx-post-falls-through-to-data-hx-post"),
        pytest.param('<form method="post" action="/other" hx-post=""></form>', "/cart/view",
                     "its hx-post", id="empty-hx-post-is-the-page"),
        pytest.param('<form method="post" HX-POST="/h3"></form>', "/h3", "its hx-post",
                     id="attribute-names-are-case-insensitive"),
        pytest.param('<base href="/shop/"><form method="post" hx-post="save"></form>',
                     "/shop/save", "its hx-post", id="same-origin-base"),
        pytest.param(HTMX + '<form method="post" action="/other"><button hx-post="/h2">Go'
                     "</button></form>", "/h2", "the hx-post of a submit <button>",
                     id="hx-post-submit-button"),
        pytest.param(HTMX + '<form method="post" action="/other"><p><input type="submit" '
                     'data-hx-post="/h2"></p></form>', "/h2", "the hx-post of a submit <input>",
                     id="data-hx-post-submit-input"),
        pytest.param(HTMX + '<form id="f1" method="post" action="/other"></form>'
                     '<button form="f1" hx-post="/n1">Go</button>', "/n1",
                     "the hx-post of a submit <button>", id="hx-post-button-naming-the-form"),
        pytest.param('<form method="post" action="/other"><button hx-post="/h2">Go</button>'
                     '</form><script src="https://unpkg.com/htmx.org@2.0.4"></script>', "/h2",
                     "the hx-post of a submit <button>", id="htmx-loaded-after-the-form"),
        pytest.param('<form method="post" action="/other" hx-target="#out"><button '
                     'hx-post="/h2">Go</button></form>', "/h2",
                     "the hx-post of a submit <button>", id="an-htmx-attribute-on-the-form"),
        pytest.param(HTMX + '<form method="post" action="/other"><button type="button" '
                     'hx-post="/h2">Go</button></form>', "/other", "its action",
                     id="a-plain-button-does-not-move-the-binding"),
        pytest.param(HTMX + '<form method="post" action="/other"><input name="q" '
                     'hx-post="/validate"></form>', "/other", "its action",
                     id="an-input-does-not-move-the-binding"),
        pytest.param('<form method="post" action="/other"><button hx-post="/h2">Go</button>'
                     "</form>", "/other", "its action", id="no-sign-of-htmx-not-read"),
        pytest.param(HTMX + '<form method="post" hx-post="/h1"><button hx-post="/h2">Go'
                     "</button></form>", "/h1", "its hx-post", id="the-form-first"),
        pytest.param('<form method="post" hx-post="/h1" data-postback-action="/api/save">'
                     "</form>", "/api/save", "its data-postback-action",
                     id="data-postback-action-first"),
        pytest.param('<form method="post" data-postback-action="save"></form>', "/cart/save",
                     "its data-postback-action", id="data-postback-action-relative"),
        pytest.param('<form method="post" hx-post="/h1"><button formaction="/h1?draft=1">'
                     "</button></form>", "/h1", "its hx-post",
                     id="htmx-formaction-to-the-same-path"),
        pytest.param('<form method="post" hx-post="/h1" hx-put="/p"></form>', "/h1",
                     "its hx-post", id="hx-post-and-hx-put"),
        pytest.param(HTMX + '<form method="post"><button hx-delete="/d" hx-params="not '
                     '__VIEWSTATE, __EVENTVALIDATION">x</button></form>', "/cart/view",
                     "its action", id="hx-delete-whose-hx-params-leaves-the-tokens-out"),
        pytest.param(HTMX + '<form method="post"><button hx-put="/p">x</button></form>',
                     "/cart/view", "its action", id="hx-put-button-keeps-the-post-binding"),
        pytest.param(HTMX + '<form method="post" action="/a"></form><button hx-post="//evil'
                     '.example/">x</button><form method="get"><a hx-post="//evil.example/">'
                     "</form>", "/a", "its action", id="off-origin-hx-post-outside-the-form"),
        pytest.param(HTMX + '<form method="post" action="/a"><a href="#" hx-get="//evil'
                     '.example/">x</a></form>', "/a", "its action",
                     id="hx-get-of-an-element-does-not-send-the-form"),
    ],
)
def test_htmx_binds_the_tokens_to_where_the_request_goes(
    document: str, path: str, bound_by: str
) -> None:
    """Whole, in one piece, or cut inside the form (htmx shows in the first piece): the
    tokens are there, bound to that path, for the same reason."""
    encoded = document.encode()
    cut = encoded.index(b"<form") + 8
    for out in (run(document), streamed(encoded, []), streamed(encoded, [cut])):
        assert out is not None
        assert b'name="__VIEWSTATE"' in out
        assert b'name="__EVENTVALIDATION"' in out
    for cuts in ([], [], [cut]):
        editor = injector()
        for piece in (encoded[:cuts[0]], encoded[cuts[0]:]) if cuts else (encoded,):
            editor.feed(piece)
        editor.finish()
        assert [(form.action_path, form.bound_by) for form in editor.forms] == [(path, bound_by)]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param('<form method="post" hx-post="https://evil.example/x"></form>',
                     "its hx-post='https://evil.example/x' leaves the origin",
                     id="form-hx-post-off-origin"),
        pytest.param('<form method="post" data-hx-post="//evil.example/x"></form>',
                     "its hx-post='//evil.example/x' leaves the origin",
                     id="form-data-hx-post-scheme-relative"),
        pytest.param('<form method="post" hx-post="/ok" hx-put="https://evil.example/"></form>',
                     "its hx-put='https://evil.example/' leaves the origin",
                     id="form-hx-put-off-origin-beside-hx-post"),
        pytest.param(f'<base href="{EVIL}"><form method="post" hx-post="/x"></form>',
                     "its hx-post='/x' leaves the origin", id="form-hx-post-and-off-origin-base"),
        pytest.param(HTMX + '<form method="post"><button hx-post="https://evil.example/x">Go'
                     "</button></form>", "a <button> inside it has "
                     "hx-post='https://evil.example/x', which leaves the origin",
                     id="button-hx-post-off-origin"),
        pytest.param(HTMX + '<form method="post"><p><a hx-patch="//evil.example/x">x</a></p>'
                     "</form>", "a <a> inside it has hx-patch='//evil.example/x'",
                     id="link-hx-patch-off-origin"),
        pytest.param(HTMX + '<form method="post"><div data-hx-post="javascript:alert(1)"></div>'
                     "</form>", "which leaves the origin", id="div-data-hx-post-javascript"),
        # (red team: the tags of the scanner's own names were not read for hx-*)
        pytest.param(HTMX + '<form method="post"><script hx-post="https://evil.example/" '
                     'hx-trigger="load"></script></form>', "a <script> inside it has hx-post",
                     id="script-hx-post-off-origin"),
        pytest.param(HTMX + '<form method="post"><noscript hx-post="https://evil.example/">'
                     "</noscript></form>", "a <noscript> inside it has hx-post",
                     id="noscript-hx-post-off-origin"),
        pytest.param(HTMX + '<form method="post"><button type="button" hx-post="http://evil'
                     '.example/">x</button></form>', "which leaves the origin",
                     id="plain-button-hx-post-off-origin"),
        pytest.param(HTMX + '<form id="f1" method="post"></form><button form="f1" '
                     'hx-post="https://evil.example/x">', "a <button> elsewhere in the page "
                     "with form='f1' has hx-post", id="hx-post-button-naming-the-form"),
        pytest.param(HTMX + '<button form="f1" hx-post="https://evil.example/x"></button>'
                     '<form id="f1" method="post"></form>', "with form='f1' has hx-post",
                     id="hx-post-button-naming-the-form-before-it"),
        pytest.param(HTMX + f'<base href="{EVIL}"><form method="post"><button hx-post="save">'
                     "</button></form>", "hx-post='save', which leaves the origin",
                     id="relative-hx-post-and-off-origin-base"),
        pytest.param('<form method="post" hx-post="/ok" hx-get="/search"></form>',
                     "its hx-get: htmx sends its fields in the URL of a GET request",
                     id="form-hx-get-beside-hx-post"),
        pytest.param(HTMX + '<form method="post"><button hx-delete="/items/3">Delete</button>'
                     "</form>", "a <button> inside it has hx-delete: htmx sends the form's "
                     "fields in the URL of a DELETE request", id="hx-delete-button"),
        pytest.param(HTMX + '<form method="post"><button hx-delete="/i" hx-params="not '
                     '__VIEWSTATE">x</button></form>', "has hx-delete",
                     id="hx-delete-button-hx-params-leaving-one-token-in"),
        pytest.param(HTMX + '<form method="post"><button hx-delete="/i" hx-params="*">x'
                     "</button></form>", "has hx-delete", id="hx-delete-button-hx-params-all"),
        pytest.param('<form method="post" data-postback-action="https://evil.example/api">'
                     "</form>", "its data-postback-action 'https://evil.example/api' leaves "
                     "the origin", id="data-postback-action-off-origin"),
        pytest.param(f'<base href="{EVIL}"><form method="post" data-postback-action="api">'
                     "</form>", "its data-postback-action 'api' leaves the origin",
                     id="data-postback-action-and-off-origin-base"),
    ],
)
def test_htmx_tokens_withheld_when_a_request_could_take_them_elsewhere(
    document: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    expect_withheld(document, reason, caplog)


@pytest.mark.parametrize("verb", ["hx-put", "hx-patch", "hx-delete", "hx-get", "data-hx-put"])
def test_a_post_form_htmx_sends_with_another_verb_gets_no_fields(
    verb: str, caplog: pytest.LogCaptureFixture, scanner_engine: str
) -> None:
    """Its requests would carry reserved fields where the middleware refuses them (in a PUT
    body, in a URL): it is no postback form."""
    document = f'<form method="post" action="/items/3" {verb}="/items/3"><input name="q"></form>'
    page_url = f"http://shop.example/verbs/{scanner_engine}/{verb}"  # (logged once a path)
    with caplog.at_level(logging.INFO, logger="postback_middleware"):
        editor = injector(page_url=page_url)
        assert editor.edit(document.encode()) == document.encode()
        assert not editor.changed
        assert streamed(document.encode(), [20], page_url=page_url) == document.encode()
    assert f"htmx sends with {verb.removeprefix('data-')} only: it gets no fields" in caplog.text


@pytest.mark.parametrize(
    ("document", "paths"),
    [
        pytest.param('<form method="post" hx-post="/h1"><a href="#" data-postback="x">x</a>'
                     "</form>", ("/h1", "/cart/view"), id="postbacks-go-to-the-action"),
        pytest.param('<form method="post" hx-post="/h1" data-callbacks="Echo"></form>',
                     ("/h1", "/cart/view"), id="callbacks-go-to-the-action"),
        pytest.param(HTMX + '<form method="post" action="/a"><input name="e" hx-post="/check">'
                     "</form>", ("/a", "/check"), id="an-auxiliary-hx-post"),
        pytest.param(HTMX + '<form method="post" hx-post="/save"><button>Save</button><button '
                     'formaction="/preview">Preview</button></form>', ("/save", "/preview"),
                     id="htmx-formaction"),
        pytest.param('<form method="post" action="/a"><button formaction="/b">B</button>'
                     '<button formaction="/a">A</button></form>', ("/a", "/b"),
                     id="plain-formaction"),
        pytest.param('<form method="post" action="/a"><button formaction="/b" formmethod="dialog">'
                     "B</button></form>", ("/a",), id="dialog-formaction-posts-nowhere"),
    ],
)
def test_tokens_are_bound_to_every_path_the_page_posts_the_form_to(
    document: str, paths: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    """One form, several same-origin destinations (a formaction button, an hx-post, the
    client script's postbacks to the action): its tokens are bound to all of them."""
    editor = injector()
    out = editor.edit(document.encode())
    assert b'name="__VIEWSTATE"' in out
    assert editor.forms[0].paths == paths
    assert "are refused" not in caplog.text


@pytest.mark.parametrize(
    ("document", "said"),
    [
        pytest.param(HTMX + '<form method="post"><button hx-put="/p">x</button></form>',
                     "the hx-put of a <button> (reserved fields are refused in a PUT request:"
                     " the client script leaves them out, as hx-params can)", id="hx-put-button"),
        pytest.param('<form method="post" hx-post="/h1" hx-patch="/p"></form>',
                     "its hx-patch (reserved fields are refused in a PATCH body",
                     id="form-hx-patch-beside-hx-post"),
        pytest.param(HTMX + '<form method="post"><button hx-delete="/d" hx-params="not '
                     '__VIEWSTATE,__EVENTVALIDATION"></button></form>',
                     "the hx-delete of a <button> (reserved fields are refused in a DELETE",
                     id="hx-delete-button-leaving-the-tokens-out"),
    ],
)
def test_htmx_requests_the_tokens_cannot_serve_are_named(
    document: str, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    out = run(document)
    assert out is not None
    assert b'name="__VIEWSTATE"' in out  # (kept: the form's own requests need them)
    assert "so the page's other requests with them are refused" in caplog.text
    assert said in caplog.text


@pytest.mark.parametrize(
    "document",
    [
        pytest.param('<form method="post" hx-post="/h1"><button>Save</button></form>',
                     id="one-destination"),
        pytest.param(HTMX + '<form method="post"><input name="e" hx-post="/check" '
                     'hx-params="none"><button hx-put="/p" hx-params="q"></button></form>',
                     id="requests-that-leave-every-reserved-field-out"),
        pytest.param('<form method="post"><button formaction="/elsewhere"></button></form>',
                     id="plain-form-formaction-as-before"),
    ],
)
def test_htmx_nothing_to_say(document: str, caplog: pytest.LogCaptureFixture) -> None:
    assert run(document) is not None
    assert "tokens" not in caplog.text


@pytest.mark.parametrize(
    ("params", "left_out"),
    [
        (None, False), ("", False), ("*", False), ("none", True), ("none ", True),
        ("not __VIEWSTATE,__EVENTVALIDATION", True), ("not __VIEWSTATE , __EVENTVALIDATION ", True),
        ("not __VIEWSTATE", False), ("NOT __VIEWSTATE,__EVENTVALIDATION", False),
        ("q, page", True), ("q, __VIEWSTATE", False), ("q,__viewstate", True),
    ],
)
def test_hx_params_read_as_htmx_reads_it(params: str | None, left_out: bool) -> None:
    assert leaves_out(params, ("__VIEWSTATE", "__EVENTVALIDATION")) is left_out


def test_a_fragment_gets_no_script_tag_and_no_ids() -> None:
    document = ('<html><head></head><body><form method="post" hx-post="/h1">'
                '<a data-postback="x"></a></form><form method="post"></form></body></html>')
    for out in (injector(fragment=True).edit(document.encode()),
                streamed(document.encode(), [30, 70], fragment=True)):
        assert SCRIPT not in out
        assert b' id="__' not in out
        assert out.count(b'value="VS"') == 2
        assert b'value="EV:x,"' in out
    whole = injector().edit(document.encode())  # (a page: both)
    assert whole.count(SCRIPT) == 1
    assert whole.count(b'id="__VIEWSTATE"') == 1


def test_a_fragment_is_read_for_htmx_from_its_start() -> None:
    """A fragment needs no sign of htmx: htmx asked for it."""
    document = b'<form method="post" action="/other"><button hx-post="/h2">Go</button></form>'
    for cuts in ([], [10], list(range(3, len(document), 5))):
        editor = injector(fragment=True)
        for a, b in itertools.pairwise([0, *cuts, len(document)]):
            editor.feed(document[a:b])
        editor.finish()
        assert [form.action_path for form in editor.forms] == ["/h2"]


def test_htmx_shown_after_the_first_piece_of_a_streamed_page_is_read_from_there(
    caplog: pytest.LogCaptureFixture, scanner_engine: str
) -> None:
    document = (b'<html><head></head><body><form method="post" action="/other">'
                b'<button hx-post="/h2">Go</button></form><script src="/htmx.min.js"></script>')
    with caplog.at_level(logging.INFO, logger="postback_middleware"):
        editor = injector(page_url=f"http://shop.example/late/{scanner_engine}")
        editor.feed(document[:30])
        editor.feed(document[30:])
        editor.finish()
    assert [form.action_path for form in editor.forms] == ["/h2"]  # (as whole)
    assert "shows that it uses htmx only after its first piece" in caplog.text
    assert [form.action_path for form in _forms_of_whole(document)] == ["/h2"]


_FORM_BEFORE = b'<head></head><body><form method="post"><button>a</button></form>'
_HTMX_LATE = b'<script src="/static/htmx.min.js"></script>'


@pytest.mark.parametrize(
    ("pieces", "withheld", "said"),
    [
        pytest.param([_FORM_BEFORE, _HTMX_LATE, b'<form method="post" action="/"><button '
                      b'hx-post="https://evil.example/steal">Go</button></form>'],
                     [False, True], "leaves the origin", id="an-off-origin-hx-post-after"),
        pytest.param([_FORM_BEFORE, _HTMX_LATE, b'<form method="post" action="/"><button '
                      b'hx-post="/save">Go</button></form>'],
                     [False, False], "", id="a-same-origin-hx-post-after"),
        pytest.param([_FORM_BEFORE, _HTMX_LATE + b'<form method="post" action="/"><div '
                      b'hx-post="https://evil.example/" hx-include="closest form">x</div></form>'],
                     [False, True], "leaves the origin", id="a-div-in-the-same-piece"),
        # (the piece starts where a new scanner cannot: its forms get no tokens)
        pytest.param([_FORM_BEFORE + b"<script>var a = 1;", b" </script>" + _HTMX_LATE
                      + b'<form method="post" action="/"><button>b</button></form>'],
                     [False, True], "cannot be read", id="a-piece-that-starts-in-a-script"),
        pytest.param([_FORM_BEFORE + b"<svg><g>", b"</g></svg>" + _HTMX_LATE
                      + b'<form method="post" action="/"><button>b</button></form>'],
                     [False, True], "cannot be read", id="a-piece-that-starts-in-an-svg"),
        # (in a table open before, a table part ends a <select>: the <style> after it is
        # raw text, and the <script> in it is not one: the button after it is read)
        pytest.param([b'<head></head><body><form method="post" action="/"><table><tr><td>',
                      _HTMX_LATE + b'<select><td><style><script></style><button hx-post='
                      b'"https://evil.example/">x</button></td></tr></table></form>'],
                     [True], "leaves the origin", id="a-select-in-a-table-open-before"),
        # (red team: an end tag in an <svg> closes it where an HTML element of its name is
        # open, so the "<![CDATA[" after it hides nothing)
        pytest.param([b'<form method="post" action="/a"></form><div>',
                      _HTMX_LATE + b'<svg></div><form method="post" action="/save"><![CDATA[x>'
                      b'<button hx-post="https://evil.example/x">Go</button>]]></form>'],
                     [False, True], "leaves the origin", id="an-svg-closed-by-a-div-open-before"),
        # (red team: while a form is open, a <form> in a <foreignObject> is ignored)
        pytest.param([b'<form method="post" action="/a">',
                      _HTMX_LATE + b'<svg><foreignObject><form></foreignObject><style><button '
                      b'hx-post="https://evil.example/x">Go</button></style></svg></form>'],
                     [True], "leaves the origin", id="a-form-open-before-one-in-an-svg"),
        # (red team: a form open where the piece that shows htmx starts: its elements in the
        # pieces before were not read, and its tokens would be written after htmx showed)
        pytest.param([b'<form method="post"><div hx-post="https://x.example/">Go</div>',
                      b'<script src="/htmx.min.js"></script></form>'],
                     [True], "it began in a piece sent before", id="a-form-open-across-the-cut"),
        pytest.param([b'<form method="post"><input name=q hx-get="/search" hx-include="closest'
                      b' form" hx-trigger="keyup">', b"</form>" + _HTMX_LATE],
                     [True], "it began in a piece sent before",
                     id="a-form-open-across-the-cut-and-htmx-after-it"),
        pytest.param([b'<form method="post"><input name=q>', b"</form>" + _HTMX_LATE
                      + b'<form method="post"><button>b</button></form>'],
                     [True, False], "it began in a piece sent before",
                     id="the-form-after-it-is-read"),
        # (red team: htmx shown in a <noscript> still open at a piece's end counts for it)
        pytest.param([b'<form method="post" action="/b"><div hx-post="https://evil.example/x" '
                      b'hx-include="closest form">d</div></form><noscript><button '
                      b'formaction="/f" hx-post="/n">n</button>', b"</noscript>"],
                     [True], "leaves the origin", id="htmx-shown-in-a-noscript-left-open"),
    ],
)
def test_htmx_shown_after_the_first_piece_counts_for_the_forms_after(
        pieces: list[bytes], withheld: list[bool], said: str,
        caplog: pytest.LogCaptureFixture, scanner_engine: str) -> None:
    """Red team: a streamed page that shows htmx only after its first piece, then a form
    whose element sends it off the origin. Its hx-* attributes are read from the piece where
    htmx showed, by a scanner started in the state the page's scanner had there; where none
    can start there, the forms after get no tokens, and the log says why."""
    editor = injector()
    out = b"".join(map(editor.feed, pieces)) + editor.finish()
    assert [bool(form.withheld) for form in editor.forms] == withheld
    assert out.count(b'name="__VIEWSTATE"') == withheld.count(False)
    assert said in caplog.text


_HTMX_LATE_PARTS = st.lists(st.one_of(HTML_FRAGMENTS, st.sampled_from([
    '<form method="post">', "</form>", '<form method="post" action="/b">', "<table><tr><td>",
    "<select>", "</table>", '<button hx-post="/h">', '<button hx-post="//x.example/">',
    '<div hx-post="//x.example/" hx-include="closest form">', '<a hx-patch="/p">',
    '<button type=button hx-delete="/d">', '<div data-hx-post="/e">', "<script>", "</script>",
    '<textarea><button hx-post="//x.example/"></textarea>', "<svg>", "</svg>",
])), max_size=12).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.sampled_from("abc <>/"), max_size=20), st.booleans(),
       st.sampled_from(["", '<div hx-post="//x.example/">d</div>']), _HTMX_LATE_PARTS,
       st.lists(st.integers(0, 400), max_size=5))
def test_htmx_shown_late_each_form_after_is_judged_as_whole_or_gets_no_tokens(
        before: str, left_open: bool, inside: str, after: str, cuts: list[int]) -> None:
    """A streamed page whose first piece shows no htmx, cut anywhere after: each form
    whose tokens are written from the piece where htmx shows gets the binding and the doubts
    it gets whole, or no tokens (where that piece starts where its hx-* cannot be read), never
    tokens whole would withhold. (The forms of the pieces before it went out unread; one
    still open there gets no tokens.)"""
    head = (f"<p>{before.replace('<', ' ')}</p>"  # (a post form: this piece is edited)
            f'<form method="post"><button>Go</button>{inside}' + ("" if left_open else "</form>")
            ).encode()
    document = head + b'<script src="/htmx.min.js"></script>' + after.encode()
    whole, editor = whole_and_streamed(document, [len(head), *cuts])
    assert len(editor.forms) == len(whole.forms)
    pairs = list(zip(editor.forms, whole.forms, strict=True))
    for streamed_form, whole_form in pairs if left_open else pairs[1:]:  # (see above)
        if streamed_form.withheld and not whole_form.withheld:
            assert {editor._htmx_unread, streamed_form.unread} & set(streamed_form.withheld)
            continue
        assert (streamed_form.action_path, streamed_form.bound_by,
                bool(streamed_form.withheld)) == (
            whole_form.action_path, whole_form.bound_by, bool(whole_form.withheld))


def _forms_of_whole(document: bytes) -> list[PostForm]:
    editor = injector()
    editor.edit(document)
    return editor.forms


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(HTML_FRAGMENTS, st.sampled_from([
        '<form method="post">', "</form>", '<form method="post" action="/b">',
        '<form method="get">', '<button hx-post="/h">', '<button hx-post="//x.example/">',
        '<a hx-patch="/p">', '<button type=button hx-delete="/d">', '<div data-hx-post="/e">',
        '<button form="f" hx-post="/n">', '<form id="f" method="post">', "<script>",
        "</script>", '<textarea><button hx-post="//x.example/"></textarea>', "<svg>",
        '<a data-postback="t">',
    ])), max_size=16).map("".join),
    st.lists(st.integers(0, 300), max_size=6),
)
def test_htmx_reading_whatever_the_pieces(document: str, cuts: list[int]) -> None:
    """A fragment (read for htmx from its first byte) cut anywhere: each form gets the same
    binding and the same doubts as whole, and the second scanner never loses its place."""
    encoded = document.encode()
    whole = injector(fragment=True)
    whole_out = whole.edit(encoded)
    editor = injector(fragment=True)
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(encoded)}), len(encoded)]
    out = b"".join(editor.feed(encoded[a:b]) for a, b in itertools.pairwise(bounds))
    out += editor.finish()
    assert not editor._htmx_late
    assert INSERTED.sub(b"", out) == encoded

    def described(forms: list[PostForm]) -> list[tuple[str, str, bool]]:
        return [(form.action_path, form.bound_by, form.posts_elsewhere) for form in forms]

    # (a form cut across pieces is judged when its tokens are written, at its end: the same
    # content; a form="ID" button after it may come in a later piece: then only whole sees it)
    if 'form="f"' not in document:
        assert described(editor.forms) == described(whole.forms)
        assert out.count(b'name="__VIEWSTATE"') == whole_out.count(b'name="__VIEWSTATE"')


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=6))
def test_htmx_scanner_keeps_its_place_on_arbitrary_bytes(document: bytes, cuts: list[int]) -> None:
    """The second scanner reads the same bytes as the injector's and decides as far: it never
    loses its place, whatever the bytes and the pieces."""
    editor = injector(fragment=True)
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(document)}), len(document)]
    out = b"".join(editor.feed(document[a:b]) for a, b in itertools.pairwise(bounds))
    out += editor.finish()
    assert not editor._htmx_late
    assert INSERTED.sub(b"", out) == document


def test_an_hx_get_that_includes_its_form_gets_no_tokens(caplog: pytest.LogCaptureFixture,
                                                         scanner_engine: str) -> None:
    """``hx-include="closest form"`` puts the form's fields, tokens too, in a GET's URL."""
    document = (HTMX + '<form method="post"><button hx-get="/search" hx-include="closest form">'
                "Search</button></form>")
    out = injector().edit(document.encode())
    assert b'name="__VIEWSTATE"' not in out and "in the URL" in caplog.text


def test_a_form_lists_a_few_paths_not_a_grids_worth(caplog: pytest.LogCaptureFixture,
                                                     scanner_engine: str) -> None:
    buttons = "".join(f'<button formaction="/row/{n}">Delete</button>' for n in range(100))
    editor = injector()
    out = editor.edit(f'<form method="post" action="/grid">{buttons}</form>'.encode())
    assert b'name="__VIEWSTATE"' in out  # (the form keeps its tokens)
    assert len(editor.forms[0].paths) == 1 + MAX_EXTRA_PATHS
    assert "past the 16 paths" in caplog.text


# -- ASP.NET's own markup: references and hidden fields --------------------------------------

_ASPNET_HIDDEN = (
    '<div class="aspNetHidden">\r\n'
    '<input type="hidden" name="__EVENTTARGET" id="__EVENTTARGET" value="" />\r\n'
    '<input type="hidden" name="__EVENTARGUMENT" id="__EVENTARGUMENT" value="" />\r\n'
    '<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwUKMTY1NDU2MTA1Mg9k'
    'FgICAw9kFgICAQ8PFgIeBFRleHQFBUhlbGxvZGRk" />\r\n</div>')
_ASPNET_TRAILER = (
    '<div class="aspNetHidden">\r\n\r\n'
    '\t<input type="hidden" name="__VIEWSTATEGENERATOR" id="__VIEWSTATEGENERATOR" '
    'value="CA0B0334" />\r\n'
    '\t<input type="hidden" name="__EVENTVALIDATION" id="__EVENTVALIDATION" value="/wEdAAK" />'
    '\r\n</div>')


@pytest.mark.parametrize(
    ("inside", "expected"),
    [
        pytest.param("<a href=\"javascript:__doPostBack('GridView1','Sort$Name')\">Name</a>"
                     "<a href=\"javascript:__doPostBack(&#39;GridView1&#39;,&#39;Page$2&#39;)\">"
                     "2</a>", [["GridView1", "Sort$Name"], ["GridView1", "Page$2"]],
                     id="gridview-links"),
        pytest.param('<input type="submit" name="Button1" value="Go" onclick="javascript:'
                     'WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions(&quot;Button1'
                     '&quot;, &quot;&quot;, true, &quot;&quot;, &quot;&quot;, false, true))" '
                     'id="Button1" />', [["Button1", ""]], id="button-with-options"),
        pytest.param('<select name="ctl00$List" onchange="javascript:setTimeout(&#39;__doPostBack'
                     '(\\&#39;ctl00$List\\&#39;,\\&#39;\\&#39;)&#39;, 0)" id="List">'
                     "<option>a</option></select>", [["ctl00$List", ""]],
                     id="autopostback-dropdownlist"),
        pytest.param("<a href=\"javascript:__doPostBack('A','1')\" formaction=/x>a</a>"
                     "<a data-postback=B>b</a><a onclick=\"__doPostBack('A','1')\">again</a>",
                     [["A", "1"], ["B", ""]], id="with-data-postback-each-pair-once"),
        pytest.param("<a href=\"javascript:__doPostBack('A', x)\">not a literal</a>"
                     "<p title=\"__doPostBack('T','')\">a title</p>"
                     "<script>__doPostBack('S','')</script>", [], id="only-anchored-references"),
    ],
)
def test_aspnet_references_register_their_pairs(inside: str, expected: list[list[str]]) -> None:
    editor = injector()
    editor.edit(f'<form method="post" action="./Page.aspx">{inside}</form>'.encode())
    assert [pairs_of(form) for form in editor.forms] == [expected]


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("<a href=\"javascript:__doPostBack('A','')\">a</a><form method=post></form>",
                     id="before-the-form"),
        pytest.param("<form method=get><a href=\"javascript:__doPostBack('A','')\">a</a></form>"
                     "<form method=post></form>", id="in-a-get-form"),
        pytest.param("<form method=post action=//evil.example/><a href=\"javascript:__doPostBack"
                     "('A','')\">a</a></form><form method=post></form>", id="cross-origin-form"),
    ],
)
def test_aspnet_references_outside_a_post_form_offer_nothing(document: str) -> None:
    editor = injector()
    editor.edit(document.encode())
    assert [pairs_of(form) for form in editor.forms] == [[]]


def _aspnet_page(inside: str = "") -> str:
    return ('<!DOCTYPE html>\r\n<html><head><title>Orders</title></head><body>'
            '<form method="post" action="./Orders.aspx" id="form1">' + _ASPNET_HIDDEN
            + "<script type=\"text/javascript\">\r\n//<![CDATA[\r\nvar theForm = "
            "document.forms['form1'];\r\n//]]>\r\n</script>\r\n" + inside + _ASPNET_TRAILER
            + "</form></body></html>")


def test_aspnet_hidden_fields_are_taken_over() -> None:
    """Each reserved field is posted once, the middleware's, with the ids ASP.NET gave them;
    the rest of the page is byte for byte what ASP.NET wrote."""
    page = _aspnet_page("<a href=\"javascript:__doPostBack('LinkButton1','')\">Go</a>")
    out = injector().edit(page.encode())
    fields = FIELD.findall(out)
    names = [name for name, _ in fields]
    assert sorted(names) == sorted(set(names)) == [b"__EVENTARGUMENT", b"__EVENTTARGET",
                                                   b"__EVENTVALIDATION", b"__VIEWSTATE"]
    assert dict(fields)[b"__EVENTVALIDATION"] == b"EV:LinkButton1,"
    for name in names:  # the ids are the middleware's now, each once
        assert out.count(b'id="' + name + b'"') == 1
    assert b"__VIEWSTATEGENERATOR" not in out and b"/wEPDw" not in out
    kept = page
    for field in re.findall(r'<input type="hidden" name="__\w+" id="__\w+" value="[^"]*" />', page):
        kept = kept.replace(field, "", 1)
    assert INSERTED.sub(b"", out) == kept.encode()


@pytest.mark.parametrize(
    "document",
    [
        pytest.param('<input type="hidden" name="__VIEWSTATE" value="x"><form method="post">'
                     "</form>", id="outside-the-post-form"),
        pytest.param('<form method="get"><input type="hidden" name="__VIEWSTATE" value="x">'
                     '</form><form method="post"></form>', id="in-a-get-form"),
        pytest.param('<form method="post"><input type="text" name="__VIEWSTATE" value="x">'
                     "</form>", id="not-hidden"),
        pytest.param('<form method="post"><input type="hidden" name="__viewstate" value="x">'
                     "</form>", id="another-case"),
        pytest.param('<form method="post"><input type="hidden" name="__CALLBACKID" value="x">'
                     "</form>", id="callback-field"),
        pytest.param('<form method="post"><input type="hidden" name="__PREVIOUSPAGE" value="x">'
                     "</form>", id="not-reserved"),
        pytest.param('<form method="post"><textarea name="__VIEWSTATE">x</textarea></form>',
                     id="not-an-input"),
        pytest.param('<form method="post"><noscript><input type="hidden" name="__VIEWSTATE" '
                     'value="x"></noscript></form>', id="in-noscript"),
    ],
)
def test_other_reserved_names_are_left_as_they_are(document: str) -> None:
    """Only ASP.NET's hidden inputs inside a post form are removed: anything else is kept (a
    POST with it is then refused, with its reason)."""
    out = injector().edit(document.encode())
    assert INSERTED.sub(b"", out) == document.encode()


@pytest.mark.parametrize(
    ("before", "kept"),
    [
        pytest.param("a <", "a <<!---->", id="a-less-than-would-open-a-tag"),
        pytest.param("a </", 'a </<input type="hidden" name="__VIEWSTATE" value="x">',
                     id="after-an-end-tag-opener-it-is-no-input"),
        pytest.param("a <!-", 'a <!-<input type="hidden" name="__VIEWSTATE" value="x">',
                     id="inside-a-bogus-comment-it-is-no-input"),
        pytest.param("x", "x<!---->", id="any-text"),
        pytest.param("<p>\r\n", "<p>\r\n", id="whitespace-separates"),
        pytest.param("<p>", "<p>", id="a-tag-separates"),
    ],
)
def test_a_removed_input_never_joins_the_text_around_it(before: str, kept: str) -> None:
    """Cutting an input out must not make markup of what was around it: ``<`` + ``img ...>``
    would be a tag (user content may sit next to ASP.NET's fields)."""
    out = injector().edit(f'<form method="post">{before}<input type="hidden" name="__VIEWSTATE"'
                          ' value="x">img src=x onerror=alert(1)></form>'.encode())
    assert INSERTED.sub(b"", out).decode() == (f'<form method="post">{kept}img src=x '
                                               "onerror=alert(1)></form>")
    assert [tag.name for tag in iter_tags(out) if tag.name == "img"] == []


def test_streamed_aspnet_page_is_edited_as_whole() -> None:
    page = _aspnet_page("<a href=\"javascript:__doPostBack('G','Sort$Name')\">Name</a>" * 3)
    encoded = page.encode()
    whole = injector().edit(encoded)
    for cuts in ([10, 200, 400], list(range(1, len(encoded), 7)), [len(encoded) // 2]):
        assert FIELD.findall(streamed(encoded, cuts)) == FIELD.findall(whole)
        assert INSERTED.sub(b"", streamed(encoded, cuts)) == INSERTED.sub(b"", whole)


_TAKEN_OVER_FRAGMENTS = [
    # (not in the inserted fields' exact form: the test strips those)
    '<input type="hidden" id="__VIEWSTATE" name="__VIEWSTATE" value="/wE" />',
    '<input type="hidden" name="__EVENTTARGET" value="">',
    "<INPUT TYPE=HIDDEN NAME=__LASTFOCUS>",
]


def _without_taken_over(source: bytes, edited: bytes, i: int = 0, j: int = 0) -> bool:
    """Whether ``edited`` is ``source`` with some of the taken-over fragments cut out (from
    ``source[i:]`` and ``edited[j:]`` on)."""
    fragments = [fragment.encode() for fragment in _TAKEN_OVER_FRAGMENTS]
    while i < len(source):
        if j < len(edited) and source[i] == edited[j]:
            i, j = i + 1, j + 1
            continue
        # A cut fragment: here, or begun a few bytes back (its first bytes matched the ones
        # after it by chance; each fragment has one "<", so it begins at the last one).
        start = source.rfind(b"<", 0, i + 1)
        cut = next((f for f in fragments if start >= 0 and source.startswith(f, start)), None)
        if cut is None or start + len(cut) <= i:
            return False
        j -= i - start
        i = start + len(cut)
        # (what keeps the text around it apart: an empty comment put in its place, or the
        # page's own next, which a cut that needs none leaves as it is: both are read)
        if edited.startswith(b"<!---->", j) and _without_taken_over(source, edited, i, j + 7):
            return True
    return j == len(edited)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(HTML_FRAGMENTS, st.sampled_from([
        '<form method="post">', "</form>", '<form method="get">', "<noscript>", "</noscript>",
        "<a href=\"javascript:__doPostBack('t','1')\">", *_TAKEN_OVER_FRAGMENTS,
    ])), max_size=16).map("".join),
    st.lists(st.integers(0, 300), max_size=6),
)
@example(document='<form method="post"><input type="hidden" id="__VIEWSTATE" '
                  'name="__VIEWSTATE" value="/wE" /><!---->', cuts=[])  # (the page's comment)
def test_only_insertions_and_taken_over_fields_change(document: str, cuts: list[int]) -> None:
    """Faithful, ASP.NET's fields aside: whole or in pieces, the output minus the insertions
    is the input minus some of ASP.NET's hidden inputs."""
    encoded = document.encode()
    for out in (injector().edit(encoded), streamed(encoded, cuts)):
        assert _without_taken_over(encoded, INSERTED.sub(b"", out))


def test_splice_cuts_removals_and_inserts_before_them() -> None:
    out = splice(b"0123456789", [(5, b"[b]"), (0, b"[a]")], removals=[(5, 7), (8, 9)])
    assert out == b"[a]01234[b]79"


@pytest.mark.parametrize(
    ("document", "at", "text", "expected"),
    [
        pytest.param(b"0123456789", 0, b"[a]", b"[a]0123456789", id="at-the-start"),
        pytest.param(b"0123456789", 4, b"[a]", b"0123[a]456789", id="inside"),
        pytest.param(b"0123456789", 10, b"[a]", b"0123456789[a]", id="at-the-end"),
        pytest.param(b"0123456789", 4, b"", b"0123456789", id="nothing-to-insert"),
        pytest.param(b"", 0, b"[a]", b"[a]", id="into-nothing"),
    ],
)
def test_splice_one_insertion(document: bytes, at: int, text: bytes, expected: bytes) -> None:
    """One insertion (most edited pieces of a streamed page) takes a shorter way: the same
    bytes as the general one, which a second insertion at the end takes."""
    assert splice(document, [(at, text)]) == expected
    assert splice(document, [(at, text), (len(document), b"")]) == expected


# (no </head>: the script tag goes before the form whatever the pieces)
_FIELDS_PAGE = (b'<html><body><p id="x">intro</p>'
                b'<form method="post" action="/a"><a data-postback="t" data-postback-argument="1">'
                b"x</a><p>" + b"z" * 40 + b"</p></form><p>after</p></body></html>")
_TAKEN_ID_PAGE = _FIELDS_PAGE.replace(b'id="x"', b'id="__EVENTTARGET"')
_TOKENS = re.compile(rb'<input type="hidden" name="__VIEWSTATE"[^>]*>'
                     rb'<input type="hidden" name="__EVENTVALIDATION"[^>]*>')


def _tokens_before_the_end(whole: bytes) -> bytes:
    """The whole page's edit as a streamed one comes out when its one form is cut: the tokens
    moved from the top of the form to just before its end tag."""
    tokens = _TOKENS.search(whole)
    assert tokens is not None
    without = whole[:tokens.start()] + whole[tokens.end():]
    end = without.index(b"</form>")
    return without[:end] + tokens.group() + without[end:]


def _form_end(document: bytes, shift: int = 0) -> list[int]:
    return [_at(document, b"</form>", shift)]


@pytest.mark.parametrize(
    ("document", "options"),
    [
        pytest.param(_FIELDS_PAGE, {}, id="plain"),
        pytest.param(_TAKEN_ID_PAGE, {}, id="a-reserved-id-taken"),
        pytest.param(_FIELDS_PAGE, {"client_fields": {"__SCROLLPOSITIONX": "12",
                                                      "__LASTFOCUS": 'a<b"'}},
                     id="client-fields"),
        pytest.param(_TAKEN_ID_PAGE, {"client_fields": {}}, id="taken-id-empty-client-fields"),
        pytest.param(_FIELDS_PAGE, {"fragment": True}, id="fragment"),
    ],
)
@pytest.mark.parametrize(
    ("cuts", "form_cut"),
    [
        pytest.param(lambda d: [_at(d, b"<p id", 3)], False, id="inside-a-tag-before"),
        # (the form's start tag is then read whole in the next piece, with its end)
        pytest.param(lambda d: [_at(d, b"<form", 10)], False, id="inside-the-form-tag"),
        pytest.param(lambda d: [_at(d, b"<a ")], True, id="just-after-the-form-tag"),
        pytest.param(_form_end, True, id="just-before-the-form-end"),
        pytest.param(lambda d: _form_end(d, 3), True, id="inside-the-form-end"),
        pytest.param(lambda d: _form_end(d, 7), False, id="just-after-the-form-end"),
        pytest.param(lambda d: [_at(d, b"<form", 10), _at(d, b"zzz"), *_form_end(d, 3)],
                     True, id="three-cuts-in-the-form"),
        pytest.param(lambda d: list(range(1, len(d))), True, id="one-byte-pieces"),
    ],
)
def test_fields_whatever_the_pieces(document: bytes, options: dict[str, object],
                                    cuts: Callable[[bytes], list[int]], form_cut: bool) -> None:
    """Each edited piece writes its form's fields itself (the top ones, then the tokens, when
    the form is cut): byte for byte the whole page's, the tokens moved to the form's end."""
    whole = injector(**options).edit(document)
    expected = _tokens_before_the_end(whole) if form_cut else whole
    assert streamed(document, cuts(document), **options) == expected


@pytest.mark.parametrize(
    ("reference", "paths", "withheld"),
    [
        pytest.param('"LB", "", false, "", "Other.aspx", false, true',
                     ("/cart/view", "/cart/Other.aspx"), False,
                     id="same-origin-postbackurl-binds-its-path"),
        pytest.param('"B", "", true, "", "/x/Other.aspx", false, false',
                     ("/cart/view", "/x/Other.aspx"), False, id="native-submission-binds-its-path"),
        pytest.param('"LB", "", false, "", "https://evil.example/", false, true', ("/cart/view",),
                     True, id="cross-origin-postbackurl-withholds-the-tokens"),
    ],
)
def test_cross_page_postbacks(reference: str, paths: tuple[str, ...], withheld: bool) -> None:
    editor = injector()
    out = editor.edit(('<form method="post"><a href="javascript:WebForm_DoPostBackWithOptions('
                       f'new WebForm_PostBackOptions({html.escape(reference)}))">go</a>'
                       "</form>").encode())
    (form,) = editor.forms
    assert form.paths == paths
    assert form.posts_elsewhere == withheld == (b"__VIEWSTATE" not in out)


def test_the_webforms_form_gets_the_ids_when_another_form_comes_first() -> None:
    """Scripts find fields by id (Microsoft's AJAX client updates them so): the ids go to the
    form that held ASP.NET's own fields, not to a search form before it (red team)."""
    out = injector().edit(b'<form method="post" id="search"></form>' + _aspnet_page().encode())
    search, webforms = out.split(b"</form>", 1)
    assert b'id="__VIEWSTATE"' not in search
    assert webforms.count(b'id="__VIEWSTATE"') == 1 and webforms.count(b'id="__EVENTTARGET"') == 1


@pytest.mark.parametrize("with_id", [pytest.param(True, id="with-id"),
                                     pytest.param(False, id="without-id")])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("eyJ2IjoxfQ.c2lnbmF0dXJlLXRleHQ_-", id="token"),
        pytest.param("", id="empty"),
        pytest.param("12", id="digits"),
        pytest.param('say "hi"', id="double-quote"),
        pytest.param("it's", id="single-quote"),
        pytest.param("a&b<c>d", id="markup"),
        pytest.param("Grüße", id="non-ascii"),
        pytest.param("ctl00$Main\x7f", id="delete-char"),
    ],
)
def test_a_hidden_input_is_spelled_as_ever(value: str, with_id: bool) -> None:
    """A token is written between the two parts of the tag made once: the same bytes as
    the whole tag written at once (escaped, non-ASCII as character references)."""
    from postback_middleware.inject import _input, hidden_input

    for _ in range(2):  # (the second time from the cache)
        assert hidden_input("__VIEWSTATE", value, with_id=with_id) == _input(
            "__VIEWSTATE", value, with_id)


_Splice = tuple[bytes, list[tuple[int, bytes]], list[int], bytes, bytes, bytes, bytes, int]


@st.composite
def _forms_to_splice(draw: st.DrawFn) -> _Splice:
    """What the injector gives splice_forms: a piece, the plan's insertions (in order of
    offset), the bulk-signed forms' places (in order; an insertion may share one), the
    inputs before each index, what follows it, the forms' tags (one size, or none), the
    inputs' end, the first index."""
    document = draw(st.binary(max_size=200))
    size = len(document)
    insertions = sorted(draw(st.lists(st.tuples(st.integers(0, size), st.binary(max_size=8)),
                                      max_size=5)), key=lambda item: item[0])
    offsets = sorted(draw(st.lists(st.integers(0, size), max_size=12)))
    tag_size = draw(st.sampled_from([0, 1, 16]))
    tags = draw(st.binary(min_size=tag_size * len(offsets), max_size=tag_size * len(offsets)))
    first = draw(st.one_of(st.integers(0, 2), st.integers(0, 10**12)))
    return (document, insertions, offsets, draw(st.binary(max_size=12)),
            draw(st.binary(max_size=8)), tags, draw(st.binary(max_size=4)), first)


@settings(max_examples=500, deadline=None)
@given(_forms_to_splice())
def test_splice_forms_compiled_is_its_python_twin(case: _Splice) -> None:
    """The compiled splice of the bulk-signed forms' fields writes what its Python twin
    writes (splice, with each form's fields made apart)."""
    if inject._cscan is None:
        pytest.skip("the compiled scanner is not built")
    assert inject._cscan.splice_forms(*case) == inject.python_splice_forms(*case)


@pytest.mark.parametrize(("args", "error"), [
    pytest.param((b"abc", [], [4], b"", b"", b"", b"", 0), ValueError,
                 id="an-offset-past-the-end"),
    pytest.param((b"abc", [], [2, 1], b"", b"", b"", b"", 0), ValueError,
                 id="offsets-out-of-order"),
    pytest.param((b"abc", [(2, b"x"), (1, b"y")], [], b"", b"", b"", b"", 0), ValueError,
                 id="insertions-out-of-order"),
    pytest.param((b"abc", [], [1, 2], b"", b"", b"xyz", b"", 0), ValueError,
                 id="tags-not-one-a-form"),
    pytest.param((b"abc", [], [], b"", b"", b"x", b"", 0), ValueError,
                 id="tags-and-no-form"),
    pytest.param((b"abc", [], [1], b"", b"", b"", b"", -1), ValueError,
                 id="a-negative-index"),
    pytest.param((b"abc", [(1, "x")], [], b"", b"", b"", b"", 0), TypeError,
                 id="text-not-bytes"),
    pytest.param((b"abc", [], [True], b"", b"", b"", b"", 0), TypeError,
                 id="an-offset-not-an-int"),
    pytest.param((bytearray(b"abc"), [], [], b"", b"", b"", b"", 0), TypeError,
                 id="not-bytes"),
    pytest.param((b"abc", [], [1], b"", [b""], b"", b"", 0), TypeError,
                 id="a-list-of-ends"),
    pytest.param((b"abc", [], [], b"", b"", b"", b"", 0, 1), TypeError,
                 id="too-many-arguments"),
])
def test_splice_forms_compiled_refuses_what_the_injector_never_gives(
        args: tuple[object, ...], error: type[Exception]) -> None:
    if inject._cscan is None:
        pytest.skip("the compiled scanner is not built")
    with pytest.raises(error):
        inject._cscan.splice_forms(*args)  # type: ignore[arg-type]


_ANY_ACTION = st.one_of(
    st.none(),
    st.text(st.sampled_from([*"/.:azAZ09-_~!$&'()*+,=@%?#;\\ \n\t", "\u00e9", "\u00a0"]),
            max_size=8),
    st.sampled_from(["/a/1/delete/", "1/delete/", "./1", "//evil", "a:b", ".x", "/a/./b"]))


@st.composite
def _pieces_items(draw: st.DrawFn) -> list[object]:
    """What a piece's scan gives the injector: bare forms (any action, pairs or none) among
    other items (a tag, pairs, a tuple that is no BareForm)."""
    bare = st.builds(BareForm, st.integers(0, 9), st.integers(0, 99), st.integers(0, 99),
                     st.integers(0, 99), _ANY_ACTION,
                     st.one_of(st.none(), st.just({}), st.just({"vote": ["up:1"]})))
    other = st.sampled_from([{"A": [""]}, (0, 1, 1, 2, "/a", None),
                             BareForm(0, 1, 1, 2, "/a", None).items()[0]])
    return draw(st.lists(st.one_of(bare, bare, other), max_size=10))


@settings(max_examples=2000, deadline=None)
@given(_pieces_items())
def test_plain_actions_compiled_is_its_python_twin(items: list[object]) -> None:
    """(a piece's bare forms' actions, read in place in C, read as the joined regex reads
    them)"""
    if inject._cscan is None:
        pytest.skip("the compiled scanner is not built")
    expected = inject._python_plain_actions(items, BareForm)  # type: ignore[arg-type]
    event(f"kind {expected}")
    assert inject._cscan.plain_actions(items, BareForm) == expected


@settings(max_examples=1000, deadline=None)
@given(_pieces_items(), st.integers(0, 11), st.sampled_from(["", "/cart/", "/é/"]))
def test_take_bare_compiled_is_its_python_twin(items: list[object], start: int,
                                               before: str) -> None:
    """(a list page's run of bare forms, kept in one C call: what the Python twin keeps)"""
    if inject._cscan is None:
        pytest.skip("the compiled scanner is not built")
    # (the injector takes a run only where each action is plain, so text)
    items = [item for item in items if not (type(item) is BareForm and item.action is None)]
    tags: list[BareForm] = []
    got: tuple[list[object], list[object], list[object]] = ([], [], [])
    expected: tuple[list[object], ...] = ([], [], [], [])
    taken = inject._cscan.take_bare(items, start, before, BareForm, tags, *got)
    assert taken == inject._python_take_bare(
        items, start, before, BareForm, *expected)  # type: ignore[arg-type]
    assert (tags, *got) == expected
    for tag, kept in zip(tags, got[1], strict=True):  # (a form's own pairs, or a new dict)
        assert kept is tag.pairs if tag.pairs else kept == {} and kept is not tag.pairs


@pytest.mark.parametrize(("args", "error"), [
    pytest.param(((), BareForm), TypeError, id="plain-actions-not-a-list"),
    pytest.param(([], None), TypeError, id="plain-actions-no-type"),
    pytest.param(([{}], dict), TypeError, id="plain-actions-not-a-tuple-type"),
    pytest.param(([{}], 0, "", dict, [], [], [], []), TypeError, id="take-not-a-tuple-type"),
    pytest.param(([], 0, "", BareForm, [], [], []), TypeError, id="take-too-few"),
    pytest.param(([], -1, "", BareForm, [], [], [], []), ValueError, id="take-before-the-start"),
    pytest.param(([], 0, b"", BareForm, [], [], [], []), TypeError, id="take-bytes-before"),
    pytest.param(([BareForm(0, 1, 1, 2, None, None)], 0, "", BareForm, [], [], [], []),
                 TypeError, id="take-a-form-without-an-action"),
])
def test_bare_form_helpers_compiled_refuse_what_the_injector_never_gives(
        args: tuple[object, ...], error: type[Exception]) -> None:
    if inject._cscan is None:
        pytest.skip("the compiled scanner is not built")
    helper: Callable[..., int] = (inject._cscan.plain_actions if len(args) == 2
                                  else inject._cscan.take_bare)
    with pytest.raises(error):
        helper(*args)


# --------------------------------------------------------------------------- update panels


@pytest.fixture(params=["python", "compiled"])
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test that asks for it runs its editor on either scanner engine."""
    require_engine(request.param)
    previous = html_scan.use_engine(request.param)
    yield str(request.param)
    html_scan.use_engine(previous)


@pytest.mark.parametrize("count", [1, 10_000])
def test_a_partial_postbacks_panel_is_kept_as_two_items(engine: str, count: int) -> None:
    """The editor keeps, of a panel of thousands of tags of its name, its start tag and its
    end (``partial`` cuts it out between them), moved past the fields written before it."""
    editor = injector(panels=["p"])
    document = (b'<form method="post"><div id=p data-update-panel>' + b"<div>x</div>" * count
                + b"</div></form>")
    edited = editor.edit(document)
    assert editor.panel_tags is not None
    start, end = editor.panel_tags
    assert isinstance(end, PanelEnd)
    assert edited[start.start:start.end] == b"<div id=p data-update-panel>"
    assert edited[end.start:end.end] == b"</div>"
    assert edited[start.end:end.start] == b"<div>x</div>" * count


@pytest.mark.parametrize(("document", "kept"), [
    pytest.param(b'<input id=p data-update-panel><form method="post"><a data-postback=go>go</a>'
                 b"</form></input>", True, id="fields-close-themselves-in-an-input-panel"),
    pytest.param(b'<input id=p data-update-panel><form method="post">'
                 b'<input type="hidden" name="__VIEWSTATE" value="old"></form></input></input>',
                 False, id="an-aspnet-field-counted-in-an-input-panel-is-cut-out"),
    pytest.param(b'<form method="post"><input type="hidden" name="__VIEWSTATE" value="old" '
                 b"id=p data-update-panel></form>", False, id="the-panel-itself-is-cut-out"),
])
def test_a_panel_whose_count_the_edit_changes_is_read_again(engine: str, document: bytes,
                                                             kept: bool) -> None:
    """Where what the editor wrote or cut out inside a panel changes the count of its name's
    elements, the panel may end elsewhere in the edited page: its tags are not kept (None),
    and ``partial`` reads the edited page again (the same panels as a scan of it finds)."""
    editor = injector(panels=["p"])
    edited = editor.edit(document)
    assert (editor.panel_tags is not None) == kept
    assert read_panels(edited, "utf-8", {"p": ()}, editor.panel_tags) == panels_counted(
        edited, {"p": ()})
