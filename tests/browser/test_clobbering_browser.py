"""DOM clobbering: controls named after a form's properties and methods do not break the script.

In a form, ``<input name="querySelector">`` makes ``form.querySelector`` that input (the form's
named properties override its built-in ones), and the same goes for ``action``, ``submit``,
``onsubmit``, ``id``, ``elements``, ``isConnected``, ``innerHTML``... The client script reads
every form property through the prototypes' getters and calls every method from the
prototypes. Here both forms of a page hold a control named after each of them, one form has a
panel inside it, the other *is* a panel, and postbacks, partial postbacks, autopostbacks,
submit buttons, ``onsubmit`` (ASP.NET semantics: returning false cancels) and callbacks all
work, with no console error, through the real middleware in Chromium.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from ..helpers import new_key
from .apps import EventApp, Visit
from .assertions import expect

pytestmark = pytest.mark.browser

# Every form property or method the client script touches, and more of the usual suspects.
CLOBBERED = (
    "querySelector", "querySelectorAll", "target", "getAttribute", "hasAttribute",
    "setAttribute", "removeAttribute", "insertBefore", "appendChild", "onsubmit", "action",
    "elements", "submit", "requestSubmit", "id", "enctype", "encoding", "method", "closest",
    "contains", "isConnected", "firstChild", "childNodes", "nodeType", "tagName", "nodeName",
    "innerHTML", "outerHTML", "focus", "acceptCharset", "name", "type", "form", "length",
    "ownerDocument", "parentNode", "matches", "attributes", "dispatchEvent",
    "addEventListener", "reset", "checkValidity", "noValidate", "children", "value",
)


def clobbering_inputs() -> str:
    return "".join(f'<input type="hidden" name="{name}" value="clobber-{name}">'
                   for name in CLOBBERED)


PAGE = """<!DOCTYPE html><html><head><meta charset=utf-8><title>clobber</title></head><body>
<p id="loads">{loads}</p>
<form method="post" id="main" data-callbacks="Echo"
      onsubmit="window.onsubmitCalls = (window.onsubmitCalls || 0) + 1;
                return !window.cancelSubmit;">
  {inputs}
  <p id="event">{event}</p>
  <a href="#" id="full" data-postback="full">full postback</a>
  <button type="submit" id="button" data-postback="button" data-postback-argument="b">go</button>
  <div id="panel" data-update-panel>
    <p id="panel-event">{event}</p>
    <a href="#" id="in-panel" data-postback="partial" data-postback-argument="p">partial</a>
    <select name="status" id="status" data-autopostback>
      <option{open}>open</option><option{shipped}>shipped</option>
    </select>
  </div>
</form>
<form method="post" id="second" data-update-panel>
  {inputs}
  <p id="second-event">{event}</p>
  <a href="#" id="in-form-panel" data-postback="second" data-postback-argument="x">in it</a>
