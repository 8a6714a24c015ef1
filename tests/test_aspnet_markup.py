"""The postback references ASP.NET renders, read back into pairs (``aspnet.markup``).

The table holds real renderings, written as ``System.Web`` writes them (microsoft/
referencesource: ``ClientScriptManager.cs``, ``Util.cs``, the controls); the near misses must
yield nothing. The properties check the module against a model of ASP.NET's rendering (ported
from the C# below), and that nothing it returns is absent from its input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from postback_middleware.aspnet import markup
from postback_middleware.aspnet.markup import (
    MAX_PAIRS_PER_TAG,
    MAX_VALUE_LENGTH,
    Reference,
    event_references,
    references,
)
from postback_middleware.html_scan import attributes, iter_tags

from . import aspnet_pages

# --- a model of what ASP.NET writes (System.Web, ported) -------------------------------------


def quote_jscript(value: str, for_url: bool = False) -> str:
    """Util.QuoteJScriptString (UI/Util.cs)."""
    escapes = {"\r": "\\r", "\t": "\\t", '"': '\\"', "'": "\\'", "\\": "\\\\", "\n": "\\n"}
    if for_url:
        escapes["%"] = "%25"
    return "".join(escapes.get(c, c) for c in value)


def postback_reference(target: str, argument: str, for_url: bool = False) -> str:
    """ClientScriptManager.GetPostBackEventReference(control, argument, forUrl, ...)."""
    return "__doPostBack('" + target + "','" + quote_jscript(argument, for_url) + "')"


def client_hyperlink(target: str, argument: str) -> str:
    """ClientScriptManager.GetPostBackClientHyperlink(control, argument, true...)."""
    return "javascript:" + postback_reference(target, argument, for_url=True)


def options_reference(
    target: str,
    argument: str = "",
    *,
    validation: bool = False,
    group: str = "",
    action_url: str = "",
    track_focus: bool = False,
    client_submit: bool = True,
    auto_postback: bool = False,
    javascript_protocol: bool = False,
) -> str:
    """ClientScriptManager.GetPostBackEventReference(PostBackOptions options, ...)."""
    out = "javascript:" if javascript_protocol else ""
    if auto_postback:
        out += "setTimeout('"
    if not validation and not track_focus and client_submit and not action_url:
        reference = postback_reference(target, argument)
        if auto_postback:
            return out + quote_jscript(reference) + "', 0)"
        return out + reference

    def flag(value: bool) -> str:
        return "true" if value else "false"

    out += (
        f'WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions("{target}", '
        f'"{quote_jscript(argument)}", {flag(validation)}, "{group}", '
        f'"{quote_jscript(action_url)}", {flag(track_focus)}, {flag(client_submit)}))'
    )
    return out + ("', 0)" if auto_postback else "")


def merge_script(first: str, second: str) -> str:
    """Util.MergeScript: the control's own script first, ``javascript:`` only when alone."""
    if first:
        return first + second
    return second if second.lstrip().startswith("javascript:") else "javascript:" + second


def ensure_semicolon(script: str) -> str:
    """Util.EnsureEndWithSemiColon."""
    return script + ";" if script and not script.endswith(";") else script


def attribute_encode(value: str) -> str:
    """HttpUtility.HtmlAttributeEncode (Util/HttpEncoder.cs)."""
    return (value.replace("&", "&amp;").replace('"', "&quot;").replace("'", "&#39;")
            .replace("<", "&lt;"))


def scanned(tag: str) -> tuple[str, Mapping[str, str]]:
    """A tag's name and attributes as the package's HTML scanner gives them."""
    found = next(t for t in iter_tags(tag.encode("utf-8")) if not t.is_end)
    return found.name, found.attrs


def refs(name: str, **attrs: str) -> list[tuple[str, str]]:
    return event_references(name, attrs)


# --- real renderings -------------------------------------------------------------------------

GRID = "ctl00$MainContent$GridView1"
# LinkButton.cs / ClientScriptManager.cs: the options form of a reference, in an href
WITH_OPTIONS = "javascript:WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions("

RENDERINGS = [
    # GridView: command and pager links are LinkButtons whose PostBackOptions come from the
    # grid (GridView.cs, IPostBackContainer.GetPostBackOptions: CommandName + "$" + argument).
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Sort$Name')"},
                 [(GRID, "Sort$Name")], id="gridview-sort"),
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Edit$3')"},
                 [(GRID, "Edit$3")], id="gridview-edit"),
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Delete$3')"},
                 [(GRID, "Delete$3")], id="gridview-delete"),
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Select$0')"},
                 [(GRID, "Select$0")], id="gridview-select"),
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Update$3')"},
                 [(GRID, "Update$3")], id="gridview-update"),
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Cancel$3')"},
                 [(GRID, "Cancel$3")], id="gridview-cancel"),
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Page$2')"},
                 [(GRID, "Page$2")], id="gridview-page-number"),
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Page$Next')"},
                 [(GRID, "Page$Next")], id="gridview-page-next"),
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Page$Prev')"},
                 [(GRID, "Page$Prev")], id="gridview-page-prev"),
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Page$First')"},
                 [(GRID, "Page$First")], id="gridview-page-first"),
    pytest.param("a", {"href": f"javascript:__doPostBack('{GRID}','Page$Last')"},
                 [(GRID, "Page$Last")], id="gridview-page-last"),
    # ButtonType=Button: DataControlButton sets ClientSubmit (DataControlButton.cs), so the
    # button posts itself; MergeScript keeps the reference's own javascript: prefix.
    pytest.param("input", {"type": "button", "value": "Delete",
                           "onclick": f"javascript:__doPostBack('{GRID}','Delete$3')"},
                 [(GRID, "Delete$3")], id="gridview-button-field"),
    # ButtonType=Image: DataControlImageButton, with ImageButton's "return false;".
    pytest.param("input", {"type": "image", "src": "sel.png",
                           "onclick": "javascript:__doPostBack('GridView1','Select$0');"
                                      "return false;"},
                 [("GridView1", "Select$0")], id="gridview-image-button"),
    pytest.param("a", {"href": "javascript:__doPostBack('DetailsView1','Page$2')"},
                 [("DetailsView1", "Page$2")], id="detailsview-pager"),
    pytest.param("a", {"href": "javascript:__doPostBack('DetailsView1','Edit$0')"},
                 [("DetailsView1", "Edit$0")], id="detailsview-edit"),
    pytest.param("a", {"href": "javascript:__doPostBack("
                       "'ctl00$MainContent$FormView1','Page$Next')"},
                 [("ctl00$MainContent$FormView1", "Page$Next")], id="formview-pager"),
    pytest.param("a", {"href": "javascript:__doPostBack('FormView1','Edit$')"},
                 [("FormView1", "Edit$")], id="formview-edit-no-argument"),
    # LinkButton (LinkButton.cs): the reference in href, OnClientClick in onclick.
    pytest.param("a", {"id": "LinkButton1",
                       "href": "javascript:__doPostBack('ctl00$LinkButton1','')"},
                 [("ctl00$LinkButton1", "")], id="linkbutton"),
    pytest.param("a", {"onclick": "return confirm('Sure?');",
                       "href": "javascript:__doPostBack('ctl00$LinkButton1','')"},
                 [("ctl00$LinkButton1", "")], id="linkbutton-onclientclick"),
    pytest.param("a", {"href": WITH_OPTIONS
                               + '"ctl00$LinkButton1", "", true, "", "", false, true))'},
                 [("ctl00$LinkButton1", "")], id="linkbutton-validation"),
    pytest.param("a", {"href": WITH_OPTIONS
                               + '"ctl00$Save", "", true, "Orders", "", false, true))'},
                 [("ctl00$Save", "")], id="linkbutton-validation-group"),
    # Button (Button.cs): UseSubmitBehavior=False posts with __doPostBack.
    pytest.param("input", {"type": "button", "name": "Button1", "value": "Go",
                           "onclick": "javascript:__doPostBack('Button1','')"},
                 [("Button1", "")], id="button-no-submit-behavior"),
    pytest.param("input", {"type": "button",
                           "onclick": "if (!confirm('Delete order?')) return false;"
                                      "__doPostBack('ctl00$Delete','')"},
                 [("ctl00$Delete", "")], id="button-onclientclick-confirm"),
    pytest.param("input", {"type": "button",
                           "onclick": 'javascript:WebForm_DoPostBackWithOptions(new '
                                      'WebForm_PostBackOptions("Button1", "", true, "", "", '
                                      "false, true))"},
                 [("Button1", "")], id="button-no-submit-behavior-validation"),
    # AutoPostBack controls: setTimeout around the (escaped) reference.
    pytest.param("select", {"name": "ctl00$MainContent$DropDownList1",
                            "onchange": "javascript:setTimeout('__doPostBack(\\'ctl00$MainContent"
                                        "$DropDownList1\\',\\'\\')', 0)"},
                 [("ctl00$MainContent$DropDownList1", "")], id="dropdownlist-autopostback"),
    pytest.param("select", {"onchange": "highlight(this);setTimeout('__doPostBack(\\'DropDownList1"
                                        "\\',\\'\\')', 0)"},
                 [("DropDownList1", "")], id="dropdownlist-autopostback-own-onchange"),
    pytest.param("select", {"multiple": "multiple",
                            "onchange": "javascript:setTimeout('__doPostBack(\\'ListBox1\\',"
                                        "\\'\\')', 0)"},
                 [("ListBox1", "")], id="listbox-autopostback"),
    pytest.param("select", {"onchange": "javascript:setTimeout('WebForm_DoPostBackWithOptions(new "
                                        'WebForm_PostBackOptions("DropDownList1", "", true, "", '
                                        "\"\", false, true))', 0)"},
                 [("DropDownList1", "")], id="dropdownlist-autopostback-causes-validation"),
    pytest.param("input", {"type": "checkbox", "name": "CheckBox1",
                           "onclick": "javascript:setTimeout("
                                      "'__doPostBack(\\'CheckBox1\\',\\'\\')', 0)"},
                 [("CheckBox1", "")], id="checkbox-autopostback"),
    pytest.param("input", {"type": "checkbox", "name": "CheckBoxList1$0",
                           "onclick": "javascript:setTimeout('__doPostBack(\\'CheckBoxList1$0\\',"
                                      "\\'\\')', 0)"},
                 [("CheckBoxList1$0", "")], id="checkboxlist-autopostback"),
    pytest.param("input", {"type": "radio", "name": "ctl00$RadioButtonList1",
                           "onclick": "javascript:setTimeout('__doPostBack("
                                      "\\'ctl00$RadioButtonList1$1\\',\\'\\')', 0)"},
                 [("ctl00$RadioButtonList1$1", "")], id="radiobuttonlist-autopostback"),
    pytest.param("input", {"type": "text", "name": "TextBox1",
                           "onchange": "javascript:setTimeout("
                                       "'__doPostBack(\\'TextBox1\\',\\'\\')', 0)",
                           "onkeypress": "if (WebForm_TextBoxKeyHandler(event) == false) "
                                         "return false;"},
                 [("TextBox1", "")], id="textbox-autopostback"),
    # HtmlInputButton / HtmlButton with OnServerClick (Util.WriteOnClickAttribute).
    pytest.param("input", {"type": "button", "onclick": "__doPostBack('Button1','')"},
                 [("Button1", "")], id="htmlinputbutton-serverclick"),
    pytest.param("button", {"onclick": "if (typeof(Page_ClientValidate) == 'function') "
                                       "Page_ClientValidate(''); __doPostBack('Button1','')"},
                 [("Button1", "")], id="htmlbutton-serverclick-validation"),
    pytest.param("button", {"onclick": "x.return = 1; __doPostBack('Button1','')"},
                 [("Button1", "")], id="property-named-return-before"),
    pytest.param("button", {"onclick": "track(); if (typeof(Page_ClientValidate) == 'function') "
                                       "Page_ClientValidate('Orders'); __doPostBack('Button1','')"},
                 [("Button1", "")], id="htmlbutton-serverclick-own-onclick"),
    pytest.param("a", {"href": "javascript:__doPostBack('Anchor1','')"},
                 [("Anchor1", "")], id="htmlanchor-serverclick"),
    # GetPostBackClientHyperlink users: Calendar, TreeView, Menu, BulletedList, ImageMap.
    pytest.param("a", {"href": "javascript:__doPostBack('Calendar1','8766')",
                       "style": "color:Black", "title": "March 01"},
                 [("Calendar1", "8766")], id="calendar-day"),
    pytest.param("a", {"href": "javascript:__doPostBack('Calendar1','V8735')",
                       "title": "Go to the previous month"},
                 [("Calendar1", "V8735")], id="calendar-previous-month"),
    pytest.param("a", {"href": "javascript:__doPostBack('Calendar1','R876607')"},
                 [("Calendar1", "R876607")], id="calendar-select-week"),
    pytest.param("a", {"href": "javascript:__doPostBack('TreeView1','sRoot\\\\Child')"},
                 [("TreeView1", "sRoot\\Child")], id="treeview-select-path"),
    pytest.param("a", {"href": "javascript:__doPostBack('TreeView1','tRoot')"},
                 [("TreeView1", "tRoot")], id="treeview-toggle"),
    pytest.param("a", {"href": "javascript:0"}, [], id="treeview-client-toggle"),
    pytest.param("a", {"href": "#", "onclick": "__doPostBack('ctl00$NavigationMenu',"
                                               "'Products\\\\Widgets')"},
                 [("ctl00$NavigationMenu", "Products\\Widgets")], id="menu-standards"),
    pytest.param("a", {"href": "javascript:__doPostBack('ctl00$Menu1','Products\\\\Widgets')"},
                 [("ctl00$Menu1", "Products\\Widgets")], id="menu-table-rendering"),
    pytest.param("a", {"href": "javascript:__doPostBack('BulletedList1','0')"},
                 [("BulletedList1", "0")], id="bulletedlist-linkbutton"),
    pytest.param("area", {"shape": "rect", "coords": "0,0,10,10",
                          "href": "javascript:__doPostBack('ImageMap1','0')"},
                 [("ImageMap1", "0")], id="imagemap-area"),
    pytest.param("a", {"href": "javascript:__doPostBack('ctl00$DataPager1$ctl00$ctl01','')"},
                 [("ctl00$DataPager1$ctl00$ctl01", "")], id="datapager-field"),
    pytest.param("a", {"href": "javascript:void(0)"}, [], id="linkbutton-disabled-no-op"),
]


