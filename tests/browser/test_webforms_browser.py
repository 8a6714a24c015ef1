"""WebForms pages run unchanged (#16): ASP.NET's rendered markup in Chromium, control by control.

The page is the HTML ASP.NET 4.5+ writes (``tests/aspnet_pages.py``, each shape cited from the
reference source), served unchanged by its Python port (``tests/apps/webforms_app.py``) behind
:class:`postback_middleware.PostbackMiddleware` on a real waitress server. Each control kind is
served **alone** (its markup in a bare post form) and inside the **whole page** ASP.NET writes
(``aspNetHidden`` blocks with ASP.NET's own ``__EVENTTARGET``, ``__VIEWSTATE``,
``__EVENTVALIDATION``..., the inline ``__doPostBack`` script, ``WebResource.axd`` tags, script
blocks, validators' scripts, ``WebForm_InitCallback();``), and a user does what a user does:
clicks the GridView's Sort, Edit, Delete, Select and pager links, changes the AutoPostBack
DropDownList, checks the CheckBox and RadioButton, types in the TextBox and tabs out, clicks
the buttons, the ImageButtons, the DetailsView and FormView pagers, the seed page's
``CallServer`` button.

Each test asserts what a user and the server care about: the page posted back once and came
back (200), the app received exactly the expected verified (target, argument) event (or none,
for a native submit) and the control's fields without any reserved one, its Label shows the
handler that ran, every reserved field is in the form once, and nothing failed on the way: no
response of 400 or more, no console error or warning, no uncaught exception (:data:`HARMLESS`
lists the ones tolerated: none so far, as none of these pages uses ``ScriptResource.axd``). A
forged pair (a target or argument the page never offered, set by page script) is still refused.

The same actions also run on the **csp** layout: the markup the migration guide
(``docs/how-to/migration-from-webforms.md``) gives for a strict Content Security Policy, where
ASP.NET's inline handlers cannot run (``data-postback`` instead), under ``script-src
'nonce-...' 'strict-dynamic'``: the app must receive the very same events, with no violation.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from .. import aspnet_pages
from ..apps.webforms_app import CALLBACK_RESULT, CSP, STATUS, WebFormsApp, make_registry
from ..helpers import new_key, without_insertions
from .assertions import expect

pytestmark = pytest.mark.browser

RESERVED = ("__EVENTTARGET", "__EVENTARGUMENT", "__VIEWSTATE", "__VIEWSTATEGENERATOR",
            "__EVENTVALIDATION", "__LASTFOCUS", "__SCROLLPOSITIONX", "__SCROLLPOSITIONY")
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "migration-from-webforms.md"
ALONE, PAGE, TRAILING = aspnet_pages.LAYOUTS
COORDINATE = None  # an expected field whose value is not known in advance (an image's x/y)
# Problems a page may show without failing a test, each with its reason (regexes matched
# against Tab.problems() lines, which end with the URL concerned). None so far: e.g. a page that
# loaded ScriptResource.axd would list its 404 here (the middleware leaves it to the app).
HARMLESS: tuple[str, ...] = ()
# The guide's example app serves no icon (Chromium asks for one; the test app answers 204).
FAVICON_404 = r"^error: Failed to load resource: .* 404 .*\[http://[^/]+/favicon\.ico\]$"

# --------------------------------------------------------------------------------------------
# What a user does, control by control


@dataclass(frozen=True)
class Action:
    id: str
    control: str  # the control kind (tests/aspnet_pages.CONTROLS) whose page it runs on
    do: Callable[[Any], None]  # on the Playwright page: what the user does
    event: tuple[str, str] | None  # the verified event the app must receive
    fields: Mapping[str, str | None] = field(default_factory=dict)  # the fields it posts
    handled: str = ""  # what the page's Label shows afterwards (the handler that ran)
    shown_after: str = ""  # an element the re-rendered page must show (server validation)

    def __str__(self) -> str:
        return self.id


def _click(selector: str) -> Callable[[Any], None]:
    return lambda page: page.click(selector)


def _grid_command(row: int, text: str) -> Callable[[Any], None]:
    """A command link of the GridView's data row ``row`` (0: the first under the header)."""
    return lambda page: page.locator("#GridView1 tr").nth(row + 1).locator(
        f'a:text-is("{text}")').click()


