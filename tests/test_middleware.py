"""The whole journey through WebTest: pages get fields, postbacks verify, callbacks answer."""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any
from wsgiref.util import request_uri

import flask
import pytest
import webob
import webtest
import werkzeug.utils
import werkzeug.wrappers
from hypothesis import given, settings
from hypothesis import strategies as st
from webob import Response

from postback_middleware import CallbackError, InvalidType, PostbackMiddleware, Registry, middleware
from postback_middleware import fields as f
from postback_middleware.fields import RESERVED
from postback_middleware.form_tokens import Event

from .helpers import (
    PAGE,
    SCRIPT_TAG,
    RecordingApp,
    callback,
    hidden_fields,
    multipart_body,
    new_key,
    parse_success,
    part,
    postback,
    renew,
    tokens_of,
    without_insertions,
)

AppFactory = Callable[..., webtest.TestApp]
INVALID = "Invalid postback or callback argument."


# -- outgoing pages -----------------------------------------------------------------------


def test_page_gets_fields_and_script_and_keeps_every_byte(app: webtest.TestApp) -> None:
    response = app.get("/orders")
    fields = hidden_fields(response.body)
    assert list(fields) == ["__EVENTTARGET", "__EVENTARGUMENT", "__VIEWSTATE", "__EVENTVALIDATION"]
    assert fields["__EVENTTARGET"] == fields["__EVENTARGUMENT"] == ""
    assert response.body.count(b"<script defer") == 1
    assert response.body.index(b"<script defer") < response.body.index(b"</head>")
    assert without_insertions(response.body) == PAGE.encode()
    assert response.headers["Content-Length"] == str(len(response.body))


def test_script_is_served_versioned_with_long_cache(app: webtest.TestApp) -> None:
    page = app.get("/orders").text
    src = page.split('src="', 1)[1].split('"', 1)[0]
    assert src.startswith("//localhost")  # this host: no <base> can move it (see below)
    src = urllib.parse.urlsplit(src).path
    script = app.get(src)
    assert script.content_type == "text/javascript"
    assert "immutable" in script.headers["Cache-Control"]
    assert b"__doPostBack" in script.body
    assert app.get(src, headers={"If-None-Match": script.headers["ETag"]}).status_int == 304
    app.get("/_postback/postback.0000.js", status=404)
    app.get("/_postback/", status=404)


@pytest.mark.parametrize(
    ("content_type", "method", "status"),
    [
        pytest.param("application/json", "GET", 200, id="json"),
        pytest.param("text/plain", "GET", 200, id="text"),
    ],
)
def test_other_responses_pass_untouched(
    make_app: AppFactory, inner: RecordingApp, content_type: str, method: str, status: int
) -> None:
    inner.content_type = content_type
    app = make_app()
    response = app.request("/orders", method=method)
    assert b"__VIEWSTATE" not in response.body
    if method == "GET":
        assert response.body == PAGE.encode()


def test_a_base_before_the_script_tag_cannot_move_the_script(make_app: AppFactory,
                                                              inner: RecordingApp) -> None:
    """The tag goes before the first post form when ``</head>`` does not come with it: a
    ``<base href>`` above it must not send the browser (with the page's nonce) elsewhere."""
    inner.page = '<base href="http://evil.example/"><form method="post"></form>'
    page = make_app().get("/orders").text
    src = page.split('src="', 1)[1].split('"', 1)[0]
    resolved = urllib.parse.urljoin("http://evil.example/", src)
    assert urllib.parse.urlsplit(resolved).hostname == "localhost"


def csp_page(*policies: tuple[str, str]) -> Callable[..., list[bytes]]:
    """An app answering PAGE with these (header, policy) pairs."""
    def page(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), *policies])
        return [PAGE.encode()]
    return page


def test_the_script_tag_gets_the_nonce_of_every_csp_header(make_app: AppFactory) -> None:
    """(found by a red-team pass) The nonce policy in a second header: the tag got no nonce."""
    app = make_app(inner_app=csp_page(
        ("Content-Security-Policy", "frame-ancestors 'none'"),
        ("Content-Security-Policy", "script-src 'nonce-n2' 'strict-dynamic'")))
    assert b' nonce="n2"></script>' in app.get("/orders").body


def test_policies_that_leave_the_script_no_nonce_are_logged_once_per_path(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(inner_app=csp_page(
        ("Content-Security-Policy", "script-src 'nonce-a' 'strict-dynamic'"),
        ("Content-Security-Policy", "script-src 'nonce-b' 'strict-dynamic'")))
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        for path in ("/orders", "/orders", "/other"):
            app.get(path)
    warned = [r.getMessage() for r in caplog.records if "no one nonce" in r.getMessage()]
    assert len(warned) == 2 and "'/orders'" in warned[0] and "'/other'" in warned[1]


STRICT = ("default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; "
          "frame-ancestors 'none'; base-uri 'none'")


@pytest.mark.parametrize(
    ("policies", "page", "htmx", "warned"),
    [
        pytest.param([("Content-Security-Policy", STRICT)], PAGE, False, True,
                     id="strict-policy-warned"),
        pytest.param([("Content-Security-Policy", STRICT + "; connect-src 'self'")], PAGE,
                     False, False, id="connect-src-self"),
        pytest.param([("Content-Security-Policy-Report-Only", STRICT)], PAGE, False, False,
                     id="report-only-blocks-nothing"),
        pytest.param([("Content-Security-Policy", STRICT)], "<p>no form</p>", False, False,
                     id="no-tokens"),
        pytest.param([("Content-Security-Policy", STRICT)], PAGE, True, False,
                     id="htmx-piece-policy-does-not-apply"),
    ],
)
def test_a_page_whose_policy_forbids_every_connection_is_logged_once_per_path(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture, policies: list[tuple[str, str]],
    page: str, htmx: bool, warned: bool,
) -> None:
    """(found by a red-team pass) Under default-src 'none' without connect-src 'self', the
    client script's renewals, callbacks and partial postbacks are blocked: said in the log."""
    def inner_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), *policies])
        return [page.encode()]

    app = make_app(inner_app=inner_app)
    headers = {"HX-Request": "true"} if htmx else {}
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        for path in ("/orders", "/orders", "/other"):
            app.get(path, headers=headers)
    logged = [r.getMessage() for r in caplog.records if "cannot reach" in r.getMessage()]
    if warned:
        assert len(logged) == 2 and "'/orders'" in logged[0] and "'/other'" in logged[1]
        assert "\"default-src 'none'\"" in logged[0] and "connect-src 'self'" in logged[0]
    else:
        assert logged == []


def test_head_agrees_with_get(make_app: AppFactory) -> None:
    """A HEAD answer's headers are the GET's: the same length (a server drops HEAD's body)."""
    app = make_app()
    get = app.get("/orders")
    head = app.head("/orders")
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert head.headers["Content-Type"] == get.headers["Content-Type"]