@pytest.mark.parametrize(("name", "attrs", "expected"), RENDERINGS)
def test_real_renderings(name: str, attrs: dict[str, str], expected: list[tuple[str, str]]) -> None:
    assert event_references(name, attrs) == expected


# --- escapes, entities, percent-encoding -----------------------------------------------------

ESCAPES = [
    pytest.param("a", {"href": "javascript:__doPostBack('G','Sort$O\\'Brien')"},
                 [("G", "Sort$O'Brien")], id="quote-escaped"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','say \\\"hi\\\"')"},
                 [("G", 'say "hi"')], id="double-quote-escaped"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','a\\\\b\\\\\\\\c')"},
                 [("G", "a\\b\\\\c")], id="backslashes"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','a\\r\\nb\\tc')"},
                 [("G", "a\r\nb\tc")], id="cr-lf-tab-escaped"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','Sort$Prénom')"},
                 [("G", "Sort$Prénom")], id="non-ascii"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','Sort$名前 🙂')"},
                 [("G", "Sort$名前 🙂")], id="non-bmp"),
    pytest.param("input", {"onclick": "__doPostBack('G','a\u2028b')"},
                 [("G", "a\u2028b")], id="raw-line-separator-valid-since-es2019"),
    pytest.param("input", {"onclick": '__doPostBack("G","it\'s")'},
                 [("G", "it's")], id="double-quoted-literals"),
    pytest.param("input", {"onclick": "__doPostBack('G','it\\\"s')"},
                 [("G", 'it"s')], id="escaped-double-quote-in-single-quotes"),
    pytest.param("input", {"onclick": "__doPostBack( 'G' , 'A' ) ; "},
                 [("G", "A")], id="spaces-between-tokens"),
    pytest.param("input", {"onclick": "__doPostBack\n('G',\n'A')"},
                 [("G", "A")], id="line-breaks-between-tokens"),
    # setTimeout: the reference is a string in a string, so its own escapes are doubled.
    pytest.param("select", {"onchange": "setTimeout('__doPostBack(\\'G\\',\\'it\\\\\\'s\\')', 0)"},
                 [("G", "it's")], id="settimeout-doubly-escaped-quote"),
    pytest.param("select", {"onchange": "setTimeout('__doPostBack(\\'G\\',\\'a\\\\\\\\b\\')', 0)"},
                 [("G", "a\\b")], id="settimeout-doubly-escaped-backslash"),
    pytest.param("select", {"onchange": "setTimeout(\"__doPostBack('G','A');\", 0)"},
                 [("G", "A")], id="settimeout-double-quoted-with-semicolon"),
    # href: percent-decoded as a browser decodes a javascript: URL.
    pytest.param("a", {"href": "javascript:__doPostBack('Calendar1','V%25')"},
                 [("Calendar1", "V%")], id="percent-escaped-percent"),
    pytest.param("a", {"href": "javascript:__doPostBack(%27G%27,%27Sort%24Name%27)"},
                 [("G", "Sort$Name")], id="percent-encoded-quotes"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','%E2%82%AC %e2%82%ac')"},
                 [("G", "€ €")], id="percent-encoded-utf8"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','Pct%41')"},
                 [("G", "PctA")], id="linkbutton-percent-decoded-like-the-browser"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','100%')"},
                 [("G", "100%")], id="lone-percent-kept"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','%zz%4')"},
                 [("G", "%zz%4")], id="bad-percent-escapes-kept"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','a%5C%5Cb')"},
                 [("G", "a\\b")], id="percent-encoded-backslash-escape"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','A'%29"},
                 [("G", "A")], id="percent-encoded-paren"),
    pytest.param("a", {"href": "javascript:__doPostBack('G','A#frag?q')"},
                 [("G", "A#frag?q")], id="hash-and-question-mark"),
    # href: what the URL parser drops or ignores.
    pytest.param("a", {"href": "  \x01javascript:__doPostBack('G','A') \x1f"},
                 [("G", "A")], id="leading-trailing-c0-and-space"),
    pytest.param("a", {"href": "\tjava\nscr\ript:__doPostBack('G',\t'A')"},
                 [("G", "A")], id="tabs-and-newlines-removed"),
    pytest.param("a", {"href": "JavaScript:__doPostBack('G','A');"},
                 [("G", "A")], id="scheme-case-and-semicolon"),
    pytest.param("A", {"HREF": "javascript:__doPostBack('G','A')"},
                 [("G", "A")], id="names-any-case"),
]