def _type_and_tab(page: Any) -> None:
    page.click("#SearchBox")
    page.keyboard.type("tea")  # each key goes through WebForm_TextBoxKeyHandler
    page.keyboard.press("Tab")  # the change event: AutoPostBack


def _type_and_enter(page: Any) -> None:
    page.click("#SearchBox")
    page.keyboard.type("tea")
    page.keyboard.press("Enter")  # WebForm_TextBoxKeyHandler: the change, not a plain submit


ACTIONS = [
    Action("gridview-sort", "gridview", _click('#GridView1 th a:text-is("Name")'),
           ("GridView1", "Sort$Name"), handled="GridView1: Sort$Name"),
    Action("gridview-edit", "gridview", _grid_command(0, "Edit"),
           ("GridView1", "Edit$0"), handled="GridView1: Edit$0"),
    Action("gridview-delete", "gridview", _grid_command(1, "Delete"),
           ("GridView1", "Delete$1"), handled="GridView1: Delete$1"),
    Action("gridview-select", "gridview", _grid_command(0, "Select"),
           ("GridView1", "Select$0"), handled="GridView1: Select$0"),
    Action("gridview-pager", "gridview", _click('#GridView1 a:text-is("2")'),
           ("GridView1", "Page$2"), handled="GridView1: Page$2"),
    Action("linkbutton", "linkbutton", _click("#LinkButton1"),
           ("LinkButton1", ""), handled="LinkButton1"),
    Action("dropdownlist-autopostback", "dropdownlist",
           lambda page: page.select_option("#DropDownList1", "date"),
           ("DropDownList1", ""), {"DropDownList1": "date"}, handled="DropDownList1"),
    # No WebUIValidation.js: the button submits natively; the server validates (and says so).
    Action("validating-button", "validating-button", _click("#SaveButton"),
           None, {"NameBox": "", "SaveButton": "Save"}, handled="SaveButton",
           shown_after="#NameRequired"),
    Action("validating-linkbutton", "validating-linkbutton", _click("#SendLink"),
           ("SendLink", ""), {"CityBox": ""}, handled="SendLink",
           shown_after="#CityRequired"),
    Action("button-usesubmitbehavior-false", "button-nosubmit", _click("#RefreshButton"),
           ("RefreshButton", ""), handled="RefreshButton"),
    Action("checkbox-autopostback", "checkbox", _click("#SubscribeCheck"),
           ("SubscribeCheck", ""), {"SubscribeCheck": "on"}, handled="SubscribeCheck"),
    Action("radiobutton-autopostback", "radiobutton", _click("#RadioExpress"),
           ("RadioExpress", ""), {"Shipping": "RadioExpress"}, handled="RadioExpress"),
    Action("textbox-autopostback", "textbox", _type_and_tab,
           ("SearchBox", ""), {"SearchBox": "tea"}, handled="SearchBox"),
    Action("textbox-autopostback-enter", "textbox", _type_and_enter,
           ("SearchBox", ""), {"SearchBox": "tea"}, handled="SearchBox"),
    Action("imagebutton", "imagebutton", _click("#RefreshImage"),
           None, {"RefreshImage.x": COORDINATE, "RefreshImage.y": COORDINATE},
           handled="RefreshImage"),
    Action("imagebutton-in-gridview", "imagebutton-in-grid",
           lambda page: page.locator("#ProductsGrid [alt=Select]").first.click(),
           ("ProductsGrid", "Select$0"), handled="ProductsGrid: Select$0"),
    # Enter in the panel's text box: WebForm_FireDefaultButton clicks the panel's button, not
    # the form's first submit button (in the whole page with every control: SaveButton).
    Action("panel-defaultbutton-enter", "panel-defaultbutton",
           lambda page: page.press("#SearchText", "Enter"), None,
           {"SearchText": "", "SearchButton": "Search"}, handled="SearchButton"),
    Action("detailsview-pager", "detailsview", _click('#DetailsView1 a:text-is("2")'),
           ("DetailsView1", "Page$2"), handled="DetailsView1: Page$2"),
    Action("formview-pager", "formview", _click('#FormView1 a:text-is(">")'),
           ("FormView1", "Page$Next"), handled="FormView1: Page$Next"),
    Action("formview-template-linkbutton", "formview", _click("#FormView1_EditButton"),
           ("FormView1$EditButton", ""), handled="FormView1$EditButton"),
]
ACTION = {action.id: action for action in ACTIONS}

