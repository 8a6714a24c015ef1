"""Functional (WebTest): a page as ASP.NET rendered it, served unchanged behind the middleware.

Its events are ``__doPostBack`` references in markup and its form holds ASP.NET's own hidden
fields: the middleware registers the references' pairs and takes the fields over, so every
postback the page offers verifies, and what it does not offer is refused as before.
"""

# ruff: noqa: E501  (PAGE is markup as ASP.NET writes it, long lines and all)
from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
import webtest

from postback_middleware import Event, PostbackMiddleware, Registry

from .helpers import RecordingApp, hidden_fields, new_key

# What ASP.NET 4.x writes for a page with a sortable, pageable GridView, an AutoPostBack
# DropDownList and a validating Button (abridged: one row; see tests/aspnet_pages.py for each
# control's markup with its sources).
PAGE = """<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Orders</title></head><body>
<form method="post" action="./Orders.aspx" id="form1">
<div class="aspNetHidden">
<input type="hidden" name="__EVENTTARGET" id="__EVENTTARGET" value="" />
<input type="hidden" name="__EVENTARGUMENT" id="__EVENTARGUMENT" value="" />
<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwULLTE2MTY2ODcyMjlkZA==" />
</div>
<script type="text/javascript">
//<![CDATA[
var theForm = document.forms['form1'];
if (!theForm) {
    theForm = document.form1;
}
function __doPostBack(eventTarget, eventArgument) {
    if (!theForm.onsubmit || (theForm.onsubmit() != false)) {
        theForm.__EVENTTARGET.value = eventTarget;
        theForm.__EVENTARGUMENT.value = eventArgument;
        theForm.submit();
    }
}
//]]>
</script>
<script src="/WebResource.axd?d=pynGkmcFUV13He1Qd6_TZA2&amp;t=638286137964787378" type="text/javascript"></script>
<div>
<table cellspacing="0" rules="all" border="1" id="GridView1" style="border-collapse:collapse;">
<tr><th scope="col"><a href="javascript:__doPostBack(&#39;GridView1&#39;,&#39;Sort$Name&#39;)">Name</a></th><th scope="col">&nbsp;</th></tr>
<tr><td>Ada</td><td><a href="javascript:__doPostBack(&#39;GridView1&#39;,&#39;Delete$0&#39;)">Delete</a></td></tr>
<tr><td colspan="2"><table><tr><td><span>1</span></td><td><a href="javascript:__doPostBack(&#39;GridView1&#39;,&#39;Page$2&#39;)">2</a></td></tr></table></td></tr>
</table>
</div>
<select name="Status" onchange="javascript:setTimeout(&#39;__doPostBack(\\&#39;Status\\&#39;,\\&#39;\\&#39;)&#39;, 0)" id="Status">
<option selected="selected" value="open">Open</option><option value="closed">Closed</option>
</select>
<input type="text" name="Note" id="Note" />
<input type="submit" name="Save" value="Save" onclick="javascript:WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions(&quot;Save&quot;, &quot;&quot;, true, &quot;&quot;, &quot;&quot;, false, false))" id="Save" />
<div class="aspNetHidden">
<input type="hidden" name="__VIEWSTATEGENERATOR" id="__VIEWSTATEGENERATOR" value="C2EE9ABB" />
<input type="hidden" name="__EVENTVALIDATION" id="__EVENTVALIDATION" value="/wEdAAVd" />
</div></form>
</body></html>"""


@pytest.fixture
def recorder() -> RecordingApp:
    return RecordingApp(page=PAGE)


@pytest.fixture
def app(recorder: RecordingApp) -> webtest.TestApp:
    return webtest.TestApp(PostbackMiddleware(recorder, secret_keys=[new_key()]))


def _post(app: webtest.TestApp, target: str, argument: str, status: int = 200,
          **extra: str) -> webtest.TestResponse:
    fields = hidden_fields(app.get("/Orders.aspx").body)
    params = {"Status": "open", "Note": "hé", **fields, "__EVENTTARGET": target,
              "__EVENTARGUMENT": argument, **extra}
    return app.post("/Orders.aspx", params, status=status)


def test_the_page_posts_each_reserved_field_once(app: webtest.TestApp) -> None:
    """As a browser would read the form: each reserved field once, the middleware's."""
    form = app.get("/Orders.aspx").forms["form1"]
    names = [name for name, _ in form.submit_fields()]
    assert sorted(n for n in names if n.startswith("__")) == [
        "__EVENTARGUMENT", "__EVENTTARGET", "__EVENTVALIDATION", "__VIEWSTATE"]
    assert form["__VIEWSTATE"].value != "/wEPDwULLTE2MTY2ODcyMjlkZA=="