@pytest.mark.parametrize(("name", "attrs", "expected"), ESCAPES)
def test_escapes(name: str, attrs: dict[str, str], expected: list[tuple[str, str]]) -> None:
    assert event_references(name, attrs) == expected


SCANNED = [
    pytest.param("<a href=\"javascript:__doPostBack(&#39;ctl00$MainContent$GridView1&#39;,"
                 "&#39;Sort$Name&#39;)\">Name</a>",
                 [(GRID, "Sort$Name")], id="aspnet4-attribute-encoded"),
    pytest.param("<a href=\"javascript:WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions("
                 "&quot;ctl00$LinkButton1&quot;, &quot;&quot;, true, &quot;&quot;, &quot;&quot;, "
                 "false, true))\">Save</a>",
                 [("ctl00$LinkButton1", "")], id="options-quot-entities"),
    pytest.param("<a href=\"javascript:__doPostBack('G','a&amp;b&lt;c&gt;\\&apos;')\">x</a>",
                 [("G", "a&b<c>'")], id="named-entities"),
    pytest.param("<a href='javascript:__doPostBack(&#x27;G&#x27;,&#x27;A&#x27;)'>x</a>",
                 [("G", "A")], id="hex-entities-single-quoted-attribute"),
    pytest.param("<select onchange=\"javascript:setTimeout(&#39;__doPostBack(\\&#39;DDL\\&#39;,"
                 "\\&#39;\\&#39;)&#39;, 0)\">",
                 [("DDL", "")], id="autopostback-attribute-encoded"),
    pytest.param("<A HREF=\"javascript:__doPostBack('G','A')\" href=\"javascript:__doPostBack"
                 "('X','Y')\">x</A>",
                 [("G", "A")], id="first-of-duplicated-attributes"),
    pytest.param("<a href=\"javascript:__doPostBack(&#39;G&#39;,&#39;A&#39;)\" "
                 "onclick=\"__doPostBack(&#39;G&#39;,&#39;A&#39;)\">x</a>",
                 [("G", "A")], id="same-pair-twice-once"),
    pytest.param("<input type=image onclick=\"javascript:__doPostBack('G','Select$0');return false;"
                 "\" onchange=\"__doPostBack('G','Other')\">",
                 [("G", "Select$0"), ("G", "Other")], id="two-attributes-in-order"),
]


@pytest.mark.parametrize(("html", "expected"), SCANNED)
def test_through_the_scanner(html: str, expected: list[tuple[str, str]]) -> None:
    """Attributes as the package's own HTML scanner decodes them."""
    assert event_references(*scanned(html)) == expected


# --- what yields nothing ---------------------------------------------------------------------

