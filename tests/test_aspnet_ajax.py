"""Microsoft's ASP.NET AJAX client answered in its delta format (``aspnet.ajax``).

The answers are read back with :func:`parse_delta`, a model of the client's parser written
from PageRequestManager.js ``_parseDelta`` (microsoft/referencesource): it works on UTF-16
code units (JavaScript strings: ``indexOf``, ``substring``, ``substr``), reads a length with
``parseInt``, refuses content that reaches the end of the reply (its ``>=`` check) and a record
not followed by ``|``, and knows the record types the client's ``switch`` knows.
"""

from __future__ import annotations

import html
import itertools
import re
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote, urljoin

import pytest
import webtest
from hypothesis import given, settings
from hypothesis import strategies as st

from postback_middleware import PostbackMiddleware, html_scan
from postback_middleware.aspnet import ajax
from postback_middleware.aspnet.ajax import Panel, Setup, Trigger
from postback_middleware.errors import InvalidArgument
from postback_middleware.inject import FieldInjector, PostForm
from postback_middleware.response import Page

from .counting import growth
from .helpers import hidden_fields, new_key, require_engine
from .strategies import HTML_FRAGMENTS

# -- the client's parser, modelled -------------------------------------------------------------

# The types PageRequestManager.js's switch knows; any other is PRM_UnknownToken.
KNOWN_TYPES = frozenset({
    "#", "updatePanel", "hiddenField", "arrayDeclaration", "scriptBlock", "fallbackScript",
    "scriptStartupBlock", "expando", "onSubmit", "asyncPostBackControlIDs",
    "postBackControlIDs", "updatePanelIDs", "asyncPostBackTimeout", "childUpdatePanelIDs",
    "panelsToRefreshIDs", "formAction", "dataItem", "dataItemJson", "scriptDispose",
    "pageRedirect", "error", "pageTitle", "focus",
})
_PARSE_INT = re.compile(r"[\s\ufeff]*[+-]?([0-9]+)")  # parseInt(s, 10): a prefix of digits


class ParserError(Exception):
    """Sys.WebForms.PageRequestManagerParserErrorException."""


def _units(text: str) -> str:
    """``text`` as JavaScript sees it: one character per UTF-16 code unit."""
    data = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(int.from_bytes(data[i:i + 2], "little")) for i in range(0, len(data), 2))


def _text(units: str) -> str:
    """Code units back into Python text (a cut surrogate pair stays a lone surrogate)."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def parse_delta(reply: str) -> list[tuple[str, str, str]]:
    """PageRequestManager.js ``_parseDelta``: (type, id, content) of each record."""
    units = _units(reply)
    index = 0
    records: list[tuple[str, str, str]] = []
    while index < len(units):
        bar = units.find("|", index)
        if bar == -1:
            raise ParserError(f"no length delimiter at {index}")
        number = _PARSE_INT.match(units[index:bar])
        if number is None:  # NaN % 1 !== 0
            raise ParserError(f"no length at {index}")
        length = int(number.group(0))
        index = bar + 1
        bar = units.find("|", index)
        if bar == -1:
            raise ParserError(f"no type delimiter at {index}")
        kind = units[index:bar]
        index = bar + 1
        bar = units.find("|", index)
        if bar == -1:
            raise ParserError(f"no id delimiter at {index}")
        record_id = units[index:bar]
        index = bar + 1
        if index + length >= len(units):
            raise ParserError(f"content runs past the end at {index}")
        content = units[index:index + max(length, 0)]
        index += length
        if units[index:index + 1] != "|":
            raise ParserError(f"no terminating delimiter at {index}")
        index += 1
        records.append((_text(kind), _text(record_id), _text(content)))
    for kind, _, _ in records:
        if kind not in KNOWN_TYPES:
            raise ParserError(f"unknown token {kind!r}")
    return records


def unescape(text: str) -> str:
    """JavaScript's ``unescape``: ``%XX`` and ``%uXXXX`` to the code unit (Latin-1!)."""
    return re.sub(r"%u([0-9A-Fa-f]{4})|%([0-9A-Fa-f]{2})",
                  lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def received(body: bytes) -> list[tuple[str, str, str]]:
    """What the client parses from a body (XMLHttpRequest decodes it as UTF-8)."""
    return parse_delta(body.decode("utf-8"))


# -- framing ------------------------------------------------------------------------------------

FRAMING = [
    pytest.param("hello", "5|updatePanel|P|hello|", id="ascii"),
    pytest.param("", "0|updatePanel|P||", id="empty"),
    pytest.param("\U0001F600", "2|updatePanel|P|\U0001F600|", id="emoji-two-units"),
    pytest.param("a\U00020000b", "4|updatePanel|P|a\U00020000b|", id="astral-cjk"),
    pytest.param("é€", "2|updatePanel|P|é€|", id="bmp-non-ascii-one-unit-each"),
    pytest.param("a\r\nb", "4|updatePanel|P|a\r\nb|", id="crlf"),
    pytest.param("a|b||", "5|updatePanel|P|a|b|||", id="pipes-in-content"),
    pytest.param("12|x|y|z|", "9|updatePanel|P|12|x|y|z||", id="a-record-in-content"),
    pytest.param("\x00nul", "4|updatePanel|P|\x00nul|", id="nul"),
]


@pytest.mark.parametrize(("content", "framed"), FRAMING)
def test_delta_counts_utf16_code_units(content: str, framed: str) -> None:
    assert ajax.delta([("updatePanel", "P", content)]) == framed
    assert parse_delta("1|#||4|" + framed) == [("#", "", "4"), ("updatePanel", "P", content)]


def test_utf8_byte_lengths_break_the_client() -> None:
    """The model is as strict as the client: a delta framed with UTF-8 byte lengths fails."""
    content = "<b>\U0001F600</b>"
    wrong = f"{len(content.encode())}|updatePanel|P|{content}|"
    with pytest.raises(ParserError):
        parse_delta(wrong)
    assert parse_delta(ajax.delta([("updatePanel", "P", content)]))[0][2] == content


@pytest.mark.parametrize("reply", [
    pytest.param("3|updatePanel|P|abc", id="no-final-bar"),
    pytest.param("2|updatePanel|P|abc|", id="length-too-short"),
    pytest.param("x|updatePanel|P|abc|", id="length-not-a-number"),
    pytest.param("0|bogus|||", id="unknown-type"),
    pytest.param("3|updatePanel|P", id="no-id-delimiter"),
])
def test_the_model_refuses_what_the_client_refuses(reply: str) -> None:
    with pytest.raises(ParserError):
        parse_delta(reply)


@pytest.mark.parametrize(("kind", "record_id"), [
    pytest.param("update|Panel", "P", id="bar-in-type"),
    pytest.param("updatePanel", "P|1", id="bar-in-id"),
    pytest.param("", "P", id="empty-type"),
])
def test_delta_refuses_a_bar_in_type_or_id(kind: str, record_id: str) -> None:
    with pytest.raises(InvalidArgument):
        ajax.delta([(kind, record_id, "x")])


@settings(max_examples=300, deadline=None)
@given(markup=st.one_of(HTML_FRAGMENTS, st.text()), value=st.text(), title=st.text())
def test_any_panel_and_field_parse_back_exactly(markup: str, value: str, title: str) -> None:
    records = [("#", "", "4"), ("updatePanel", "UpdatePanel1", markup),
               ("hiddenField", "__VIEWSTATE", value), ("pageTitle", "", title)]
    body = ajax.delta(records).encode("utf-8")
    assert received(body) == records


def test_a_lone_surrogate_keeps_the_framing() -> None:
    body = ajax._encode(ajax.delta([("updatePanel", "P", "a\ud800b")]))
    assert received(body) == [("updatePanel", "P", "a?b")]


# -- detection, errors, redirects ---------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("Delta=true", True, id="exact"),
    pytest.param("  Delta=true ", True, id="trimmed"),
    pytest.param("gzip, Delta=true", True, id="one-of-several"),
    pytest.param("delta=true", False, id="case-matters"),
    pytest.param("Delta = true", False, id="inner-spaces"),
    pytest.param("Delta=true;", False, id="suffix"),
    pytest.param("Delta=false", False, id="false"),
    pytest.param(None, False, id="absent"),
])
def test_is_async(value: str | None, expected: bool) -> None:
    environ = {} if value is None else {ajax.ASYNC_HEADER: value}
    assert ajax.is_async(environ) is expected