def test_head_without_a_body_claims_no_length(make_app: AppFactory, inner: RecordingApp) -> None:
    """An app that answers HEAD with headers only: the GET's length is unknown, so none."""
    def head_only(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", "999")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [b"x" * 999]

    app = webtest.TestApp(PostbackMiddleware(head_only, secret_keys=[new_key()]))
    assert "Content-Length" not in app.head("/").headers


def test_error_status_is_not_rewritten(make_app: AppFactory) -> None:
    def not_found(environ: Any, start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/html")])
        return [PAGE.encode()]

    response = make_app(inner_app=not_found).get("/orders", status=404)
    assert response.body == PAGE.encode()


def test_opt_out_by_environ_and_by_header(make_app: AppFactory) -> None:
    def marked(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html"), ("X-Postback-Skip", "1")])
        return [PAGE.encode()]

    response = make_app(inner_app=marked).get("/orders")
    assert response.body == PAGE.encode()
    assert "X-Postback-Skip" not in response.headers
    plain = make_app().get("/orders", extra_environ={"postback.skip": True})
    assert plain.body == PAGE.encode()


# -- postbacks --------------------------------------------------------------------------------


def test_postback_exposes_event_and_strips_reserved_fields(
    app: webtest.TestApp, inner: RecordingApp
) -> None:
    postback(app, tokens_of(app), "delete", "7")
    seen = inner.calls[-1]
    assert (seen.event.target, seen.event.argument) == ("delete", "7")
    assert seen.body == b"note=hello"
    assert seen.content_length == str(len(seen.body))


def test_postback_without_event_passes_none(app: webtest.TestApp, inner: RecordingApp) -> None:
    postback(app, tokens_of(app))
    assert inner.calls[-1].event is None


def test_viewstate_round_trips_through_the_page(make_app: AppFactory, inner: RecordingApp) -> None:
    def count(state: dict[str, Any]) -> None:
        state["clicks"] = state.get("clicks", 0) + 1

    inner.state_update = count
    app = make_app()
    fields = tokens_of(app)
    for expected in (1, 2, 3):
        response = postback(app, fields, "refresh")
        assert inner.calls[-1].viewstate == {"clicks": expected}
        fields = hidden_fields(response.body)


@pytest.mark.parametrize("kept", [{}, {"store": "memory:", "server_viewstate": True}],
                         ids=["in-the-token", "server-viewstate"])
def test_a_view_state_too_large_for_its_token_leaves_the_page_without_tokens(
    make_app: AppFactory, inner: RecordingApp, caplog: pytest.LogCaptureFixture,
    kept: dict[str, Any],
) -> None:
    """(found by a red-team pass: a 500) A user's text kept in the view state is the page's
    data: its forms get no tokens, as a form whose event validation does not fit."""
    inner.state_update = lambda state: state.update(note="x" * 140_000)
    response = make_app(**kept).get("/orders")
    assert response.status_int == 200 and b"data-postback" in response.body
    assert hidden_fields(response.body).get("__VIEWSTATE", "") == ""
    assert "exceeds max_state_size" in caplog.text or "over max_state_size" in caplog.text


def test_registered_postback_handler_runs_before_the_app(
    app: webtest.TestApp, inner: RecordingApp, registry: Registry
) -> None:
    order: list[str] = []

    @registry.postback("delete")
    def delete(event: Any, request: Any) -> None:
        order.append(f"handler:{event.argument}")
        request.environ["postback.viewstate"]["deleted"] = [event.argument]

    postback(app, tokens_of(app), "delete", "7")
    assert order == ["handler:7"]
    assert inner.calls[-1].viewstate == {"deleted": ["7"]}


@pytest.mark.parametrize("reads", [
    pytest.param(lambda request: request.POST["note"], id="webob-request-POST"),
    pytest.param(lambda request: request.body, id="webob-request-body"),
    pytest.param(lambda request: request.environ["wsgi.input"].read(), id="wsgi-input-read"),
])
def test_a_handler_that_reads_the_form_leaves_the_app_the_whole_body(
    app: webtest.TestApp, inner: RecordingApp, registry: Registry, reads: Any
) -> None:
    registry.add_postback("delete", lambda event, request: reads(request) and None)
    postback(app, tokens_of(app), "delete", "7")
    assert inner.calls[-1].body == b"note=hello"  # (the reserved fields stripped, nothing lost)


def test_postback_handler_response_replaces_the_app_and_is_rewritten(
    app: webtest.TestApp, inner: RecordingApp, registry: Registry
) -> None:
    registry.add_postback("refresh", lambda event, request: Response(PAGE))
    fields = tokens_of(app)
    calls = len(inner.calls)
    response = postback(app, fields, "refresh")
    assert len(inner.calls) == calls
    assert "__VIEWSTATE" in hidden_fields(response.body)


def test_failing_postback_handler_raises_like_the_app(
    app: webtest.TestApp, registry: Registry, inner: RecordingApp
) -> None:
    """A handler's exception reaches the debugger or error reporter around the middleware, as
    the inner app's own would (the server then answers 500, without a traceback)."""
    registry.add_postback("refresh", lambda event, request: 1 / 0)
    fields = tokens_of(app)
    calls = len(inner.calls)
    with pytest.raises(ZeroDivisionError):
        postback(app, fields, "refresh")
    assert len(inner.calls) == calls


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda: Response("from webob"), id="webob"),
        pytest.param(lambda: werkzeug.wrappers.Response("from werkzeug"), id="werkzeug"),
        pytest.param(lambda: werkzeug.utils.redirect("/done"), id="werkzeug-redirect"),
        pytest.param(lambda: flask.Response("from flask"), id="flask"),
    ],
)
def test_postback_handler_may_answer_with_any_wsgi_response(
    app: webtest.TestApp, registry: Registry, inner: RecordingApp, answer: Any
) -> None:
    registry.add_postback("refresh", lambda event, request: answer())
    fields = tokens_of(app)
    calls = len(inner.calls)
    response = postback(app, fields, "refresh", status="*")
    assert len(inner.calls) == calls  # answered by the handler's response
    assert response.status_int in (200, 302)
    assert b"from" in response.body or response.headers["Location"].endswith("/done")


def test_postback_handler_answer_that_is_no_response_says_what_to_return(
    app: webtest.TestApp, registry: Registry
) -> None:
    registry.add_postback("refresh", lambda event, request: "a string")
    with pytest.raises(InvalidType, match=r"return None .* or a WSGI response"):
        postback(app, tokens_of(app), "refresh")


def test_multipart_postback_keeps_uploads_byte_exact(
    app: webtest.TestApp, inner: RecordingApp
) -> None:
    fields = tokens_of(app)
    payload = bytes(range(256)) * 1000
    app.post(
        "/orders",
        [("__EVENTTARGET", "delete"), ("__EVENTARGUMENT", "7"), ("note", "é"),
         ("__VIEWSTATE", fields["__VIEWSTATE"]),
         ("__EVENTVALIDATION", fields["__EVENTVALIDATION"])],
        upload_files=[("upload", "data.bin", payload)],
    )
    seen = inner.calls[-1]
    assert seen.event.target == "delete"
    assert payload in seen.body
    assert b"__EVENT" not in seen.body and b"__VIEWSTATE" not in seen.body
    request = webtest.TestRequest.blank("/", environ=dict(seen.environ))
    request.body = seen.body
    assert request.POST["upload"].value == payload
    assert request.POST["note"] == "é"


@pytest.mark.parametrize("postback_too", [False, True], ids=["plain-upload", "postback"])
def test_an_upload_named_in_windows_1252_reaches_the_app_byte_exact(
    app: webtest.TestApp, inner: RecordingApp, postback_too: bool
) -> None:
    """A browser writes a file's name (and a field's) in the form's encoding: from a
    windows-1252 page, "café.txt" is not UTF-8 in the part's headers. Such an upload is not
    refused (it was, 400, whatever the page: found by a red-team pass), and reaches the app
    as sent."""
    fields = tokens_of(app) if postback_too else {}
    reserved = [part(name, fields[name]) for name in ("__VIEWSTATE", "__EVENTVALIDATION")
                if postback_too] + [part("__EVENTTARGET", "delete"),
                                    part("__EVENTARGUMENT", "7")] * postback_too
    upload = (b'Content-Disposition: form-data; name="pi\xe8ce"; filename="caf\xe9.txt"\r\n'
              b"Content-Type: text/plain\r\n\r\nd\xe9j\xe0 vu")
    body = multipart_body(*reserved, upload, part("note", b"\xe9t\xe9"))
    calls = len(inner.calls)
    app.request("/orders", method="POST", body=body,  # (post() re-encodes a multipart body)
                content_type="multipart/form-data; boundary=XyZ")
    assert len(inner.calls) == calls + 1
    assert inner.calls[-1].body == multipart_body(upload, part("note", b"\xe9t\xe9"))
    assert (inner.calls[-1].event is not None) == postback_too


def test_event_validation_sent_twice_identically_is_accepted(
    app: webtest.TestApp, inner: RecordingApp
) -> None:
    """WebForms.js can send __EVENTVALIDATION twice; identical copies are one field."""
    fields = tokens_of(app)
    app.post("/orders", [("__EVENTVALIDATION", fields["__EVENTVALIDATION"]),
                         ("__VIEWSTATE", fields["__VIEWSTATE"]),
                         ("__EVENTVALIDATION", fields["__EVENTVALIDATION"]), ("note", "hello")])
    assert inner.calls[-1].body == b"note=hello"
    other = tokens_of(app)["__EVENTVALIDATION"]
    app.post("/orders", [("__EVENTVALIDATION", fields["__EVENTVALIDATION"]),
                         ("__VIEWSTATE", fields["__VIEWSTATE"]),
                         ("__EVENTVALIDATION", other)], status=400)