NOTHING = [
    # free script text, expressions
    pytest.param("input", {"onclick": "alert('hi')"}, id="free-script"),
    pytest.param("input", {"onclick": "var t = 'G'; __doPostBack(t, 'Delete$1')"},
                 id="target-expression"),
    pytest.param("input", {"onclick": "__doPostBack('T', this.value)"}, id="argument-expression"),
    pytest.param("input", {"onclick": "__doPostBack('T','A'+'B')"}, id="concatenation"),
    pytest.param("input", {"onclick": "__doPostBack('T',('A'))"}, id="parenthesised-argument"),
    pytest.param("input", {"onclick": "__doPostBack('T')"}, id="one-argument"),
    pytest.param("input", {"onclick": "__doPostBack('T','A','B')"}, id="three-arguments"),
    pytest.param("input", {"onclick": "__doPostBack('T','A',)"}, id="trailing-comma"),
    pytest.param("input", {"onclick": "__doPostBack('T',1)"}, id="number-argument"),
    pytest.param("input", {"onclick": "__doPostBack`T`"}, id="tagged-template"),
    pytest.param("input", {"onclick": "__doPostBack(`T`,`A`)"}, id="template-literals"),
    pytest.param("input", {"onclick": "__doPostBack('','A')"}, id="empty-target"),
    # two calls, calls in strings, calls on other objects
    pytest.param("input", {"onclick": "__doPostBack('a','1');__doPostBack('b','2')"},
                 id="two-calls"),
    pytest.param("a", {"href": "javascript:__doPostBack('a','1');__doPostBack('b','2')"},
                 id="two-calls-href"),
    pytest.param("input", {"onclick": "setTimeout('__doPostBack(\\'a\\',\\'\\')', 0);"
                                      "__doPostBack('b','')"}, id="timeout-then-call"),
    pytest.param("input", {"onclick": "alert('__doPostBack(\\'T\\',\\'A\\')')"},
                 id="call-inside-string"),
    pytest.param("input", {"onclick": "x = \"__doPostBack('T','A')\""},
                 id="call-inside-double-quoted-string"),
    pytest.param("input", {"onclick": "x.__doPostBack('T','A')"}, id="member-call"),
    pytest.param("input", {"onclick": "window.__doPostBack('T','A')"}, id="window-member-call"),
    pytest.param("input", {"onclick": "x['__doPostBack']('T','A')"}, id="computed-member-call"),
    pytest.param("input", {"onclick": "new __doPostBack('T','A')"}, id="constructor-call"),
    pytest.param("input", {"onclick": "__doPostBack = f;__doPostBack('T','A')"},
                 id="redefined-first"),
    # unbalanced quotes, bad escapes, line breaks
    pytest.param("input", {"onclick": "__doPostBack('T,'A')"}, id="unbalanced-quote-target"),
    pytest.param("input", {"onclick": "__doPostBack('T','A)"}, id="unterminated-argument"),
    pytest.param("input", {"onclick": "__doPostBack('T','A\\')"}, id="escaped-closing-quote"),
    pytest.param("input", {"onclick": "__doPostBack(\"T','A')"}, id="mismatched-quotes"),
    pytest.param("input", {"onclick": "__doPostBack('T','a\nb')"}, id="raw-newline-in-string"),
    pytest.param("input", {"onclick": "__doPostBack('T','a\\\nb')"}, id="line-continuation"),
    pytest.param("input", {"onclick": "__doPostBack('T','\\x41')"}, id="hex-escape-not-aspnet"),
    pytest.param("input", {"onclick": "__doPostBack('T','\\u0041')"},
                 id="unicode-escape-not-aspnet"),
    pytest.param("input", {"onclick": "__doPostBack('T','a\\/b')"}, id="slash-escape-not-aspnet"),
    pytest.param("input", {"onclick": "__doPostBack('T','\\0')"}, id="nul-escape-not-aspnet"),
    pytest.param("input", {"onclick": "__doPostBack('\\ud83d','A')"}, id="surrogate-not-aspnet"),
    pytest.param("input", {"onclick": "f('\\xZZ');__doPostBack('T','A')"},
                 id="syntax-error-in-own-script"),
    # the call must be its own top-level statement, and reachable
    pytest.param("input", {"onclick": "if (x) __doPostBack('T','A')"}, id="after-if"),
    pytest.param("input", {"onclick": "x && __doPostBack('T','A')"}, id="in-expression"),
    pytest.param("input", {"onclick": "a ? b : __doPostBack('T','A')"}, id="in-conditional"),
    pytest.param("input", {"onclick": "function f(){ __doPostBack('T','A') }"},
                 id="in-function"),
    pytest.param("input", {"onclick": "{ __doPostBack('T','A') }"}, id="in-block"),
    pytest.param("input", {"onclick": "f(function(){;__doPostBack('T','A')})"},
                 id="in-function-argument"),
    pytest.param("input", {"onclick": "x = [1;__doPostBack('T','A')"}, id="unbalanced-prefix"),
    pytest.param("input", {"onclick": "f());__doPostBack('T','A')"}, id="overclosed-prefix"),
    pytest.param("input", {"onclick": "f(];__doPostBack('T','A')"}, id="mismatched-brackets"),
    pytest.param("input", {"onclick": "f() __doPostBack('T','A')"}, id="no-semicolon-before"),
    pytest.param("input", {"onclick": "label:__doPostBack('T','A')"}, id="other-label"),
    pytest.param("input", {"onclick": "return confirm('Sure?');__doPostBack('Button1','')"},
                 id="after-return-unreachable"),
    pytest.param("input", {"onclick": "javascript:return false;__doPostBack('T','A')"},
                 id="after-labelled-return"),
    pytest.param("input", {"onclick": "throw 1;__doPostBack('T','A')"}, id="after-throw"),
    pytest.param("input", {"onclick": "if (a) {} return;__doPostBack('T','A')"},
                 id="return-after-block"),
    pytest.param("input", {"onclick": "(a) return;__doPostBack('T','A')"},
                 id="return-after-plain-parentheses"),
    pytest.param("input", {"onclick": "eval(s);__doPostBack('T','A')"}, id="eval-before"),
    pytest.param("input", {"onclick": "new Function(s)();__doPostBack('T','A')"},
                 id="function-constructor-before"),
    pytest.param("input", {"onclick": "setInterval(f, 9);__doPostBack('T','A')"},
                 id="setinterval-before"),
    pytest.param("input", {"onclick": "var o = new WebForm_PostBackOptions();"
                                      "__doPostBack('T','A')"},
                 id="options-before"),
    # comments and what this tokenizer does not follow
    pytest.param("input", {"onclick": "f(); // ;__doPostBack('T','A')"}, id="line-comment"),
    pytest.param("input", {"onclick": "/* x */__doPostBack('T','A')"}, id="block-comment"),
    pytest.param("input", {"onclick": "<!--\n__doPostBack('T','A')"}, id="html-open-comment"),
    pytest.param("input", {"onclick": "-->\n__doPostBack('T','A')"}, id="html-close-comment"),
    pytest.param("input", {"onclick": "x = a / b;__doPostBack('T','A')"}, id="division-before"),
    pytest.param("input", {"onclick": "x = `${1}`;__doPostBack('T','A')"},
                 id="template-before"),
    pytest.param("input", {"onclick": "\u00a0__doPostBack('T','A')"}, id="non-ascii-space"),
    pytest.param("input", {"onclick": "\\u005f_doPostBack('T','A')"}, id="escaped-identifier"),
    # after the call: only ";" and ImageButton's "return false;"
    pytest.param("input", {"onclick": "__doPostBack('T','A');alert(1)"}, id="statement-after"),
    pytest.param("input", {"onclick": "__doPostBack('T','A') || x"}, id="expression-after"),
    pytest.param("input", {"onclick": "__doPostBack('T','A')()"}, id="call-after"),
    pytest.param("input", {"onclick": "__doPostBack('T','A') return false;"},
                 id="return-without-semicolon"),
    pytest.param("input", {"onclick": "__doPostBack('T','A');return true;"}, id="return-true"),
    # WebForm_PostBackOptions that posts no event fields, or elsewhere
    pytest.param("input", {"type": "submit", "onclick": "javascript:WebForm_DoPostBackWithOptions("
                           'new WebForm_PostBackOptions("Button1", "", true, "", "", false, '
                           "false))"},
                 id="options-client-submit-false"),
    pytest.param("input", {"type": "image", "onclick": "javascript:WebForm_DoPostBackWithOptions("
                           'new WebForm_PostBackOptions("ImageButton1", "", true, "", "", false, '
                           "false))"},
                 id="imagebutton-validation-native-submit"),
    pytest.param("a", {"href": WITH_OPTIONS
                       + '"L", "", true, "", ""))'}, id="options-too-few-arguments"),
    pytest.param("a", {"href": WITH_OPTIONS
                       + '"L", "", 1, "", "", false, true))'}, id="options-number-for-boolean"),
    pytest.param("a", {"href": "javascript:WebForm_DoPostBackWithOptions(WebForm_PostBackOptions("
                       '"L", "", true, "", "", false, true))'}, id="options-without-new"),
    pytest.param("a", {"href": WITH_OPTIONS
                       + '"L", "", true, "", "", false, true)'}, id="options-unclosed"),
    pytest.param("a", {"href": WITH_OPTIONS
                       + '"L", x, true, "", "", false, true))'}, id="options-argument-expression"),
    # setTimeout: only the AutoPostBack shape
    pytest.param("select", {"onchange": "setTimeout('__doPostBack(\\'T\\',\\'\\')', 100)"},
                 id="timeout-not-zero"),
    pytest.param("select", {"onchange": "setTimeout(function(){__doPostBack('T','')}, 0)"},
                 id="timeout-function"),
    pytest.param("select", {"onchange": "setTimeout('f();__doPostBack(\\'T\\',\\'\\')', 0)"},
                 id="timeout-code-with-prefix"),
    pytest.param("select", {"onchange": "setTimeout('__doPostBack(\\'T\\',this.value)', 0)"},
                 id="timeout-code-with-expression"),
    pytest.param("select", {"onchange": "setTimeout('setTimeout(\\'__doPostBack(\\\\\\'T\\\\\\',"
                                        "\\\\\\'\\\\\\')\\', 0)', 0)"}, id="timeout-nested"),
    pytest.param("select", {"onchange": "setTimeout('__doPostBack(\\'T\\',\\'\\')')"},
                 id="timeout-no-delay"),
    pytest.param("select", {"onchange": "window.setTimeout('__doPostBack(\\'T\\',\\'\\')', 0)"},
                 id="timeout-member"),
    pytest.param("a", {"href": "javascript:setTimeout('__doPostBack(\\'T\\',\\'\\')', 0)"},
                 id="timeout-in-href"),
    # href: only a javascript: URL that is one call
    pytest.param("a", {"href": "http://example.com/__doPostBack('T','A')"}, id="http-url"),
    pytest.param("a", {"href": "#__doPostBack('T','A')"}, id="fragment"),
    pytest.param("a", {"href": "vbscript:__doPostBack('T','A')"}, id="vbscript"),
    pytest.param("a", {"href": "javascript :__doPostBack('T','A')"}, id="space-before-colon"),
    pytest.param("a", {"href": "java script:__doPostBack('T','A')"}, id="space-in-scheme"),
    pytest.param("a", {"href": "javascr\u0131pt:__doPostBack('T','A')"}, id="dotless-i-scheme"),
    pytest.param("a", {"href": "javascript:f();__doPostBack('T','A')"}, id="statement-before-href"),
    pytest.param("a", {"href": "javascript:javascript:__doPostBack('T','A')"},
                 id="label-in-href"),
    pytest.param("a", {"href": "javascript:__doPostBack('T','A');return false;"},
                 id="return-in-href"),
    pytest.param("a", {"href": "javascript:__doPostBack('T','%FF')"}, id="percent-bad-utf8"),
    pytest.param("a", {"href": "javascript:__doPostBack('T','A'%2"}, id="percent-cut-short"),
    pytest.param("a", {"href": "javascript:__doPostBack(%27T%27,%27A%0A%27)"},
                 id="percent-encoded-newline-in-string"),
    pytest.param("a", {"href": "javascript:__doPostBack('T','A')%2F%2F"},
                 id="percent-encoded-comment-after"),
    # attributes and elements that are not read
    pytest.param("div", {"href": "javascript:__doPostBack('T','A')"}, id="href-on-div"),
    pytest.param("link", {"href": "javascript:__doPostBack('T','A')"}, id="href-on-link"),
    pytest.param("base", {"href": "javascript:__doPostBack('T','A')"}, id="href-on-base"),
    pytest.param("input", {"onmouseover": "__doPostBack('T','A')"}, id="onmouseover"),
    pytest.param("input", {"onkeypress": "__doPostBack('T','A')"}, id="onkeypress"),
    pytest.param("input", {"ondblclick": "__doPostBack('T','A')"}, id="ondblclick"),
    pytest.param("form", {"onsubmit": "__doPostBack('T','A')"}, id="onsubmit"),
    pytest.param("button", {"formaction": "javascript:__doPostBack('T','A')"}, id="formaction"),
    pytest.param("a", {"data-href": "javascript:__doPostBack('T','A')"}, id="data-attribute"),
    pytest.param("input", {"value": "__doPostBack('T','A')"}, id="value-attribute"),
    pytest.param("input", {"onkeypress": "javascript:return WebForm_FireDefaultButton(event, "
                           "'Button1')"}, id="default-button"),
]


@pytest.mark.parametrize(("name", "attrs"), NOTHING)
def test_yields_nothing(name: str, attrs: dict[str, str]) -> None:
    assert event_references(name, attrs) == []


def test_long_values_are_not_read() -> None:
    filler = "x" * (MAX_VALUE_LENGTH - len("javascript:__doPostBack('G','')"))
    at_limit = f"javascript:__doPostBack('G','{filler}')"
    assert len(at_limit) == MAX_VALUE_LENGTH
    assert refs("a", href=at_limit) == [("G", filler)]
    assert refs("a", href=at_limit[:-2] + "x')") == []
    assert refs("input", onclick=" " * MAX_VALUE_LENGTH + "__doPostBack('G','A')") == []


def test_pairs_per_tag_are_capped() -> None:
    attrs = {f"on{kind}": f"__doPostBack('G','{kind}')" for kind in ("click", "change")}
    attrs["href"] = "javascript:__doPostBack('G','href')"
    assert len(event_references("a", attrs)) == MAX_PAIRS_PER_TAG == 3


def test_never_raises_on_odd_mappings() -> None:
    class Broken(Mapping[str, str]):
        def __getitem__(self, key: str) -> str:
            raise KeyError(key)

        def __iter__(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("broken")

        def __len__(self) -> int:
            return 1

    assert event_references("a", Broken()) == []
    assert event_references("a", {"href": None}) == []  # type: ignore[dict-item]
    assert event_references(None, {"href": "javascript:__doPostBack('G','A')"}) == []  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------------

UNIQUE_IDS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}(\$[A-Za-z0-9_]{1,8}){0,4}", fullmatch=True)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
NO_PERCENT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="%"),
                     max_size=40)


@given(target=UNIQUE_IDS, argument=TEXT)
def test_round_trip_client_hyperlink(target: str, argument: str) -> None:
    """GetPostBackClientHyperlink (Calendar, TreeView, Menu...): any argument comes back."""
    href = client_hyperlink(target, argument)
    assert refs("a", href=href) == [(target, argument)]
    # Through HTML, a NUL in an attribute value is read as U+FFFD (as a browser reads it).
    assert event_references(*scanned(f'<a href="{attribute_encode(href)}">x</a>')) == [
        (target, argument.replace("\x00", "\ufffd"))]