def test_error_body_is_the_error_record_alone() -> None:
    body = ajax.error_body(500, "Boom \U0001F600 | it failed")
    assert body == "19|error|500|Boom \U0001F600 | it failed|"
    assert parse_delta(body) == [("error", "500", "Boom \U0001F600 | it failed")]


@pytest.mark.parametrize(("location", "navigated"), [
    pytest.param("/landing?from=async&x=1", "/landing?from=async&x=1", id="ascii"),
    pytest.param("/landing?x=été", "/landing?x=%C3%A9t%C3%A9", id="non-ascii-as-utf8"),
    pytest.param("/a%20b?q=%26&r=%u0041", "/a%20b?q=%26&r=%u0041", id="escapes-kept"),
    pytest.param("/a b", "/a%20b", id="space"),
    pytest.param("http://h/ünï/😀", "http://h/%C3%BCn%C3%AF/%F0%9F%98%80", id="astral"),
])
def test_redirect_body_survives_unescape(location: str, navigated: str) -> None:
    body = ajax.redirect_body(location)
    records = parse_delta(body)
    assert records[0] == ("#", "", "4")
    assert records[1][:2] == ("pageRedirect", "")
    assert records[1][2].isascii()
    assert unescape(records[1][2]) == navigated  # what the client navigates to


# -- read_setup ---------------------------------------------------------------------------------


def setup_script(call: str, newline: str = "\r\n") -> str:
    """The script PageRequestManager.cs RenderPageRequestManagerScript writes."""
    return (f'<script type="text/javascript">{newline}//<![CDATA[{newline}'
            f"Sys.WebForms.PageRequestManager._initialize({call});{newline}//]]>{newline}"
            f"</script>{newline}")


def page_with(script: str) -> bytes:
    return (f'<!DOCTYPE html><html><head><title>t</title></head><body>'
            f'<form method="post" action="./Default.aspx" id="form1">{script}'
            f'<div id="UpdatePanel1">x</div></form></body></html>').encode()


REAL_RENDERINGS = [
    pytest.param(
        "'ScriptManager1', 'form1', ['tUpdatePanel1',''], [], [], 90, ''",
        Setup("ScriptManager1", "form1", (Panel("UpdatePanel1", "UpdatePanel1", True),),
              (), (), 90, ""),
        id="one-panel"),
    pytest.param(
        "'ctl00$ScriptManager1', 'aspnetForm', ['tctl00$MainContent$UpdatePanel1',''], [], "
        "['ctl00$MainContent$BtnExport',''], 90, 'ctl00'",
        Setup("ctl00$ScriptManager1", "aspnetForm",
              (Panel("ctl00$MainContent$UpdatePanel1", "ctl00_MainContent_UpdatePanel1", True),),
              (), (Trigger("ctl00$MainContent$BtnExport", "ctl00_MainContent_BtnExport"),),
              90, "ctl00"),
        id="master-page-derived-client-ids"),
    pytest.param(
        "'ctl00$ContentPlaceHolder$ScriptManager1', 'form1', "
        "['tctl00$ContentPlaceHolder$UpdatePanel1','ContentPlaceHolder_UpdatePanel1',"
        "'fctl00$ContentPlaceHolder$Grid','Grid'], ['ctl00$ContentPlaceHolder$Timer1',"
        "'Timer1','ctl00$Go',''], [], 300, 'ctl00'",
        Setup("ctl00$ContentPlaceHolder$ScriptManager1", "form1",
              (Panel("ctl00$ContentPlaceHolder$UpdatePanel1", "ContentPlaceHolder_UpdatePanel1",
                     True),
               Panel("ctl00$ContentPlaceHolder$Grid", "Grid", False)),
              (Trigger("ctl00$ContentPlaceHolder$Timer1", "Timer1"),
               Trigger("ctl00$Go", "ctl00_Go")),
              (), 300, "ctl00"),
        id="several-panels-static-client-ids-and-triggers"),
    pytest.param(
        "'ctl00$ctl00$ScriptManager', 'aspnetForm', "
        "['tctl00$ctl00$cph$A','','tctl00$ctl00$cph$B','','fctl00$ctl00$cph$C',''], [], [], "
        "0, 'ctl00$ctl00'",
        Setup("ctl00$ctl00$ScriptManager", "aspnetForm",
              (Panel("ctl00$ctl00$cph$A", "ctl00_ctl00_cph_A", True),
               Panel("ctl00$ctl00$cph$B", "ctl00_ctl00_cph_B", True),
               Panel("ctl00$ctl00$cph$C", "ctl00_ctl00_cph_C", False)),
              (), (), 0, "ctl00$ctl00"),
        id="nested-master-pages"),
    pytest.param(
        "'ctl00$ScriptManager1', 'form1', [], [], [], 90, 'ctl00'",
        Setup("ctl00$ScriptManager1", "form1", (), (), (), 90, "ctl00"),
        id="no-panels"),
]


@pytest.mark.parametrize(("call", "expected"), REAL_RENDERINGS)
@pytest.mark.parametrize("newline", ["\r\n", "\n"], ids=["crlf", "lf"])
def test_read_setup_reads_aspnet_renderings(call: str, expected: Setup, newline: str) -> None:
    assert ajax.read_setup(page_with(setup_script(call, newline)), "utf-8") == expected


def test_read_setup_allows_javascript_whitespace_between_tokens() -> None:
    call = "\n  'ScriptManager1' ,'form1',[ 'tUpdatePanel1' , '' ],[],[],\t90,''\n"
    assert ajax.read_setup(page_with(setup_script(call)), "utf-8") == REAL_RENDERINGS[0].values[1]