# --------------------------------------------------------------------------------------------
# The server and the browser tab


@dataclass
class Site:
    app: WebFormsApp
    base_url: str


@pytest.fixture(scope="module")
def site(serve: Callable[..., Any]) -> Iterator[Site]:
    """The port behind the middleware; under ``/fwd/`` the same app behind a middleware with
    ``forward_event_fields``."""
    app = WebFormsApp()
    registry = make_registry(app)
    key = new_key()
    plain = PostbackMiddleware(app, secret_keys=[key], registry=registry)
    forwarding = PostbackMiddleware(app, secret_keys=[key], registry=registry,
                                    forward_event_fields=True)

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        chosen = forwarding if environ["PATH_INFO"].startswith("/fwd/") else plain
        return chosen(environ, start_response)

    with serve(dispatch) as base_url:
        yield Site(app, base_url)


@dataclass
class Tab:
    """A browser page on the test server, with what went wrong on it."""

    page: Any
    base_url: str
    log: Any  # conftest's BrowserLog (its uncaught exceptions)
    console: list[str] = field(default_factory=list)  # errors and warnings, with their URL
    failed: list[str] = field(default_factory=list)  # responses of 400 or more
    dialogs: list[str] = field(default_factory=list)  # alert() messages (accepted)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status == 200, path
        return response

    def navigate(self, action: Callable[[], Any]) -> Any:
        """Run ``action`` and wait for the page it loads; that page's response."""
        with self.page.expect_navigation() as navigation:
            action()
        return navigation.value

    def problems(self, *allowed: str) -> list[str]:
        """What went wrong, but HARMLESS and ``allowed`` problems (regexes)."""
        found = [*self.console, *(f"pageerror: {e}" for e in self.log.errors), *self.failed]
        return [p for p in found if not any(re.search(h, p) for h in (*HARMLESS, *allowed))]


@pytest.fixture
def app(site: Site) -> Iterator[WebFormsApp]:
    site.app.reset()
    yield site.app
    site.app.reset()


@pytest.fixture
def tab(browser_page: Any, browser_log: Any, site: Site, app: WebFormsApp) -> Tab:
    tab = Tab(browser_page, site.base_url, browser_log)

    def on_response(response: Any) -> None:
        if response.status >= 400:
            tab.failed.append(f"{response.status} {response.request.method} {response.url}")

    def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        dialog.accept()

    def on_console(message: Any) -> None:
        if message.type in ("error", "warning"):
            tab.console.append(f"{message.type}: {message.text} [{message.location['url']}]")

    browser_page.on("console", on_console)
    browser_page.on("response", on_response)
    browser_page.on("dialog", on_dialog)
    return tab


def reserved_fields(tab: Tab) -> dict[str, int]:
    """How many inputs of each reserved name the form holds (ASP.NET's taken over: once)."""
    counts: dict[str, int] = tab.page.evaluate(
        """names => Object.fromEntries(names.map(name => [name,
               document.querySelectorAll('#form1 input[name="' + name + '"]').length]))""",
        list(RESERVED))
    return counts


def assert_fields(received: Mapping[str, str], expected: Mapping[str, str | None]) -> None:
    assert sorted(received) == sorted(expected)
    for name, value in expected.items():
        if value is COORDINATE:
            assert received[name].isdigit(), (name, received[name])
        else:
            assert received[name] == value, name


