"""A partial postback answered by no panels ends exactly as the full postback would (Chromium).

Four answers that must never run as a same-origin document of the page (``document.write``) or
a ``blob:`` page: an HTML attachment, an SVG with a script, a PDF, and an HTML page with
``Content-Security-Policy: sandbox``. Each is asked for twice from the same page, side by side:
by a link in an update panel (a partial postback, answered with a replay token that the client
submits natively) and by the same event from a link outside the panel (a full postback). Both
must end the same way: a download, the SVG document at the postback's URL (its script runs
there, as it does after a full postback), the PDF in Chromium's viewer at the postback's URL,
the sandboxed page with its script blocked. And the app processes the postback once.

The answers' scripts report to ``/beacon?<who>`` (and try to set a cookie), so a test sees what
ran.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from ..helpers import new_key
from .assertions import expect

pytestmark = pytest.mark.browser


def beacon(who: str) -> str:
    return f"document.cookie = 'ran={who}; path=/'; fetch('/beacon?{who}');"


ANSWERS: dict[str, tuple[list[tuple[str, str]], bytes]] = {
    "attachment": (
        [("Content-Type", "text/html; charset=utf-8"),
         ("Content-Disposition", 'attachment; filename="report.html"')],
        f"<!DOCTYPE html><p>report</p><script>{beacon('attachment')}</script>".encode(),
    ),
    "svg": (
        [("Content-Type", "image/svg+xml")],
        f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect id="r" '
        f'width="10" height="10"/><script>{beacon("svg")}</script></svg>'.encode(),
    ),
    "pdf": (
        [("Content-Type", "application/pdf")],
        b"%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    ),
    "sandboxed": (
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", "sandbox")],
        f"<!DOCTYPE html><title>sandboxed</title><p id='s'>sandboxed</p>"
        f"<script>{beacon('sandboxed')}</script>".encode(),
    ),
    "nothing": ([], b""),  # 204 No Content: the browser keeps the page
}

PAGE = """<!DOCTYPE html><html><head><meta charset=utf-8><title>files</title></head><body>
<form method="post">
  <div id="panel" data-update-panel>
    {partial_links}
  </div>
  {full_links}