GOOD = "'ScriptManager1', 'form1', ['tUpdatePanel1',''], [], [], 90, ''"
NEAR_MISSES = [
    pytest.param(setup_script(GOOD).replace("//<![CDATA[\r\n", ""), id="no-cdata"),
    pytest.param(setup_script(GOOD).replace("//<![CDATA[", "// <![CDATA["), id="other-cdata"),
    pytest.param(setup_script(GOOD.replace("'", '"')), id="double-quotes"),
    pytest.param(setup_script(GOOD.replace("'form1'", "'fo\\'rm1'")), id="escaped-quote"),
    pytest.param(setup_script(GOOD.replace("'form1'", "'\\u0066orm1'")), id="unicode-escape"),
    pytest.param(setup_script(GOOD).replace(");", ");alert(1);"), id="extra-statement"),
    pytest.param(setup_script(GOOD).replace(");", ")"), id="no-semicolon"),
    pytest.param(setup_script(GOOD).replace(");", ") /* x */;"), id="comment"),
    pytest.param(setup_script(GOOD.replace("''], [],", "'', 'tX'], [],")), id="odd-panel-list"),
    pytest.param(setup_script(GOOD.replace("'tUpdatePanel1'", "'UpdatePanel1'")),
                 id="no-children-as-triggers-flag"),
    pytest.param(setup_script(GOOD.replace("'tUpdatePanel1'", "'t'")), id="empty-panel-id"),
    pytest.param(setup_script(GOOD.replace("90", "90.5")), id="fractional-timeout"),
    pytest.param(setup_script(GOOD.replace("90", "-1")), id="negative-timeout"),
    pytest.param(setup_script(GOOD.replace("90", "0x5A")), id="hex-timeout"),
    pytest.param(setup_script(GOOD.replace("90", "090")), id="leading-zero-timeout"),
    pytest.param(setup_script(GOOD.replace("90", "99999999999")), id="huge-timeout"),
    pytest.param(setup_script(GOOD.replace("90", "x")), id="identifier-timeout"),
    pytest.param(setup_script(GOOD + ", 'more'"), id="extra-argument"),
    pytest.param(setup_script(GOOD.rsplit(",", 1)[0]), id="missing-argument"),
    pytest.param(setup_script(GOOD.replace("'form1'", "'fo'+'rm1'")), id="concatenation"),
    pytest.param(setup_script(GOOD.replace("'form1'", "'form|1'")), id="bar-in-id"),
    pytest.param(setup_script(GOOD.replace("'form1'", "'form,1'")), id="comma-in-id"),
    pytest.param(setup_script(GOOD.replace("'form1'", "'form 1'")), id="space-in-id"),
    pytest.param(setup_script(GOOD.replace("'ScriptManager1'", "''")), id="empty-manager"),
    pytest.param(setup_script(GOOD.replace("'form1'", "document.forms[0]")), id="expression"),
    pytest.param(setup_script(GOOD).replace("Sys.WebForms", "window.Sys.WebForms"),
                 id="other-object"),
    pytest.param(setup_script(GOOD).replace("_initialize", "_initialise"), id="other-name"),
    pytest.param(setup_script(GOOD).replace("(", "(eval('x'),", 1), id="eval"),
    pytest.param(setup_script(GOOD) * 2, id="called-twice"),
    pytest.param(setup_script(GOOD).replace("<script ", "<script src=\"/x.js\" "),
                 id="script-with-src"),
    pytest.param(setup_script(GOOD).replace("text/javascript", "text/template"),
                 id="not-javascript"),
    pytest.param("<!-- " + setup_script(GOOD) + " -->", id="in-a-comment"),
    pytest.param("<textarea>" + setup_script(GOOD) + "</textarea>", id="in-a-textarea"),
    pytest.param(setup_script(GOOD).replace("</script>", ""), id="unterminated-script"),
    pytest.param("<script>Sys.WebForms.PageRequestManager._initialize(" + GOOD + ");</script>",
                 id="bare-call"),
    pytest.param("", id="no-script"),
]


@pytest.mark.parametrize("script", NEAR_MISSES)
def test_read_setup_reads_nothing_else(script: str) -> None:
    assert ajax.read_setup(page_with(script), "utf-8") is None


def test_read_setup_reads_the_setup_beside_other_scripts() -> None:
    other = '<script type="text/javascript">var theForm = document.forms[\'form1\'];</script>'
    assert ajax.read_setup(page_with(other + setup_script(GOOD)), "utf-8") is not None


@settings(max_examples=300, deadline=None)
@given(noise=st.one_of(st.binary(), st.text().map(lambda t: t.encode("utf-8", "replace"))),
       at=st.integers(min_value=0))
def test_read_setup_never_raises(noise: bytes, at: int) -> None:
    script = setup_script(GOOD).encode()
    cut = at % (len(script) + 1)
    for document in (noise, script[:cut] + noise + script[cut:]):
        for encoding in ("utf-8", "windows-1252"):
            result = ajax.read_setup(document, encoding)
            assert result is None or isinstance(result, Setup)


def test_read_setup_caps_the_tokens_it_reads() -> None:
    panels = ",".join(f"'tP{i}',''" for i in range(ajax.MAX_SETUP_TOKENS // 4 + 1))
    call = f"'ScriptManager1', 'form1', [{panels}], [], [], 90, ''"
    assert ajax.read_setup(page_with(setup_script(call)), "utf-8") is None


# -- answer: a small app rendering ASP.NET's markup ---------------------------------------------

SETUP = ("'ScriptManager1', 'form1', ['tUpdatePanel1','','fOuter','','tctl00$Inner','',"
         "'tInline','InlineSpan'], ['AsyncButton',''], ['ExportButton',''], 90, ''")
PAGE = (
    "<!DOCTYPE html>\r\n<html>\r\n<head><title>\r\n\tCounter &amp; {n} \U0001F600\r\n</title>"
    "</head>\r\n<body>\r\n"
    '<form method="post" action="./Counter.aspx?x=1&amp;y=2" id="form1">\r\n'
    '<div class="aspNetHidden">\r\n'
    '<input type="hidden" name="__EVENTTARGET" id="__EVENTTARGET" value="" />\r\n'
    '<input type="hidden" name="__EVENTARGUMENT" id="__EVENTARGUMENT" value="" />\r\n'
    '<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwUKMTY1" />\r\n'
    "</div>\r\n"
    '<script type="text/javascript">\r\n//<![CDATA[\r\nvar theForm = document.forms[\'form1\'];'
    "\r\n//]]>\r\n</script>\r\n"
    '<script src="/ScriptResource.axd?d=abc" type="text/javascript"></script>\r\n'
    + setup_script(SETUP) +
    '<div id="UpdatePanel1">\r\n'
    '\t<span id="Count">{n}</span> <a id="LinkButton1" '
    'href="javascript:__doPostBack(&#39;LinkButton1&#39;,&#39;&#39;)">+1 \U0001F600</a>\r\n'
    '\t<script type="text/javascript">\r\nwindow.counted = {n};\r\n</script>\r\n'
    '\t<script src="/panel.js" type="text/javascript"></script>\r\n'
    '\t<script type="module">import "/m.js";</script>\r\n'
    '\t<script type="text/x-template"><b>{n}</b></script>\r\n'
    "</div>\r\n"
    '<div id="Outer"><div>outer {n}</div><div id="ctl00_Inner">inner {n}'
    "<script>window.inner = {n};</script></div></div>\r\n"
    '<span id="InlineSpan">inline {n}</span>\r\n'
    '<script type="text/javascript">window.outside = 1;</script>\r\n'
    '<input type="submit" name="AsyncButton" value="Go" id="AsyncButton" />\r\n'
    '<input type="submit" name="ExportButton" value="Export" id="ExportButton" />\r\n'
    "</form>\r\n<form method=\"post\" action=\"/other\" id=\"second\"></form>\r\n"
    "</body>\r\n</html>\r\n"
)


class CounterApp:
    """Renders PAGE; some events redirect, fail or download instead (``event`` in environ,
    or ``self.next``)."""

    def __init__(self) -> None:
        self.count = 0
        self.next: str | None = None
        self.closed = 0
        self.pieces_read = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        event = environ.get("postback.event")
        what = self.next or (event.target if event else "")
        if what == "Redirect":
            start_response("302 Found", [("Location", "../landing?x=été".encode().decode(
                "latin-1")), ("Set-Cookie", "moved=1")])
            return [b""]
        if what == "Boom":
            start_response("500 Internal Server Error",
                           [("Content-Type", "text/html"), ("Set-Cookie", "err=1")])
            return [b"<h1>Sorry</h1>"]
        if what == "NotHere":
            start_response("404 Not Here", [("Content-Type", "text/html")])
            return [b"<h1>Gone</h1>"]
        if what == "ExportButton":
            start_response("200 OK", [("Content-Type", "application/pdf"),
                                      ("Content-Disposition", "attachment; filename=a.pdf")])
            return self._file()
        if what == "Empty":
            start_response("204 No Content", [])
            return []
        if what in ("HtmlDownload", "Sandboxed"):  # the page itself, kept out of the origin
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                      ("Content-Disposition", "attachment; filename=p.html")
                                      if what == "HtmlDownload" else
                                      ("Content-Security-Policy", "default-src 'self'; sandbox")])
            return [page_text(self.count).encode()]
        if what == "NoSetup":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [b"<html><body><form method='post' id='form1'>done</form></body></html>"]
        if what == "NoPanel":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [page_text(self.count).replace('id="UpdatePanel1"', 'id="Renamed"').encode()]
        if event is not None and event.target == "LinkButton1":
            self.count += 1
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Set-Cookie", "seen=1"), ("X-Frame-Options", "DENY"),
                                  ("ETag", '"abc"')])
        return [page_text(self.count).encode()]

    def _file(self) -> Iterator[bytes]:
        try:
            for piece in itertools.repeat(b"%PDF" * 1000, 50):
                self.pieces_read += 1
                yield piece
        finally:
            self.closed += 1