def assert_page_ready(tab: Tab) -> None:
    """The form as the middleware left it: its own tokens (ASP.NET's taken over, none twice),
    the event fields, nothing of ASP.NET's view state left."""
    counts = reserved_fields(tab)
    assert counts == {**dict.fromkeys(RESERVED, 0), "__EVENTTARGET": 1, "__EVENTARGUMENT": 1,
                      "__VIEWSTATE": 1, "__EVENTVALIDATION": 1}, counts
    view_state = tab.page.locator("#form1 input[name=__VIEWSTATE]").input_value()
    assert view_state != aspnet_pages.VIEWSTATE


# --------------------------------------------------------------------------------------------
# 1. Control by control, alone and in the whole page


@pytest.mark.parametrize("layout", [ALONE, PAGE, CSP])
@pytest.mark.parametrize("action", ACTIONS, ids=str)
def test_control_posts_back_its_event(tab: Tab, app: WebFormsApp, action: Action,
                                      layout: str) -> None:
    tab.open(f"/{layout}/{action.control}/Page.aspx")
    assert_page_ready(tab)

    response = tab.navigate(lambda: action.do(tab.page))

    assert response.status == 200
    [post] = app.posts
    assert post.event == action.event
    assert_fields(post.form, action.fields)  # the control's own fields, no reserved one
    assert tab.page.inner_text("#EventLabel") == action.handled
    if action.shown_after:
        expect(tab.page.locator(action.shown_after)).to_be_visible()
    assert_page_ready(tab)  # the page it came back to is as ready as the first
    assert tab.problems() == []


@pytest.mark.parametrize("layout", aspnet_pages.LAYOUTS)
def test_page_reaches_the_browser_as_asp_net_wrote_it(tab: Tab, app: WebFormsApp,
                                                       layout: str) -> None:
    """Every byte of the page, in order, but ASP.NET's own hidden inputs (taken over) and the
    middleware's insertions (its fields and script tag)."""
    body = tab.open(f"/{layout}/all/Page.aspx").body()
    written = aspnet_pages.render(layout, list(aspnet_pages.CONTROLS.values()), status=STATUS)
    names = "|".join(RESERVED)
    taken_over = re.compile(f'<input type="hidden" name="(?:{names})" id="[^"]*" value="[^"]*" />')
    assert without_insertions(body).decode() == taken_over.sub("", written)
    assert (taken_over.search(written) is not None) == (layout != ALONE)  # (something to take)


# --------------------------------------------------------------------------------------------
# 2. The seed page's callback: CallServer(1, ...) -> RaiseCallbackEvent -> HandleResult


@pytest.mark.parametrize("layout", [ALONE, PAGE, TRAILING, CSP])
def test_seed_callback_round_trips(tab: Tab, app: WebFormsApp, layout: str) -> None:
    path = f"/{layout}/callback/Page.aspx"
    tab.open(path)
    label = tab.page.locator("#lbl")
    assert label.inner_text() == "Label State Before Calling the Server"

    tab.page.click("#Button1")

    expect(label).to_contain_text("The passed argument was 1")
    assert label.inner_html() == CALLBACK_RESULT.replace("<br/>", "<br>") + "1"
    assert tab.dialogs == ["Calling Server Now"]
    assert app.callbacks == [(path, "1")]  # the server got the argument
    assert app.posts == []  # a callback never reaches the inner app
    # Again: the refreshed event validation the first answer carried is accepted.
    label.evaluate("element => { element.innerHTML = ''; }")
    tab.page.click("#Button1")
    expect(label).to_contain_text("The passed argument was 1")
    assert app.callbacks == [(path, "1"), (path, "1")]
    assert tab.problems() == []


# --------------------------------------------------------------------------------------------
# 3. Validators: server-side in Python; client-side only with the page's own script


VALIDATED = [
    pytest.param("validating-button", "#SaveButton", "#NameBox", "#NameRequired", None,
                 {"NameBox": "Ada", "SaveButton": "Save"}, "SaveButton", id="button"),
    pytest.param("validating-linkbutton", "#SendLink", "#CityBox", "#CityRequired",
                 ("SendLink", ""), {"CityBox": "Oslo"}, "SendLink", id="linkbutton"),
]


@pytest.mark.parametrize(("control", "button", "box", "validator", "event", "fields",
                          "handled"), VALIDATED)
