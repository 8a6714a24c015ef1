"""The WebForms.js functions (``static/webforms.js``) in Chromium, on pages served behind the
middleware by waitress.

Each page is a small ``<form method="post">`` as ASP.NET's controls render it (the ``onclick``
of a Button, the ``onkeypress`` of a Panel with a DefaultButton or of an AutoPostBack TextBox,
the startup scripts of ``Page``), and each test does what a person does (click, press Enter) and
checks what comes of it: the POST the app received (its verified event and fields), the focus,
and that the page raised no error. "Nothing posted" is checked by a second, ordinary postback
afterwards being the only one the app received.

Pages load the functions either from the middleware's deferred script (the bundle) or, as ported
ASP.NET pages do, synchronously from ``/WebResource.axd`` (the app answers 404 there, so the
middleware answers with the compatibility script) before their inline startup scripts.
The middleware runs with ``maintain_scroll_position=True`` (``__LASTFOCUS``, ``__SCROLLPOSITION*``).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest

from postback_middleware import PostbackMiddleware, Registry

from ..helpers import new_key

pytestmark = pytest.mark.browser

AXD = '<script src="/WebResource.axd?d=pynGkmcFUV13He1Qd6_TZA2&amp;t=6382861" ' \
      'type="text/javascript"></script>'
# A postback the page raises only from script is registered by an element naming its pair.
OTHER = ('<span hidden data-postback="Other"></span>'
         '<a href="#" id="other" onclick="__doPostBack(\'Other\', \'\'); return false;">other</a>')


def options(target: str, validation: bool = False, group: str = "", action: str = "",
            track_focus: bool = False, client_submit: bool = True) -> str:
    """``WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions(...))``, as ASP.NET's
    ``ClientScriptManager.GetPostBackEventReference(PostBackOptions)`` writes it (in an
    attribute: quotes as ``&quot;``)."""
    def js(value: bool) -> str:
        return "true" if value else "false"
    args = (f'"{target}", "", {js(validation)}, "{group}", "{action}", {js(track_focus)}, '
            f"{js(client_submit)}")
    return html.escape(f"WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions({args}))")


# Page_ClientValidate and the submit check as WebUIValidation.js has them: validation sets
# Page_BlockSubmit; the form's onsubmit (WebForm_OnSubmit -> ValidatorOnSubmit) reads and clears
# it. `valid` is what validation finds; the group it was asked for is written into a field.
VALIDATION = """
<input type="hidden" name="group" id="group" value="">
<script>
  var Page_BlockSubmit = false, valid = %s;
  function Page_ClientValidate(group) {
    document.getElementById("group").value = group;
    Page_BlockSubmit = !valid;
    return valid;
  }
  function WebForm_OnSubmit() { var ok = !Page_BlockSubmit; Page_BlockSubmit = false; return ok; }
