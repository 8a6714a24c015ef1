"""Microsoft's ASP.NET AJAX client against a Python app (#17): UpdatePanels in Chromium.

The page is the HTML ASP.NET 4.5+ writes for a ScriptManager, an UpdatePanel (a LinkButton, a
GridView, Labels), two async trigger Buttons outside it, an UpdateProgress and the page's own
``Sys.WebForms.PageRequestManager`` ``endRequest`` handler (``tests/aspnet_pages.ajax_page``,
each shape cited from the reference source), served unchanged by its Python port
(``tests/apps/ajax_app.py``) behind :class:`postback_middleware.PostbackMiddleware` with
``aspnet_ajax=True`` on a real waitress server. The client is Microsoft's own, unchanged:
``MicrosoftAjax.js`` and ``MicrosoftAjaxWebForms.js`` from ``../shared/aspnet-ajax/`` (third
party test data, not in this repository), served at the page's ``ScriptResource.axd`` URLs.
Without them the module is skipped with the reason, and fails under ``CI=true``.

What a user sees, and what the app gets:

* a click in the panel updates it **in place** (a variable the page set survives, no
  navigation), twice in a row (the first answer's fresh tokens are the ones the second
  postback sends), with non-ASCII, CJK and emoji text in the panel (the delta format counts
  UTF-16 code units);
* a trigger outside the panel updates it too, with what the user typed reaching the app;
* the GridView's links inside the panel post back asynchronously;
* a redirect navigates to its target; an app error (500) and a forged event (a pair the page
  never offered, or tampered event validation) reach the page's ``endRequest`` handler as
  ``args.get_error()``, through the same channel, and the forged request never reaches the
  app;
* the UpdateProgress shows while a slow postback runs;
* the app never sees the ScriptManager's field or ``__ASYNCPOST`` (nor any reserved field).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from .. import aspnet_pages
from ..apps.ajax_app import (
    LANDING,
    LANDING_CITY,
    PAGE,
    PANEL_TEXT,
    AjaxApp,
    count_label,
    scripts_missing,
)
from ..helpers import new_key, without_insertions
from .assertions import expect
from .test_webforms_browser import RESERVED, Tab, reserved_fields

pytestmark = pytest.mark.browser

FORGED_MESSAGE = "Invalid postback or callback argument."  # errors.Forbidden's, ASP.NET's own
SERVER_ERROR = "Sys.WebForms.PageRequestManagerServerErrorException"


def _unavailable(reason: str) -> None:
    """Skip, or fail under CI=true (as the browser fixtures do for a missing Chromium)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"ASP.NET AJAX tests cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------
# The server and the browser tab


@dataclass
class Site:
    app: AjaxApp
    base_url: str


@pytest.fixture(scope="module")
def site(serve: Callable[..., Any]) -> Iterator[Site]:
    reason = scripts_missing()
    if reason is not None:
        _unavailable(reason)
    app = AjaxApp()
    with serve(PostbackMiddleware(app, secret_keys=[new_key()], aspnet_ajax=True)) as base_url:
        yield Site(app, base_url)


@pytest.fixture
def app(site: Site) -> Iterator[AjaxApp]:
    site.app.reset()
    yield site.app
    site.app.reset()


@dataclass
class Exchange:
    """One async postback on the wire, as the browser saw it."""

    body: str
    headers: dict[str, str]
    status: int
    response_headers: dict[str, str]
    response: str