def test_client_validation_blocks_the_postback_until_the_field_is_filled(
    tab: Tab, app: WebFormsApp, control: str, button: str, box: str, validator: str,
    event: tuple[str, str] | None, fields: dict[str, str], handled: str,
) -> None:
    """The page ASP.NET wrote includes WebUIValidation.js from WebResource.axd; the port serves
    a stand-in there (Page_ClientValidate and the functions the page's own scripts call). An
    empty required field: the validator shows and nothing is posted (ASP.NET's own
    WebForm_OnSubmit cancels it); filled: the postback goes through."""
    app.serve_validation_script = True
    tab.open(f"/{PAGE}/{control}/Page.aspx")
    message = tab.page.locator(validator)
    expect(message).to_be_hidden()

    tab.page.click(button)
    expect(message).to_be_visible()

    tab.page.fill(box, fields[box.lstrip("#")])
    response = tab.navigate(lambda: tab.page.click(button))
    assert response.status == 200
    [post] = app.posts  # the blocked click posted nothing
    assert (post.event, post.form, post.handled) == (event, fields, handled)
    expect(tab.page.locator(validator)).to_be_hidden()
    assert tab.problems() == []


# --------------------------------------------------------------------------------------------
# 4. The whole page with every control, one after the other


@pytest.mark.parametrize("layout", [PAGE, TRAILING])
def test_whole_page_works_control_by_control(tab: Tab, app: WebFormsApp, layout: str) -> None:
    """One page holding every control (hidden fields at the top, as 4.5+ renders them, or the
    second block after the controls): each postback on the page the previous one came back
    to, and the seed's callback in between."""
    path = f"/{layout}/all/Page.aspx"
    tab.open(path)
    assert_page_ready(tab)
    for number, action in enumerate(ACTIONS):

        def step(action: Action = action) -> None:
            action.do(tab.page)

        response = tab.navigate(step)
        assert response.status == 200, action
        post = app.posts[-1]
        assert (len(app.posts), post.event, post.handled) == (
            number + 1, action.event, action.handled), action
        assert not set(post.form) & set(RESERVED), action
        for name, value in action.fields.items():
            assert value is COORDINATE or post.form[name] == value, (action, name)
        assert tab.page.inner_text("#EventLabel") == action.handled
        assert_page_ready(tab)
        if action.id == "linkbutton":  # a callback from a page a postback rendered
            tab.page.click("#Button1")
            expect(tab.page.locator("#lbl")).to_contain_text("The passed argument was 1")
            assert app.callbacks == [(path, "1")]
    assert tab.problems() == []


# --------------------------------------------------------------------------------------------
# 5. The guarantee stays: what the page did not offer is refused


FORGERIES = [
    pytest.param("__doPostBack('GridView1', 'Delete$7')", id="argument-not-offered"),
    pytest.param("__doPostBack('AdminPanel$PurgeButton', '')", id="target-not-offered"),
    pytest.param(
        """() => {
             const link = document.querySelector('#GridView1 a[href*="Delete$0"]');
             link.setAttribute("href", "javascript:__doPostBack('GridView1','Delete$7')");
             link.click();
           }""",
        id="link-rewritten"),
]


@pytest.mark.parametrize("layout", [ALONE, PAGE])
@pytest.mark.parametrize("script", FORGERIES)
def test_forged_pair_is_refused(tab: Tab, app: WebFormsApp, layout: str, script: str) -> None:
    tab.open(f"/{layout}/gridview/Page.aspx")
    response = tab.navigate(lambda: tab.page.evaluate(script))
    assert response.status == 403
    assert app.posts == []  # refused before the app


# --------------------------------------------------------------------------------------------
# 6. forward_event_fields: the verified event as the form fields WebForms code reads


@pytest.mark.parametrize("action", [ACTION[name] for name in (
    "gridview-sort", "dropdownlist-autopostback", "validating-button",
    "imagebutton-in-gridview", "formview-template-linkbutton")], ids=str)