@pytest.mark.parametrize(
    ("target", "argument"),
    [
        pytest.param("GridView1", "Sort$Name", id="grid-sort-link"),
        pytest.param("GridView1", "Delete$0", id="grid-delete-link"),
        pytest.param("GridView1", "Page$2", id="grid-pager-link"),
        pytest.param("Status", "", id="autopostback-dropdownlist"),
    ],
)
def test_every_reference_in_the_markup_posts_back(
    app: webtest.TestApp, recorder: RecordingApp, target: str, argument: str
) -> None:
    _post(app, target, argument)
    seen = recorder.calls[-1]
    assert seen.event == Event(target, argument)
    assert seen.body.decode() == "Status=open&Note=h%C3%A9"  # the app's own fields, exactly


def test_a_submit_button_posts_natively(app: webtest.TestApp, recorder: RecordingApp) -> None:
    """A Button (UseSubmitBehavior, the default) renders WebForm_DoPostBackWithOptions with
    clientSubmit false: the browser submits the form with the button's name and value and
    empty event fields, as in ASP.NET; the app reads the button from the form."""
    _post(app, "", "", Save="Save")
    seen = recorder.calls[-1]
    assert seen.event is None
    assert seen.body.decode() == "Status=open&Note=h%C3%A9&Save=Save"


@pytest.mark.parametrize(
    ("target", "argument"),
    [
        pytest.param("Save", "", id="a-submit-button-as-an-event"),
        pytest.param("GridView1", "Delete$1", id="a-row-not-on-the-page"),
        pytest.param("GridView1", "Edit$0", id="a-command-not-offered"),
        pytest.param("Note", "", id="a-control-without-a-reference"),
    ],
)
def test_what_the_markup_does_not_offer_is_refused(
    app: webtest.TestApp, recorder: RecordingApp, target: str, argument: str
) -> None:
    _post(app, target, argument, status=403)
    assert [call.method for call in recorder.calls] == ["GET"]


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        pytest.param([("__VIEWSTATE", "/wEPDwULLTE2MTY2ODcyMjlkZA==")], 400,
                     id="asp-net-view-state-beside-ours"),
        pytest.param([("__VIEWSTATEGENERATOR", "C2EE9ABB")], 200, id="view-state-generator"),
    ],
)
def test_aspnet_own_fields_never_reach_the_app(
    app: webtest.TestApp, recorder: RecordingApp, extra: list[tuple[str, str]], status: int
) -> None:
    """A client that still sends ASP.NET's fields (a page cached from before the port) never
    smuggles them to the app: a second view state is refused, the generator is dropped."""
    fields = hidden_fields(app.get("/Orders.aspx").body)
    params = [*fields.items(), ("Status", "open"), *extra]
    app.post("/Orders.aspx", params, status=status)
    assert all(b"__VIEWSTATE" not in call.body for call in recorder.calls)


# -- validate_choices: ASP.NET's value validation ---------------------------------------------


@pytest.fixture
def strict_app(recorder: RecordingApp) -> webtest.TestApp:
    return webtest.TestApp(PostbackMiddleware(recorder, secret_keys=[new_key()],
                                              validate_choices=True))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param("open", 200, id="offered"),
        pytest.param("closed", 200, id="offered-not-selected"),
        pytest.param("deleted", 403, id="not-offered"),
        pytest.param("Open", 403, id="the-label-is-not-the-value"),
    ],
)
def test_a_value_the_dropdownlist_did_not_offer_is_refused(
    strict_app: webtest.TestApp, recorder: RecordingApp, status: str, expected: int
) -> None:
    fields = hidden_fields(strict_app.get("/Orders.aspx").body)
    strict_app.post("/Orders.aspx", {**fields, "__EVENTTARGET": "Status", "Status": status,
                                     "Note": "free text is never checked"}, status=expected)
    assert len(recorder.calls) == (2 if expected == 200 else 1)


@pytest.mark.parametrize(
    ("control", "target", "argument"),
    [
        pytest.param('<select name="s" data-autopostback><option>a</option></select>', "s", "",
                     id="autopostback-select"),
        pytest.param('<input type="checkbox" name="c" value="on" data-autopostback>', "c", "",
                     id="autopostback-checkbox"),
        pytest.param('<button type="button" data-postback="go" data-postback-argument="7">Go'
                     '</button>', "go", "7", id="data-postback-button"),
        pytest.param('<input type="submit" name="b" data-postback="save">', "save", "",
                     id="data-postback-submit"),
    ],
)
def test_a_controls_own_event_posts_with_choices_checked(control: str, target: str,
                                                          argument: str) -> None:
    """(found by a red-team pass) With validate_choices, a control was read for what it offers
    and its own events were not registered: its postback was refused."""
    recorder = RecordingApp(page=f'<form method="post">{control}</form>')
    app = webtest.TestApp(PostbackMiddleware(recorder, secret_keys=[new_key()],
                                             validate_choices=True))
    fields = hidden_fields(app.get("/f").body)
    app.post("/f", {**fields, "__EVENTTARGET": target, "__EVENTARGUMENT": argument})
    assert recorder.calls[-1].event == Event(target, argument)
    app.post("/f", {**fields, "__EVENTTARGET": target, "__EVENTARGUMENT": "other"}, status=403)


