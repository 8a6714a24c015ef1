"""The postback references ASP.NET renders, read back into pairs (``aspnet.markup``).

The table holds real renderings, written as ``System.Web`` writes them (microsoft/
referencesource: ``ClientScriptManager.cs``, ``Util.cs``, the controls); the near misses must
yield nothing. The properties check the module against a model of ASP.NET's rendering (ported
from the C# below), and that nothing it returns is absent from its input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postback_middleware.aspnet import markup
from postback_middleware.aspnet.markup import (
    MAX_PAIRS_PER_TAG,
    MAX_VALUE_LENGTH,
    Reference,
    event_references,
    references,
)
from postback_middleware.html_scan import iter_tags

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