@given(target=UNIQUE_IDS, argument=NO_PERCENT, validation=st.booleans(),
       group=st.from_regex(r"[A-Za-z0-9 _]{0,10}", fullmatch=True), track_focus=st.booleans())
def test_round_trip_linkbutton(target: str, argument: str, validation: bool, group: str,
                               track_focus: bool) -> None:
    """LinkButton and the data controls' links: href = GetPostBackEventReference(options)."""
    href = options_reference(target, argument, validation=validation, group=group,
                             track_focus=track_focus, javascript_protocol=True)
    assert refs("a", href=href) == [(target, argument)]


@given(target=UNIQUE_IDS, argument=TEXT, own=st.sampled_from(
    ["", "return confirm('Sure?')", "if (!confirm('Delete \\u00e9?')) return false",
     "track(this, \"x\")", "javascript:log([1, {a: 2}])"]), image=st.booleans())
def test_round_trip_button_onclick(target: str, argument: str, own: str, image: bool) -> None:
    """Button with UseSubmitBehavior=False / DataControl(Image)Button: onclick = own script +
    reference (Button.cs, ImageButton.cs); only an unconditional return hides the call."""
    onclick = merge_script(ensure_semicolon(own), options_reference(
        target, argument, javascript_protocol=image))
    if image:
        onclick = ensure_semicolon(onclick) + "return false;"
    expected = [] if own.startswith("return") else [(target, argument)]
    assert refs("input", onclick=onclick) == expected


@given(target=UNIQUE_IDS, validation=st.booleans(), own=st.sampled_from(
    ["", "highlight(this)", "x = 'a;b'"]), handler=st.sampled_from(["onchange", "onclick"]))
def test_round_trip_autopostback(target: str, validation: bool, own: str, handler: str) -> None:
    """ListControl, TextBox, CheckBox, RadioButton with AutoPostBack."""
    script = merge_script(ensure_semicolon(own), options_reference(
        target, validation=validation, auto_postback=True))
    assert event_references("input", {handler: script}) == [(target, "")]
    html = f'<input {handler}="{attribute_encode(script)}">'
    assert event_references(*scanned(html)) == [(target, "")]


@given(target=UNIQUE_IDS, argument=TEXT)
def test_round_trip_autopostback_argument(target: str, argument: str) -> None:
    """The old-style setTimeout path escapes the reference twice: any argument comes back."""
    script = options_reference(target, argument, auto_postback=True, javascript_protocol=True)
    assert refs("select", onchange=script) == [(target, argument)]


def js_string_encode(text: str) -> str:
    """HttpUtility.JavaScriptStringEncode, single-quoted: how pages put data in handlers."""
    out = []
    for c in text:
        if c in "'\"\\":
            out.append("\\" + c)
        elif c in "\r\n\t\b\f":
            out.append({"\r": "\\r", "\n": "\\n", "\t": "\\t", "\b": "\\b", "\f": "\\f"}[c])
        elif ord(c) < 0x20 or c in "<>&\u2028\u2029":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "'" + "".join(out) + "'"


@given(data=TEXT)
def test_data_in_a_string_never_adds_a_pair(data: str) -> None:
    """Text a page puts in its own script's string literal cannot make or change a pair."""
    assert refs("input", onclick=f"show({js_string_encode(data)})") == []
    assert refs("input", onclick=f"show({js_string_encode(data)});__doPostBack('T','A')") == [
        ("T", "A")]


FRAGMENTS = st.sampled_from([
    "__doPostBack", "WebForm_DoPostBackWithOptions", "new", "WebForm_PostBackOptions",
    "setTimeout", "javascript", ":", "javascript:", "(", ")", "'", '"', "\\", "\\'", '\\"',
    "\\\\", ",", ";", " ", "\t", "\n", "%", "%27", "%25", "%5C", "%", "0", "true", "false",
    "return", "if", "else", "{", "}", "[", "]", ".", "/", "//", "/*", "`", "T", "A", "$", "é",
    "\u2028", "<!--", "-->", "&#39;", "return false;",
])
GENERATED = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=3)), max_size=30).map("".join),
)


def occurs_escaped(value: str, text: str) -> bool:
    """Whether ``value`` occurs in ``text``, each character as itself or as a JavaScript
    escape, single or doubled (a setTimeout string)."""
    parts = []
    for c in value:
        escape = {"\r": "r", "\n": "n", "\t": "t"}.get(c)
        if c in "'\"":
            parts.append(r"\\*" + re.escape(c))
        elif c == "\\":
            parts.append(r"(?:\\\\)+")
        elif escape:
            parts.append(r"(?:\\+" + escape + "|" + re.escape(c) + ")")
        else:
            parts.append(re.escape(c))
    return re.search("".join(parts), text) is not None


@settings(max_examples=500, deadline=None)
@given(name=st.sampled_from(["a", "area", "input", "select"]),
       attribute=st.sampled_from(["href", "onclick", "onchange"]),
       prefix=st.sampled_from(["", "javascript:", " javascript:", "f();",
                               "javascript:setTimeout('"]),
       value=GENERATED)
def test_arbitrary_text(name: str, attribute: str, prefix: str, value: str) -> None:
    """Never raises; returns only pairs whose text is in the input, escaped."""
    text = prefix + value
    reference = markup._attribute_reference(name, attribute, text)
    assert reference is None or not reference.posts_event or (
        reference.target, reference.argument) in event_references(name, {attribute: text})
    pairs = event_references(name, {attribute: text})
    assert isinstance(pairs, list) and len(pairs) <= 1
    script = markup._href_script(text) if attribute == "href" else text
    for target, argument in pairs:
        assert script is not None and target
        assert occurs_escaped(target, script) and occurs_escaped(argument, script)


@settings(max_examples=300, deadline=None)
@given(prefix=GENERATED)
def test_own_script_never_changes_the_pair(prefix: str) -> None:
    """Whatever comes before the call, the pair is the call's or none."""
    assert refs("input", onclick=prefix + "__doPostBack('T','A')") in ([], [("T", "A")])
    assert refs("input", onclick=prefix + ";__doPostBack('T','A')") in ([], [("T", "A")])


@st.composite
def mutated_renderings(draw: st.DrawFn) -> tuple[str, str]:
    """A rendering from the model, then a few random edits: near misses of every kind."""
    target, argument = draw(UNIQUE_IDS), draw(TEXT)
    attribute, text = draw(st.sampled_from([
        ("href", client_hyperlink(target, argument)),
        ("href", options_reference(target, argument, validation=True, javascript_protocol=True)),
        ("onclick", merge_script("f('x;y');", postback_reference(target, argument))),
        ("onclick", options_reference(target, argument, javascript_protocol=True)
         + ";return false;"),
        ("onchange", options_reference(target, argument, auto_postback=True)),
        ("onchange", options_reference(target, validation=True, auto_postback=True)),
    ]))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(FRAGMENTS, st.text(max_size=2)))
        end = at + (draw(st.integers(1, 4)) if edit != "insert" else 0)
        text = text[:at] + ("" if edit == "delete" else piece) + text[end:]
    return attribute, text


@settings(max_examples=500, deadline=None)
@given(rendering=mutated_renderings())
def test_mutated_renderings(rendering: tuple[str, str]) -> None:
    """Edited renderings never raise and never yield text that is not in them."""
    attribute, text = rendering
    pairs = event_references("a", {attribute: text})
    assert len(pairs) <= 1
    script = markup._href_script(text) if attribute == "href" else text
    for target, argument in pairs:
        assert script is not None and target
        assert occurs_escaped(target, script) and occurs_escaped(argument, script)


@pytest.mark.parametrize(
    ("name", "attrs", "expected"),
    [
        pytest.param("a", {"href": "javascript:" + options_reference(
            "ctl00$LinkButton1", action_url="Other.aspx")},
            [Reference("ctl00$LinkButton1", "", "Other.aspx")], id="linkbutton-postbackurl"),
        pytest.param("input", {"type": "submit", "onclick": "javascript:" + options_reference(
            "Button1", validation=True, action_url="Other.aspx?x='1'",
            client_submit=False)},
            [Reference("Button1", "", "Other.aspx?x='1'", posts_event=False)],
            id="button-postbackurl-submits-natively"),
        pytest.param("input", {"onclick": "javascript:" + options_reference(
            "Button1", validation=True, client_submit=False)}, [],
            id="native-submission-to-its-own-action"),
        pytest.param("a", {"href": "javascript:" + options_reference("L")},
                     [Reference("L", "", "", True)], id="no-action-url"),
    ],
)
def test_cross_page_references(name: str, attrs: dict[str, str],
                               expected: list[Reference]) -> None:
    """A PostBackUrl reference says where the form goes; its pair is registered when it posts
    one (clientSubmit true)."""
    assert references(name, attrs) == expected
    assert event_references(name, attrs) == [
        (ref.target, ref.argument) for ref in expected if ref.posts_event]


# --- the fast path ---------------------------------------------------------------------------
#
# markup._fast_match answers the shapes ASP.NET writes without the tokenizer; whenever it answers
# (anything but _UNREAD), its answer must be the lexer's, to the last field: a reference the
# fast path read differently would register a pair the page does not offer.

UNREAD = markup._UNREAD
LEXED = {"href": markup._href_reference, "onclick": markup._handler_reference,
         "onchange": markup._handler_reference}