@dataclass
class AjaxTab(Tab):
    """A tab on the Ajax page: what went wrong (``Tab``), the main frame's navigations and the
    async postbacks (requests with ``X-MicrosoftAjax``) with their answers."""

    navigations: list[str] = field(default_factory=list)  # URLs the main frame went to
    exchanges: list[Exchange] = field(default_factory=list)

    def open_page(self) -> None:
        self.open(PAGE)
        self.page.evaluate("window.__marker = 'set before the postbacks'")
        self.navigations.clear()

    def end_requests(self) -> list[dict[str, Any] | None]:
        """What the page's endRequest handler recorded: None, or the error's name, message and
        httpStatusCode, for each async postback that ended."""
        result: list[dict[str, Any] | None] = self.page.evaluate("window.__endRequests")
        return result

    def wait_for_end_requests(self, count: int) -> list[dict[str, Any] | None]:
        self.page.wait_for_function(f"window.__endRequests.length >= {count}")
        return self.end_requests()

    def assert_still_the_same_page(self) -> None:
        """No navigation: the variable the page set before is still there."""
        assert self.page.evaluate("window.__marker") == "set before the postbacks"
        assert self.navigations == []


@pytest.fixture
def tab(browser_page: Any, browser_log: Any, site: Site, app: AjaxApp) -> AjaxTab:
    tab = AjaxTab(browser_page, site.base_url, browser_log)

    def on_response(response: Any) -> None:
        if response.status >= 400:
            tab.failed.append(f"{response.status} {response.request.method} {response.url}")
        request = response.request
        if request.headers.get("x-microsoftajax") is not None:
            try:
                text = response.text()
            except Exception:  # gone: the answer made the page navigate (a pageRedirect)
                text = ""
            tab.exchanges.append(Exchange(request.post_data or "", dict(request.headers),
                                          response.status, dict(response.headers), text))

    def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        dialog.accept()

    def on_console(message: Any) -> None:
        if message.type in ("error", "warning"):
            tab.console.append(f"{message.type}: {message.text} [{message.location['url']}]")

    def on_navigated(frame: Any) -> None:
        if frame == browser_page.main_frame:
            tab.navigations.append(frame.url)

    browser_page.on("console", on_console)
    browser_page.on("response", on_response)
    browser_page.on("dialog", on_dialog)
    browser_page.on("framenavigated", on_navigated)
    return tab


def assert_fields_once(tab: Tab) -> dict[str, str]:
    """Each of the middleware's fields once in the form (the PRM replaced them by id, it did
    not add a second copy); returns their values."""
    counts = reserved_fields(tab)
    assert counts == {**dict.fromkeys(RESERVED, 0), "__EVENTTARGET": 1, "__EVENTARGUMENT": 1,
                      "__VIEWSTATE": 1, "__EVENTVALIDATION": 1}, counts
    values: dict[str, str] = tab.page.evaluate(
        """() => Object.fromEntries(["__VIEWSTATE", "__EVENTVALIDATION"].map(name =>
               [name, document.querySelector('#form1 input[name="' + name + '"]').value]))""")
    return values


def assert_clean(app: AjaxApp) -> None:
    """Nothing of the async postback's own reached the app."""
    assert app.leaks == []
    for post in app.posts:
        assert aspnet_pages.SCRIPT_MANAGER not in post.names
        assert "__ASYNCPOST" not in post.names
        assert not set(post.names) & set(RESERVED)


def assert_async_exchange(exchange: Exchange, manager_value: str) -> None:
    """The postback went the ASP.NET AJAX way: Microsoft's request, a delta answer."""
    assert exchange.headers.get("x-microsoftajax") == "Delta=true"
    assert exchange.body.startswith(f"{aspnet_pages.SCRIPT_MANAGER}={manager_value}&"), (
        exchange.body[:200])
    assert "&__ASYNCPOST=true&" in exchange.body
    assert exchange.status == 200
    assert exchange.response_headers.get("content-type", "").startswith("text/plain")


# --------------------------------------------------------------------------------------------
# 1. The page and Microsoft's client on it