def test_a_callback_posting_a_value_not_offered_is_refused_too() -> None:
    """(found by a red-team pass) WebForm_DoCallback posts the form's fields, and a callback
    handler reads them: the values are checked as a postback's are (ASP.NET validates a
    DropDownList's posted value in a callback too)."""
    seen: list[str] = []

    def quote(argument: str, request: Any) -> str:
        seen.append(request.POST["plan"])
        return "price for " + request.POST["plan"]

    page = ('<form method="post" data-callbacks="Quote"><select name="plan">'
            '<option>basic</option><option>pro</option></select></form>')
    app = webtest.TestApp(PostbackMiddleware(RecordingApp(page=page), secret_keys=[new_key()],
                                             validate_choices=True, callbacks={"Quote": quote}))
    fields = hidden_fields(app.get("/plans").body)
    call = {**fields, "__CALLBACKID": "Quote", "__CALLBACKPARAM": ""}
    assert app.post("/plans", {**call, "plan": "pro"}).text.endswith("price for pro")
    refused = app.post("/plans", {**call, "plan": "staff-only-free"}, status=403)
    assert refused.text.startswith("e") and seen == ["pro"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([("Status", "open")], 200, id="offered"),
        pytest.param([("Status", "open"), ("Status", "closed")], 200, id="each-offered"),
        pytest.param([("Status", "open"), ("Status", "x")], 403, id="one-not-offered"),
        pytest.param([("Status", "x\u00e9")], 403, id="not-offered-non-ascii"),
        pytest.param([], 200, id="none-posted"),
    ],
)
def test_choices_are_checked_in_multipart_bodies_too(
    strict_app: webtest.TestApp, recorder: RecordingApp, values: list[tuple[str, str]],
    expected: int,
) -> None:
    fields = hidden_fields(strict_app.get("/Orders.aspx").body)
    params = [*fields.items(), *values, ("Note", "n")]
    strict_app.post("/Orders.aspx", params, upload_files=[("Report", "r.bin", b"\x00\xff" * 10)],
                    status=expected)
    if expected == 200:
        body = recorder.calls[-1].body
        assert b"\x00\xff" * 10 in body  # the file reaches the app byte for byte


def test_a_file_posted_for_a_select_is_refused(strict_app: webtest.TestApp) -> None:
    fields = hidden_fields(strict_app.get("/Orders.aspx").body)
    strict_app.post("/Orders.aspx", list(fields.items()),
                    upload_files=[("Status", "open", b"open")], status=403)


def test_without_the_option_any_value_reaches_the_app(
    app: webtest.TestApp, recorder: RecordingApp
) -> None:
    fields = hidden_fields(app.get("/Orders.aspx").body)
    app.post("/Orders.aspx", {**fields, "Status": "deleted"})
    assert recorder.calls[-1].body == b"Status=deleted"


# -- the page's own callbacks (seed 000: WebForm_DoCallback('__Page', ...)) ---------------------


def _callback_app(recorder: RecordingApp) -> webtest.TestApp:
    registry = Registry()
    registry.add_callback("__Page", lambda argument, request: f"You sent {argument}",
                          page="/Orders.aspx")
    registry.add_callback("__Page", lambda argument, request: "admin secrets",
                          page="/Admin.aspx")
    return webtest.TestApp(PostbackMiddleware(recorder, registry=registry,
                                              secret_keys=[new_key()]))


def _call(app: webtest.TestApp, fields: dict[str, str], path: str,
          status: int = 200) -> webtest.TestResponse:
    """What WebForms.js sends for WebForm_DoCallback('__Page', arg, ...): the form's fields,
    then the callback's."""
    body = urllib.parse.urlencode([("__EVENTTARGET", ""), ("__EVENTARGUMENT", ""),
                                   ("__VIEWSTATE", fields["__VIEWSTATE"]), ("Status", "open"),
                                   ("__CALLBACKID", "__Page"), ("__CALLBACKPARAM", "1"),
                                   ("__EVENTVALIDATION", fields["__EVENTVALIDATION"])])
    return app.post(path, body.encode(), status=status,
                    content_type="application/x-www-form-urlencoded; charset=utf-8")


def test_the_page_callback_answers_without_markup_changes(recorder: RecordingApp) -> None:
    """The unchanged page offers its own '__Page' callback: CallServer(1) gets its answer, the
    app is not called."""
    app = _callback_app(recorder)
    fields = hidden_fields(app.get("/Orders.aspx").body)
    answer = _call(app, fields, "/Orders.aspx").text
    length, _, rest = answer.partition("|")
    assert rest[int(length):] == "You sent 1"
    assert [call.method for call in recorder.calls] == ["GET"]