</form>
</body></html>"""


def render(loads: int, visit: Visit, events: int) -> str | None:
    """The page (``loads``: how many times it was loaded whole so far)."""
    if visit.path != "/":
        return None
    shipped = b"status=shipped" in visit.body
    text = ("none" if visit.event is None
            else f"{visit.event.target}|{visit.event.argument}#{events}")
    return PAGE.format(
        loads=loads, inputs=clobbering_inputs(), event=html.escape(text),
        open="" if shipped else " selected", shipped=" selected" if shipped else "",
    )


def echo(argument: str, request: Any) -> str:
    return "echo:" + argument


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[EventApp, str]]:
    inner = EventApp(lambda visit, events: render(inner.count(partial=False), visit, events))
    middleware = PostbackMiddleware(inner, secret_keys=[new_key()], callbacks={"Echo": echo})
    with serve(middleware) as base_url:
        yield inner, base_url


@pytest.fixture
def app(server: tuple[EventApp, str]) -> EventApp:
    server[0].clear()
    return server[0]


@pytest.fixture
def page(browser_page: Any, server: tuple[EventApp, str], app: EventApp) -> Any:
    browser_page.goto(server[1] + "/")
    return browser_page



def click(page: Any, selector: str) -> None:
    # force: Playwright's own actionability checks call element.getAttribute up the ancestors,
    # and the form's is clobbered too.
    page.click(selector, force=True)


def busy(page: Any, element_id: str) -> Any:
    # Not page.get_attribute: Playwright calls the form's (clobbered) methods itself.
    return page.evaluate("id => Element.prototype.getAttribute.call("
                         "document.getElementById(id), 'aria-busy')", element_id)


def partial_response(page: Any, selector: str) -> Any:
    with page.expect_response(lambda r: "x-postback-panels" in r.request.headers) as response:
        click(page, selector)
    response.value.finished()
    return response.value


def test_the_forms_really_are_clobbered(page: Any) -> None:
    shadowed = page.evaluate("""names => names.filter(name => {
        const form = document.getElementById('main');
        return form[name] instanceof HTMLInputElement;
    })""", list(CLOBBERED))
    # Every one of them: the test means what it says.
    assert shadowed == list(CLOBBERED)


def test_full_postback_and_submit_button(page: Any, app: EventApp, browser_log: Any) -> None:
    with page.expect_navigation():
        click(page, "#full")
    expect(page.locator("#event")).to_have_text("full|#1")
    with page.expect_navigation():
        click(page, "#button")
    expect(page.locator("#event")).to_have_text("button|b#2")
    assert app.events() == [("full", ""), ("button", "b")]
    assert browser_log.problems() == []


def test_onsubmit_property_returning_false_cancels(
    page: Any, app: EventApp, browser_log: Any
) -> None:
    page.evaluate("() => { window.cancelSubmit = true; }")
    click(page, "#full")
    click(page, "#in-panel")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.onsubmitCalls") == 2
    assert app.events() == []
    page.evaluate("() => { window.cancelSubmit = false; }")
    partial_response(page, "#in-panel")
    expect(page.locator("#panel-event")).to_have_text("partial|p#1")
    assert browser_log.problems() == []


def test_partial_postbacks_in_a_panel_and_in_a_form_that_is_a_panel(
    page: Any, app: EventApp, browser_log: Any
) -> None:
    loads = page.inner_text("#loads")
    response = partial_response(page, "#in-panel")
    assert response.headers["x-postback-partial"] == "panels"
    expect(page.locator("#panel-event")).to_have_text("partial|p#1")
    assert busy(page, "panel") is None
    partial_response(page, "#in-form-panel")
    expect(page.locator("#second-event")).to_have_text("second|x#2")
    assert busy(page, "second") is None
    # The swapped form still has its clobbering inputs, and the fresh tokens verify.
    partial_response(page, "#in-form-panel")
    expect(page.locator("#second-event")).to_have_text("second|x#3")
    partial_response(page, "#in-panel")
    expect(page.locator("#panel-event")).to_have_text("partial|p#4")
    response = partial_response(page, "#in-panel")  # a second one with refreshed tokens
    assert response.headers["x-postback-partial"] == "panels"
    with page.expect_response(lambda r: "x-postback-panels" in r.request.headers):
        # As a user's choice (select_option runs Playwright's clobbered checks on the form).
        page.evaluate("""() => { const s = document.getElementById('status');
            s.value = 'shipped'; s.dispatchEvent(new Event('change', { bubbles: true })); }""")
    expect(page.locator("#panel-event")).to_have_text("status|#6")
    expect(page.locator("#status")).to_have_value("shipped")
    assert page.inner_text("#loads") == loads  # never reloaded
    assert len(app.events(partial=True)) == len(app.events()) == 6
    assert browser_log.problems() == []


def test_callbacks(page: Any, app: EventApp, browser_log: Any) -> None:
    result = page.evaluate("() => Postback.callback('Echo', 'hi')")
    assert result == "echo:hi"
    # WebForm_DoCallback, with the form's fields (from its elements) posted as ASP.NET does.
    page.evaluate("""() => new Promise(resolve => WebForm_DoCallback('Echo', 'x',
        (r, c) => { window.got = [r, c]; resolve(); }, 'ctx', e => { window.got = e; resolve(); },
        false))""")
    assert page.evaluate("() => window.got") == ["echo:x", "ctx"]
    # And a partial postback after the callbacks still verifies.
    partial_response(page, "#in-panel")
    expect(page.locator("#panel-event")).to_have_text("partial|p#1")
    assert browser_log.problems() == []


def test_events_are_dispatched_on_clobbered_forms(
    page: Any, app: EventApp, browser_log: Any
) -> None:
    """The forms' own dispatchEvent is an input: the events go through the prototype."""
    page.evaluate("""() => { window.seen = [];
        for (const name of ["before", "beforeswap", "afterswap", "beforecallback",
                            "aftercallback", "error", "refused"]) {
          document.addEventListener("postback:" + name, (e) => {
            window.seen.push([name, Element.prototype.getAttribute.call(e.target, "id")]);
            if (name === "refused") e.preventDefault();
          });
        } }""")
    partial_response(page, "#in-form-panel")  # the form is the panel
    expect(page.locator("#second-event")).to_have_text("second|x#1")
    assert page.evaluate("() => Postback.callback('Echo', 'hi')") == "echo:hi"
    page.evaluate("""() => { document.querySelector('#second [name=__VIEWSTATE]').value += 'x';
        }""")
    partial_response(page, "#in-form-panel")  # refused
    page.wait_for_function("() => window.seen.length === 8")
    assert page.evaluate("() => window.seen") == [
        ["before", "second"], ["beforeswap", "second"], ["afterswap", "second"],
        ["beforecallback", "main"], ["aftercallback", "main"],
        ["before", "second"], ["error", "second"], ["refused", "second"],
    ]
    assert [p for p in browser_log.problems() if "403" not in p] == []