def fast(attribute: str, value: str) -> Reference | object | None:
    patterns = markup._FAST_HREFS if attribute == "href" else markup._FAST_HANDLERS
    return markup._fast_match(patterns, value)


def assert_same_as_lexer(attribute: str, value: str) -> Reference | object | None:
    """The fast path's answer, checked against the lexer's; and the public path's."""
    answer = fast(attribute, value)
    if answer is not UNREAD:
        assert answer == LEXED[attribute](value)
        assert answer is None or type(answer) is Reference
    for tag in ("a", "area", "input", "select"):
        assert (markup._attribute_reference(tag, attribute, value)
                == markup._lexed_reference(tag, attribute, value))
    return answer


def options(*fields: str, label: str = "") -> str:
    return (f"{label}WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions("
            f"{', '.join(fields)}))")


FAST_PATH = [
    # answered: what ASP.NET writes
    pytest.param("href", "javascript:__doPostBack('GridView1','Delete$17')",
                 Reference("GridView1", "Delete$17"), id="href-gridview-link"),
    pytest.param("href", "javascript:__doPostBack('ctl00$Main$Grid','Page$Next');",
                 Reference("ctl00$Main$Grid", "Page$Next"), id="href-semicolon"),
    pytest.param("href", "javascript:__doPostBack('LinkButton1','')",
                 Reference("LinkButton1", ""), id="href-empty-argument"),
    pytest.param("href", "javascript:__doPostBack('G','Sort$Prénom 名前 🙂 #?=&<!-- -->/*')",
                 Reference("G", "Sort$Prénom 名前 🙂 #?=&<!-- -->/*"),
                 id="href-unicode-and-punctuation-in-strings"),
    pytest.param("href", options('"SendLink"', '""', "true", '"City"', '""', "false", "true",
                                 label="javascript:"),
                 Reference("SendLink", ""), id="href-options-validation"),
    pytest.param("href", options('"L"', '""', "false", '""', '"Other.aspx?x=1"', "false", "true",
                                 label="javascript:"),
                 Reference("L", "", "Other.aspx?x=1"), id="href-options-cross-page"),
    pytest.param("onclick", "javascript:__doPostBack('RefreshButton','')",
                 Reference("RefreshButton", ""), id="handler-labelled-call"),
    pytest.param("onclick", "__doPostBack('Button1','')", Reference("Button1", ""),
                 id="handler-bare-call"),
    pytest.param("onclick", "javascript:__doPostBack('ProductsGrid','Select$0');return false;",
                 Reference("ProductsGrid", "Select$0"), id="handler-image-button"),
    pytest.param("onclick", "__doPostBack('G','A');return false", Reference("G", "A"),
                 id="handler-return-false-without-semicolon"),
    pytest.param("onclick", "__doPostBack('G','A');", Reference("G", "A"),
                 id="handler-semicolon"),
    pytest.param("onchange", "javascript:setTimeout('__doPostBack(\\'DropDownList1\\',\\'\\')', 0)",
                 Reference("DropDownList1", ""), id="handler-autopostback"),
    pytest.param("onclick", "setTimeout('__doPostBack(\\'CheckBoxList1$0\\',\\'x\\')', 0);",
                 Reference("CheckBoxList1$0", "x"), id="handler-autopostback-unlabelled"),
    pytest.param("onchange", "javascript:setTimeout('" + options(
        '"DropDownList1"', '""', "true", '""', '""', "false", "true") + "', 0)",
                 Reference("DropDownList1", ""), id="handler-autopostback-validation"),
    pytest.param("onclick", options('"Button1"', '""', "true", '""', '"Other.aspx"', "false",
                                    "false", label="javascript:"),
                 Reference("Button1", "", "Other.aspx", posts_event=False),
                 id="handler-cross-page-native-submission"),
    # answered "nothing": a native submission to the form's own action
    pytest.param("onclick", options('"SaveButton"', '""', "true", '"Name"', '""', "false",
                                    "false", label="javascript:"),
                 None, id="handler-validating-submit-button"),
    pytest.param("href", options('"L"', '""', "true", '""', '""', "false", "false",
                                 label="javascript:"),
                 None, id="href-options-native-submission"),
    # unread: the lexer decides (it finds a pair in some of these, none in others)
    pytest.param("href", "JavaScript:__doPostBack('G','A')", UNREAD, id="href-scheme-case"),
    pytest.param("href", " javascript:__doPostBack('G','A')", UNREAD, id="href-leading-space"),
    pytest.param("href", "javascript:__doPostBack('G','A')\x01", UNREAD,
                 id="href-trailing-control"),
    pytest.param("href", "javascript:__doPostBack('G','A\tB')", UNREAD,
                 id="href-tab-the-url-parser-removes"),
    pytest.param("href", "javascript:__doPostBack('Calendar1','V%25')", UNREAD,
                 id="href-percent-escape"),
    pytest.param("href", "javascript:__doPostBack(%27G%27,%27A%27)", UNREAD,
                 id="href-percent-encoded-quotes"),
    pytest.param("href", "javascript:__doPostBack('TreeView1','sRoot\\\\Child')", UNREAD,
                 id="href-backslash-escape"),
    pytest.param("href", "javascript:__doPostBack('G','O\\'Brien')", UNREAD,
                 id="href-escaped-quote"),
    pytest.param("href", "javascript:__doPostBack('G','\ud800')", UNREAD,
                 id="href-lone-surrogate"),
    pytest.param("href", "javascript:__doPostBack(\"G\",\"A\")", UNREAD,
                 id="href-double-quoted-strings"),
    pytest.param("href", "javascript:__doPostBack('G',\"A')", UNREAD, id="href-mismatched-quotes"),
    pytest.param("href", "javascript:__doPostBack('','A')", UNREAD, id="href-empty-target"),
    pytest.param("href", "javascript:__doPostBack('G','A');return false;", UNREAD,
                 id="href-return-false"),
    pytest.param("href", "javascript:__doPostBack('G','A');;", UNREAD, id="href-two-semicolons"),
    pytest.param("href", "javascript:__doPostBack('G','A')//x", UNREAD, id="href-comment-after"),
    pytest.param("href", "javascript:__doPostBack( 'G','A')", UNREAD, id="href-space-in-call"),
    pytest.param("href", "javascript:setTimeout('__doPostBack(\\'G\\',\\'\\')', 0)", UNREAD,
                 id="href-settimeout"),
    pytest.param("href", "javascript:__doPostBack('a','1');__doPostBack('b','2')", UNREAD,
                 id="href-two-calls"),
    pytest.param("onclick", "f();__doPostBack('G','A')", UNREAD, id="handler-statement-before"),
    pytest.param("onclick", "return false;__doPostBack('G','A')", UNREAD,
                 id="handler-return-before"),
    pytest.param("onclick", "__doPostBack('G','A');f()", UNREAD, id="handler-statement-after"),
    pytest.param("onclick", "__doPostBack('G','A');return true;", UNREAD,
                 id="handler-return-true"),
    pytest.param("onclick", "__doPostBack('G','A') ;", UNREAD, id="handler-space-before-semicolon"),
    pytest.param("onclick", "__doPostBack('G','a\u2028b')", UNREAD, id="handler-line-separator"),
    pytest.param("onclick", "__doPostBack('G','a\nb')", UNREAD, id="handler-raw-newline"),
    pytest.param("onclick", "__doPostBack('G',`A`)", UNREAD, id="handler-template-literal"),
    pytest.param("onclick", "__doPostBack('G','100%')", UNREAD, id="handler-percent"),
    pytest.param("onclick", "javascript:javascript:__doPostBack('G','A')", UNREAD,
                 id="handler-two-labels"),
    pytest.param("onclick", "x.__doPostBack('G','A')", UNREAD, id="handler-member-call"),
    pytest.param("onclick", "<!--__doPostBack('G','A')", UNREAD, id="handler-html-comment"),
    pytest.param("onchange", "setTimeout('__doPostBack(\\'G\\',\\'\\')',0)", UNREAD,
                 id="handler-settimeout-without-space"),
    pytest.param("onchange", "setTimeout('__doPostBack(\\'G\\',\\'\\')', 1)", UNREAD,
                 id="handler-settimeout-delay"),
    pytest.param("onchange", "setTimeout('__doPostBack(\\'G\\',\\'it\\\\\\'s\\')', 0)", UNREAD,
                 id="handler-settimeout-doubly-escaped-quote"),
    pytest.param("onchange", "setTimeout(\"__doPostBack('G','')\", 0)", UNREAD,
                 id="handler-settimeout-double-quoted"),
    pytest.param("onchange", "setTimeout('__doPostBack(\\'G\\',\\'\\')', 0);__doPostBack('H','')",
                 UNREAD, id="handler-settimeout-then-call"),
    pytest.param("onclick", options('"B"', '""', "1", '""', '""', "false", "true"), UNREAD,
                 id="handler-options-number-for-boolean"),
    pytest.param("onclick", options('"B"', '""', "true", '""', '""', "false"), UNREAD,
                 id="handler-options-six-fields"),
    pytest.param("onclick", options("'B'", "''", "true", "''", "''", "false", "true"), UNREAD,
                 id="handler-options-single-quoted"),
]


@pytest.mark.parametrize(("attribute", "value", "expected"), FAST_PATH)
def test_fast_path_table(attribute: str, value: str, expected: Reference | object | None) -> None:
    """What the fast path answers (or leaves to the lexer), and that the lexer agrees."""
    assert assert_same_as_lexer(attribute, value) == expected


