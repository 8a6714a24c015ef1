"""Which forms get fields, which events they register, where the script goes."""

from __future__ import annotations

import pytest

from postback_middleware.html_scan import iter_tags
from postback_middleware.inject import action_path, find_post_forms, inject, splice

PAGE_URL = "http://shop.example/cart/view?id=3"


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


def forms_of(document: str) -> list[tuple[str, list[list[str]]]]:
    page = find_post_forms(iter_tags(document.encode()), PAGE_URL)
    return [(form.action_path, form.pairs) for form in page.forms]


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
    return inject(document.encode(), page_url=PAGE_URL, encoding="utf-8",
                  sign_form=lambda form: ("VS", "EV"), script_tag=b"<script/>", client_fields=None)


def test_script_goes_before_head_end_once() -> None:
    out = run('<html><head><title>t</title></head><form method="post"></form>'
              '<form method="post"></form>')
    assert out is not None
    assert out.count(b"<script/>") == 1
    assert out.index(b"<script/>") < out.index(b"</head>")


def test_script_goes_before_first_form_without_head() -> None:
    out = run('<p>x</p><form method="post"></form>')
    assert out is not None
    assert out.startswith(b"<p>x</p><script/><form")


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
    assert out.startswith(b'<script/><form method="post" data-x=">"><input type="hidden" '
                          b'name="__EVENTTARGET"')


def test_splice_keeps_every_byte() -> None:
    document = b"0123456789"
    out = splice(document, [(5, b"[b]"), (0, b"[a]"), (5, b"[c]"), (10, b"[d]")])
    assert out == b"[a]01234[b][c]56789[d]"