def test_forwarded_event_fields(tab: Tab, app: WebFormsApp, action: Action) -> None:
    """Code ported as is reads ``Request.Form["__EVENTTARGET"]``: with the option the app gets
    the verified event there (once), and nothing for a native submit."""
    tab.open(f"/fwd/{PAGE}/{action.control}/Page.aspx")
    response = tab.navigate(lambda: action.do(tab.page))
    assert response.status == 200
    [post] = app.posts
    assert post.event == action.event
    names = [name for name, _ in post.fields]
    if action.event is None:
        assert "__EVENTTARGET" not in names and "__EVENTARGUMENT" not in names
    else:
        assert names.count("__EVENTTARGET") == names.count("__EVENTARGUMENT") == 1
        assert (post.form["__EVENTTARGET"], post.form["__EVENTARGUMENT"]) == action.event
    assert_fields({k: v for k, v in post.form.items() if not k.startswith("__EVENT")},
                  action.fields)
    assert tab.problems() == []


# --------------------------------------------------------------------------------------------
# 7. The migration guide's worked example, run as written


def guide_example(directory: Path) -> Any:
    """The guide's ``orders.py`` (its one Python block under "A worked example"), next to the
    template it reads: what ASP.NET rendered for its Orders.aspx (its grid, DropDownList,
    validated Button and the seed's callback, posting to ./Orders.aspx), the grid's data rows
    replaced by ``<!--rows-->`` as the guide says. Returns its ``app``."""
    section = GUIDE.read_text(encoding="utf-8").split("\n## A worked example\n", 1)[1]
    [code] = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    grid = aspnet_pages.GRIDVIEW
    rows = grid.index("\t\t</tr><tr>\n\t\t\t<td><a href=")
    pager = grid.index('\t\t</tr><tr>\n\t\t\t<td colspan="3">')
    grid = grid[:rows] + "<!--rows-->" + grid[pager:]
    controls = [dataclasses.replace(aspnet_pages.CONTROLS["gridview"], markup=grid),
                *(aspnet_pages.CONTROLS[name]
                  for name in ("dropdownlist", "validating-button", "callback"))]
    page = aspnet_pages.whole_page(controls, status=STATUS, action="./Orders.aspx")
    (directory / "Orders.aspx.html").write_text(page, encoding="utf-8")
    namespace: dict[str, Any] = {"__file__": str(directory / "orders.py"), "__name__": "orders"}
    exec(compile(code, str(GUIDE), "exec"), namespace)
    return namespace["app"]


def test_guide_worked_example(tab: Tab, serve: Callable[..., Any], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTBACK_SECRET_KEYS", new_key())
    page, label = tab.page, tab.page.locator("#EventLabel")

    def cities() -> list[str]:
        return [str(c) for c in page.locator("#GridView1 tr td:nth-child(3)").all_inner_texts()]

    with serve(guide_example(tmp_path)) as base_url:
        tab.base_url = base_url
        tab.open("/Orders.aspx")
        assert cities() == ["London", "Arlington"]  # by name, the first page
        tab.navigate(lambda: page.click('#GridView1 th a:text-is("City")'))
        assert (label.inner_text(), cities()) == ("GridView1: Sort$City", ["Arlington", "Helsinki"])
        tab.navigate(lambda: _grid_command(1, "Delete")(page))  # the row shown: Helsinki
        assert (label.inner_text(), cities()) == ("GridView1: Delete$1", ["Arlington", "London"])
        tab.navigate(lambda: page.select_option("#DropDownList1", "date"))
        assert label.inner_text() == "Filtered by date"
        tab.navigate(lambda: page.click("#SaveButton"))
        assert label.inner_text() == "Name is required."
        page.fill("#NameBox", "Ada")
        tab.navigate(lambda: page.click("#SaveButton"))
        assert label.inner_text() == "Saved Ada"
        page.click("#Button1")
        expect(page.locator("#lbl")).to_contain_text("The passed argument was 1")
        assert tab.problems(FAVICON_404) == []
        # What the page did not offer is refused: a row of the grid's old page.
        response = tab.navigate(lambda: page.evaluate("__doPostBack('GridView1', 'Delete$5')"))
        assert response.status == 403
