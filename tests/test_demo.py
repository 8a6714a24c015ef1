"""The demo through demo.ini, clicked through as a user would (without JavaScript, via WebTest)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import webtest
from paste.deploy import loadapp

from postback_middleware.testing import callback, postback

from .helpers import SCRIPT_TAG, hidden_fields, new_key

DEMO_INI = Path(__file__).resolve().parent.parent / "examples" / "demo.ini"
SERVE = DEMO_INI.with_name("serve.py")


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch) -> webtest.TestApp:
    monkeypatch.setenv("POSTBACK_SECRET_KEYS", new_key())
    return webtest.TestApp(loadapp(f"config:{DEMO_INI}"))


def order_numbers(page: webtest.TestResponse) -> list[int]:
    rows = page.html.select("#order-rows tr td:first-child")
    return [int(td.text) for td in rows if td.text.isdigit()]


def test_page_lists_orders_with_postback_markup(demo: webtest.TestApp) -> None:
    page = demo.get("/")
    assert order_numbers(page) == [1001, 1002, 1003, 1004, 1005, 1006]
    expected = {"__VIEWSTATE", "__EVENTVALIDATION", "__SCROLLPOSITIONY"}
    assert set(hidden_fields(page.body)) >= expected
    tag = SCRIPT_TAG.search(page.body)
    assert tag is not None and b'/_postback/postback.' in tag.group(0)


def test_page_is_made_for_phones_and_keeps_nothing_inline(demo: webtest.TestApp) -> None:
    """A viewport, a stylesheet and a script of its own, under a policy that allows nothing
    inline: what the middleware adds runs under it too (its script is a same-origin file)."""
    page = demo.get("/")
    viewport = page.html.select_one('meta[name="viewport"]')
    assert viewport is not None and "width=device-width" in viewport["content"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.html.select("style") == []
    assert all(script.get("src") for script in page.html.select("script"))
    stylesheet = page.html.select_one('link[rel="stylesheet"]')["href"]
    assert demo.get(stylesheet).content_type == "text/css"


def test_inspector_shows_the_verified_event_and_what_the_app_read(
    demo: webtest.TestApp,
) -> None:
    page = demo.get("/")
    assert page.html.select_one("#last-event").text == "none yet"
    assert page.html.select_one("#app-body").text == "(empty)"
    page = postback(page, "delete", "1003")
    assert page.html.select_one("#request-kind").text.startswith("POST: a postback")
    assert page.html.select_one("#last-event").text == "delete(1003)"
    # The app's body has the page's own fields only: the tokens and the event were cut out.
    assert page.html.select_one("#app-body").text == "sort=number"
    assert json.loads(page.html.select_one("#view-state").text) == {"deleted": [1003]}
    page = page.forms["orders"].submit("restore")
    assert page.html.select_one("#last-event").text == "none"  # a plain submit: no event


def test_inspector_escapes_what_the_app_read(demo: webtest.TestApp) -> None:
    page = demo.get("/")
    tokens = "&".join(f"{name}={value}" for name, value in hidden_fields(page.body).items())
    # A body is bytes the sender chose: this one is not percent-encoded.
    answer = demo.post("/", f"sort=<img src=x>&{tokens}",
                       content_type="application/x-www-form-urlencoded")
    assert answer.html.select_one("#app-body").text == "sort=<img src=x>"
    assert answer.html.select("img") == []


def tampered(view_state: str) -> str:
    """The view state with one character of its signed payload changed, as the demo's
    "Tamper with the view state" button changes it (static/demo.js)."""
    middle = view_state.index(".") // 2
    changed = "B" if view_state[middle] == "A" else "A"
    return view_state[:middle] + changed + view_state[middle + 1:]


@pytest.mark.parametrize("partial", [False, True], ids=["full", "partial"])
def test_tampered_view_state_is_refused(demo: webtest.TestApp, partial: bool) -> None:
    form = demo.get("/").forms["orders"]
    form["__VIEWSTATE"].force_value(tampered(form["__VIEWSTATE"].value))
    form["__EVENTTARGET"].force_value("increment")
    headers = {"X-Postback-Panels": "state server-view"} if partial else {}
    answer = form.submit(headers=headers, status=403)
    assert answer.headers["X-Postback-Refused"] == "tampered"
    if partial:  # what the demo's script shows in the inspector
        assert answer.json["refused"] == "tampered"


def test_delete_links_remove_rows_and_state_survives(demo: webtest.TestApp) -> None:
    page = postback(demo.get("/"), "delete", "1003")
    assert 1003 not in order_numbers(page)
    page = postback(page, "delete", "1001")
    assert order_numbers(page) == [1002, 1004, 1005, 1006]
    assert page.html.select_one("#last-event").text == "delete(1001)"
    page = page.forms["orders"].submit("restore")
    assert order_numbers(page) == [1001, 1002, 1003, 1004, 1005, 1006]


def test_a_form_post_without_the_pages_tokens_is_refused(demo: webtest.TestApp) -> None:
    """``require_token``: the plain "Restore" button too (a page of another site could post
    it otherwise; the demo is what new users copy)."""
    demo.post("/", {"restore": "Restore"}, status=403)


def test_deleting_an_order_the_page_did_not_offer_is_refused(demo: webtest.TestApp) -> None:
    page = postback(demo.get("/"), "delete", "1003")
    form = page.forms["orders"]
    form["__EVENTTARGET"].force_value("delete")
    form["__EVENTARGUMENT"].force_value("1003")  # no longer on the page
    assert form.submit(status=403).text == "Invalid postback or callback argument."


def test_sort_dropdown_autoposts(demo: webtest.TestApp) -> None:
    page = postback(demo.get("/"), "sort", sort="customer")
    assert order_numbers(page) == [1001, 1003, 1005, 1004, 1002, 1006]
    page = postback(page, "sort", sort="total")
    assert order_numbers(page) == [1001, 1003, 1002, 1004, 1006, 1005]


def test_counter_lives_in_view_state(demo: webtest.TestApp) -> None:
    page = demo.get("/")
    for expected in ("1", "2", "3"):
        page = postback(page, "increment")
        assert page.html.select_one("#clicks").text == expected
    # A fresh GET starts a fresh page: the state belongs to the page, not the server.
    assert demo.get("/").html.select_one("#clicks").text == "0"


def test_call_server_callback(demo: webtest.TestApp) -> None:
    result = callback(demo, demo.get("/"), "CallServer", "1")
    assert result == "Calling server was successful. The passed argument was 1"


def test_page_script_uses_callback_reference(demo: webtest.TestApp) -> None:
    script = demo.get("/demo.js").text
    assert "WebForm_DoCallback('CallServer',arg,HandleResult,context,HandleError,false)" in script


def test_serve_prints_the_port_it_listens_on() -> None:
    """``--port 0``: the printed address is the real one (bound before it is printed)."""
    server = subprocess.Popen([sys.executable, str(SERVE), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        url = line.split("open ", 1)[1].split()[0]
        assert not url.endswith(":0/")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert b"__VIEWSTATE" in response.read()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_says_when_the_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, str(SERVE), "--port", str(port)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"port {port} is taken" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # (no address printed that does not answer)
