"""What a partial postback and a callback cost, beside a full postback and a page GET.

Usage: .venv/bin/python benchmarks/round_trips.py [--quick]

Issue #18, point 3: *a partial answer costs at most 1.2x the full page's rewrite (no second
decode or scan), and a callback at most 1/3 of a page GET.* Measured in this process through
the middleware's public WSGI interface, on a family of page shapes from ``shapes.py``: each page
gets an update panel (the first ``<tbody>`` becomes ``<tbody id="panel"
data-update-panel>``) and its first post form offers the callback ``CallServer``
(``data-callbacks``). The inner app returns the page as it is (a list with its
``Content-Length``), so what is timed is the middleware's work; the registry's callback answers
with a short string, as the seed article's does.

Per shape, CPU time per request (fastest of interleaved rounds):

* **GET**: the page, edited (fresh tokens, the script);
* **full**: a verified postback of one of the panel's events (``__EVENTTARGET`` and
  ``__EVENTARGUMENT`` of a row), answered with the whole edited page;
* **partial**: the same postback sent from inside the panel (``X-Postback-Panels: panel``), as
  the client sends it for a panel of more children than its digest budget (``postback.js``:
  6,000 characters, some 260 children) or without ``crypto.subtle``: answered with the whole
  panel and the fresh fields;
* **children**: the same, as the client sends it for a smaller panel: with the digests of the
  children it has (``X-Postback-Children``; none when past the budget, then it is the partial
  request again), answered with the indexes of the children that did not change;
* **callback**: ``__CALLBACKID=CallServer`` with the form's tokens, answered by the registry.

The targets: partial / full at most 1.2 (both partial columns); callback / GET at most 1/3.
Each request is checked (status, the partial answer's header, the callback's result) before it
is timed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import itertools
import logging
import re
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import PATH, buffered_app, call, fmt, machine, make_environ, measure, verdict
from pages import realistic_page
from shapes import gridview, target_per_row

from postback_middleware import PostbackMiddleware, Registry
from postback_middleware.html_scan import top_level_cuts

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

PARTIAL_LIMIT = 1.2  # partial / full
CALLBACK_LIMIT = 1 / 3  # callback / GET
HIDDEN = re.compile(rb'<input type="hidden" name="(__\w+)"(?: id="\1")? value="([^"]*)"')
EVENT = re.compile(rb'data-postback="([^"]+)" data-postback-argument="([^"]*)"')
FORM = re.compile(rb'<form method="post" action="([^"]*)"[^>]*data-callbacks="CallServer">')
RESULT = "Calling server was successful"
PANEL = re.compile(rb'<tbody id="panel" data-update-panel>(.*?)</tbody>', re.S)
CHILDREN_BUDGET, DIGEST_CHARS = 6000, 23  # postback.js: the header's budget, a digest and ","


@dataclass(frozen=True)
class Shape:
    name: str
    page: bytes


def with_panel(page: bytes) -> bytes:
    """The page with an update panel (its first table's ``<tbody>``) and a callback on its
    first post form: the two things a partial postback and a callback need."""
    panel = b'<tbody id="panel" data-update-panel>'
    if b"<tbody>" in page:
        page = page.replace(b"<tbody>", panel, 1)
    else:  # (a GridView writes its rows straight into the table: HTML implies the tbody)
        table = re.search(rb"<table[^>]*>", page)
        assert table is not None, "a shape without a grid"
        depth, end = 1, table.end()
        for tag in re.finditer(rb"<table\b|</table>", page[table.end():]):  # (nested tables)
            depth += 1 if tag.group() == b"<table" else -1
            if not depth:
                end += tag.start()
                break
        page = (page[:table.end()] + panel + page[table.end():end] + b"</tbody>"
                + page[end:])
    form = re.search(rb'<form method="post" action=[^>]*>', page)  # (not the one in a comment)
    assert form is not None, "a shape without a post form"
    tag = form.group()
    return page.replace(tag, tag[:-1] + b' data-callbacks="CallServer">', 1)


def family() -> list[Shape]:
    return [
        Shape("realistic", with_panel(realistic_page())),
        Shape("target-per-row", with_panel(target_per_row())),
        Shape("gridview-data", with_panel(gridview(aspnet=False))),
        Shape("realistic-1mb", with_panel(realistic_page(1024 * 1024, forms=12,
                                                          postbacks=5000))),
    ]


def middleware(page: bytes) -> WSGIApplication:
    registry = Registry()

    @registry.callback("CallServer")
    def call_server(argument: str, request: Any) -> str:
        return f"{RESULT}. The passed argument was {argument}."

    return PostbackMiddleware(buffered_app(page), secret_keys=[secrets.token_urlsafe(48)],
                              registry=registry)


class Client:
    """One browser: its cookie, and the first form's fields of the page it got."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        status, headers, body = self.request(make_environ())
        assert status.startswith("200"), status
        cookie = next(v for k, v in headers if k.lower() == "set-cookie")
        self.cookie = cookie.split(";")[0]
        form_tag = FORM.search(body)
        assert form_tag is not None
        action = urljoin(PATH, form_tag.group(1).decode())
        self.path, _, self.query = action.partition("?")
        form = body[form_tag.end():body.index(b"</form>", form_tag.end())]
        self.fields = {k.decode(): v.decode() for k, v in HIDDEN.findall(form)}
        event = EVENT.search(body, body.index(b"data-update-panel"))
        assert event is not None
        self.event = event.group(1).decode(), event.group(2).decode()
        panel = PANEL.search(body)
        assert panel is not None
        self.children = children_header(panel.group(1))

    def request(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        return call(self.app, environ)

    def poster(self, fields: dict[str, str], headers: dict[str, str] | None = None
               ) -> Callable[[], tuple[str, list[tuple[str, str]], bytes]]:
        """A POST of the form's fields and ``fields``, its body encoded once (what is timed is
        the server's work)."""
        data = urlencode({**self.fields, **fields}).encode()
        environ = {**make_environ(), "REQUEST_METHOD": "POST", "PATH_INFO": self.path,
                   "QUERY_STRING": self.query, "HTTP_COOKIE": self.cookie,
                   "CONTENT_TYPE": "application/x-www-form-urlencoded",
                   "CONTENT_LENGTH": str(len(data))}
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        return lambda: self.request({**environ, "wsgi.input": io.BytesIO(data)})


def children_header(markup: bytes) -> str:
    """``X-Postback-Children`` for a panel holding ``markup``, as ``postback.js`` makes it: the
    digest of each child (the first 16 bytes of the SHA-256 of its markup, base64url), or "-"
    past the budget. The children are the panel's top-level pieces (elements and text runs,
    as the browser's ``childNodes`` serialize on this generated markup)."""
    cuts = top_level_cuts(markup)
    pieces = [markup[a:b] for a, b in itertools.pairwise(cuts) if b > a]
    if len(pieces) * DIGEST_CHARS > CHILDREN_BUDGET:
        return "-"
    return ",".join(base64.urlsafe_b64encode(hashlib.sha256(piece).digest()[:16])
                    .rstrip(b"=").decode() for piece in pieces)


def requests(client: Client) -> dict[str, Callable[[], object]]:
    """The four requests, each checked once before it is timed."""
    target, argument = client.event
    event = {"__EVENTTARGET": target, "__EVENTARGUMENT": argument}
    callback = {"__CALLBACKID": "CallServer", "__CALLBACKPARAM": "42"}
    calls: dict[str, Callable[[], tuple[str, list[tuple[str, str]], bytes]]] = {
        "GET": lambda: client.request({**make_environ(), "HTTP_COOKIE": client.cookie}),
        "full": client.poster(event),
        "partial": client.poster(event, {"X-Postback-Panels": "panel"}),
        "children": client.poster(event, {"X-Postback-Panels": "panel",
                                          "X-Postback-Children": client.children}),
        "callback": client.poster(callback),
    }
    for name, request in calls.items():
        status, headers, body = request()
        assert status.startswith("200"), (name, status, body[:300])
        named = {k.lower(): v for k, v in headers}
        if name in ("partial", "children"):
            assert named.get("x-postback-partial") == "panels", (headers, body[:300])
        if name == "children" and client.children != "-":  # (the rows are the same)
            assert body.startswith(b'{"version":1,"panels":{"panel":[0,'), body[:300]
        if name == "callback":
            assert RESULT.encode() in body, body[:300]
        if name in ("GET", "full"):
            assert b'name="__VIEWSTATE"' in body
    return dict(calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    args = parser.parse_args(argv)
    logging.getLogger("postback_middleware").setLevel(logging.ERROR)
    repeat, seconds = (3, 0.03) if args.quick else (7, 0.07)
    print("postback-middleware round trips: partial postbacks and callbacks (issue #18, point 3)")
    print(machine())
    print(f"each figure: CPU time per request, fastest of {repeat} interleaved rounds; "
          "the inner app returns the page as it is")
    print()
    print(f"{'shape':<16}{'KB':>7}{'GET':>12}{'full':>12}{'partial':>12}{'children':>16}"
          f"{'callback':>12}{'partial/full':>14}{'children/full':>15}{'callback/GET':>14}")
    misses = 0
    for shape in family():
        client = Client(middleware(shape.page))
        best = measure(requests(client), repeat=repeat, round_seconds=seconds)
        partial = best["partial"] / best["full"]
        children = best["children"] / best["full"]
        callback = best["callback"] / best["GET"]
        ok = partial <= PARTIAL_LIMIT, children <= PARTIAL_LIMIT, callback <= CALLBACK_LIMIT
        misses += ok.count(False)
        sent = "" if client.children != "-" else " (-)"  # (past the budget: no digests)
        print(f"{shape.name:<16}{len(shape.page) / 1024:>7.1f}"
              f"{fmt(best['GET']):>12}{fmt(best['full']):>12}{fmt(best['partial']):>12}"
              f"{fmt(best['children']).strip() + sent:>16}{fmt(best['callback']):>12}"
              f"{partial:>9.2f} {verdict(ok[0])}{children:>10.2f} {verdict(ok[1])}"
              f"{callback:>9.2f} {verdict(ok[2])}")
    print()
    print(f"targets: partial/full and children/full <= {PARTIAL_LIMIT}, callback/GET <= "
          f"{CALLBACK_LIMIT:.2f}; {misses} MISS; (-): a panel past the client's digest budget "
          "gets no digests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