</form></body></html>"""


@dataclass
class FilesApp:
    events: list[tuple[str, str]] = field(default_factory=list)
    beacons: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/beacon":
            with self.lock:
                self.beacons.append(environ.get("QUERY_STRING", ""))
            start_response("204 No Content", [])
            return []
        if path == "/favicon.ico":
            start_response("204 No Content", [])
            return []
        if path != "/files":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        event = environ["postback.event"]
        if event is not None:
            with self.lock:
                self.events.append((event.target, event.argument))
            headers, body = ANSWERS[event.argument]
            status = "204 No Content" if event.argument == "nothing" else "200 OK"
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            return [body]
        links = [(f'<a href="#" id="{how}-{kind}" data-postback="get" '
                  f'data-postback-argument="{kind}">{how} {kind}</a>') for kind in ANSWERS
                 for how in ("partial", "full")]
        page = PAGE.format(partial_links="".join(x for x in links if 'id="partial' in x),
                           full_links="".join(x for x in links if 'id="full' in x))
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page.encode()]


@pytest.fixture(scope="module")
def server(serve: Any) -> Iterator[tuple[FilesApp, str]]:
    inner = FilesApp()
    with serve(PostbackMiddleware(inner, secret_keys=[new_key()])) as base_url:
        yield inner, base_url


@pytest.fixture
def app(server: tuple[FilesApp, str]) -> FilesApp:
    server[0].events.clear()
    server[0].beacons.clear()
    return server[0]


@pytest.fixture
def page(browser_page: Any, server: tuple[FilesApp, str], app: FilesApp) -> Any:
    browser_page.goto(server[1] + "/files")
    return browser_page



def cookie_names(page: Any) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


def partial_answer(page: Any, selector: str, kinds: tuple[str, ...] = ("replay",)) -> Any:
    """Click; return the answer to the partial postback (its kind checked)."""
    with page.expect_response(lambda r: "x-postback-panels" in r.request.headers) as response:
        page.click(selector)
    assert response.value.headers["x-postback-partial"] in kinds
    return response.value


def test_html_attachment_is_downloaded_and_never_runs(
    page: Any, app: FilesApp, browser_log: Any, server: Any
) -> None:
    results = {}
    for how in ("partial", "full"):
        page.goto(server[1] + "/files")
        with page.expect_download() as download:
            if how == "partial":
                partial_answer(page, "#partial-attachment")
            else:
                page.click("#full-attachment")
        path = download.value.path()
        with open(path, "rb") as saved:
            results[how] = (download.value.suggested_filename, saved.read())
        assert page.url == server[1] + "/files"  # the page stays
    _, body = ANSWERS["attachment"]
    assert results["partial"] == results["full"] == ("report.html", body)
    page.wait_for_timeout(300)
    assert app.beacons == []  # the attachment's script never ran
    assert "ran" not in cookie_names(page)
    assert app.events == [("get", "attachment")] * 2  # once per click: never posted again
    assert [p for p in browser_log.problems() if "download" not in p.lower()] == []


def test_svg_with_a_script_ends_exactly_as_a_full_postback(
    page: Any, app: FilesApp, browser_log: Any, server: Any
) -> None:
    seen = {}
    for how in ("partial", "full"):
        page.goto(server[1] + "/files")
        app.beacons.clear()
        with page.expect_navigation(url=server[1] + "/files"):
            if how == "partial":
                partial_answer(page, "#partial-svg")
            else:
                page.click("#full-svg")
        expect(page.locator("#r")).to_be_attached()
        page.wait_for_timeout(300)
        seen[how] = (
            page.url,
            page.evaluate("() => [document.contentType, document.documentElement.localName,"
                          " location.protocol]"),
            list(app.beacons),
        )
    # Not a blob: page of ours: the very document, URL and behaviour of the full postback.
    assert seen["partial"] == seen["full"] == (
        server[1] + "/files", ["image/svg+xml", "svg", "http:"], ["svg"]
    )
    assert app.events == [("get", "svg")] * 2
    assert browser_log.problems() == []


def test_pdf_ends_as_the_full_postback_does(
    page: Any, app: FilesApp, browser_log: Any, server: Any
) -> None:
    results = {}
    for how in ("partial", "full"):
        page.goto(server[1] + "/files")
        # Chromium opens it in its PDF viewer, as the document at the postback's URL.
        with page.expect_response(
            lambda r: r.request.is_navigation_request()
            and (r.headers.get("content-type") or "").startswith("application/pdf")
        ) as response:
            if how == "partial":
                partial_answer(page, "#partial-pdf")
            else:
                page.click("#full-pdf")
        pdf = response.value
        results[how] = (pdf.url, pdf.request.method, pdf.status, pdf.headers["content-type"])
        page.wait_for_timeout(300)
        assert page.url == server[1] + "/files"
    assert results["partial"] == results["full"] == (
        server[1] + "/files", "POST", 200, "application/pdf"
    )
    assert app.events == [("get", "pdf")] * 2
    assert browser_log.problems() == []


def test_csp_sandbox_answer_stays_sandboxed(
    page: Any, app: FilesApp, browser_log: Any, server: Any
) -> None:
    seen = {}
    for how in ("partial", "full"):
        page.goto(server[1] + "/files")
        with page.expect_navigation(url=server[1] + "/files"):
            if how == "partial":
                partial_answer(page, "#partial-sandboxed")
            else:
                page.click("#full-sandboxed")
        expect(page.locator("#s")).to_have_text("sandboxed")
        page.wait_for_timeout(300)
        seen[how] = (page.url, page.evaluate("() => origin"))
    assert seen["partial"] == seen["full"] == (server[1] + "/files", "null")  # opaque origin
    assert app.beacons == []  # the script ran in neither
    assert "ran" not in cookie_names(page)
    assert app.events == [("get", "sandboxed")] * 2
    # Chromium reports the blocked scripts (once per page); nothing else.
    assert [p for p in browser_log.problems() if "sandboxed" not in p] == []


def test_replay_is_refused_once_tampered_and_the_app_is_not_called(
    page: Any, app: FilesApp, browser_log: Any, server: Any
) -> None:
    # The page's script tampers with the body on its way back: the middleware refuses it.
    page.evaluate("""() => {
        const submit = HTMLFormElement.prototype.submit;
        HTMLFormElement.prototype.submit = function () {
            const body = this.querySelector('input[name=body]');
            if (body) body.value = btoa('<script>fetch("/beacon?forged")</' + 'script>');
            return submit.call(this);
        };
    }""")
    with page.expect_navigation():
        partial_answer(page, "#partial-svg")
    # (Of another length than the signed body: refused before the body is read, as malformed.)
    assert "Bad request." in page.inner_text("body")
    assert app.beacons == []
    assert app.events == [("get", "svg")]


def test_no_content_keeps_the_page(
    page: Any, app: FilesApp, browser_log: Any, server: Any
) -> None:
    page.evaluate("() => { window.marker = 1; }")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 204):
        partial_answer(page, "#partial-nothing")  # replayed: the browser gets the 204 itself
    page.wait_for_timeout(300)
    assert navigations == []
    assert page.evaluate("() => window.marker") == 1  # the very same document
    assert app.events == [("get", "nothing")]
    assert browser_log.problems() == []