</script>
"""


# --------------------------------------------------------------------------------------------
# Pages: path -> (form attributes, form content). The POST answer re-renders the same page.


def page_validate(valid: str) -> tuple[str, str]:
    return ('onsubmit="javascript:return WebForm_OnSubmit();"', VALIDATION % valid + f"""
    <span hidden data-postback="Save"></span>
    <a href="#" id="save" onclick="{options('Save', validation=True, group='orders')};
       return false;">Save</a>
    <a href="#" id="novalidate" onclick="{options('Save')}; return false;">Save, no check</a>
    {OTHER}""")


PAGES: dict[str, tuple[str, str]] = {
    "/valid": page_validate("true"),
    "/invalid": page_validate("false"),
    # A page that has no validators: Page_ClientValidate is not defined.
    "/novalidators": ("", f"""
    <span hidden data-postback="Save"></span>
    <a href="#" id="save" onclick="{options('Save', validation=True)}; return false;">Save</a>
    {OTHER}"""),
    # Page_ClientValidate alone, without the onsubmit that reads Page_BlockSubmit.
    "/validate-only": ("", VALIDATION % "false" + f"""
    <span hidden data-postback="Save"></span>
    <a href="#" id="save" onclick="{options('Save', validation=True)}; return false;">Save</a>
    {OTHER}"""),
    "/focus": ("", f"""
    <span hidden data-postback="Box"></span>
    <input type="text" name="box" id="box" value=""
      onkeypress="if (event.keyCode == 13) {{ {options('Box', track_focus=True)}; return false; }}">
    <input type="text" name="quietly" id="quiet" value=""
      onkeypress="if (event.keyCode == 13) {{
        {options('Box', track_focus=True, client_submit=False)}; return false; }}">
    <input type="text" name="noid" value=""
      onkeypress="if (event.keyCode == 13) {{
        {options('Box', track_focus=True, client_submit=False)}; return false; }}">
    {OTHER}"""),
    # Buttons with PostBackUrl: clientSubmit false, the button's own submission posts.
    "/action": ("", f"""
    <input type="submit" name="Next" value="Next" id="next"
      onclick="javascript:{options('Next', action='/action?step=2', client_submit=False)}">
    {OTHER}"""),
    # ...to another origin. (The middleware gives this form no tokens: see inject.)
    "/away": ("", f"""
    <input type="submit" name="Away" value="Away" id="away"
      onclick="javascript:{options('Away', action='https://elsewhere.example/x',
                                   client_submit=False)}">
    <span hidden data-postback="Away"></span>
    <a href="#" id="away-link" onclick="{options('Away', action='//elsewhere.example/y')};
       return false;">Away</a>"""),
    # A Panel with DefaultButton="save", after another submit button (Enter's own choice).
    "/panel": ("", """
    <input type="submit" name="first" value="First" id="first">
    <div id="panel" onkeypress="javascript:return WebForm_FireDefaultButton(event, 'save')">
      <input type="text" name="t1" id="t1" value="">
      <textarea name="notes" id="notes"></textarea>
      <input type="submit" name="other" value="Other" id="otherbtn">
      <input type="submit" name="save" value="Save" id="save">
    </div>"""),
    # AutoPostBack TextBoxes: the core's data-autopostback, and an inline onchange.
    "/textbox": ("", """
    <input type="submit" name="first" value="First" id="first">
    <input type="text" name="city" id="city" value="Oslo" data-autopostback
      onkeypress="if (WebForm_TextBoxKeyHandler(event) == false) return false;">
    <span hidden data-postback="Town"></span>
    <input type="text" name="town" id="town" value="Bergen"
      onchange="__doPostBack('Town', '')"
      onkeypress="if (WebForm_TextBoxKeyHandler(event) == false) return false;">"""),
    # Page.SetFocus / DefaultFocus: a control, or a container's first focusable child.
    "/autofocus": ("", AXD + """
    <input type="text" name="a" id="a">
    <div id="box">
      <input type="hidden" name="h" id="h">
      <input type="text" name="off" id="off" disabled>
      <span style="display: none"><input type="text" name="unseen" id="unseen"></span>
      <input type="text" name="b" id="b">
    </div>
    <input type="text" name="c" id="c">
    <script>WebForm_AutoFocus(new URLSearchParams(location.search).get("id"));</script>"""),
    # Controls disabled on the server that still post their value (WebForm_ReEnableControls).
    "/reenable": ('onsubmit="javascript:return WebForm_OnSubmit();"', """
    <input type="text" name="dis" id="dis" value="kept" disabled>
    <input type="submit" name="go" value="Go" id="go">
    <script>
      var __enabledControlArray = new Array('dis');
      function WebForm_OnSubmit() { WebForm_ReEnableControls(); return true; }
    </script>"""),
}


def page_aspnet(posted: bool) -> tuple[str, str]:
    """As ASP.NET 4.x renders a page: its own theForm and __doPostBack, WebResource.axd, the
    controls, then the startup scripts (callbacks, MaintainScrollPositionOnPostback, focus)."""
    return ('data-callbacks="echo"', f"""
    <script type="text/javascript">
    //<![CDATA[
    var theForm = document.forms['form1'];
    if (!theForm) {{ theForm = document.form1; }}
    function __doPostBack(eventTarget, eventArgument) {{
        if (!theForm.onsubmit || (theForm.onsubmit() != false)) {{
            theForm.__EVENTTARGET.value = eventTarget;
            theForm.__EVENTARGUMENT.value = eventArgument;
            theForm.submit();
        }}
    }}
    //]]>
    </script>
    {AXD}
    <script>
      // A page of its time wraps a function before the deferred scripts run (as AJAX Control
      // Toolkit does with WebForm_AutoFocus): the wrapper must stay.
      var wrappedFocus = WebForm_AutoFocus;
      WebForm_AutoFocus = function (id) {{ window.focusAsked = id; wrappedFocus(id); }};
    </script>
    <input type="text" name="q" id="q" value="hello">
    <span hidden data-postback="GridView1" data-postback-argument="Sort$Name"></span>
    <a href="javascript:__doPostBack('GridView1','Sort$Name')" id="sort">Name</a>
    <div style="height: 3000px">tall</div>
    <input type="button" id="plain" value="Submit by script"
      onclick="sessionStorage.y = Math.round(scrollY); theForm.submit()">
    <div style="height: 3000px">tall</div>
    <script type="text/javascript">
    //<![CDATA[
    WebForm_InitCallback();
    theForm.oldSubmit = theForm.submit;
    theForm.submit = WebForm_SaveScrollPositionSubmit;

    theForm.oldOnSubmit = theForm.onsubmit;
    theForm.onsubmit = WebForm_SaveScrollPositionOnSubmit;
    {"theForm.oldOnLoad = window.onload; window.onload = WebForm_RestoreScrollPosition;"
     if posted else ""}
    WebForm_AutoFocus('q');//]]>
    </script>""")


