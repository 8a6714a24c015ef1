"""Functional (WebTest): ``WebResource.axd`` through the middleware (``aspnet.resources``).

The app is asked first; only its 404 to a GET or HEAD of ``…/WebResource.axd`` becomes the
compatibility script (``static/webforms.js``), so a ported page's synchronous
``<script src="/WebResource.axd?d=…">`` defines the ``WebForm_*`` functions its inline startup
scripts call. Everything else is the app's answer, as without the middleware.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest

import postback_middleware
from postback_middleware import PostbackMiddleware
from postback_middleware.client import ClientScript, compat_script, etag_matches

from .helpers import new_key

# (The installed package's file: the sdist's tests run against the installed package.)
WEBFORMS_JS = (Path(postback_middleware.__file__).parent / "static" / "webforms.js").read_bytes()
AXD = "/WebResource.axd?d=pynGkmcFUV13He1Qd6_TZA2&t=638286137964787378"
OWN_SCRIPT = b"/* the app's own WebForms.js */"


class App:
    """Answers ``/own/...`` with its own script, ``/page/...`` with a page, everything else with
    404; as a list, or (``lazy``) as a generator that starts its response when first asked.
    Records the requests it gets and whether its body was closed."""

    def __init__(self, *, lazy: bool = False) -> None:
        self.lazy = lazy
        self.seen: list[tuple[str, str]] = []
        self.closed = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        path = environ["PATH_INFO"]
        if path.startswith("/own/"):
            status, kind, body = "200 OK", "application/javascript", OWN_SCRIPT
        elif path.startswith("/page/"):
            status, kind, body = "200 OK", "text/html; charset=utf-8", b"<p>a page</p>"
        else:
            status, kind, body = "404 Not Found", "text/plain", b"app: not found"
        headers = [("Content-Type", kind), ("Content-Length", str(len(body)))]
        if self.lazy:
            return self._generate(start_response, status, headers, body)
        start_response(status, headers)
        return _Closing([body], self)

    def _generate(self, start_response: Any, status: str, headers: Any, body: bytes
                  ) -> Iterator[bytes]:
        try:
            start_response(status, headers)
            yield body
        finally:
            self.closed += 1


class _Closing(list[bytes]):
    def __init__(self, items: list[bytes], app: App) -> None:
        super().__init__(items)
        self.app = app

    def close(self) -> None:
        self.app.closed += 1


def client(*, lazy: bool = False) -> tuple[webtest.TestApp, App]:
    inner = App(lazy=lazy)
    return webtest.TestApp(PostbackMiddleware(inner, secret_keys=[new_key()])), inner


def is_compat_script(response: webtest.TestResponse) -> bool:
    return bool(response.body == WEBFORMS_JS
                and response.content_type == "application/javascript"
                and response.charset == "utf-8")


# -- which requests get the script ------------------------------------------------------------


@pytest.mark.parametrize("lazy", [pytest.param(False, id="list"),
                                  pytest.param(True, id="generator")])
@pytest.mark.parametrize(
    ("path", "compat"),
    [
        pytest.param(AXD, True, id="root"),
        pytest.param("/WebResource.axd", True, id="no-query"),
        pytest.param("/webresource.AXD?d=x", True, id="any-case"),
        pytest.param("/shop/admin/WebResource.axd?d=x", True, id="in-a-directory"),
        pytest.param("/own/WebResource.axd?d=x", False, id="app-serves-its-own"),
        pytest.param("/page/WebResource.axd", False, id="app-answers-a-page"),
        pytest.param("/ScriptResource.axd?d=x", False, id="script-resource-left-to-the-app"),
        pytest.param("/WebResource.axd/x", False, id="not-the-last-segment"),
        pytest.param("/WebResource.axd.js", False, id="another-name"),
        pytest.param("/MyWebResource.axd", False, id="longer-name"),
    ],
)
def test_only_the_apps_404_to_web_resource_becomes_the_script(
    path: str, compat: bool, lazy: bool
) -> None:
    app, inner = client(lazy=lazy)
    response = app.get(path, status="*")
    assert inner.seen == [("GET", path.partition("?")[0])]  # the app was asked, once
    assert is_compat_script(response) is compat
    if compat:
        assert response.status_int == 200
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["ETag"] == compat_script().etag
        assert inner.closed == 1  # the app's 404 body was closed, not sent
    elif path.startswith("/own/"):
        assert response.body == OWN_SCRIPT  # transparency: the app's own resource
    elif path.startswith("/page/"):
        assert response.body.startswith(b"<p>a page</p>")
    else:
        assert (response.status_int, response.body) == (404, b"app: not found")


@pytest.mark.parametrize(
    ("method", "compat"),
    [
        pytest.param("GET", True, id="get"),
        pytest.param("HEAD", True, id="head"),
        pytest.param("POST", False, id="post-untouched"),
        pytest.param("PUT", False, id="put-untouched"),
        pytest.param("OPTIONS", False, id="options-untouched"),
    ],
)
def test_only_get_and_head_are_answered(method: str, compat: bool) -> None:
    app, inner = client()
    response = app.request(AXD, method=method, status="*")
    if not compat:  # the middleware's answer to that request at any other path
        other = app.request(AXD.replace("WebResource", "Other"), method=method, status="*")
        assert (response.status, response.body) == (other.status, other.body)
        assert not is_compat_script(response)
        return
    assert inner.seen == [(method, "/WebResource.axd")]
    assert response.status_int == 200
    assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert response.headers["Content-Length"] == str(len(WEBFORMS_JS))
    assert response.body == (b"" if method == "HEAD" else WEBFORMS_JS)


def test_the_request_goes_through_the_middleware_as_any_other() -> None:
    """A reserved name in the query string is refused before the app is asked, as anywhere."""
    app, inner = client()
    response = app.get("/WebResource.axd?__EVENTTARGET=x", status="*")
    assert response.status_int >= 400
    assert not is_compat_script(response)
    assert inner.seen == []


def test_a_wrapped_twice_app_still_gets_the_script_once() -> None:
    """(a sub-app wrapped again under a dispatcher: the inner one steps aside)"""
    inner = App()
    nested = PostbackMiddleware(inner, secret_keys=[new_key()])
    outer = PostbackMiddleware(lambda environ, start: nested(environ, start),
                               secret_keys=[new_key()])
    response = webtest.TestApp(outer).get(AXD)
    assert is_compat_script(response)
    assert inner.seen == [("GET", "/WebResource.axd")]


# -- caching and content coding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        pytest.param("{etag}", 304, id="same"),
        pytest.param("W/{etag}", 304, id="weak"),
        pytest.param('"other", {etag}', 304, id="in-a-list"),
        pytest.param("*", 304, id="any"),
        pytest.param('"other"', 200, id="changed"),
        pytest.param("", 200, id="none"),
    ],
)
def test_if_none_match(if_none_match: str, status: int) -> None:
    app, _ = client()
    etag = compat_script().etag
    headers = {"If-None-Match": if_none_match.format(etag=etag)} if if_none_match else {}
    response = app.get(AXD, headers=headers, status=status)
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.body == (b"" if status == 304 else WEBFORMS_JS)


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        pytest.param("gzip, deflate, br", True, id="browser"),
        pytest.param("gzip;q=0", False, id="refused"),
        pytest.param("", False, id="none"),
    ],
)
def test_served_gzipped_to_browsers_that_accept_it(accept: str, gzipped: bool) -> None:
    from webob import Request  # (WebTest would decode the body: read it as sent)

    middleware = PostbackMiddleware(App(), secret_keys=[new_key()])
    request = Request.blank(AXD, headers={"Accept-Encoding": accept} if accept else {})
    response = request.get_response(middleware)
    assert response.headers["Vary"] == "Accept-Encoding"
    assert (response.headers.get("Content-Encoding") == "gzip") is gzipped
    assert (gzip.decompress(response.body) if gzipped else response.body) == WEBFORMS_JS
    if gzipped:
        assert int(response.headers["Content-Length"]) == len(response.body) < len(WEBFORMS_JS) / 2


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        pytest.param(None, False, id="absent"),
        pytest.param('"abc"', True, id="same"),
        pytest.param(' W/"abc" ', True, id="weak-spaced"),
        pytest.param('"x","abc"', True, id="list"),
        pytest.param('"abcd"', False, id="prefix-only"),
        pytest.param("abc", False, id="unquoted"),
    ],
)
def test_etag_matches(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"abc"') is matches


# -- the bundle ---------------------------------------------------------------------------------


def test_the_client_script_bundles_the_compat_script_after_the_core() -> None:
    """Pages that never load WebResource.axd have the functions too, from the one script."""
    script = ClientScript("/_postback/")
    assert script.body.endswith(b"\n" + WEBFORMS_JS)
    assert script.body.index(b"window.WebForm_DoCallback = ") < script.body.index(WEBFORMS_JS)
    # The compat layer never defines the core's functions.
    core = rb"(__doPostBack|WebForm_DoCallback)"
    assert not re.search(rb'define\("' + core + rb'"|' + core + rb"\s*=(?!=)", WEBFORMS_JS)


def test_a_cookie_the_app_set_with_its_404_is_kept() -> None:
    """The app's 404 is replaced, not what it did: its Set-Cookie goes with the script (red
    team)."""
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/html"),
                                         ("Set-Cookie", "session=abc; HttpOnly")])
        return [b"<h1>Not found</h1>"]

    test = webtest.TestApp(PostbackMiddleware(app, secret_keys=[new_key()]))
    answer = test.get("/WebResource.axd?d=x&t=1")
    assert answer.content_type == "application/javascript"
    assert answer.headers.getall("Set-Cookie") == ["session=abc; HttpOnly"]
    # (kept with the cookie, for a shared cache to give others: private, found by a red-team
    # pass; an answer without one stays cacheable by any cache, as the script is the same)
    assert answer.headers["Cache-Control"].startswith("private, ")