def page_text(count: int) -> str:
    return PAGE.replace("{n}", str(count))


class FormSigner:
    """Signs each post form with tokens of its own (VS1/EV1, VS2/EV2...)."""

    def __init__(self) -> None:
        self.forms = 0

    def __call__(self, forms: list[PostForm]) -> list[tuple[str, str]]:
        first, self.forms = self.forms + 1, self.forms + len(forms)
        return [(f"VS{n}", f"EV{n}") for n in range(first, self.forms + 1)]


def make_editor(page: Page) -> FieldInjector:
    return FieldInjector(page_url="http://localhost/Counter.aspx",
                         encoding=page.charset or "utf-8", sign_forms=FormSigner(),
                         script_tag=b"", client_fields=None)


class Bound:
    """A ``bound_headers`` that says how it was called."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def __call__(self, headers: list[tuple[str, str]], *, tokens: bool,
                 streamed: bool) -> list[tuple[str, str]]:
        self.calls.append(tokens)
        return [*headers, ("Vary", "Cookie")] if tokens else headers


def run(app: Callable[..., Iterable[bytes]], manager_value: str = "UpdatePanel1|LinkButton1", *,
        editor: Callable[[Page], FieldInjector] | None = make_editor,
        environ: dict[str, Any] | None = None, bound: Bound | None = None,
        page_url: str = "http://localhost/app/Counter.aspx?x=1",
        ) -> tuple[str, list[tuple[str, str]], list[tuple[str, str, str]]]:
    """Call ``ajax.answer`` around ``app``: the status, the headers and the parsed records."""
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: object = None) -> Callable[[bytes], object]:
        started.append((status, headers))
        return lambda data: None

    environ = {"REQUEST_METHOD": "POST", **(environ or {})}
    body = ajax.answer(lambda start: app(environ, start), start_response,
                       page_url=page_url, manager_value=manager_value, environ=environ,
                       make_editor=editor,
                       bound_headers=bound or Bound())
    data = b"".join(body)
    status, headers = started[-1]
    assert dict(headers)["Content-Length"] == str(len(data))
    return status, headers, received(data)


def by_type(records: list[tuple[str, str, str]], kind: str) -> list[tuple[str, str]]:
    return [(record_id, content) for t, record_id, content in records if t == kind]


def answer_page(text: str, manager_value: str, charset: str = "utf-8"
                ) -> list[tuple[str, str, str]]:
    """The records answering an async postback whose app renders ``text``."""
    def inner(start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", f"text/html; charset={charset}")])
        return [text.encode(charset)]

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], object]:
        return lambda data: None

    body = ajax.answer(inner, start_response,
                       page_url="http://localhost/", manager_value=manager_value,
                       environ={}, make_editor=make_editor, bound_headers=None)
    return received(b"".join(body))


def test_every_record_of_a_panel_answer() -> None:
    app = CounterApp()
    status, _, records = run(app)
    assert status == "200 OK"
    assert records == [
        ("#", "", "4"),
        ("updatePanel", "UpdatePanel1",
         "\r\n\t<span id=\"Count\">0</span> <a id=\"LinkButton1\" "
         "href=\"javascript:__doPostBack(&#39;LinkButton1&#39;,&#39;&#39;)\">+1 \U0001F600</a>"
         "\r\n\t<script type=\"text/javascript\">\r\nwindow.counted = 0;\r\n</script>\r\n"
         "\t<script src=\"/panel.js\" type=\"text/javascript\"></script>\r\n"
         "\t<script type=\"module\">import \"/m.js\";</script>\r\n"
         "\t<script type=\"text/x-template\"><b>0</b></script>\r\n"),
        ("hiddenField", "__EVENTTARGET", ""),
        ("hiddenField", "__EVENTARGUMENT", ""),
        ("hiddenField", "__VIEWSTATE", "VS1"),
        ("hiddenField", "__EVENTVALIDATION", "EV1"),
        ("asyncPostBackControlIDs", "", "AsyncButton,"),
        ("postBackControlIDs", "", "ExportButton,"),
        ("updatePanelIDs", "", "tUpdatePanel1,,fOuter,,tctl00$Inner,,tInline,InlineSpan"),
        ("childUpdatePanelIDs", "", ""),
        ("panelsToRefreshIDs", "", "UpdatePanel1,"),
        ("asyncPostBackTimeout", "", "90"),
        ("formAction", "", "./Counter.aspx?x=1&y=2"),
        ("pageTitle", "", "Counter & 0 \U0001F600"),
        ("scriptBlock", "ScriptContentNoTags", "\nwindow.counted = 0;\n"),
        ("scriptBlock", "ScriptPath", "/panel.js"),
    ]


def test_headers_of_a_panel_answer() -> None:
    bound = Bound()
    _, headers, _ = run(CounterApp(), bound=bound)
    names = [name.lower() for name, _ in headers]
    assert dict(headers)["Content-Type"] == "text/plain; charset=utf-8"
    assert dict(headers)["Cache-Control"] == "no-cache"
    assert dict(headers)["Set-Cookie"] == "seen=1"  # once-only: kept
    assert "x-frame-options" not in names and "etag" not in names  # about a body not sent
    assert bound.calls == [True] and ("Vary", "Cookie") in headers  # fresh tokens: bound


def test_through_the_real_bound_headers_the_answer_is_private() -> None:
    """(With the middleware's own bound_headers: see the end-to-end tests below.)"""
    app = webtest.TestApp(PostbackMiddleware(CounterApp(), secret_keys=[new_key()],
                                             aspnet_ajax=True))
    page = app.get("/Counter.aspx")
    response = async_post(app, page.text, "UpdatePanel1|LinkButton1", "LinkButton1")
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Cookie" in response.headers["Vary"]


REFRESHES = [
    pytest.param("UpdatePanel1|LinkButton1", ["UpdatePanel1"], "", id="named-panel"),
    pytest.param("ctl00$Inner|LinkButton1", ["ctl00_Inner"], "", id="nested-panel-alone"),
    pytest.param("Outer,ctl00$Inner|X", ["Outer"], "ctl00$Inner",
                 id="nested-travels-inside-its-parent"),
    pytest.param("ctl00$Inner,Outer|X", ["Outer"], "ctl00$Inner",
                 id="nested-named-first"),
    pytest.param("Inline|X", ["InlineSpan"], "", id="inline-panel-static-client-id"),
    pytest.param("ScriptManager1|AsyncButton", ["UpdatePanel1", "Outer", "InlineSpan"],
                 "ctl00$Inner", id="manager-named-refreshes-all"),
    pytest.param("UpdatePanel1,UpdatePanel1|X", ["UpdatePanel1"], "", id="named-twice"),
]


@pytest.mark.parametrize(("manager_value", "panels", "children"), REFRESHES)
def test_which_panels_are_refreshed(manager_value: str, panels: list[str],
                                    children: str) -> None:
    _, _, records = run(CounterApp(), manager_value)
    assert [panel for panel, _ in by_type(records, "updatePanel")] == panels
    assert by_type(records, "childUpdatePanelIDs") == [("", children)]
    refreshed = by_type(records, "panelsToRefreshIDs")[0][1].split(",")
    assert [cid or uid.replace("$", "_") for uid, cid in zip(refreshed[::2], refreshed[1::2],
                                                             strict=True)] == panels


def test_nested_panel_content_and_scripts() -> None:
    _, _, records = run(CounterApp(), "Outer|X")
    assert by_type(records, "updatePanel") == [
        ("Outer", '<div>outer 0</div><div id="ctl00_Inner">inner 0'
                  "<script>window.inner = 0;</script></div>")]
    assert by_type(records, "scriptBlock") == [("ScriptContentNoTags", "window.inner = 0;")]
    _, _, records = run(CounterApp(), "Inline|X")
    assert by_type(records, "updatePanel") == [("InlineSpan", "inline 0")]
    assert by_type(records, "scriptBlock") == []  # nothing inside; the page's others stay out


def test_the_setup_script_is_never_a_script_block() -> None:
    text = page_text(0).replace(setup_script(SETUP), "").replace(
        '<div id="Outer">', '<div id="Outer">' + setup_script(SETUP))
    records = answer_page(text, "Outer|X")
    assert [content for _, content in by_type(records, "scriptBlock")] == ["window.inner = 0;"]
    assert by_type(records, "updatePanel")[0][1].startswith('<script type="text/javascript">')


def test_fields_of_the_setup_form_when_the_page_has_two_post_forms() -> None:
    first, rest = page_text(0).split('<form method="post" action="./Counter.aspx', 1)
    # The setup's form second: the first post form gets VS1, the setup's VS2.
    text = (first + '<form method="post" action="/before" id="before"></form>'
            + '<form method="post" action="./Counter.aspx' + rest)
    fields = by_type(answer_page(text, "UpdatePanel1|X"), "hiddenField")
    assert ("__VIEWSTATE", "VS2") in fields and ("__EVENTVALIDATION", "EV2") in fields


def test_a_page_that_opted_out_is_read_not_edited() -> None:
    bound = Bound()
    _, _, records = run(CounterApp(), environ={"postback.skip": True}, bound=bound)
    assert by_type(records, "hiddenField") == [("__EVENTTARGET", ""), ("__EVENTARGUMENT", ""),
                                               ("__VIEWSTATE", ""), ("__EVENTVALIDATION", "")]
    assert by_type(records, "updatePanel")[0][0] == "UpdatePanel1"
    assert bound.calls == [False]


def test_no_title_no_action_no_records() -> None:
    text = page_text(0).replace(' action="./Counter.aspx?x=1&amp;y=2"', "")
    text = re.sub(r"<title>.*?</title>", "<title> \t </title>", text, flags=re.DOTALL)
    kinds = {kind for kind, _, _ in answer_page(text, "UpdatePanel1|X")}
    assert "formAction" not in kinds and "pageTitle" not in kinds
    assert "asyncPostBackTimeout" in kinds


@settings(max_examples=100, deadline=None)
@given(text=st.text())
def test_any_panel_text_reaches_the_client_exactly(text: str) -> None:
    markup = html.escape(text)  # (CRs, NULs and all: the panel's bytes travel as they are)
    page = page_text(0).replace('<span id="Count">0</span>', f"<i>{markup}</i>")
    content = by_type(answer_page(page, "UpdatePanel1|X"), "updatePanel")[0][1]
    assert content.startswith(f"\r\n\t<i>{markup}</i> <a id=")


def test_a_page_in_another_charset() -> None:
    text = page_text(0).replace("\U0001F600", "é")
    records = answer_page(text, "UpdatePanel1|X", charset="windows-1252")
    assert "+1 é</a>" in by_type(records, "updatePanel")[0][1]
    assert by_type(records, "pageTitle") == [("", "Counter & 0 é")]


FALLBACKS = [
    pytest.param("Nope|LinkButton1", None, id="named-panel-not-in-setup"),
    pytest.param("UpdatePanel1,Nope|X", None, id="one-named-panel-not-in-setup"),
    pytest.param("|X", None, id="nothing-named"),
    pytest.param("UpdatePanel1|X", "NoSetup", id="page-without-setup"),
    pytest.param("UpdatePanel1|X", "NoPanel", id="panel-element-missing"),
    pytest.param("ScriptManager1|X", "NoPanel", id="refresh-all-one-element-missing"),
]


@pytest.mark.parametrize(("manager_value", "what"), FALLBACKS)
def test_fallback_loads_the_page_again(manager_value: str, what: str | None) -> None:
    app = CounterApp()
    app.next = what
    status, headers, records = run(app, manager_value)
    assert status == "200 OK"
    assert records == [("#", "", "4"), ("pageRedirect", "", records[1][2])]
    assert unescape(records[1][2]) == "/app/Counter.aspx?x=1"  # (no host: the client's)
    assert dict(headers)["Content-Type"] == "text/plain; charset=utf-8"
    assert (("Set-Cookie", "seen=1") in headers) is (what is None)  # the app's cookie kept


def test_redirect_becomes_page_redirect() -> None:
    app = CounterApp()
    app.next = "Redirect"
    status, headers, records = run(app)
    assert status == "200 OK" and ("Set-Cookie", "moved=1") in headers
    assert records[0] == ("#", "", "4") and records[1][0] == "pageRedirect"
    assert unescape(records[1][2]) == "/landing?x=%C3%A9t%C3%A9"  # (as the client resolves it)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        pytest.param("javascript:alert(document.cookie)", None, id="javascript"),
        pytest.param(" JaVaScRiPt:alert(1)", None, id="javascript-spaced-any-case"),
        pytest.param("java\tscript:alert(1)", None, id="javascript-with-a-tab"),
        pytest.param("data:text/html,<script>alert(1)</script>", None, id="data"),
        pytest.param("vbscript:x", None, id="vbscript"),
        pytest.param("https://other.example/x", "https://other.example/x", id="https-as-written"),
        pytest.param("//other.example/x", "//other.example/x", id="scheme-relative"),
        pytest.param("done?y=1", "/app/done?y=1", id="relative-to-the-page-path"),
    ],
)
def test_a_redirect_goes_only_where_a_browser_would(location: str,
                                                    expected: str | None) -> None:
    """The client runs pageRedirect with window.location: a javascript: location from an app's
    open redirect would run (red team); a browser never follows such a redirect."""
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("302 Found", [("Location", location)])
        return [b""]

    _, _, records = run(app)
    if expected is None:
        assert records == [("error", "500", "Bad redirect")]
    else:
        assert records[1][0] == "pageRedirect" and unescape(records[1][2]) == expected