def test_page_reaches_the_browser_as_asp_net_wrote_it(tab: AjaxTab, app: AjaxApp) -> None:
    """Every byte but ASP.NET's own hidden inputs (taken over) and the middleware's
    insertions; Microsoft's client loaded and set up from the page's own _initialize call."""
    body = tab.open(PAGE).body()
    written = aspnet_pages.ajax_page(count_label(0))
    names = "|".join(RESERVED)
    taken_over = re.compile(f'<input type="hidden" name="(?:{names})" id="[^"]*" value="[^"]*" />')
    assert without_insertions(body).decode() == taken_over.sub("", written)

    manager = tab.page.evaluate("""() => {
        const prm = Sys.WebForms.PageRequestManager.getInstance();
        return {panels: prm._updatePanelIDs, clientIDs: prm._updatePanelClientIDs,
                triggers: prm._asyncPostBackControlIDs, form: prm._form.id,
                manager: prm._scriptManagerID};
    }""")
    assert manager == {"panels": ["UpdatePanel1"], "clientIDs": ["UpdatePanel1"],
                       "triggers": ["RefreshButton", "ErrorButton"], "form": "form1",
                       "manager": "ScriptManager1"}
    # The UpdateProgress was created by the client ($create in the startup script).
    progress = tab.page.locator("#UpdateProgress1")
    assert progress.get_attribute("role") == "status"
    assert progress.get_attribute("aria-hidden") == "true"
    expect(progress).to_be_hidden()
    assert_fields_once(tab)
    assert tab.problems() == []


# --------------------------------------------------------------------------------------------
# 2. Clicks update the panel in place


def test_clicks_update_the_panel_in_place(tab: AjaxTab, app: AjaxApp) -> None:
    tab.open_page()
    label = tab.page.locator("#CountLabel")
    assert label.inner_text() == f"Clicks: 0 · {PANEL_TEXT}"
    before = assert_fields_once(tab)

    tab.page.click("#LinkButton1")
    expect(label).to_have_text(f"Clicks: 1 · {PANEL_TEXT}")  # emoji and all, as sent
    assert tab.wait_for_end_requests(1) == [None]
    tab.assert_still_the_same_page()
    first = assert_fields_once(tab)
    assert first["__VIEWSTATE"] != before["__VIEWSTATE"]  # fresh tokens from the answer
    assert first["__EVENTVALIDATION"] != before["__EVENTVALIDATION"]

    # Again: the count lives in the view state, so 2 proves the fresh tokens came back.
    tab.page.click("#LinkButton1")
    expect(label).to_have_text(f"Clicks: 2 · {PANEL_TEXT}")
    assert tab.wait_for_end_requests(2) == [None, None]
    tab.assert_still_the_same_page()
    second = assert_fields_once(tab)
    assert second["__VIEWSTATE"] != first["__VIEWSTATE"]

    assert tab.page.evaluate("window.__panelsUpdated") == ["UpdatePanel1", "UpdatePanel1"]
    assert tab.page.inner_text("#EventLabel") == "LinkButton1"
    assert tab.page.inner_text("#AjaxStatus") == "Updated"
    assert [(post.event, post.handled) for post in app.posts] == [
        (("LinkButton1", ""), "LinkButton1")] * 2
    assert_clean(app)
    assert len(tab.exchanges) == 2
    for exchange in tab.exchanges:
        assert_async_exchange(exchange, "UpdatePanel1%7CLinkButton1")
        # The panel's emoji travelled in the delta, framed in UTF-16 code units.
        assert "😀👍🏽" in exchange.response
    assert tab.problems() == []


