"""Refusals a user can shape: the reason in a word, the channel's own answer, the app's page."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import webtest
from webob import Response

from postback_middleware import PostbackMiddleware, Reason, Registry

from .helpers import PAGE, RecordingApp, hidden_fields, new_key


def wrapped(**options: Any) -> tuple[webtest.TestApp, list[Reason]]:
    """The standard page behind the middleware, with the reasons ``on_reject`` was given."""
    seen: list[Reason] = []
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "ok")
    middleware = PostbackMiddleware(
        RecordingApp(page=PAGE), secret_keys=[new_key()], registry=registry,
        on_reject=lambda environ, reason: seen.append(reason), **options)
    return webtest.TestApp(middleware), seen


def fields_of(app: webtest.TestApp) -> dict[str, str]:
    return hidden_fields(app.get("/orders").body)


def tamper(token: str) -> str:
    return token[:-2] + ("AA" if not token.endswith("AA") else "BB")


# Each row: how the postback is spoiled, and the reason it is refused for.
CASES = [
    pytest.param(lambda f: {**f, "__EVENTVALIDATION": tamper(f["__EVENTVALIDATION"])}, {},
                 Reason.TAMPERED, id="tampered"),
    pytest.param(lambda f: {**f, "__EVENTTARGET": "delete", "__EVENTARGUMENT": "999"}, {},
                 Reason.NOT_OFFERED, id="not-offered"),
    pytest.param(lambda f: {"__EVENTTARGET": "x"}, {}, Reason.MISSING_TOKEN,
                 id="missing-token"),
    pytest.param(lambda f: f, {"Origin": "https://evil.example"}, Reason.CROSS_SITE,
                 id="cross-site"),
    pytest.param(lambda f: {**f, "__SCROLLPOSITIONX": "a lot"}, {}, Reason.MALFORMED,
                 id="malformed"),
    pytest.param(lambda f: f, {"Cookie": ""}, Reason.COOKIES_OFF, id="cookies-off"),
    pytest.param(lambda f: f, {"Cookie": "postback-browser=" + "x" * 43}, Reason.OTHER_USER,
                 id="other-user"),
]


@pytest.mark.parametrize(("spoil", "headers", "reason"), CASES)
def test_on_reject_is_told_the_reason(spoil: Any, headers: dict[str, str],
                                      reason: Reason) -> None:
    app, seen = wrapped()
    fields = fields_of(app)
    if "Cookie" in headers:
        app.reset()  # (the test sends its own Cookie header, or none)
    response = app.post("/orders", spoil(fields), headers=headers, status="4*")
    assert seen == [reason]
    assert response.headers["X-Postback-Refused"] == reason.value
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_expired_and_too_large_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    app, seen = wrapped(max_age=60, max_state_size=4096)
    fields = fields_of(app)
    app.post("/orders", {**fields, "__VIEWSTATE": "x" * 5000}, status=413)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    app.post("/orders", fields, status=403)
    assert seen == [Reason.TOO_LARGE, Reason.EXPIRED]


def test_a_browser_navigation_gets_a_small_page_that_keeps_the_way_back() -> None:
    app, _ = wrapped()
    fields = fields_of(app)
    response = app.post("/orders", {**fields, "__EVENTTARGET": "nope"}, status=403,
                        headers={"Sec-Fetch-Mode": "navigate", "Accept": "text/html"})
    assert response.content_type == "text/html"
    assert "Back button" in response.text and "<script" not in response.text
    assert response.headers["Cache-Control"] == "no-store"


def test_a_fetch_caller_asking_for_json_gets_json() -> None:
    app, _ = wrapped()
    fields = fields_of(app)
    response = app.post("/orders", {**fields, "__EVENTTARGET": "nope"}, status=403,
                        headers={"Sec-Fetch-Mode": "cors", "Accept": "application/json"})
    assert response.json == {"refused": "not-offered",
                             "message": "Invalid postback or callback argument."}


def test_a_partial_postback_is_refused_through_its_own_channel() -> None:
    """JSON the client reads (it keeps the page: nothing typed is lost), never a page."""
    app, _ = wrapped()
    fields = fields_of(app)
    response = app.post("/orders", {**fields, "__EVENTTARGET": "nope"}, status=403,
                        headers={"X-Postback-Panels": "p", "Sec-Fetch-Mode": "cors"})
    assert response.headers["X-Postback-Partial"] == "refused"
    assert json.loads(response.text) == {"version": 1, "refused": "not-offered",
                                         "message": "Invalid postback or callback argument."}


def test_a_callback_is_refused_in_its_framing() -> None:
    app, _ = wrapped()
    fields = fields_of(app)
    response = app.post("/orders", {**fields, "__CALLBACKID": "Unknown", "__CALLBACKPARAM": ""},
                        status=403)
    assert response.text.startswith("e") and response.headers["X-Postback-Refused"]


def test_the_app_renders_its_own_refusal_page() -> None:
    def render(environ: dict[str, Any], refusal: Any) -> Response | None:
        if refusal.kind == Reason.NOT_OFFERED:
            return Response(f"our page: {refusal.kind}", status=409)
        return None  # the default for the rest

    app, _ = wrapped(render_refusal=render)
    fields = fields_of(app)
    ours = app.post("/orders", {**fields, "__EVENTTARGET": "nope"}, status=409)
    assert ours.text == "our page: not-offered"
    default = app.post("/orders", {"__EVENTTARGET": "x"}, status=403)
    assert default.headers["X-Postback-Refused"] == "missing-token"


def test_a_failing_renderer_falls_back_to_the_default(caplog: pytest.LogCaptureFixture) -> None:
    app, _ = wrapped(render_refusal=lambda environ, refusal: 1 / 0)
    response = app.post("/orders", {"__EVENTTARGET": "x"}, status=403)
    assert "ZeroDivisionError" not in response.text
    assert "render_refusal failed" in caplog.text


@pytest.mark.parametrize("junk", ["a page", b"a page", 404], ids=["str", "bytes", "int"])
def test_a_renderer_returning_junk_gets_the_default(junk: Any,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    app, _ = wrapped(render_refusal=lambda environ, refusal: junk)
    response = app.post("/orders", {"__EVENTTARGET": "x"}, status=403)
    assert response.headers["X-Postback-Refused"] == "missing-token"
    assert "not a WSGI response" in caplog.text


def test_the_renderer_never_reads_the_refused_body() -> None:
    seen: list[bytes] = []

    def render(environ: dict[str, Any], refusal: Any) -> Response:
        seen.append(environ["wsgi.input"].read())
        return Response("ours", status=403)

    app, _ = wrapped(render_refusal=render)
    app.post("/orders", {"__EVENTTARGET": "x", "secret": "unverified"}, status=403)
    assert seen == [b""]