@pytest.mark.parametrize("page_path", ["//evil.example/x", "/\\evil.example/x"],
                         ids=["two-slashes", "slash-backslash"])
def test_a_page_path_is_never_written_as_another_host(page_path: str) -> None:
    """(found by a red-team pass) A page served at ``//evil.example/x`` (a link to it, an app
    with a catch-all route): the redirect resolved against its path was ``//evil.example/done``,
    which the client's window.location reads as another host."""
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("302 Found", [("Location", "done")])
        return [b""]

    _, _, records = run(app, page_url="http://localhost" + page_path)
    assert records[1][0] == "pageRedirect"
    target = unescape(records[1][2])
    assert target.startswith("/%") and urljoin("http://localhost/", target).startswith(
        "http://localhost/")


ERRORS = [
    pytest.param("Boom", ("error", "500", "Internal Server Error"), id="app-500"),
    pytest.param("NotHere", ("error", "404", "Not Here"), id="app-404-own-reason"),
    pytest.param("ExportButton", ("error", "200", "OK"), id="file-download"),
    pytest.param("Empty", ("error", "204", "No Content"), id="no-content"),
    # A page with the panel, sent as a download or sandboxed: never written into the page.
    pytest.param("HtmlDownload", ("error", "200", "OK"), id="html-page-as-download"),
    pytest.param("Sandboxed", ("error", "200", "OK"), id="html-page-under-csp-sandbox"),
]