def attribute_cases(table: list[Any]) -> list[Any]:
    """The (attribute, value) pairs of a table of (name, attrs, ...) renderings."""
    return [pytest.param(key.lower(), value, id=f"{param.id}-{key.lower()}")
            for param in table
            for key, value in param.values[1].items()
            if key.lower() in LEXED and isinstance(value, str)]


@pytest.mark.parametrize(("attribute", "value"),
                         attribute_cases(RENDERINGS + ESCAPES + NOTHING))
def test_fast_path_on_the_tables(attribute: str, value: str) -> None:
    assert_same_as_lexer(attribute, value)


def test_fast_path_reads_the_test_pages() -> None:
    """Every tag of the test pages (tests/aspnet_pages.py) reads the same either way, and the
    fast path answers the GridView's links and the AutoPostBack handlers."""
    answered = set()
    for control in aspnet_pages.CONTROLS.values():
        html = aspnet_pages.render("page", [control])
        for tag in iter_tags(html.encode("utf-8")):
            for attribute, value in tag.attrs.items():
                if (attribute in LEXED and not tag.is_end
                        and assert_same_as_lexer(attribute, value) is not UNREAD):
                    answered.add(control.name)
    assert {"gridview", "linkbutton", "dropdownlist", "validating-button", "checkbox",
            "textbox", "imagebutton-in-grid", "detailsview", "formview"} <= answered


# A grammar of the shapes, biased toward near misses. A value is a list of slots, each what
# ASP.NET writes there (a name, a separator, a string literal, an ending...) and the texts
# that could stand there instead; a near miss is a value with one or two slots changed. The
# strings are mostly of plain pieces, else of the characters that matter (quotes, escapes,
# percent-escapes, line breaks, controls, surrogates, comment markers).

Slot = tuple[str, list[str]]

PLAIN_PIECES = ["G", "GridView1", "ctl00$Main$Grid", "Delete$17", "Sort$Name", " ", "é",
                "名前", "🙂", "$", "0", "#", "?", "=", "&", ".", ":", "<", ">", "!", "-", "_"]
NEAR_PIECES = ["'", '"', "\\", "\\'", '\\"', "\\\\", "\\\\\\'", "\\n", "\\x41", "\\u0041",
               "%", "%27", "%25", "%41", "%5C", "%E2%82%AC", "%FF", "%2", "%0A", "\x00", "\t",
               "\n", "\r", "\x0b", "\x1f", "\x7f", "\x85", "\xa0", "\u2028", "\u2029",
               "\ud800", "\udfff", "\ufeff", "<!--", "-->", "//", "/*", "*/", "`", "&#39;", ";",
               ",", "(", ")", "__doPostBack", "return", "eval", ""]
PLAIN_TEXT = st.lists(st.sampled_from(PLAIN_PIECES), max_size=4).map("".join)
NEAR_TEXT = st.lists(st.one_of(st.sampled_from(PLAIN_PIECES), st.sampled_from(NEAR_PIECES),
                               st.text(max_size=2)), max_size=5).map("".join)
STRING_TEXT = st.one_of(PLAIN_TEXT, PLAIN_TEXT, PLAIN_TEXT, NEAR_TEXT)
TARGET_TEXT = st.one_of(*[st.lists(st.sampled_from(PLAIN_PIECES), min_size=1, max_size=4)
                          .map("".join)] * 3, NEAR_TEXT)
SEPARATORS = ["", " ", "  ", "\t", "\n", "\r\n", "/**/", "\u2028", "\xa0", "<!--", ",", ";",
              "))", "(("]
BOOLEANS = ["true", "false", "True", "FALSE", "0", "1", "!0", "null", "", "true,", "tru"]
HEADS = ["", "javascript:", "JavaScript:", " javascript:", "javascript: ", "\tjava\nscript:",
         "javascript:javascript:", "f();", "return false;", "if (x) ", "/*x*/", "<!--", "x.",
         "%6Aavascript:", "javascript", "javascript;", "vbscript:", ";",
         # letters that match ASCII ones without regard to case in Unicode
         "java\u017fcript:", "JAVASCR\u0130PT:", "javascr\u0131pt:"]
ENDINGS = ["", ";", ";return false;", ";return false", "; return false;", ";return true;",
           ";return  false;", ";return false ;", ";;", "//", "/* */", " ", "\n", "\x00", ";f()",
           ")", "%3B", "%29", "\ud800", ";return false;;", ";return", "return false;",
           ";return false;return false;", ";return 0;", ";return!1;"]


def literal(text: str, quote: str) -> Slot:
    """A string literal in ``quote``, and its near misses."""
    others = ["'", '"', "\\'", '\\"', "%27", "`", ""]
    return quote + text + quote, [*(q + text + q for q in others), quote + text,
                                  text + quote, quote + text + quote + quote,
                                  quote + text + "\\" + quote, quote + " " + text + quote,
                                  quote + text + " " + quote, quote + quote]


def call_slots(form: str, quote: str, strings: list[str], flags: list[str]) -> list[Slot]:
    """``__doPostBack(...)`` (form "call", quotes ``quote``, two strings) or
    ``WebForm_DoPostBackWithOptions(...)`` ("options", four strings, three flags)."""
    if form == "call":
        return [("__doPostBack", ["__dopostback", "x.__doPostBack", "__doPostBack2",
                                  "new __doPostBack", "WebForm_DoPostBackWithOptions",
                                  "setTimeout", "__doPostBack.call", "(__doPostBack)"]),
                ("(", SEPARATORS), literal(strings[0], quote),
                (",", [*SEPARATORS, ", ", " ,", ",,", ",'x',"]),
                literal(strings[1], quote), (")", [*SEPARATORS, ",'')", ",)", ")()", ").x"])]
    comma = (", ", [",", " , ", ", ,", ",\n", " ,", ",  ", ";", ""])
    double = '"'  # (raw in a setTimeout string too: ASP.NET does not escape the options form)
    target, argument, group, url = (literal(text, double) for text in strings)
    validation, focus, submit = ((flag, BOOLEANS) for flag in flags)
    return [("WebForm_DoPostBackWithOptions", ["__doPostBack", "WebForm_DoPostBack",
                                               "x.WebForm_DoPostBackWithOptions"]),
            ("(", SEPARATORS), ("new ", ["new", "new  ", "", "new\n", "new(", "x "]),
            ("WebForm_PostBackOptions", ["WebForm_PostBackOption", "x", "new", "Object"]),
            ("(", SEPARATORS), target, comma, argument, comma, validation, comma, group, comma,
            url, comma, focus, comma, submit, (")", [*SEPARATORS, ", true)", ",)"]),
            (")", SEPARATORS)]


def script_slots(attribute: str, head: str, timeout: bool, call: list[Slot],
                 ending: str) -> list[Slot]:
    """An ``href`` or a handler: scheme or label, the call (or setTimeout around it), ending."""
    slots = [(head, HEADS)]
    if timeout:
        slots += [("setTimeout", ["settimeout", "window.setTimeout", "setInterval", "eval"]),
                  ("('", ["(\"", "( '", "(", "('\\'", "(''"]), *call,
                  ("'", ['"', "\\'", "", "''", "' "]),
                  (", 0)", [",0)", ", 1)", ", 00)", ", 0", ")", ", 0, 1)", ", 0.0)",
                            ", 0);0", ", 0 )", ",  0)", ", '0')", ", 0x0)", ", -0)"])]
    else:
        slots += call
    return [*slots, (ending, ENDINGS)]


def exact_heads_and_endings(attribute: str) -> tuple[list[str], list[str]]:
    if attribute == "href":
        return ["javascript:"], ["", ";"]
    return ["javascript:", ""], ["", ";", ";return false;", ";return false"]


@st.composite
def script(draw: st.DrawFn) -> tuple[str, str]:
    """An (attribute, value): a shape ASP.NET writes, then most often a slot or two changed."""
    attribute = draw(st.sampled_from(["href", "onclick", "onchange"]))
    heads, endings = exact_heads_and_endings(attribute)
    form = draw(st.sampled_from(["call", "options"]))
    timeout = attribute != "href" and draw(st.integers(0, 2)) == 0
    strings = [draw(TARGET_TEXT), *(draw(STRING_TEXT) for _ in range(3))]
    flags = [draw(st.sampled_from(["true", "false"])) for _ in range(3)]
    call = call_slots(form, "\\'" if timeout and form == "call" else "'", strings, flags)
    slots = script_slots(attribute, draw(st.sampled_from(heads)), timeout, call,
                         draw(st.sampled_from(endings)))
    texts = [usual for usual, _ in slots]
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 1, 2]))):  # the near misses
        at = draw(st.integers(0, len(slots) - 1))
        texts[at] = draw(st.one_of(*[st.sampled_from(slots[at][1])] * 3, st.text(max_size=2)))
    text = "".join(texts)
    if draw(st.integers(0, 9 if attribute == "href" else 19)) == 0:  # as in a URL
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(text)))
            char = text[at:at + 1]
            if char and not "\ud800" <= char <= "\udfff":
                text = text[:at] + "".join(f"%{b:02X}" for b in char.encode()) + text[at + 1:]
    return attribute, text