# -- a page of many small forms: one page token (see page_tokens) ---------------------------

LIST_PAGE = "<!DOCTYPE html><html><head><title>Users</title></head><body><table>\n" + "".join(
    f'<tr><td>user{n}</td><td><form method="post" action="/users/{n}/delete">'
    f'<button>Delete</button></form>'
    f'<form method="post" action="/users/{n}/vote"><button type="button" data-postback="vote"'
    f' data-postback-argument="up:{n}">+1</button></form></td></tr>\n'
    for n in range(1, 21)) + "</table></body></html>"


def list_forms(body: bytes) -> list[dict[str, str]]:
    return [hidden_fields(body, index) for index in range(body.count(b'name="__EVENTTARGET"'))]


def test_a_list_pages_forms_share_one_token_and_each_posts_as_itself(
    make_app: AppFactory, inner: RecordingApp
) -> None:
    inner.page = LIST_PAGE
    app = make_app()
    page = app.get("/users")
    forms = list_forms(page.body)
    assert len(forms) == 40 and without_insertions(page.body) == LIST_PAGE.encode()
    assert len({form["__VIEWSTATE"] for form in forms}) == 1  # signed once for the page
    assert len(forms[0]["__VIEWSTATE"]) < 400  # the size of one form's own token
    for n in (1, 7, 20):
        delete, vote = forms[2 * n - 2], forms[2 * n - 1]
        postback(app, delete, path=f"/users/{n}/delete")
        assert (inner.calls[-1].path, inner.calls[-1].event) == (f"/users/{n}/delete", None)
        assert inner.calls[-1].body == b"note=hello"  # (the reserved fields stripped)
        postback(app, vote, "vote", f"up:{n}", path=f"/users/{n}/vote")
        assert inner.calls[-1].event == Event("vote", f"up:{n}")
    calls = len(inner.calls)
    # Row 3's form at row 4's path, or with row 4's event: refused, the app not called.
    assert postback(app, forms[4], path="/users/4/delete", status=403).text == INVALID
    postback(app, forms[5], "vote", "up:4", path="/users/3/vote", status=403)
    postback(app, forms[5], "vote", "up:3", path="/users/3/delete", status=403)
    assert len(inner.calls) == calls


@pytest.mark.parametrize(("extra", "shared"), [
    pytest.param("", 40, id="every-form"),
    pytest.param("<!-- a page callback on row 20's vote path -->", 39, id="page-callbacks"),
    pytest.param('<base href="/users/">', 40, id="a-base-href"),
    pytest.param('<script src="/static/htmx.min.js"></script>', 40, id="htmx"),
])
def test_a_list_pages_forms_post_as_themselves_whichever_way_they_are_signed(
    make_app: AppFactory, inner: RecordingApp, registry: Registry, extra: str, shared: int
) -> None:
    """A list page's forms are signed in bulk, with one page token, unless the page needs
    more of them: a page callback on a form's path (that form gets tokens of its own), a
    ``<base href>`` (their tokens bound to where it sends them), htmx (keyed indices).
    Whichever way, each form posts as itself and as no other."""
    if "callback" in extra:
        registry.add_callback("Check", lambda argument, request: "ok", page="/users/20/vote")
    inner.page = LIST_PAGE.replace("</table>", "</table>" + extra)
    app = make_app()
    forms = list_forms(app.get("/users").body)
    tokens = [form["__VIEWSTATE"] for form in forms]
    assert max(tokens.count(token) for token in tokens) == shared
    for n in (1, 3, 20):
        delete, vote = forms[2 * n - 2], forms[2 * n - 1]
        postback(app, delete, path=f"/users/{n}/delete")
        assert (inner.calls[-1].path, inner.calls[-1].event) == (f"/users/{n}/delete", None)
        postback(app, vote, "vote", f"up:{n}", path=f"/users/{n}/vote")
        assert inner.calls[-1].event == Event("vote", f"up:{n}")
        postback(app, vote, "vote", f"up:{n}", path=f"/users/{n + 1}/vote", status=403)


@pytest.mark.parametrize("forms", [1, 3])
def test_events_json_cannot_write_still_make_a_page_with_forms_that_post(
    make_app: AppFactory, inner: RecordingApp, forms: int
) -> None:
    """A page in UTF-7 (which Python decodes, and whose "+2AA-" is a lone surrogate, which no
    JSON writes) gets its forms' fields all the same (the events as keyed digests): never a
    500 for a page."""
    inner.page = "".join(f'<form method="post" action="/r/{n}"><a data-postback="del"'
                         f' data-postback-argument="+2AA-{n}">x</a></form>'
                         for n in range(1, forms + 1))
    inner.content_type = "text/html; charset=utf-7"
    app = make_app()
    body = app.get("/r").body
    assert body.count(b'name="__EVENTVALIDATION"') == forms
    assert postback(app, hidden_fields(body, forms - 1), path=f"/r/{forms}").status_int == 200


def streaming(page: str, size: int = 700) -> Any:
    """An app that streams ``page`` in pieces of ``size`` bytes."""
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        data = page.encode()
        return (data[at:at + size] for at in range(0, len(data), size))

    return app


def shares_a_page_token(form: dict[str, str], *, keyed: bool = False) -> bool:
    """(see page_tokens: "<index>.<signature>", and ".<tag>" where its indices are keyed)"""
    validation = form["__EVENTVALIDATION"]
    return validation[:1].isdigit() and validation.count(".") == 1 + keyed


def test_a_streamed_list_pages_forms_each_post(make_app: AppFactory) -> None:
    """A streamed page's forms are signed a piece at a time, before what follows is read:
    a piece's forms, whose actions a <base href> in a later piece could still move, share a
    token whose indices are keyed. Every one of them posts."""
    app = make_app(inner_app=streaming(LIST_PAGE))
    forms = list_forms(app.get("/users").body)
    assert len(forms) == 40
    assert sum(shares_a_page_token(form, keyed=True) for form in forms) >= 36
    for n in range(1, 21):
        postback(app, forms[2 * n - 2], path=f"/users/{n}/delete")
        postback(app, forms[2 * n - 1], "vote", f"up:{n}", path=f"/users/{n}/vote")


def test_a_later_base_in_a_streamed_page_cannot_widen_what_one_forms_fields_open(
    make_app: AppFactory,
) -> None:
    """A <base href> to another site in a later piece sends the earlier forms' fields there
    (the log says so; they cannot be taken back): each such form's fields name that form
    alone, never its neighbours'."""
    rows = "".join(f'<form method="post" action="u/{n}/delete"><button>x</button></form>'
                   for n in range(1, 6))
    page = f"<html><body>{rows}{'<p>filler</p>' * 100}<base href='https://evil.example/'>"
    app = make_app(inner_app=streaming(page + "</body></html>", size=600))
    forms = list_forms(app.get("/app/list").body)
    assert len(forms) == 5 and all(shares_a_page_token(form, keyed=True) for form in forms)
    _, signature, tag = forms[0]["__EVENTVALIDATION"].split(".")
    for index in range(1, 5):  # what another site could make of form 0's fields
        for forged in (f"{index}.{signature}", f"{index}.{signature}.{tag}"):
            postback(app, {**forms[0], "__EVENTVALIDATION": forged},
                     path=f"/app/u/{index + 1}/delete", status=403)


def test_htmx_shown_late_in_a_streamed_page_counts_for_the_forms_after(
    make_app: AppFactory,
) -> None:
    """A streamed page that loads htmx only in a later piece: a form after it whose button's
    hx-post leaves the origin gets no tokens, and the form after that gets them and posts."""
    first = '<html><head></head><body><form method="post" action="a"><button>a</button></form>'
    page = (first.ljust(700) + '<script src="/static/htmx.min.js"></script>'
            '<form method="post" action="b"><button hx-post="https://evil.example/steal">Go'
            '</button></form><form method="post" action="c"><button>c</button></form>'
            "</body></html>")
    app = make_app(inner_app=streaming(page, size=700))
    body = app.get("/app/list").body
    forms = list_forms(body)
    assert [("__VIEWSTATE" in form) for form in forms] == [True, False, True]
    assert body.count(b"evil.example") == 1  # (the page's own button, and nothing else)
    postback(app, forms[2], path="/app/c")