@pytest.mark.parametrize(("what", "record"), ERRORS)
def test_other_answers_are_error_records(what: str, record: tuple[str, str, str]) -> None:
    app = CounterApp()
    app.next = what
    bound = Bound()
    status, headers, records = run(app, bound=bound)
    assert status == "200 OK"  # so that endRequest handlers see it
    assert records == [record]
    assert dict(headers)["Content-Type"] == "text/plain; charset=utf-8"
    assert "Content-Disposition" not in dict(headers) and bound.calls == []


def test_a_download_is_closed_unread() -> None:
    app = CounterApp()
    app.next = "ExportButton"
    run(app)
    assert app.closed == 1 and app.pieces_read == 1


def test_an_editor_failure_is_an_error_record() -> None:
    def broken(page: Page) -> FieldInjector:
        raise RuntimeError("boom")

    _, _, records = run(CounterApp(), editor=broken)
    assert records == [("error", "500", "Internal Server Error")]


# -- end to end: the middleware with aspnet_ajax, the request side included ---------------------

FIELD = re.compile(r'<input type="hidden" name="(__\w+)" id="__\w+" value="([^"]*)" />')


def async_post(app: webtest.TestApp, page: str | dict[str, str], manager_value: str,
               target: str, **kwargs: Any) -> webtest.TestResponse:
    """The body Microsoft's client sends: the ScriptManager field first, __ASYNCPOST last."""
    fields = dict(FIELD.findall(page)) if isinstance(page, str) else page
    body = (f"ScriptManager1={quote(manager_value, safe='')}&__EVENTTARGET={target}"
            f"&__EVENTARGUMENT=&__VIEWSTATE={quote(fields['__VIEWSTATE'], safe='')}"
            f"&__EVENTVALIDATION={quote(fields['__EVENTVALIDATION'], safe='')}"
            "&__ASYNCPOST=true&")
    return app.post("/Counter.aspx", body, headers={
        "X-MicrosoftAjax": "Delta=true", "X-Requested-With": "XMLHttpRequest",
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, **kwargs)


def test_end_to_end_fresh_fields_verify_the_next_async_postback() -> None:
    inner = CounterApp()
    app = webtest.TestApp(PostbackMiddleware(inner, secret_keys=[new_key()], aspnet_ajax=True))
    page = app.get("/Counter.aspx").text
    first = received(async_post(app, page, "UpdatePanel1|LinkButton1", "LinkButton1").body)
    assert '<span id="Count">1</span>' in by_type(first, "updatePanel")[0][1]
    fields = dict(by_type(first, "hiddenField"))
    second = received(async_post(app, fields, "UpdatePanel1|LinkButton1", "LinkButton1").body)
    assert '<span id="Count">2</span>' in by_type(second, "updatePanel")[0][1]
    assert inner.count == 2


def test_end_to_end_the_setup_form_keeps_its_own_fields_beside_plain_forms() -> None:
    """A page whose WebForms form holds no ASP.NET fields, after plain post forms that share
    a page token (see page_tokens): the setup's form (it has an id) keeps tokens of its own,
    and each answer gives it its own fields, with which the next async postback verifies."""
    logout = ('<form method="post" action="/logout"><button>Log out</button></form>'
              '<form method="post" action="/help"><button>Help</button></form>')

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("postback.event") is not None:
            inner.count += 1
        text = re.sub(r'<div class="aspNetHidden">.*?</div>', "", page_text(inner.count),
                      count=1, flags=re.S)
        text = text.replace('<form method="post"', logout + '<form method="post"', 1)
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [text.encode()]

    inner = CounterApp()
    middleware = PostbackMiddleware(app, secret_keys=[new_key()], aspnet_ajax=True)
    client = webtest.TestApp(middleware)
    page = client.get("/Counter.aspx").body
    shared, fields = hidden_fields(page, 0), hidden_fields(page, 2)
    assert shared["__VIEWSTATE"] == hidden_fields(page, 1)["__VIEWSTATE"] != fields[
        "__VIEWSTATE"]
    for count in (1, 2):
        answer = received(async_post(client, fields, "UpdatePanel1|LinkButton1",
                                     "LinkButton1").body)
        assert f'<span id="Count">{count}</span>' in by_type(answer, "updatePanel")[0][1]
        fields = dict(by_type(answer, "hiddenField"))
        assert fields["__VIEWSTATE"] != shared["__VIEWSTATE"]


def test_the_setup_forms_fields_are_told_apart_by_both_tokens() -> None:
    """Forms that share a page token share their __VIEWSTATE: the setup's form is the one
    whose __EVENTVALIDATION is its own too (never another form's fields)."""
    fields = [{"__VIEWSTATE": "PAGE", "__EVENTVALIDATION": "0.sig"},
              {"__VIEWSTATE": "PAGE", "__EVENTVALIDATION": "1.sig"}]
    document = (b'<form method="post" id="form1"><input type="hidden" name="__VIEWSTATE" '
                b'value="PAGE" /><input type="hidden" name="__EVENTVALIDATION" value="1.sig" />'
                b"</form>")
    tags = ajax._scan(document, "utf-8")
    _, tokens = ajax._elements_and_tokens(document, "utf-8", (),
                                          ajax._form_span(tags, 0, len(document)))
    assert tokens == {"__VIEWSTATE": "PAGE", "__EVENTVALIDATION": "1.sig"}
    assert ajax._form_fields(tokens, fields) is fields[1]
    assert ajax._form_fields(tokens, fields[:1]) == {}


# Markup a panel's new content brings (a user's, rendered as HTML) that sends the setup's form
# to another origin: the new page gives the form no tokens, and the answer must empty the ones
# the client holds (Microsoft's client posts form.action, disabled fields included).
WITHHELD = [
    pytest.param('<base href="https://evil.example/">', id="base-in-panel"),
    pytest.param('<base href="//evil.example/">', id="scheme-relative-base-in-panel"),
    pytest.param('<button formaction="https://evil.example/x">x</button>',
                 id="offsite-formaction-in-panel"),
    pytest.param('<button formmethod="get">x</button>', id="get-formmethod-in-panel"),
]


@pytest.mark.parametrize("markup", WITHHELD)
def test_end_to_end_tokens_withheld_in_the_new_page_are_emptied(markup: str) -> None:
    posted: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        posted.append(environ.get("postback.event") is not None)
        text = page_text(0)
        if posted[-1]:
            text = text.replace('<span id="Count">0</span>', f'<span id="Count">0</span>{markup}')
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [text.encode()]

    client = webtest.TestApp(PostbackMiddleware(app, secret_keys=[new_key()], aspnet_ajax=True))
    page = client.get("/Counter.aspx").text
    old = dict(FIELD.findall(page))
    assert old["__VIEWSTATE"] and old["__EVENTVALIDATION"]
    records = received(async_post(client, page, "UpdatePanel1|LinkButton1", "LinkButton1").body)
    assert markup in by_type(records, "updatePanel")[0][1]
    fields = dict(by_type(records, "hiddenField"))
    assert fields["__VIEWSTATE"] == fields["__EVENTVALIDATION"] == ""


def test_end_to_end_redirect_and_error() -> None:
    inner = CounterApp()
    app = webtest.TestApp(PostbackMiddleware(inner, secret_keys=[new_key()], aspnet_ajax=True))
    page = app.get("/Counter.aspx").text
    inner.next = "Redirect"
    redirect = received(async_post(app, page, "UpdatePanel1|LinkButton1", "LinkButton1").body)
    assert redirect[1][0] == "pageRedirect"
    inner.next = "Boom"
    error = received(async_post(app, page, "UpdatePanel1|LinkButton1", "LinkButton1").body)
    assert error == [("error", "500", "Internal Server Error")]


# -- the request side: what the app gets, what is refused ---------------------------------------


class BodyRecorder(CounterApp):
    """CounterApp that keeps the body each request brought the app."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.bodies.append(environ["wsgi.input"].read(length))
        return super().__call__(environ, start_response)


def _ajax_app(**options: Any) -> tuple[webtest.TestApp, BodyRecorder]:
    inner = BodyRecorder()
    return webtest.TestApp(PostbackMiddleware(inner, secret_keys=[new_key()],
                                              **{"aspnet_ajax": True, **options})), inner


def test_the_script_manager_field_and_asyncpost_never_reach_the_app() -> None:
    app, inner = _ajax_app()
    page = app.get("/Counter.aspx").text
    async_post(app, page, "UpdatePanel1|LinkButton1", "LinkButton1")
    assert inner.bodies[-1] == b""  # (every field of that body was the middleware's)
    assert inner.count == 1


@pytest.mark.parametrize(
    ("target", "tamper", "status"),
    [
        pytest.param("NotOffered", None, "403", id="an-event-the-page-never-offered"),
        pytest.param("LinkButton1", "__VIEWSTATE", "403", id="tampered-view-state"),
        pytest.param("LinkButton1", "__EVENTVALIDATION", "403", id="tampered-validation"),
    ],
)
def test_a_refused_async_postback_is_an_error_record(target: str, tamper: str | None,
                                                      status: str) -> None:
    """Refused through the channel the page listens to (endRequest), the app never run."""
    app, inner = _ajax_app()
    fields = dict(FIELD.findall(app.get("/Counter.aspx").text))
    if tamper:
        fields[tamper] = fields[tamper][:-2] + "AA"
    answer = async_post(app, fields, "UpdatePanel1|LinkButton1", target)
    assert answer.status_int == 200 and answer.headers["X-Postback-Refused"]
    assert received(answer.body) == [("error", status, "Invalid postback or callback argument.")]
    assert len(inner.bodies) == 1  # (the GET)


ASYNC_BAD = [
    pytest.param({"X-MicrosoftAjax": "Delta=true"},
                 "__EVENTTARGET=LinkButton1&ScriptManager1=UpdatePanel1%7CLinkButton1&",
                 "application/x-www-form-urlencoded", id="not-beginning-with-its-field"),
    pytest.param({"X-MicrosoftAjax": "Delta=true"}, "ScriptManager1=x%7Cy",
                 "application/x-www-form-urlencoded", id="no-postback-at-all"),
    pytest.param({"X-MicrosoftAjax": "Delta=true"}, "--b\r\nContent-Disposition: form-data; "
                 'name="ScriptManager1"\r\n\r\nx|y\r\n--b--\r\n',
                 "multipart/form-data; boundary=b", id="multipart"),
    pytest.param({"X-MicrosoftAjax": "Delta=true"}, "ScriptManager1=x%7Cy&__ASYNCPOST=false",
                 "application/x-www-form-urlencoded", id="asyncpost-false"),
]


@pytest.mark.parametrize(("headers", "body", "content_type"), ASYNC_BAD)
def test_what_is_no_async_postback_is_refused(headers: dict[str, str], body: str,
                                               content_type: str) -> None:
    app, inner = _ajax_app()
    answer = app.post("/Counter.aspx", body.encode(), headers={**headers,
                      "Content-Type": content_type})
    assert received(answer.body) == [("error", "400", "Bad request.")]
    assert inner.bodies == []


def test_asyncpost_alone_says_it_is_an_async_postback() -> None:
    """ASP.NET takes either the header or the field (PRM.cs:315-338): the field alone is
    answered as an async postback too, its first field being the ScriptManager's."""
    app, inner = _ajax_app()
    fields = dict(FIELD.findall(app.get("/Counter.aspx").text))
    fields["__EVENTTARGET"] = "LinkButton1"
    params = [("ScriptManager1", "UpdatePanel1|LinkButton1"), *fields.items(),
              ("__ASYNCPOST", "true")]
    answer = app.post("/Counter.aspx", params)
    assert by_type(received(answer.body), "updatePanel")
    assert inner.bodies[-1] == b"" and inner.count == 1
    # (one whose first field is not a ScriptManager's is refused, the app not run)
    app.post("/Counter.aspx", [*fields.items(), ("__ASYNCPOST", "true")], status=400)
    assert inner.count == 1


def test_a_get_with_the_header_is_a_page() -> None:
    app, _ = _ajax_app()
    answer = app.get("/Counter.aspx", headers={"X-MicrosoftAjax": "Delta=true"})
    assert answer.content_type == "text/html" and b"<form" in answer.body


def test_with_the_option_off_the_request_is_an_ordinary_postback() -> None:
    """Off (the default), nothing is answered in the delta format: the page comes back, the
    ScriptManager field reaches the app as any field, __ASYNCPOST is stripped as reserved."""
    app, inner = _ajax_app(aspnet_ajax=False)
    page = app.get("/Counter.aspx").text
    answer = async_post(app, page, "UpdatePanel1|LinkButton1", "LinkButton1")
    assert answer.content_type == "text/html"
    assert inner.bodies[-1] == b"ScriptManager1=UpdatePanel1%7CLinkButton1&"  # (as sent)


@pytest.mark.parametrize(
    ("script", "runs"),
    [
        pytest.param("<script>window.ran = 1;</script>", True, id="classic"),
        pytest.param("<template><script>window.ran = 1;</script></template>", False,
                     id="in-a-template"),
        pytest.param("<template/><script>window.ran = 1;</script></template>", False,
                     id="in-a-template-whose-slash-html-ignores"),
        pytest.param("<svg/><script>window.ran = 1;</script>", True,
                     id="after-a-self-closed-svg"),
        pytest.param("<svg><script>window.ran = 1;</script></svg>", False, id="in-svg"),
        pytest.param("<math><script>window.ran = 1;</script></math>", False, id="in-mathml"),
        pytest.param("<script nomodule>window.ran = 1;</script>", False, id="nomodule"),
        pytest.param('<script language="vbscript">window.ran = 1;</script>', False,
                     id="another-language"),
        pytest.param('<script for="window" event="onload">window.ran = 1;</script>', False,
                     id="for-event"),
        pytest.param('<script language="JavaScript1.2">window.ran = 1;</script>', True,
                     id="javascript-language"),
        pytest.param('<script type="module">window.ran = 1;</script>', False, id="module"),
    ],
)
def test_only_scripts_the_browser_runs_are_sent_to_run(script: str, runs: bool) -> None:
    """The client runs every scriptBlock: one the browser would not have run (red team: in a
    <template>, in SVG, nomodule...) must never be sent."""
    page = page_text(0).replace("inline 0", "inline 0" + script)
    records = answer_page(page, "Inline|X")
    assert by_type(records, "scriptBlock") == (
        [("ScriptContentNoTags", "window.ran = 1;")] if runs else [])


def test_a_form_without_tokens_never_gets_another_forms() -> None:
    """The setup's form got no tokens (withheld: it could post elsewhere): the first form's
    must not move into it through hiddenField records (red team)."""
    page = ('<form method="post" id="search"><input name="q"></form>'
            + page_text(0).replace('id="form1"', 'id="form1"><button formaction='
                                   '"https://other.example/" name="x"></button'))
    records = answer_page(page, "UpdatePanel1|X")
    fields = dict(by_type(records, "hiddenField"))
    assert fields["__VIEWSTATE"] == fields["__EVENTVALIDATION"] == ""  # emptied, not the first's


# -- a panel per row: found in one pass ----------------------------------------------------------

ROWS_SETUP = "'SM1', 'form1', ['tR0','','tR1','','fR2','','tR3','','tS','Span1'], [], [], 90, ''"
ROWS_PAGE = (
    '<html><head><title>t</title></head><body><form method="post" action="/rows" id="form1">'
    + setup_script(ROWS_SETUP) +
    '<div id="R0"><div>row 0</div></div>'
    '<div id="R1"><div id="R2">row 1 <div>two</div></div></div>'
    '<div id="R2">a second R2</div>'
    '<div id="R3"><span id="Span1">s<span>t</span></span><br/></div>'
    '<div id="R&#51;">not read: its element comes first</div>'
    "</form></body></html>"
)


@pytest.mark.parametrize(("manager_value", "panels", "children"), [
    pytest.param("R1,R3|LB", [("R1", '<div id="R2">row 1 <div>two</div></div>'),
                             ("R3", '<span id="Span1">s<span>t</span></span><br/>')],
                 "R2,S", id="two-rows"),
    pytest.param("R2|LB", [("R2", "row 1 <div>two</div>")], "", id="the-first-of-an-id"),
    pytest.param("S|LB", [("Span1", "s<span>t</span>")], "", id="a-span"),
    pytest.param("SM1|LB", [("R0", "<div>row 0</div>"),
                            ("R1", '<div id="R2">row 1 <div>two</div></div>'),
                            ("R3", '<span id="Span1">s<span>t</span></span><br/>')],
                 "R2,S", id="all"),
])
def test_the_panels_of_a_page_with_a_panel_per_row(manager_value: str,
                                                   panels: list[tuple[str, str]],
                                                   children: str) -> None:
    records = answer_page(ROWS_PAGE, manager_value)
    assert by_type(records, "updatePanel") == panels
    assert by_type(records, "childUpdatePanelIDs") == [("", children)]


def rows_page(count: int, *, nested: bool = False) -> str:
    """A page with ``count`` UpdatePanels R0, R1...: one per row, or each inside the one
    before."""
    call = ("'SM1', 'form1', [" + ",".join(f"'tR{i}',''" for i in range(count))
            + "], [], [], 90, ''")
    rows = ("".join(f'<div id="R{i}"><div>row</div>' for i in range(count)) + "</div></div>"
            * count if nested else
            "".join(f'<div id="R{i}"><div>row</div></div>' for i in range(count)))
    return (f'<html><body><form method="post" id="form1">{setup_script(call)}{rows}'
            f"</form></body></html>")


@pytest.mark.parametrize("nested", [False, True], ids=["rows", "nested"])
def test_panel_elements_are_found_in_one_pass(nested: bool) -> None:
    """Each tag's id is looked up, not searched for each panel, and each element's end is
    found on the way (nested panels were read to their ends each)."""
    def answer(count: int) -> None:
        records = answer_page(rows_page(count, nested=nested), "R1|LB")
        assert by_type(records, "updatePanel")[0][0] == "R1"

    assert growth(answer, 150) < 2.5


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_an_answer_of_a_panel_of_many_tags_takes_a_few_times_the_page(engine: str) -> None:
    """An async postback (any visitor may make one: the tokens come with any GET) of a page
    whose panel holds 70,000 ``<span>``s: the page's ``<div>``, ``<span>`` and ``<input>``
    tags are read a step of the page at a time (``html_scan.iter_tags``), none kept, and the
    panel decoded from the page without a copy (an object a tag took 29 times the page; a
    panel whose text holds a character past U+FFFF takes 4 bytes a character in Python, so
    such a page's answer takes some 3 times its size more)."""
    require_engine(engine)
    page = page_text(0).replace("\U0001F600", ":)").replace(
        '<span id="Count">', "<span>x</span>" * 70_000 + '<span id="Count">', 1).encode()

    def inner(start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page]

    previous = html_scan.use_engine(engine)
    try:
        tracemalloc.start()
        try:
            body = ajax.answer(inner, lambda status, headers, exc_info=None: None,
                               page_url="http://localhost/",
                               manager_value="UpdatePanel1|LinkButton1", environ={},
                               make_editor=make_editor, bound_headers=None)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        html_scan.use_engine(previous)
    content = by_type(received(b"".join(body)), "updatePanel")[0][1]
    assert content.count("<span>x</span>") == 70_000 and '<span id="Count">0</span>' in content
    assert peak < 8 * len(page)


class ComparedId(str):
    """A UniqueID whose comparisons are Python calls (so :func:`growth` counts them)."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other) is True


def test_panels_named_by_the_request_are_looked_up_once_each() -> None:
    def look_up(count: int) -> None:
        setup = Setup("SM1", "form1", tuple(Panel(ComparedId(f"R{i}"), f"R{i}", True)
                                            for i in range(count)), (), (), 90, "")
        assert all(setup.panel(f"R{i}") is setup.panels[i] for i in range(count))

    assert growth(look_up, 400) < 2.5