# --------------------------------------------------------------------------------------------
# The inner app and the middleware around it


@dataclass
class Seen:
    """A POST as the inner app received it (after the middleware)."""

    path: str  # with query string
    event: tuple[str, str] | None
    fields: dict[str, str]


@dataclass
class InnerApp:
    posts: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path, query = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
        if path == "/favicon.ico":
            start_response("204 No Content", [])
            return []
        posted = environ["REQUEST_METHOD"] == "POST"
        if posted:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            fields = dict(parse_qsl(environ["wsgi.input"].read(size).decode(),
                                    keep_blank_values=True))
            event = environ.get("postback.event")
            with self.lock:
                self.posts.append(Seen(path + ("?" + query if query else ""),
                                       None if event is None else (event.target, event.argument),
                                       fields))
        if path == "/aspnet":
            form_attrs, content = page_aspnet(posted)
        elif path in PAGES:
            form_attrs, content = PAGES[path]
        else:  # WebResource.axd among them: the middleware answers for it
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        body = (
            "<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>wf</title></head><body>"
            f'<form method="post" id="form1" {form_attrs}>{content}</form></body></html>'
        ).encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store")])
        return [body]


def make_registry() -> Registry:
    registry = Registry()

    @registry.callback("echo")
    def echo(argument: str, request: Any) -> str:
        return f"{argument}:{request.POST.get('q')}"  # the field values the callback carried

    return registry


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[InnerApp, str]]:
    inner = InnerApp()
    app = PostbackMiddleware(inner, secret_keys=[new_key()], registry=make_registry(),
                             maintain_scroll_position=True)
    with serve(app) as base_url:
        yield inner, base_url


@pytest.fixture
def app(server: tuple[InnerApp, str]) -> InnerApp:
    server[0].posts.clear()
    return server[0]


@pytest.fixture
def page(browser_page: Any, server: tuple[InnerApp, str], app: InnerApp) -> Any:
    """A browser page whose ``open(path)`` goes to the test server (and waits for load)."""
    base_url = server[1]
    browser_page.base_url = base_url
    browser_page.open = lambda path: browser_page.goto(base_url + path)
    return browser_page


def navigate(page: Any, action: Callable[[], Any]) -> None:
    """Run ``action`` and wait for the page it loads (its deferred script and load event)."""
    with page.expect_navigation():
        action()


def posts_only_other(page: Any, app: InnerApp) -> None:
    """Nothing was posted before: an ordinary postback now is the only POST the app gets."""
    navigate(page, lambda: page.click("#other"))
    assert [s.event for s in app.posts] == [("Other", "")]


def focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


# --------------------------------------------------------------------------------------------
# WebForm_DoPostBackWithOptions: validation


@pytest.mark.parametrize(
    ("path", "posted"),
    [
        pytest.param("/valid", True, id="validators-pass"),
        pytest.param("/invalid", False, id="validators-fail"),
        pytest.param("/novalidators", True, id="no-Page_ClientValidate"),
    ],
)
def test_validation_decides_whether_the_postback_is_sent(
    page: Any, app: InnerApp, browser_log: Any, path: str, posted: bool
) -> None:
    page.open(path)
    if posted:
        navigate(page, lambda: page.click("#save"))
        [seen] = app.posts
        assert seen.event == ("Save", "")
        if path != "/novalidators":
            assert seen.fields["group"] == "orders"  # Page_ClientValidate got the group
    else:
        page.click("#save")
        assert page.input_value("#group") == "orders"
        # The failed validation blocked that postback once, not the next one (WebForms.js calls
        # __doPostBack anyway: the form's onsubmit reads and clears Page_BlockSubmit).
        posts_only_other(page, app)
    assert browser_log.errors == []