def test_one_page_tokens_never_run_another_page_callback(recorder: RecordingApp) -> None:
    app = _callback_app(recorder)
    fields = hidden_fields(app.get("/Orders.aspx").body)
    assert "admin" not in _call(app, fields, "/Admin.aspx", status=403).text


def test_a_page_without_its_own_callback_offers_none(recorder: RecordingApp) -> None:
    registry = Registry()
    registry.add_callback("__Page", lambda argument, request: "admin secrets",
                          page="/Admin.aspx")
    app = webtest.TestApp(PostbackMiddleware(recorder, registry=registry,
                                             secret_keys=[new_key()]))
    fields = hidden_fields(app.get("/Orders.aspx").body)
    assert "admin" not in _call(app, fields, "/Orders.aspx", status=403).text


def test_a_cross_page_postback_verifies_where_it_goes() -> None:
    """A LinkButton with PostBackUrl posts the form to another page (WebForm_PostBackOptions'
    actionUrl): the tokens are bound to that path too, and its event verifies there."""
    link = ('<a href="javascript:WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions('
            '&quot;ToReport&quot;, &quot;&quot;, false, &quot;&quot;, &quot;Report.aspx&quot;, '
            'false, true))">Report</a>')
    recorder = RecordingApp(page=PAGE.replace('<input type="text" name="Note"', link + "<input"
                                              ' type="text" name="Note"'))
    app = webtest.TestApp(PostbackMiddleware(recorder, secret_keys=[new_key()]))
    fields = hidden_fields(app.get("/Orders.aspx").body)
    app.post("/Report.aspx", {**fields, "__EVENTTARGET": "ToReport"})
    assert recorder.calls[-1].path == "/Report.aspx"
    assert recorder.calls[-1].event == Event("ToReport", "")
    app.post("/Elsewhere.aspx", {**fields, "__EVENTTARGET": "ToReport"}, status=403)


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        pytest.param(" Status", "", id="django-strips-a-part-name"),
        pytest.param("Status\t", "", id="trailing-tab"),
        pytest.param("Sta\\tus", "", id="werkzeug-drops-backslashes"),
        pytest.param("Status", "Content-Transfer-Encoding: base64\r\n", id="base64-part"),
        pytest.param("Status", "Content-Type: text/plain; charset=utf-16\r\n",
                     id="a-part-with-its-own-charset"),
    ],
)
def test_a_choice_spelled_for_another_parser_is_checked(
    strict_app: webtest.TestApp, recorder: RecordingApp, name: str, headers: str
) -> None:
    """A part whose name some parser reads as a checked select's, or whose value it decodes
    otherwise, is checked as that select's (red team: Django strips names, Werkzeug drops
    backslashes, Django decodes base64 parts)."""
    fields = hidden_fields(strict_app.get("/Orders.aspx").body)
    boundary = "b0undary"
    parts = [*(f'Content-Disposition: form-data; name="{k}"\r\n\r\n{v}' for k, v in
               fields.items()),
             f'Content-Disposition: form-data; name="{name}"\r\n{headers}\r\nb3Blbg==']
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    strict_app.request("/Orders.aspx", method="POST", body=body.encode(), status=403,
                       content_type=f"multipart/form-data; boundary={boundary}")
    assert [call.method for call in recorder.calls] == ["GET"]


def test_a_long_value_cut_across_reads_is_never_an_offered_one(recorder: RecordingApp) -> None:
    """A value longer than the middleware reads is refused, never compared by its start."""
    long_value = "open" + "x" * 70_000
    page = PAGE.replace('<option value="closed">', f'<option value="{long_value}">')
    app = webtest.TestApp(PostbackMiddleware(RecordingApp(page=page), secret_keys=[new_key()],
                                             validate_choices=True))
    fields = hidden_fields(app.get("/Orders.aspx").body)
    app.post("/Orders.aspx", {**fields, "Status": long_value + "EVIL"}, status=403)


def test_another_form_tokens_cannot_carry_a_select_value(recorder: RecordingApp) -> None:
    """A page's search form (no select) and its edit form (a select): posting the select's
    name with the search form's tokens is refused too (red team)."""
    page = ('<form method="post" id="search"><input name="q"></form>'
            '<form method="post" id="edit"><select name="role"><option value="user">'
            '</select><input name="q"></form>')
    app = webtest.TestApp(PostbackMiddleware(RecordingApp(page=page), secret_keys=[new_key()],
                                             validate_choices=True))
    search = hidden_fields(app.get("/users").body)  # (the first form's fields)
    app.post("/users", {**search, "role": "admin"}, status=403)
    app.post("/users", {**search, "q": "ada"})  # (its own fields pass)