def test_forms_without_an_action_share_a_token_unkeyed_in_any_piece(
    make_app: AppFactory,
) -> None:
    """(no <base href> a later piece brings can move a form without an action)"""
    rows = "".join(f'<form method="post"><button name="row" value="{n}">x</button></form>'
                   for n in range(1, 31))
    page = f"<html><body>{rows}</body></html>"
    app = make_app(inner_app=streaming(page, size=500))
    forms = list_forms(app.get("/list").body)
    # (all but a form cut by the end of a piece: the forms whole in a piece share a token
    # among themselves)
    assert len(forms) == 30
    assert sum(map(shares_a_page_token, forms)) >= 30 - len(page) // 500
    for form in forms[::7]:
        postback(app, form, path="/list")


@pytest.mark.parametrize("streamed", [False, True])
def test_htmx_in_a_noscript_left_open_keys_a_list_pages_indices(
    make_app: AppFactory, inner: RecordingApp, streamed: bool
) -> None:
    """(found by a red-team pass: the forms signed in bulk were signed before the open
    <noscript> was read, and got unkeyed indices; an hx-include sending form 1's fields
    elsewhere then let them post as form 2)"""
    forms = "".join(f'<form method="post"{"" if streamed else f" action=/a/{n}"}>'
                    f'<button data-postback="del" data-postback-argument="{n}">x</button></form>'
                    for n in (1, 2, 3))
    page = ('<html><head></head><body>' + forms + '<noscript><button formaction="/x" '
            'hx-post="https://evil.example/" hx-include="form">go</button> ')
    if streamed:
        app = make_app(inner_app=streaming(page + "</noscript></body></html>",
                                           size=len(page)))
    else:
        inner.page = page
        app = make_app()
    fields = list_forms(app.get("/a/list").body)
    assert len(fields) == 3 and all(shares_a_page_token(form, keyed=True) for form in fields)
    signature = fields[0]["__EVENTVALIDATION"].split(".")[1]
    postback(app, {**fields[0], "__EVENTVALIDATION": f"1.{signature}"}, "del", "2",
             path="/a/list" if streamed else "/a/2", status=403)


def test_a_page_that_uses_htmx_shares_a_token_with_keyed_indices(
    make_app: AppFactory, inner: RecordingApp
) -> None:
    """(an hx-include anywhere in it can send any form's fields where it posts: they must
    name that form only)"""
    inner.page = '<script src="/static/htmx.min.js"></script>' + LIST_PAGE
    app = make_app()
    forms = list_forms(app.get("/users").body)
    assert len(forms) == 40 and all(shares_a_page_token(form, keyed=True) for form in forms)
    postback(app, forms[4], path="/users/3/delete")
    postback(app, forms[5], "vote", "up:3", path="/users/3/vote")