def test_validation_is_asked_only_when_the_options_say_so(page: Any, app: InnerApp) -> None:
    page.open("/invalid")
    navigate(page, lambda: page.click("#novalidate"))
    assert [s.event for s in app.posts] == [("Save", "")]
    assert app.posts[0].fields["group"] == ""  # Page_ClientValidate was not called


def test_a_failed_validation_alone_does_not_cancel_the_postback(
    page: Any, app: InnerApp
) -> None:
    """As WebForms.js: Page_ClientValidate's answer is not what cancels a clientSubmit postback;
    the form's onsubmit is (WebUIValidation.js's WebForm_OnSubmit). Without one it posts."""
    page.open("/validate-only")
    navigate(page, lambda: page.click("#save"))
    assert [s.event for s in app.posts] == [("Save", "")]


# --------------------------------------------------------------------------------------------
# WebForm_DoPostBackWithOptions: trackFocus, clientSubmit, actionUrl


def test_track_focus_brings_the_focus_back_after_the_postback(
    page: Any, app: InnerApp, browser_log: Any
) -> None:
    page.open("/focus")
    page.click("#quiet")
    page.press("#quiet", "Enter")  # clientSubmit false: __LASTFOCUS written, nothing posted
    assert page.input_value("input[name=__LASTFOCUS]") == "quiet"  # its id...
    page.press("input[name=noid]", "Enter")
    assert page.input_value("input[name=__LASTFOCUS]") == "noid"  # ...else its name
    page.click("#box")
    navigate(page, lambda: page.press("#box", "Enter"))
    assert [s.event for s in app.posts] == [("Box", "")]
    assert focused_id(page) == "box"
    assert browser_log.errors == []


def test_client_submit_false_does_not_post_by_itself(page: Any, app: InnerApp) -> None:
    page.open("/focus")
    page.press("#quiet", "Enter")
    posts_only_other(page, app)


def test_a_same_origin_action_url_is_where_the_button_posts(page: Any, app: InnerApp) -> None:
    page.open("/action")
    navigate(page, lambda: page.click("#next"))
    [seen] = app.posts
    assert seen.path == "/action?step=2"
    assert seen.fields["Next"] == "Next"


@pytest.mark.parametrize("control", [pytest.param("#away", id="submit-button"),
                                     pytest.param("#away-link", id="client-submit-link")])
def test_an_action_url_on_another_origin_posts_nothing(
    page: Any, app: InnerApp, browser_log: Any, control: str
) -> None:
    """Refused in the browser: no request leaves, to the other origin or to this one (the
    middleware, which gives such a form no tokens, would refuse it too)."""
    sent: list[str] = []
    page.route("https://elsewhere.example/**", lambda route: (
        sent.append(route.request.url), route.fulfill(body="elsewhere")))
    page.on("request", lambda request: request.method == "POST" and sent.append(request.url))
    page.open("/away")
    with page.expect_console_message(lambda message: "another origin" in message.text):
        page.click(control)
    page.wait_for_timeout(300)  # (time for a submission to start, were one made)
    assert sent == []
    assert page.url == page.base_url + "/away"
    assert page.evaluate("new URL(document.forms[0].action).pathname") == "/away"
    assert browser_log.errors == []


# --------------------------------------------------------------------------------------------
# Keyboard: WebForm_FireDefaultButton, WebForm_TextBoxKeyHandler


def test_enter_in_a_panel_clicks_its_default_button(
    page: Any, app: InnerApp, browser_log: Any
) -> None:
    page.open("/panel")
    page.fill("#t1", "typed")
    navigate(page, lambda: page.press("#t1", "Enter"))
    [seen] = app.posts
    assert seen.fields["save"] == "Save"
    assert "first" not in seen.fields and "other" not in seen.fields
    assert seen.fields["t1"] == "typed"
    assert browser_log.errors == []


def test_enter_on_a_button_in_the_panel_is_that_buttons(page: Any, app: InnerApp) -> None:
    page.open("/panel")
    page.focus("#otherbtn")
    navigate(page, lambda: page.keyboard.press("Enter"))
    [seen] = app.posts
    assert seen.fields["other"] == "Other"
    assert "save" not in seen.fields


