"""The testing helpers users get, used on this project's own demo and a page with two forms."""

from __future__ import annotations

import pytest
import webtest

from postback_middleware import CallbackError, InvalidType, Registry
from postback_middleware.testing import CallbackFailed, callback, postback

from .helpers import RecordingApp

TWO_FORMS = """<html><head></head><body>
<form method="post" action="/a" id="first" data-callbacks="Echo Fail"><input name="which" value="A">
  <a data-postback="go" data-postback-argument="1">A</a></form>
<form method="post" action="/b" id="second" data-callbacks="Echo Fail">
  <input name="which" value="B">
  <a data-postback="go" data-postback-argument="2">B</a>
  <select name="size" data-autopostback><option>S</option><option>M</option></select>
  <input type="checkbox" name="gift" value="yes" checked>
  <input type="checkbox" name="wrap" value="yes">
  <input type="submit" name="save" value="Save"></form>
</body></html>"""


@pytest.fixture
def two_forms(make_app: object, inner: RecordingApp, registry: Registry) -> webtest.TestApp:
    inner.page = TWO_FORMS

    def echo(argument: str, request: object) -> str:
        post = request.POST  # type: ignore[attr-defined]
        return f"{argument}|{post.get('which')}|{post.get('gift')}|{post.get('wrap')}"

    def fail(argument: str, request: object) -> str:
        raise CallbackError("no stock")

    registry.add_callback("Echo", echo)
    registry.add_callback("Fail", fail)
    return make_app()  # type: ignore[operator, no-any-return]


def test_postback_posts_the_form_that_declares_the_event(two_forms: webtest.TestApp,
                                                         inner: RecordingApp) -> None:
    page = two_forms.get("/")
    postback(page, "go", "2")
    seen = inner.calls[-1]
    assert (seen.path, seen.event.argument) == ("/b", "2")
    assert b"which=B" in seen.body
    postback(page, "go", "1")
    assert (inner.calls[-1].path, inner.calls[-1].event.argument) == ("/a", "1")


def test_postback_of_an_autopostback_control_with_a_new_value(two_forms: webtest.TestApp,
                                                              inner: RecordingApp) -> None:
    postback(two_forms.get("/"), "size", size="M")
    seen = inner.calls[-1]
    assert seen.event.target == "size" and b"size=M" in seen.body


def test_postback_of_an_undeclared_event_is_refused(two_forms: webtest.TestApp) -> None:
    with pytest.raises(webtest.AppError, match="403"):
        postback(two_forms.get("/"), "go", "3")


def test_callback_sends_what_webforms_sends(two_forms: webtest.TestApp) -> None:
    page = two_forms.get("/")
    # theForm is the first form; checked boxes are sent, unchecked ones not.
    assert callback(two_forms, page, "Echo", "x") == "x|A|None|None"
    assert callback(two_forms, page, "Echo", "y", form="second") == "y|B|yes|None"


def test_arguments_are_sent_as_text_as_the_browser_sends_them(two_forms: webtest.TestApp,
                                                               inner: RecordingApp) -> None:
    """(found by a red-team pass: an int argument matched no element, or failed in quote())"""
    page = two_forms.get("/")
    postback(page, "go", 2)  # type: ignore[arg-type]
    assert (inner.calls[-1].path, inner.calls[-1].event.argument) == ("/b", "2")
    assert callback(two_forms, page, "Echo", 7) == "7|A|None|None"  # type: ignore[arg-type]
    assert callback(two_forms, page, "Echo", None) == "|A|None|None"


def test_arguments_the_wrong_way_round_say_what_each_must_be(two_forms: webtest.TestApp) -> None:
    page = two_forms.get("/")
    with pytest.raises(InvalidType, match="response must be the WebTest response"):
        callback(page, two_forms, "Echo")  # type: ignore[arg-type]
    with pytest.raises(InvalidType, match="response must be the WebTest response"):
        postback(two_forms, "go", "1")  # type: ignore[arg-type]


def test_a_controls_form_attribute_names_the_form_it_posts(make_app: object,
                                                           inner: RecordingApp) -> None:
    """As the client script does (``el.form``): a button inside one form whose form attribute
    names another raises its event on that other one (found by a red-team pass: the helper
    posted the form around it, where a browser posts the named one), which offers it."""
    inner.page = ('<form method="post" action="/side" id="side"></form>'
                  '<form method="post" action="/main"><button type="button" form="side" '
                  'data-postback="go">Go</button></form>')
    app = make_app()  # type: ignore[operator]
    postback(app.get("/"), "go")
    assert (inner.calls[-1].path, inner.calls[-1].event.target) == ("/side", "go")


def test_callback_errors_raise(two_forms: webtest.TestApp) -> None:
    page = two_forms.get("/")
    with pytest.raises(CallbackFailed, match="no stock") as failed:
        callback(two_forms, page, "Fail")
    assert failed.value.status == 200
    with pytest.raises(CallbackFailed) as unknown:
        callback(two_forms, page, "Nope")
    assert unknown.value.status == 403
    assert unknown.value.message == "Invalid postback or callback argument."


def test_refreshed_validation_is_kept_like_webforms_does(two_forms: webtest.TestApp) -> None:
    page = two_forms.get("/")
    before = page.forms[0]["__EVENTVALIDATION"].value
    callback(two_forms, page, "Echo")
    assert page.forms[0]["__EVENTVALIDATION"].value != before
    postback(page, "go", "1")  # the refreshed token still verifies
