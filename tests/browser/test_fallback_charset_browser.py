"""A partial postback's page answer is decoded as the browser decodes the page (Chromium).

A partial postback answered by a page without the panel (``X-Postback-Partial: fallback``) is
written into the document by the client script, which decodes its bytes itself. It used the
header's charset, else UTF-8: a page whose encoding comes from its byte order mark (UTF-16, the
header without a charset) or from its ``<meta charset>`` (ISO-2022-JP) was read as UTF-8, and
text the app had escaped correctly became markup: a user's comment of CJK characters whose
bytes spell ``<img src=x onerror=...>`` ran as script in the origin, where the full postback
showed it as text. The client now decodes as WHATWG says (BOM, header, ``<meta>``, UTF-8);
here the same comment, partially and fully posted back, reads the same and runs nothing.
"""

from __future__ import annotations

import codecs
import html
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from ..helpers import new_key
from .assertions import expect

pytestmark = pytest.mark.browser

SCRIPT = b"<img src=x onerror=document.title='ran'>"
# Comments whose characters, in the page's encoding, are those bytes read as UTF-8.
UTF16_COMMENT = SCRIPT.decode("utf-16-le")
JIS_COMMENT = b"\x1b$B0<img/\x1b(B".decode("iso2022_jp") + " src=x onerror=document.title='ran' "


def result(comment: str, meta: str = "") -> str:
    return (f"<!DOCTYPE html><html><head>{meta}<title>result</title></head><body>"
            f'<p id="comment">{html.escape(comment)}</p></body></html>')


ANSWERS: dict[str, tuple[str, Callable[[], bytes]]] = {
    # (comment, the answer's bytes); both served as "text/html", no charset in the header
    "utf-16-bom": (UTF16_COMMENT,
                   lambda: codecs.BOM_UTF16_LE + result(UTF16_COMMENT).encode("utf-16-le")),
    "iso-2022-jp-meta": (JIS_COMMENT, lambda: result(
        JIS_COMMENT, '<meta charset="iso-2022-jp">').encode("iso2022_jp")),
}

PAGE = b"""<!DOCTYPE html><html><head><meta charset=utf-8><title>page</title></head><body>
<form method="post" id="main"><div id="panel" data-update-panel>
  <a href="#" id="partial" data-postback="Next">next (partial)</a>
</div><a href="#" id="full" data-postback="Next">next (full)</a></form></body></html>"""


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    kind = environ["PATH_INFO"].strip("/")
    if kind not in ANSWERS:
        start_response("204 No Content", [])
        return []
    if environ.get("postback.event") is not None:  # a page without the panel: "fallback"
        start_response("200 OK", [("Content-Type", "text/html")])
        return [ANSWERS[kind][1]()]
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [PAGE]


@pytest.fixture(scope="module")
def base_url(serve: Any) -> Iterator[str]:
    with serve(PostbackMiddleware(app, secret_keys=[new_key()])) as url:
        yield url


@pytest.mark.parametrize("kind", sorted(ANSWERS))
@pytest.mark.parametrize("how", ["partial", "full"])
def test_the_answer_reads_as_the_browser_reads_it_and_runs_nothing(
    browser_page: Any, base_url: str, kind: str, how: str
) -> None:
    browser_page.goto(f"{base_url}/{kind}/")
    browser_page.wait_for_function("typeof Postback === 'object'")  # the deferred script ran
    if how == "partial":
        with browser_page.expect_response(
                lambda r: "x-postback-panels" in r.request.headers) as answer:
            browser_page.click("#partial")
        assert answer.value.headers["x-postback-partial"] == "fallback"
    else:
        with browser_page.expect_navigation():
            browser_page.click("#full")
    expect(browser_page.locator("#comment")).to_have_text(ANSWERS[kind][0].strip())
    browser_page.wait_for_timeout(300)  # (an image's error event would have fired by now)
    assert browser_page.title() == "result"