def test_enter_in_a_textarea_is_a_new_line(page: Any, app: InnerApp) -> None:
    page.open("/panel")
    page.fill("#notes", "one")
    page.press("#notes", "End")
    page.press("#notes", "Enter")
    page.keyboard.type("two")
    assert page.input_value("#notes") == "one\ntwo"
    navigate(page, lambda: page.click("#save"))
    [seen] = app.posts  # only the click posted
    assert seen.fields["notes"].replace("\r\n", "\n") == "one\ntwo"


@pytest.mark.parametrize(
    ("box", "event"),
    [pytest.param("#city", ("city", ""), id="data-autopostback"),
     pytest.param("#town", ("Town", ""), id="inline-onchange")],
)
def test_enter_in_an_autopostback_textbox_raises_its_change(
    page: Any, app: InnerApp, browser_log: Any, box: str, event: tuple[str, str]
) -> None:
    """Even unchanged (as ASP.NET: Enter posts the TextBox's event), and only that postback:
    not the form's implicit submission by its first button."""
    page.open("/textbox")
    navigate(page, lambda: page.press(box, "Enter"))
    page.wait_for_load_state("load")
    [seen] = app.posts
    assert seen.event == event
    assert "first" not in seen.fields
    assert browser_log.errors == []


# --------------------------------------------------------------------------------------------
# WebForm_AutoFocus, WebForm_ReEnableControls


@pytest.mark.parametrize(
    ("target", "focused"),
    [pytest.param("c", "c", id="a-control"),
     pytest.param("box", "b", id="a-containers-first-focusable-child"),
     pytest.param("missing", "", id="no-such-element")],
)
def test_auto_focus(page: Any, browser_log: Any, target: str, focused: str) -> None:
    page.open("/autofocus?id=" + target)  # (not #target: scrolling to it moves the focus)
    assert focused_id(page) == focused
    assert browser_log.errors == []


def test_a_disabled_control_named_for_re_enabling_posts_its_value(
    page: Any, app: InnerApp, browser_log: Any
) -> None:
    page.open("/reenable")
    navigate(page, lambda: page.click("#go"))
    [seen] = app.posts
    assert seen.fields["dis"] == "kept"
    assert page.is_disabled("#dis")
    assert browser_log.errors == []


# --------------------------------------------------------------------------------------------
# An ASP.NET page: WebResource.axd loaded synchronously, inline startup scripts


def test_an_aspnet_page_runs_its_startup_scripts_and_the_core_takes_over(
    page: Any, app: InnerApp, browser_log: Any
) -> None:
    page.open("/aspnet")
    assert browser_log.errors == []  # WebForm_InitCallback() and the rest ran during parsing
    assert focused_id(page) == "q"
    assert page.evaluate("window.focusAsked") == "q"
    # The page's wrapper is kept when the deferred bundle defines the functions again.
    page.evaluate("WebForm_AutoFocus('sort')")
    assert (page.evaluate("window.focusAsked"), focused_id(page)) == ("sort", "sort")
    # __doPostBack is the core's now (the page's own posted with theForm.submit()).
    assert page.evaluate("__doPostBack === Postback.doPostBack || "
                         "!/theForm\\.submit/.test(String(__doPostBack))")
    navigate(page, lambda: page.click("#sort"))
    [seen] = app.posts
    assert seen.event == ("GridView1", "Sort$Name")
    assert browser_log.errors == []


def test_an_aspnet_page_keeps_the_scroll_position_when_its_script_submits(
    page: Any, app: InnerApp, browser_log: Any
) -> None:
    """theForm.submit() is WebForm_SaveScrollPositionSubmit: it writes the position (a native
    submit() raises no submit event, so only it can), and the next page restores it."""
    page.open("/aspnet")
    navigate(page, lambda: page.click("#plain"))  # (the click scrolls the button into view)
    assert len(app.posts) == 1
    page.wait_for_function("window.scrollY > 0")
    assert page.evaluate("Math.round(scrollY) == sessionStorage.y")
    assert browser_log.errors == []


def test_web_form_init_callback_refreshes_what_callbacks_carry(page: Any) -> None:
    """Callbacks carry the form as it was when captured (ASP.NET's semantics): at load, and
    again when the page calls WebForm_InitCallback()."""
    page.open("/aspnet")
    page.fill("#q", "world")
    call = """arg => new Promise(resolve =>
        WebForm_DoCallback("echo", arg, resolve, null, resolve, true))"""
    assert page.evaluate(call, "one") == "one:hello"
    page.evaluate("WebForm_InitCallback()")
    assert page.evaluate(call, "two") == "two:world"