@pytest.mark.parametrize("after_a_click", [False, True], ids=["first", "after-a-linkbutton"])
def test_trigger_outside_the_panel_updates_it_with_what_was_typed(
        tab: AjaxTab, app: AjaxApp, after_a_click: bool) -> None:
    """The trigger is a submit button: no event, its own field. After a LinkButton's async
    postback too: the PRM leaves __EVENTTARGET as that postback set it, so the answer must
    empty it (ASP.NET sends both event fields as hiddenField records), or the button's
    postback would carry the LinkButton's event again."""
    tab.open_page()
    if after_a_click:
        tab.page.click("#LinkButton1")
        expect(tab.page.locator("#EventLabel")).to_have_text("LinkButton1")
        tab.wait_for_end_requests(1)
    note = "naïve café & <b>東京</b> 😀"
    tab.page.fill("#NoteBox", note)

    tab.page.click("#RefreshButton")
    expect(tab.page.locator("#EventLabel")).to_have_text(f"RefreshButton ({note})")
    ended = tab.wait_for_end_requests(1 + after_a_click)
    assert ended == [None] * (1 + after_a_click)
    tab.assert_still_the_same_page()
    assert tab.page.input_value("#NoteBox") == note  # outside the panel: kept as typed
    assert tab.page.inner_text("#CountLabel") == f"Clicks: {int(after_a_click)} · {PANEL_TEXT}"
    post = app.posts[-1]
    assert (post.event, post.form) == (None, {"NoteBox": note, "RefreshButton": "Refresh"})
    assert len(app.posts) == 1 + after_a_click
    assert_clean(app)
    assert_async_exchange(tab.exchanges[-1], "ScriptManager1%7CRefreshButton")
    assert_fields_once(tab)
    assert tab.problems() == []


@pytest.mark.parametrize(("link", "handled"), [
    ('#GridView1 th a:text-is("Name")', "GridView1: Sort$Name"),
    ('#GridView1 tr:nth-child(2) a:text-is("Select")', "GridView1: Select$0"),
    ('#GridView1 a:text-is("2")', "GridView1: Page$2"),
], ids=["sort", "select", "pager"])
def test_gridview_links_in_the_panel_post_back_async(tab: AjaxTab, app: AjaxApp, link: str,
                                                      handled: str) -> None:
    tab.open_page()
    tab.page.click(link)
    expect(tab.page.locator("#EventLabel")).to_have_text(handled)
    assert tab.wait_for_end_requests(1) == [None]
    tab.assert_still_the_same_page()
    target, argument = handled.split(": ")
    assert [post.event for post in app.posts] == [(target, argument)]
    assert_clean(app)
    [exchange] = tab.exchanges
    assert_async_exchange(exchange, "UpdatePanel1%7CGridView1")
    assert tab.problems() == []


# --------------------------------------------------------------------------------------------
# 3. Redirects and errors


def test_redirect_navigates_to_its_target(tab: AjaxTab, app: AjaxApp) -> None:
    tab.open_page()
    answers: list[str] = []

    def keep_answer(route: Any) -> None:
        """The answer, read before the page navigates away from it (then unchanged)."""
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch()
        answers.append(response.text())
        route.fulfill(response=response)

    tab.page.route(re.compile(r"/Ajax\.aspx$"), keep_answer)
    with tab.page.expect_navigation(url=re.compile(r"/Landing\.aspx")):
        tab.page.click("#GoButton")
    assert tab.page.url == tab.base_url + LANDING  # the percent-encoded query intact
    assert tab.page.inner_text("#City") == LANDING_CITY
    assert [post.event for post in app.posts] == [("GoButton", "")]
    assert_clean(app)
    [exchange] = tab.exchanges
    assert_async_exchange(exchange, "UpdatePanel1%7CGoButton")
    [answer] = answers
    assert answer.startswith("1|#||4|") and "|pageRedirect||" in answer, answer
    assert tab.problems() == []


def test_app_error_reaches_end_request(tab: AjaxTab, app: AjaxApp) -> None:
    tab.open_page()
    label = tab.page.locator("#CountLabel")

    tab.page.click("#ErrorButton")
    [error] = tab.wait_for_end_requests(1)
    assert error is not None
    assert (error["name"], error["httpStatusCode"]) == (SERVER_ERROR, 500)
    assert error["message"].startswith(SERVER_ERROR + ": ")
    expect(tab.page.locator("#AjaxStatus")).to_have_text(f"Error: {error['message']}")
    tab.assert_still_the_same_page()
    assert label.inner_text() == f"Clicks: 0 · {PANEL_TEXT}"  # the panel as it was
    [post] = app.posts
    assert (post.event, post.form) == (None, {"NoteBox": "", "ErrorButton": "Fail"})
    assert_clean(app)
    [exchange] = tab.exchanges
    assert_async_exchange(exchange, "ScriptManager1%7CErrorButton")
    assert re.fullmatch(r"[0-9]+\|error\|500\|.*\|", exchange.response, re.DOTALL), (
        exchange.response)

    # The page goes on working after the error.
    tab.page.click("#LinkButton1")
    expect(label).to_have_text(f"Clicks: 1 · {PANEL_TEXT}")
    assert tab.wait_for_end_requests(2)[1] is None
    assert tab.problems() == []