@settings(max_examples=2500, deadline=None)
@given(value=script(), other_attribute=st.sampled_from(["href", "onclick", "onchange"]))
def test_fast_path_matches_the_lexer(value: tuple[str, str], other_attribute: str) -> None:
    """Differential: on generated near misses the fast path answers only as the lexer does."""
    assert_same_as_lexer(other_attribute, value[1])
    answer = assert_same_as_lexer(*value)
    event("unread" if answer is UNREAD else "answered nothing" if answer is None else "answered")


def same_answer_or_unread(attribute: str, value: str) -> bool:
    """The cheap half of assert_same_as_lexer, for the exhaustive loops below."""
    answer = fast(attribute, value)
    return answer is UNREAD or answer == LEXED[attribute](value)


# Exact shapes, each answered by the fast path; every one-slot change of them, and every
# one-character edit, must be left to the lexer or answered as it answers.
EXACT_SHAPES = [
    (attribute, head, timeout, form, strings, flags, ending)
    for attribute, head, ending in (
        ("href", "javascript:", ""), ("href", "javascript:", ";"),
        ("onclick", "javascript:", ""), ("onclick", "", ";"),
        ("onclick", "javascript:", ";return false;"), ("onclick", "", ";return false"))
    for timeout in ((False,) if attribute == "href" else (False, True))
    for form, strings, flags in (
        ("call", ["ctl00$Grid", "Delete$1", "", ""], []),
        ("call", ["G", "", "", ""], []),
        ("options", ["Save", "", "Orders", ""], ["true", "false", "true"]),
        ("options", ["Save", "x", "", "Other.aspx?a=1&b"], ["false", "true", "false"]),
        ("options", ["Save", "", "", ""], ["true", "false", "false"]),  # answered: nothing
    )
]


def shape_id(shape: tuple[str, str, bool, str, list[str], list[str], str]) -> str:
    """``onclick-labelled-settimeout-options-native-return-false``..."""
    attribute, head, timeout, form, strings, flags, ending = shape
    words = [attribute, "labelled" if head else "bare", "settimeout" if timeout else "",
             form, "" if strings[1] or form != "call" else "empty-argument",
             {"true": "", "false": "native"}.get(flags[-1], "") if flags else "",
             "cross-page" if strings[3] else "",
             {"": "", ";": "semicolon", ";return false;": "return-false",
              ";return false": "return-false-unended"}[ending]]
    return "-".join(word for word in words if word)


def exact_slots(attribute: str, head: str, timeout: bool, form: str, strings: list[str],
                flags: list[str], ending: str) -> list[Slot]:
    call = call_slots(form, "\\'" if timeout and form == "call" else "'", strings, flags)
    return script_slots(attribute, head, timeout, call, ending)


@pytest.mark.parametrize("shape", EXACT_SHAPES, ids=shape_id)
def test_fast_path_near_misses_one_slot(shape: tuple[str, str, bool, str, list[str],
                                                     list[str], str]) -> None:
    """Every one-slot near miss of an exact shape, on every attribute read."""
    slots = exact_slots(*shape)
    texts = [usual for usual, _ in slots]
    assert fast(shape[0], "".join(texts)) is not UNREAD
    wrong = []
    for at, (_, alternatives) in enumerate(slots):
        for alternative in alternatives:
            value = "".join([*texts[:at], alternative, *texts[at + 1:]])
            wrong += [(attribute, value) for attribute in LEXED
                      if not same_answer_or_unread(attribute, value)]
    assert wrong == []


EDIT_CHARACTERS = ("'\"\\%`; ,()0\t\n\r\x00\x0b\x1f\x7f\x85\xa0\u2028\ud800\ufeff/<!-*aA1é🙂"
                   "\u017f\u0130\u0131")


@pytest.mark.parametrize("shape", EXACT_SHAPES, ids=shape_id)
def test_fast_path_near_misses_one_character(shape: tuple[str, str, bool, str, list[str],
                                                          list[str], str]) -> None:
    """Every one-character insertion, deletion and replacement in an exact shape."""
    text = "".join(usual for usual, _ in exact_slots(*shape))
    attribute = shape[0]
    wrong = []
    for at in range(len(text) + 1):
        edits = [text[:at] + text[at + 1:]]
        for char in EDIT_CHARACTERS:
            edits += [text[:at] + char + text[at:], text[:at] + char + text[at + 1:]]
        wrong += [value for value in edits if not same_answer_or_unread(attribute, value)]
    assert wrong == []


@settings(max_examples=500, deadline=None)
@given(rendering=mutated_renderings())
def test_fast_path_matches_the_lexer_on_edited_renderings(rendering: tuple[str, str]) -> None:
    assert_same_as_lexer(*rendering)


@settings(max_examples=300, deadline=None)
@given(attribute=st.sampled_from(["href", "onclick", "onchange"]), value=GENERATED)
def test_fast_path_matches_the_lexer_on_arbitrary_text(attribute: str, value: str) -> None:
    assert_same_as_lexer(attribute, value)


@given(target=UNIQUE_IDS, argument=st.text(st.characters(
    exclude_categories=["Cs", "Cc"], exclude_characters="'\"\\%\u2028\u2029"), max_size=20),
    attribute=st.sampled_from(["href", "onclick", "onchange"]),
    shape=st.sampled_from(["plain", "options", "autopostback", "image"]))
def test_fast_path_answers_what_aspnet_writes(target: str, argument: str, attribute: str,
                                              shape: str) -> None:
    """The model's renderings with plain text answer fast, with the pair the lexer reads."""
    if shape == "plain":
        value = client_hyperlink(target, argument)
    elif shape == "options":
        value = options_reference(target, argument, validation=True, javascript_protocol=True)
    elif shape == "autopostback" and attribute != "href":
        value = options_reference(target, argument, auto_postback=True, javascript_protocol=True)
    elif attribute != "href":
        value = options_reference(target, argument, javascript_protocol=True) + ";return false;"
    else:
        return
    assert assert_same_as_lexer(attribute, value) == Reference(target, argument)


# --- character references in attribute values (html_scan.attributes) ------------------------
#
# A GridView link's href has four &#39;: attributes._decode_charrefs replaces the references
# HtmlAttributeEncode writes without a Python call each, and must give what the general
# scan (_CHARREF.sub(_replace_charref)) gives, which tests/test_html_scan.py checks against
# html5lib.


def scan_charrefs(value: str) -> str:
    return attributes._CHARREF.sub(attributes._replace_charref, value)


CHARREFS = [
    pytest.param("javascript:__doPostBack(&#39;GridView1&#39;,&#39;Delete$17&#39;)",
                 "javascript:__doPostBack('GridView1','Delete$17')", id="gridview-link"),
    pytest.param("new WebForm_PostBackOptions(&quot;L&quot;, &quot;&quot;)",
                 'new WebForm_PostBackOptions("L", "")', id="quot"),
    pytest.param("a &lt;b&gt; &amp; c", "a <b> & c", id="lt-gt-amp"),
    pytest.param("&amp;#39;", "&#39;", id="amp-then-numeric-stays-text"),
    pytest.param("&amp;quot;", "&quot;", id="amp-then-named-stays-text"),
    pytest.param("&amp;amp;", "&amp;", id="amp-amp"),
    pytest.param("&#39;&amp;&#39;", "'&'", id="amp-between-quotes"),
    pytest.param("&#390;", "\u0186", id="longer-number"),
    pytest.param("&#39", "'", id="numeric-without-semicolon"),
    pytest.param("&#039;", "'", id="leading-zero"),
    pytest.param("&#x27;", "'", id="hex"),
    pytest.param("&quot", '"', id="legacy-name-without-semicolon"),
    pytest.param("&quotx", "&quotx", id="legacy-name-then-alphanumeric"),
    pytest.param("&amp=", "&amp=", id="legacy-name-then-equals"),
    pytest.param("&#39;&notit;", "'&notit;", id="quote-then-unknown-name"),
    pytest.param("&not&#39;", "\xac'", id="legacy-name-then-quote-reference"),
    pytest.param("&lt&#39;", "<'", id="legacy-lt-then-quote-reference"),
    pytest.param("& &#39;", "& '", id="lone-ampersand"),
    pytest.param("&&#39;", "&'", id="ampersand-before-reference"),
    pytest.param("&#128;&#39;", "\u20ac'", id="cp1252-number"),
    pytest.param("&nbsp;&#39;", "\xa0'", id="other-name"),
]


@pytest.mark.parametrize(("value", "expected"), CHARREFS)
def test_common_charrefs(value: str, expected: str) -> None:
    assert attributes._decode_charrefs(value) == scan_charrefs(value) == expected
    assert attributes._value(value.encode(), "utf-8") == expected


REF_PIECES = ["&", "&#39;", "&quot;", "&lt;", "&gt;", "&amp;", "#", "39", "x27", ";", "amp",
              "quot", "lt", "gt", "not", "notin", "=", "a", "1", " ", "'", "\"", "<", ">",
              "&#", "&#x", "&amp", "&lt", "&quot", "\t", "\n", "é", "0" * 30]


@settings(max_examples=1000, deadline=None)
@given(value=st.one_of(st.lists(st.sampled_from(REF_PIECES), max_size=12).map("".join),
                       st.text(alphabet="&#;x39aqmpuotlg=1 '", max_size=20)))
def test_common_charrefs_match_the_scan(value: str) -> None:
    assert attributes._decode_charrefs(value) == scan_charrefs(value)