def test_a_list_pages_form_left_open_is_renewed_alone(
    make_app: AppFactory, inner: RecordingApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.page = LIST_PAGE
    app = make_app()
    forms = list_forms(app.get("/users").body)
    later = time.time() + 5 * 3600  # past max_age
    monkeypatch.setattr(time, "time", lambda: later)
    postback(app, forms[2], path="/users/2/delete", status=403)
    fields = {name: forms[2][name] for name in ("__VIEWSTATE", "__EVENTVALIDATION")}
    renewed = app.post("/users/2/delete", fields, headers={"X-Postback-Renew": "1"}).json
    postback(app, renewed["fields"], path="/users/2/delete")
    assert inner.calls[-1].path == "/users/2/delete"
    # The renewed token is that form's alone: with another index it names no form.
    other = {**renewed["fields"], "__EVENTVALIDATION": "3." +
             renewed["fields"]["__EVENTVALIDATION"].partition(".")[2]}
    postback(app, other, path="/users/3/vote", status=403)


# -- refusals ---------------------------------------------------------------------------------


def _flip_last(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


TAMPER = [
    pytest.param(lambda f: {**f, "__VIEWSTATE": _flip_last(f["__VIEWSTATE"])},
                 id="viewstate-flipped"),
    pytest.param(lambda f: {**f, "__EVENTVALIDATION": f["__EVENTVALIDATION"][:-4]},
                 id="validation-truncated"),
    pytest.param(lambda f: {**f, "__VIEWSTATE": ""}, id="viewstate-empty"),
    pytest.param(lambda f: {**f, "__VIEWSTATE": f["__EVENTVALIDATION"],
                            "__EVENTVALIDATION": f["__VIEWSTATE"]}, id="tokens-swapped"),
]


@pytest.mark.parametrize("tamper", TAMPER)
def test_tampered_postback_is_forbidden_and_never_reaches_the_app(
    app: webtest.TestApp, inner: RecordingApp, caplog: pytest.LogCaptureFixture,
    tamper: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    fields = tamper(tokens_of(app))
    calls = len(inner.calls)
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        response = postback(app, fields, "delete", "7", status=403)
    assert response.text == INVALID
    assert len(inner.calls) == calls
    assert any("refused 'POST' '/orders'" in r.getMessage() for r in caplog.records)


def test_missing_tokens_are_forbidden(app: webtest.TestApp, inner: RecordingApp) -> None:
    calls = len(inner.calls)
    response = app.post("/orders", {"__EVENTTARGET": "delete", "__EVENTARGUMENT": "7"}, status=403)
    assert response.text == INVALID
    assert len(inner.calls) == calls


def test_unregistered_event_pair_is_forbidden(app: webtest.TestApp) -> None:
    fields = tokens_of(app)
    assert postback(app, fields, "delete", "8", status=403).text == INVALID
    assert postback(app, fields, "Delete", "7", status=403).text == INVALID
    postback(app, fields, "sort", "")  # the autopostback control is registered


def test_tokens_from_another_path_are_forbidden(app: webtest.TestApp) -> None:
    fields = tokens_of(app)
    postback(app, fields, "delete", "7", path="/orders/", status=403)
    postback(app, fields, "delete", "7", path="/admin", status=403)


def test_tokens_are_bound_to_the_form_action_not_the_page(make_app: AppFactory,
                                                          inner: RecordingApp) -> None:
    inner.page = '<form method="post" action="save?x=1"><b data-postback="go"></b></form>'
    app = make_app()
    fields = tokens_of(app, "/shop/cart")
    postback(app, fields, "go", path="/shop/save?x=2")
    postback(app, fields, "go", path="/shop/cart", status=403)


def test_tokens_are_bound_to_the_user_key(make_app: AppFactory) -> None:
    app = make_app(user_key=lambda environ: environ.get("HTTP_X_USER"))
    alice = {"X-User": "alice"}
    response = app.get("/orders", headers=alice)
    assert "Cookie" in response.headers["Vary"]
    fields = hidden_fields(response.body)
    params = {name: fields[name] for name in ("__VIEWSTATE", "__EVENTVALIDATION")}
    app.post("/orders", params, headers=alice)
    app.post("/orders", params, headers={"X-User": "mallory"}, status=403)
    app.post("/orders", params, status=403)


def test_expired_tokens_are_forbidden(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(max_age=60)
    fields = tokens_of(app)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    postback(app, fields, status=403)


def test_key_rotation(make_app: AppFactory, inner: RecordingApp) -> None:
    old, new = new_key(), new_key()
    issuing = make_app(secret_keys=[old])
    fields = tokens_of(issuing)
    rotated, retired = make_app(secret_keys=[new, old]), make_app(secret_keys=[new])
    for app in (rotated, retired):  # the same browser, after the operator's change
        for name, value in issuing.cookies.items():
            app.set_cookie(name, value)
    postback(rotated, fields, "delete", "7")
    postback(retired, fields, "delete", "7", status=403)


@pytest.mark.parametrize(
    ("params", "query"),
    [
        pytest.param([("__EVENTTARGET", "a"), ("__EVENTTARGET", "b")], "", id="target-twice"),
        pytest.param([("__eventtarget", "delete")], "", id="lower-case-name"),
        pytest.param([("%5F%5FVIEWSTATE", "x")], "", id="percent-encoded-name"),
        # (a token field, read before the tokens are verified; an event field is read in its
        # form's encoding once they are: see test_charset's table)
        pytest.param([("__VIEWSTATE", "\udcff")], "", id="invalid-utf8"),
        pytest.param([("note", "x")], "?__EVENTTARGET=delete", id="reserved-in-query"),
        pytest.param([("note", "x")], "?__eventargument=1", id="reserved-in-query-lower"),
    ],
)
def test_malformed_or_disguised_fields_are_bad_requests(
    app: webtest.TestApp, inner: RecordingApp, params: list[tuple[str, str]], query: str
) -> None:
    import urllib.parse

    body = urllib.parse.urlencode(params, safe="%", errors="surrogateescape").encode()
    calls = len(inner.calls)
    response = app.post("/orders" + query, body, status=400,
                        content_type="application/x-www-form-urlencoded")
    assert response.text == "Bad request."
    assert len(inner.calls) == calls


def test_reserved_name_in_query_is_refused_on_get(app: webtest.TestApp) -> None:
    app.get("/orders?__VIEWSTATE=x", status=400)


@pytest.mark.parametrize("query", [
    pytest.param("x;__EVENTTARGET=delete;__EVENTARGUMENT=17", id="after-a-semicolon"),
    pytest.param("a=1;%5F%5FEVENTTARGET=x", id="percent-encoded-after-a-semicolon"),
    pytest.param(";__viewstate=x", id="lower-case-after-a-leading-semicolon"),
])
def test_a_reserved_name_webob_reads_in_the_query_is_refused(
    app: webtest.TestApp, inner: RecordingApp, query: str
) -> None:
    """WebOb splits a query on ";" as well as "&" (request.GET and request.params: Pyramid's,
    and the webob.Request a postback or callback handler gets), so a name after a ";" is one
    of its fields: a cross-site link would hand the app a "postback" (found by a red-team
    pass: it reached the app on a GET and beside a verified postback's fields)."""
    assert any(f.looks_reserved(name) for name in webob.Request.blank("/?" + query).GET)
    calls = len(inner.calls)
    app.get("/orders?" + query, status=400)
    assert len(inner.calls) == calls


@settings(max_examples=500)
@given(st.lists(st.sampled_from(["a", "=", "&", ";", "_", "%", "5", "f", "F", "e", "E", "+", "\xef",
                                 "\ufe4f", "\udcef", "é", "__VIEWSTATE", "__viewstate"]),
                max_size=10).map("".join) | st.text(max_size=30))
def test_a_query_told_without_encoding_is_judged_the_same(query: str) -> None:
    """The query check's short way (an ASCII query without "_" and "%") refuses exactly
    what the check that encodes every query refuses (and fails where it fails)."""
    from postback_middleware import fields
    from postback_middleware.errors import BadRequest
    from postback_middleware.middleware import _refuse_reserved_query

    def refused(check: Callable[[str], None]) -> str:
        try:
            check(query)
        except Exception as error:  # (BadRequest; a lone surrogate fails either way)
            return type(error).__name__
        return ""

    def reference(query: str) -> None:
        try:  # PEP 3333: the raw bytes as latin-1 text
            raw = query.encode("latin-1")
        except UnicodeEncodeError:
            raw = query.encode("utf-8", "surrogateescape")
        if fields.may_look_reserved(raw):
            for segment in re.split(rb"[&;]", raw):
                name = urllib.parse.unquote_to_bytes(
                    segment.partition(b"=")[0].replace(b"+", b" "))
                if any(fields.looks_reserved(name.decode(encoding, "replace"))
                       for encoding in ("utf-8", "latin-1")):
                    raise BadRequest(name)

    assert refused(_refuse_reserved_query) == refused(reference)


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS"])
def test_a_request_without_body_is_checked_as_any(
    app: webtest.TestApp, inner: RecordingApp, method: str
) -> None:
    """A request without a body takes a short way (nothing to verify), its query string
    checked all the same; one with a body is read, whatever its method."""
    calls = len(inner.calls)
    app.request("/orders?a=1&%5F%5Fviewstate=x", method=method, status=400)
    app.request("/orders", method=method, body=b"__EVENTTARGET=x", status=400,
                content_type="application/x-www-form-urlencoded")
    assert len(inner.calls) == calls
    assert app.request("/orders?a=1", method=method).status_int == 200
    assert len(inner.calls) == calls + 1


def test_oversized_body_is_413(make_app: AppFactory) -> None:
    app = make_app(max_body_size=1000)
    response = app.post("/orders", {"note": "x" * 2000}, status=413)
    assert "Traceback" not in response.text


def formset_fields(rows: int) -> list[tuple[str, str]]:
    """What a Django formset of ``rows`` rows of 4 fields posts: the CSRF token, the management
    form's 4 fields, then the rows (300 rows: 1,205 fields)."""
    fields = [("csrfmiddlewaretoken", "t0k3n"), ("form-TOTAL_FORMS", str(rows)),
              ("form-INITIAL_FORMS", "0"), ("form-MIN_NUM_FORMS", "0"),
              ("form-MAX_NUM_FORMS", "1000")]
    for row in range(rows):
        fields += [(f"form-{row}-{name}", f"{name} {row}")
                   for name in ("sku", "name", "price", "stock")]
    return fields


@pytest.mark.parametrize(
    ("options", "rows", "postback_fields", "multipart_form", "allowed"),
    [
        pytest.param({}, 249, False, False, False, id="default-1001-fields-413"),
        pytest.param({}, 249, False, True, False, id="default-1001-parts-413"),
        pytest.param({}, 248, True, False, False, id="default-postback-of-1001-fields-413"),
        pytest.param({}, 248, False, False, True, id="default-997-fields-reach-the-app"),
        pytest.param({"max_form_fields": 1300}, 300, False, False, True,
                     id="raised-1205-fields-reach-the-app"),
        pytest.param({"max_form_fields": 1300}, 300, True, False, True,
                     id="raised-postback-of-1209-fields-reaches-the-app"),
        pytest.param({"max_form_fields": 1300}, 300, True, True, True,
                     id="raised-multipart-postback-of-1209-parts-reaches-the-app"),
        pytest.param({"max_form_fields": 1300}, 324, False, False, False,
                     id="raised-limit-still-refuses-1301-fields"),
        pytest.param({"max_form_fields": 1300}, 324, False, True, False,
                     id="raised-limit-still-refuses-1301-parts"),
    ],
)
def test_max_form_fields_is_how_many_fields_a_form_post_may_have(
    make_app: AppFactory, inner: RecordingApp, caplog: pytest.LogCaptureFixture,
    options: dict[str, Any], rows: int, postback_fields: bool, multipart_form: bool,
    allowed: bool,
) -> None:
    """(found by a red-team pass: a Django formset of 1,205 fields, which the app accepts with
    DATA_UPLOAD_MAX_NUMBER_FIELDS raised, got a 413 that no option could lift)"""
    app = make_app(**options)
    fields = formset_fields(rows)
    reserved: list[tuple[str, str]] = []
    if postback_fields:
        tokens = tokens_of(app)
        reserved = [("__EVENTTARGET", "refresh"), ("__EVENTARGUMENT", ""),
                    ("__VIEWSTATE", tokens["__VIEWSTATE"]),
                    ("__EVENTVALIDATION", tokens["__EVENTVALIDATION"])]
    if multipart_form:
        content_type = "multipart/form-data; boundary=XyZ"
        body = multipart_body(*[part(name, value) for name, value in fields + reserved])
        expected = multipart_body(*[part(name, value) for name, value in fields])
    else:
        content_type = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(fields + reserved).encode()
        expected = urllib.parse.urlencode(fields).encode()
    calls = len(inner.calls)
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        # request(), not post(): post() re-encodes a multipart body
        response = app.request("/orders", method="POST", body=body, content_type=content_type,
                               status="*")
    if not allowed:
        assert response.status_int == 413 and len(inner.calls) == calls
        assert "raise the max_form_fields option" in caplog.text  # the log says what to do
        return
    assert response.status_int == 200
    seen = inner.calls[-1]
    assert seen.body == expected  # every field, byte for byte, the reserved ones cut out
    assert (seen.event.target if seen.event else None) == ("refresh" if reserved else None)


def test_plain_post_passes_untouched(app: webtest.TestApp, inner: RecordingApp) -> None:
    app.post("/orders", b"a=1&b=%20&&c", content_type="application/x-www-form-urlencoded")
    assert inner.calls[-1].body == b"a=1&b=%20&&c"
    assert inner.calls[-1].event is None
    app.post("/orders", b'{"a": 1}', content_type="application/json")
    assert inner.calls[-1].body == b'{"a": 1}'
    # a form body of another method is scanned (parsers read it) and passed on as it is
    app.put("/orders", b"a=1&b=%20", content_type="application/x-www-form-urlencoded")
    assert inner.calls[-1].body == b"a=1&b=%20" and inner.calls[-1].method == "PUT"
    # fetch() sends a string body as text/plain: read as Bottle would, and passed on as it is
    text = b'{"q": "a&b=c", "user_id": 7}\r\nmore & more'
    app.post("/orders", text, content_type="text/plain;charset=UTF-8")
    assert inner.calls[-1].body == text


def test_require_token_refuses_form_posts_without_one(make_app: AppFactory,
                                                      inner: RecordingApp) -> None:
    app = make_app(require_token=True)
    app.post("/orders", {"a": "1"}, status=403)
    app.post("/orders", b"a=1", content_type="text/plain", status=403)
    app.post("/orders", b'{"a": 1}', content_type="application/json")  # not a form
    postback(app, tokens_of(app))


def test_on_reject_hook_is_called_with_the_reason(make_app: AppFactory) -> None:
    reasons: list[str] = []
    app = make_app(on_reject=lambda environ, reason: reasons.append(reason))
    app.post("/orders", {"__EVENTTARGET": "x"}, status=403)
    assert reasons and "missing" in reasons[0]


# -- callbacks ----------------------------------------------------------------------------------


def test_callback_answers_in_aspnet_framing_without_the_app(
    app: webtest.TestApp, inner: RecordingApp, registry: Registry
) -> None:
    @registry.callback("CallServer")
    def call_server(argument: str, request: Any) -> str:
        assert request.POST["note"] == "hello"
        assert "__CALLBACKID" not in request.POST
        return "Calling server was successful. The passed argument was " + argument

    fields = tokens_of(app)
    calls = len(inner.calls)
    response = callback(app, fields, "CallServer", "1")
    assert len(inner.calls) == calls
    assert response.content_type == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    validation, result = parse_success(response.text)
    assert result == "Calling server was successful. The passed argument was 1"
    assert validation != fields["__EVENTVALIDATION"]
    # The refreshed event validation keeps working, for postbacks and further callbacks.
    postback(app, {**fields, "__EVENTVALIDATION": validation}, "delete", "7")
    assert parse_success(callback(app, {**fields, "__EVENTVALIDATION": validation},
                                  "CallServer", "2").text)[1].endswith("was 2")


def test_callback_class_is_instantiated_per_call(app: webtest.TestApp, registry: Registry) -> None:
    instances: list[object] = []

    @registry.callback("Echo")
    class Echo:
        def __init__(self) -> None:
            instances.append(self)
            self.argument = None

        def raise_callback_event(self, argument: str) -> None:
            assert self.argument is None
            self.argument = argument

        def get_callback_result(self) -> str:
            return f"echo:{self.argument}"

    fields = tokens_of(app)
    assert parse_success(callback(app, fields, "Echo", "a").text)[1] == "echo:a"
    assert parse_success(callback(app, fields, "Echo", "b").text)[1] == "echo:b"
    assert len(instances) == 2


def test_callback_errors(app: webtest.TestApp, registry: Registry,
                         caplog: pytest.LogCaptureFixture) -> None:
    def deliberate(argument: str, request: Any) -> str:
        raise CallbackError("Order 7 is already shipped.")

    def broken(argument: str, request: Any) -> str:
        raise RuntimeError("database password is hunter2")

    registry.add_callback("Deliberate", deliberate)
    registry.add_callback("Broken", broken)
    fields = tokens_of(app)
    assert callback(app, fields, "Deliberate", "").text == "eOrder 7 is already shipped."
    response = callback(app, fields, "Broken", "", status=500)
    assert response.text.startswith("e") and "hunter2" not in response.text
    assert "hunter2" in caplog.text
    [record] = [r for r in caplog.records if "hunter2" in str(r.exc_info)]
    assert record.levelno == logging.ERROR and record.exc_info is not None  # with its traceback
    assert callback(app, fields, "Nope", "", status=403).text == "e" + INVALID


def test_a_callbacks_odd_outcomes_still_answer_in_its_framing(
    app: webtest.TestApp, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    """(found by a red-team pass: both escaped the middleware, the server's own 500 page)"""
    registry.add_callback("Echo", lambda argument, request: "No results for "
                          + json.loads(argument)["q"])

    def validate(argument: str, request: Any) -> str:
        raise CallbackError(len(argument))  # type: ignore[arg-type]  # (not the text)

    registry.add_callback("Deliberate", validate)
    fields = tokens_of(app)
    # a lone surrogate (valid JSON, valid UTF-8 on the wire) echoed: shown as a browser shows one
    answer = callback(app, fields, "Echo", '{"q": "\\ud800"}')
    assert parse_success(answer.text)[1] == "No results for \ufffd"
    response = callback(app, fields, "Deliberate", "x", status=500)
    assert response.text.startswith("e") and "CallbackError takes the message's text" in caplog.text


def test_callback_needs_valid_event_validation(app: webtest.TestApp, registry: Registry) -> None:
    registry.add_callback("CallServer", lambda argument, request: "ok")
    fields = tokens_of(app)
    bad = {**fields, "__EVENTVALIDATION": _flip_last(fields["__EVENTVALIDATION"])}
    assert callback(app, bad, "CallServer", "1", status=403).text == "e" + INVALID


def test_a_callback_runs_only_for_the_page_that_offers_it(
    make_app: AppFactory, inner: RecordingApp, registry: Registry
) -> None:
    """The public login page's token must not run the admin page's export callback."""
    ran: list[str] = []
    registry.add_callback("Export", lambda argument, request: ran.append(argument) or "csv")
    registry.add_callback("CallServer", lambda argument, request: "ok")
    inner.page = '<form method="post" data-callbacks="CallServer"><b data-postback="x"></b></form>'
    app = make_app()
    login = tokens_of(app, "/login")
    assert callback(app, login, "CallServer", "1", path="/login").text.endswith("ok")
    assert callback(app, login, "Export", "all", path="/login", status=403).text == "e" + INVALID
    callback(app, login, "Export", "all", path="/admin", status=403)  # and not at the admin path
    inner.page = inner.page.replace('"CallServer"', '"Export"')
    admin = tokens_of(app, "/admin")
    assert callback(app, admin, "Export", "all", path="/admin").text.endswith("csv")
    assert ran == ["all"]


def test_refreshed_validation_keeps_the_offered_callbacks(app: webtest.TestApp,
                                                          registry: Registry) -> None:
    registry.add_callback("CallServer", lambda argument, request: "ok")
    fields = tokens_of(app)
    for _ in range(3):  # each answer's event validation serves the next call, as in WebForms
        fresh, _ = parse_success(callback(app, fields, "CallServer", "1").text)
        fields = {**fields, "__EVENTVALIDATION": fresh}
    postback(app, fields, "delete", "7")


# -- scroll position ------------------------------------------------------------------------


def test_maintain_scroll_position_echoes_the_posted_position(make_app: AppFactory) -> None:
    app = make_app(maintain_scroll_position=True)
    fields = tokens_of(app)
    assert fields["__SCROLLPOSITIONY"] == ""
    response = postback(app, fields, "refresh", __SCROLLPOSITIONX="0", __SCROLLPOSITIONY="840",
                        __LASTFOCUS="sort")
    echoed = hidden_fields(response.body)
    assert (echoed["__SCROLLPOSITIONY"], echoed["__LASTFOCUS"]) == ("840", "sort")
    postback(app, fields, __SCROLLPOSITIONY="12px", status=400)


def test_a_non_ascii_focus_id_comes_back_on_any_page(make_app: AppFactory, inner: RecordingApp,
                                                      registry: Registry) -> None:
    """An element id may be any text: it is echoed as character references, never a 500.
    Posted as a browser posts the form: in its encoding (a Latin-1 page's is windows-1252,
    which writes a character it lacks as a character reference)."""
    import urllib.parse

    ran: list[str] = []
    registry.add_postback("refresh", lambda event, request: ran.append("refresh"))
    app = make_app(maintain_scroll_position=True)
    for charset, echoed, focus in (
            ("utf-8", b"gr&#246;&#223;e-&#9731;", "größe-☃"),
            ("iso-8859-1", b"gr&#246;&#223;e-&amp;#9731;", "größe-&#9731;")):
        inner.content_type = f"text/html; charset={charset}"
        fields = tokens_of(app)
        body = urllib.parse.urlencode(
            {**fields, "__EVENTTARGET": "refresh", "__EVENTARGUMENT": "",
             "__LASTFOCUS": "größe-☃"},
            encoding="utf-8" if charset == "utf-8" else "cp1252", errors="xmlcharrefreplace")
        response = app.post("/orders", body,
                            content_type="application/x-www-form-urlencoded")
        assert b'value="' + echoed + b'"' in response.body
        assert response.html.find("input", {"name": "__LASTFOCUS"})["value"] == focus
    assert ran == ["refresh", "refresh"]
    postback(app, tokens_of(app), "refresh", __LASTFOCUS="a\r\nb", status=400)
    assert len(ran) == 2  # refused before the handler


def test_a_path_cannot_forge_a_log_line(app: webtest.TestApp,
                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        app.post("/orders%0Arefused%20nothing", {"__EVENTTARGET": "x"}, status=403,
                 extra_environ={"PATH_INFO": "/orders\nINFO forged entry\r"})
    (message,) = [r.getMessage() for r in caplog.records]
    assert "\n" not in message and "\r" not in message
    assert "forged entry" in message  # there, but inside a quoted (repr) value


def test_every_reserved_name_is_known() -> None:
    """PROTOCOL.md's list, and ASP.NET AJAX's async postback flag (issue #17)."""
    assert sorted(RESERVED) == [
        "__ASYNCPOST", "__CALLBACKID", "__CALLBACKPARAM", "__EVENTARGUMENT", "__EVENTTARGET",
        "__EVENTVALIDATION", "__LASTFOCUS", "__SCROLLPOSITIONX", "__SCROLLPOSITIONY",
        "__VIEWSTATE", "__VIEWSTATEGENERATOR"]


def test_start_up_refuses_weak_keys() -> None:
    from postback_middleware import ConfigurationError

    for keys in ([], ["short"], ["a" * 40]):
        with pytest.raises(ConfigurationError):
            PostbackMiddleware(RecordingApp(), secret_keys=keys)


def test_no_token_string_is_ever_repeated(app: webtest.TestApp, registry: Registry) -> None:
    """BREACH: a compressed page must not repeat a secret an attacker could guess towards."""
    registry.add_callback("CallServer", lambda argument, request: "ok")
    seen: list[str] = []
    for _ in range(5):
        fields = tokens_of(app)
        seen += [fields["__VIEWSTATE"], fields["__EVENTVALIDATION"]]
        for _ in range(2):
            seen.append(parse_success(callback(app, fields, "CallServer", "1").text)[0])
    assert len(set(seen)) == len(seen) == 20


# -- forms left open: renewal -------------------------------------------------------------------


def test_a_form_left_open_is_renewed_without_the_app(
    make_app: AppFactory, inner: RecordingApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(max_age=60)
    fields = tokens_of(app)
    calls = len(inner.calls)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3600)  # an hour later
    postback(app, fields, status=403)
    renewed = renew(app, fields).json
    assert renewed["version"] == 1 and set(renewed["fields"]) == {
        "__VIEWSTATE", "__EVENTVALIDATION"}
    assert len(inner.calls) == calls  # the app was not asked
    postback(app, renewed["fields"])  # what the person typed goes through
    assert len(inner.calls) == calls + 1


def test_renewal_can_be_turned_off(make_app: AppFactory,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(max_age=60, renewal_window=0)
    fields = tokens_of(app)
    assert b"data-max-age" not in app.get("/orders").body  # the script is not told to renew
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    assert renew(app, fields, status=403).headers["X-Postback-Refused"] == "expired"


def test_renewal_from_another_site_is_refused(make_app: AppFactory) -> None:
    app = make_app()
    response = renew(app, tokens_of(app), status=403, Origin="https://evil.example")
    assert response.headers["X-Postback-Refused"] == "cross-site"


def test_the_script_is_told_max_age(make_app: AppFactory) -> None:
    page = make_app(max_age=600).get("/orders").body
    tag = SCRIPT_TAG.search(page)
    assert tag is not None and b'data-max-age="600"' in tag.group(0)


def test_a_formaction_button_posts_back_to_its_own_path(make_app: AppFactory,
                                                        inner: RecordingApp) -> None:
    """One form, two same-origin destinations: Save (the action) and Preview (a formaction
    button). The tokens are bound to both, and to nothing else."""
    inner.page = ('<form method="post" action="/orders"><a data-postback="go">go</a>'
                  '<button>Save</button><button formaction="/orders/preview">Preview</button>'
                  "</form>")
    app = make_app()
    fields = tokens_of(app)
    postback(app, fields, "go", path="/orders")
    postback(app, fields, "go", path="/orders/preview")
    assert [call.path for call in inner.calls[-2:]] == ["/orders", "/orders/preview"]
    postback(app, fields, "go", path="/orders/other", status=403)


def test_renewal_keeps_every_path(make_app: AppFactory, inner: RecordingApp,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    inner.page = ('<form method="post" action="/orders"><a data-postback="go">go</a>'
                  '<button formaction="/orders/preview">Preview</button></form>')
    app = make_app(max_age=60)
    fields = tokens_of(app)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3600)
    renewed = renew(app, fields).json["fields"]
    postback(app, renewed, "go", path="/orders/preview")


# -- forward_event_fields: the verified event as form fields, for code ported from WebForms ----

UPLOAD = bytes(range(256)) * 64 + b"\r\n--B0unc\n--B0 und"  # near misses of the delimiter
Fields = list[tuple[str, str]]


def form_body(kind: str, fields: Fields, *, boundary: str = "B0und", upload: bytes | None = None,
              then: Fields = ()) -> tuple[bytes, str]:
    """A form body as a browser writes it, and its Content-Type: ``fields``, the file, then
    the fields ``then`` (where the middleware adds the event's)."""
    if kind == "urlencoded":
        body = urllib.parse.urlencode([*fields, *then]).encode()
        return body, "application/x-www-form-urlencoded"
    dash = b"--" + boundary.encode()

    def part(name: str, value: str) -> bytes:
        return (dash + f'\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + value.encode() + b"\r\n")

    body = b"".join(part(name, value) for name, value in fields)
    if upload is not None:
        body += (dash + b'\r\nContent-Disposition: form-data; name="upload"; filename="a.bin"'
                 b"\r\nContent-Type: application/octet-stream\r\n\r\n" + upload + b"\r\n")
    body += b"".join(part(name, value) for name, value in then)
    return body + dash + b"--\r\n", f"multipart/form-data; boundary={boundary}"


def posted_form(seen: Any) -> Any:
    """The fields the inner app's WebOb ``request.POST`` reads from the body it got."""
    request = webtest.TestRequest.blank("/", method="POST",
                                        content_type=seen.environ["CONTENT_TYPE"])
    request.body = seen.body
    return request.POST


def event_post(app: webtest.TestApp, kind: str, target: str, argument: str, *,
               boundary: str = "B0und", status: int = 200) -> tuple[bytes, Fields]:
    """Post the page's form with this event (reserved fields first, as WebForms writes them);
    returns what the inner app should get without the event fields, and its own fields."""
    tokens = tokens_of(app)
    reserved = [("__EVENTTARGET", target), ("__EVENTARGUMENT", argument),
                ("__VIEWSTATE", tokens["__VIEWSTATE"]),
                ("__EVENTVALIDATION", tokens["__EVENTVALIDATION"])]
    own = [("note", "héllo & =")]
    upload = UPLOAD if kind == "multipart" else None
    body, content_type = form_body(kind, reserved + own, boundary=boundary, upload=upload)
    app.request("/orders", method="POST", body=body, content_type=content_type, status=status)
    return form_body(kind, own, boundary=boundary, upload=upload)[0], own


@pytest.mark.parametrize(
    ("forward", "kind", "target", "argument", "added"),
    [
        pytest.param(False, "urlencoded", "delete", "7", False, id="off-urlencoded"),
        pytest.param(True, "urlencoded", "delete", "7", True, id="on-urlencoded"),
        pytest.param(True, "urlencoded", "refresh", "", True, id="on-urlencoded-empty-argument"),
        pytest.param(True, "urlencoded", "", "", False, id="on-urlencoded-no-event-no-fields"),
        pytest.param(False, "multipart", "delete", "7", False, id="off-multipart"),
        pytest.param(True, "multipart", "delete", "7", True, id="on-multipart"),
        pytest.param(True, "multipart", "refresh", "", True, id="on-multipart-empty-argument"),
        pytest.param(True, "multipart", "", "", False, id="on-multipart-no-event-no-fields"),
    ],
)
def test_forward_event_fields_hands_the_verified_event_to_the_form(
    make_app: AppFactory, inner: RecordingApp,
    forward: bool, kind: str, target: str, argument: str, added: bool,
) -> None:
    app = make_app(forward_event_fields=forward)
    clean, own = event_post(app, kind, target, argument)
    seen = inner.calls[-1]
    event = [("__EVENTTARGET", target), ("__EVENTARGUMENT", argument)] if added else []
    # Every byte of the app's own fields and file as sent, then the event's fields as the form
    # encodes them (appended; as parts before the closing delimiter).
    upload = UPLOAD if kind == "multipart" else None
    assert seen.body == form_body(kind, own, upload=upload, then=event)[0]
    assert seen.body.startswith(clean.removesuffix(b"--B0und--\r\n"))
    assert seen.content_length == str(len(seen.body))
    assert (seen.event.target, seen.event.argument) == (target, argument) if target else (
        seen.event is None)
    form = posted_form(seen)  # what request.POST reads
    assert [(name, form[name]) for name in ("__EVENTTARGET", "__EVENTARGUMENT")
            if name in form] == event
    assert form["note"] == "héllo & ="
    if upload is not None:
        assert form["upload"].value == UPLOAD


def test_forwarded_fields_are_never_the_unverified_ones(
    make_app: AppFactory, inner: RecordingApp, registry: Registry
) -> None:
    """An event the form did not offer is refused before the app; a callback (whose form sends
    the fields empty) and a renewal get none: only a verified event is ever forwarded."""
    app = make_app(forward_event_fields=True)
    for kind in ("urlencoded", "multipart"):
        event_post(app, kind, "delete", "8", status=403)  # not offered
        event_post(app, kind, "", "7", status=403)  # an argument without a target
    forms: list[Any] = []
    registry.add_callback("CallServer", lambda argument, request: forms.append(request.POST))
    callback(app, tokens_of(app), "CallServer", "1")
    assert forms and "__EVENTTARGET" not in forms[0] and forms[0]["note"] == "hello"
    assert set(renew(app, tokens_of(app)).json["fields"]) == {"__VIEWSTATE", "__EVENTVALIDATION"}
    assert [call.method for call in inner.calls if call.method != "GET"] == []


ODD_TARGET = 'a"b\r\nContent-Disposition: form-data; name="admin"'
ODD_ARGUMENT = "x&y=z+%25 é\r\n--B0und--\r\n"


@pytest.mark.parametrize(
    ("kind", "boundary", "status"),
    [
        pytest.param("urlencoded", "B0und", 200, id="urlencoded-percent-encoded"),
        pytest.param("multipart", "Other", 200, id="multipart-in-the-part-body"),
        pytest.param("multipart", "B0und", 400, id="multipart-holding-its-boundary-refused"),
    ],
)
def test_forwarded_values_cannot_inject_fields_or_headers(
    make_app: AppFactory, inner: RecordingApp, kind: str, boundary: str, status: int
) -> None:
    """A target with quotes, CRLF and a part header in it, an argument with a delimiter in it:
    the app's parser reads exactly these values, and no other field. A value holding the
    body's own boundary cannot come in that body at all (the scan refuses it, 400)."""
    inner.page = ('<form method="post" action="/orders"><input name="note" value="hello">'
                  '<a data-postback="a&quot;b&#13;&#10;Content-Disposition: form-data; '
                  'name=&quot;admin&quot;" data-postback-argument="x&amp;y=z+%25 é&#13;&#10;'
                  '--B0und--&#13;&#10;">go</a></form>')
    app = make_app(forward_event_fields=True)
    event_post(app, kind, ODD_TARGET, ODD_ARGUMENT, boundary=boundary, status=status)
    if status != 200:
        assert inner.calls[-1].method == "GET"  # the app never saw the post
        return
    seen = inner.calls[-1]
    assert (seen.event.target, seen.event.argument) == (ODD_TARGET, ODD_ARGUMENT)
    form = posted_form(seen)
    assert sorted(form.keys()) == ["__EVENTARGUMENT", "__EVENTTARGET", "note"] + (
        ["upload"] if kind == "multipart" else [])
    assert (form["__EVENTTARGET"], form["__EVENTARGUMENT"]) == (ODD_TARGET, ODD_ARGUMENT)


def test_which_scanner_engine_runs_is_public_and_the_python_one_is_said_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the compiled engine the package works, slower: a WARNING says so once, with
    the cost and how to build it (or, where it is built and the Python one was chosen, that
    it was chosen: not that it is missing); ``scanner_engine`` says which runs."""
    from postback_middleware import middleware
    from postback_middleware.html_scan import ENGINES, use_engine

    monkeypatch.setattr(middleware, "_ENGINE_WARNED", [])
    expected = "compiled" if "compiled" in ENGINES else "python"
    assert PostbackMiddleware(RecordingApp(), secret_keys=[new_key()]).scanner_engine == expected
    for built in ((True, False) if "compiled" in ENGINES else (False,)):
        monkeypatch.setattr(middleware, "_ENGINE_WARNED", [])
        monkeypatch.setattr(middleware, "ENGINES", ENGINES if built else ("python",))
        caplog.clear()
        previous = use_engine("python")
        try:
            with caplog.at_level(logging.WARNING, logger="postback_middleware"):
                first = PostbackMiddleware(RecordingApp(), secret_keys=[new_key()])
                PostbackMiddleware(RecordingApp(), secret_keys=[new_key()])
        finally:
            use_engine(previous)
        assert first.scanner_engine == "python"
        said = [r.getMessage() for r in caplog.records if "pure-Python engine" in r.getMessage()]
        assert len(said) == 1 and "50 times" in said[0]
        if built:
            assert "use_engine('python')" in said[0] and "not built" not in said[0]
        else:
            assert "not built" in said[0] and "python3-dev" in said[0]


_URL_PARTS = st.sampled_from(["", "a", "/", "/a b", "?", "#", "é", "%41", "//", ";x", "b?c#d"])


@settings(max_examples=500, deadline=None)
@given(scheme=st.sampled_from(["http", "https"]),
       host=st.one_of(st.none(), st.sampled_from(["shop.example", "h:8080", "a@b", "h/x", "h?y"])),
       script=st.lists(_URL_PARTS, max_size=3).map("".join),
       path=st.lists(_URL_PARTS, max_size=4).map("".join),
       query=st.one_of(st.none(), st.lists(_URL_PARTS, max_size=3).map("".join)))
def test_the_pages_url_is_wsgirefs_and_its_host_the_parsers(
        scheme: str, host: str | None, script: str, path: str, query: str | None) -> None:
    """(the page's URL and host are kept by what precedes the query, which a page is asked
    with anew again and again: the same text as request_uri's and urlsplit's)"""
    environ: dict[str, Any] = {"wsgi.url_scheme": scheme, "SERVER_NAME": "server.example",
                               "SERVER_PORT": "8000", "SCRIPT_NAME": script, "PATH_INFO": path}
    if host is not None:
        environ["HTTP_HOST"] = host
    if query is not None:
        environ["QUERY_STRING"] = query
    url = middleware._page_url(environ)
    assert url == request_uri(environ)
    assert middleware._host_of(url) == "//" + urllib.parse.urlsplit(url).netloc