# --------------------------------------------------------------------------------------------
# 4. The guarantee stays: a forged event is refused, through the same channel


FORGERIES = [
    pytest.param("__doPostBack('GridView1', 'Delete$7')", True, id="argument-not-offered"),
    pytest.param("__doPostBack('UpdatePanel1$AdminButton', '')", True,
                 id="target-not-offered"),
    pytest.param(
        """() => {
             const link = document.querySelector('#GridView1 a[href*="Delete$0"]');
             link.setAttribute("href", "javascript:__doPostBack('GridView1','Delete$7')");
             link.click();
           }""",
        True, id="link-rewritten"),
    pytest.param(
        """() => {
             const field = document.querySelector('#form1 input[name="__EVENTVALIDATION"]');
             const end = field.value.endsWith("AAAA") ? "BBBB" : "AAAA";
             field.value = field.value.slice(0, -4) + end;
             document.getElementById("LinkButton1").click();
           }""",
        False, id="event-validation-tampered"),
]


@pytest.mark.parametrize(("script", "fields_intact"), FORGERIES)
def test_forged_event_is_refused_through_end_request(tab: AjaxTab, app: AjaxApp, script: str,
                                                     fields_intact: bool) -> None:
    tab.open_page()

    tab.page.evaluate(script)
    [error] = tab.wait_for_end_requests(1)
    assert error is not None
    assert (error["name"], error["httpStatusCode"]) == (SERVER_ERROR, 403)
    assert error["message"] == f"{SERVER_ERROR}: {FORGED_MESSAGE}"
    tab.assert_still_the_same_page()
    # Nothing applied: the panel shows what it showed.
    assert tab.page.inner_text("#CountLabel") == f"Clicks: 0 · {PANEL_TEXT}"
    assert tab.page.inner_text("#EventLabel") == ""
    assert app.posts == []  # refused before the app
    [exchange] = tab.exchanges
    assert exchange.headers.get("x-microsoftajax") == "Delta=true"  # it went async
    assert exchange.status == 200  # the delta channel's own error record
    assert "|error|403|" in exchange.response
    assert tab.problems() == []

    # The page is still usable: a genuine click goes through (unless the script broke the
    # page's own field).
    if fields_intact:
        tab.page.click("#LinkButton1")
        expect(tab.page.locator("#CountLabel")).to_have_text(f"Clicks: 1 · {PANEL_TEXT}")
        assert [post.event for post in app.posts] == [("LinkButton1", "")]


# --------------------------------------------------------------------------------------------
# 5. The UpdateProgress


def test_update_progress_shows_during_a_slow_postback(tab: AjaxTab, app: AjaxApp) -> None:
    tab.open_page()
    app.delay = 1.5  # longer than the UpdateProgress's displayAfter (500 ms)
    progress = tab.page.locator("#UpdateProgress1")

    tab.page.click("#LinkButton1")
    expect(progress).to_be_visible()
    assert progress.get_attribute("aria-hidden") == "false"
    expect(tab.page.locator("#CountLabel")).to_have_text(f"Clicks: 1 · {PANEL_TEXT}")
    expect(progress).to_be_hidden()
    assert progress.get_attribute("aria-hidden") == "true"
    tab.assert_still_the_same_page()
    assert tab.problems() == []
