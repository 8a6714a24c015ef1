"""HTTP helpers: every header read one way, the middleware's own replies, closing."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any
from urllib.parse import urlsplit

import pytest
import webtest

from postback_middleware import PostbackMiddleware
from postback_middleware.http import (
    ClosingIterable,
    accepts_coding,
    disagreeing,
    header,
    json_pieces,
    json_response,
    kept_apart,
    media_parameter,
    media_type,
    only_codings,
    origin_of,
    private_headers,
    request_media_type,
    text_response,
    without_query,
)

from .helpers import new_key

HEADERS = [("Content-Type", "Text/HTML; Charset=\"UTF-8\""), ("X-A", "1"), ("x-a", "2")]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("content-type", 'Text/HTML; Charset="UTF-8"', id="any-case"),
        pytest.param("X-A", "1", id="the-first-of-two"),
        pytest.param("X-Missing", None, id="missing"),
    ],
)
def test_header(name: str, value: str | None) -> None:
    assert header(HEADERS, name) == value


@pytest.mark.parametrize(
    ("headers", "twice"),
    [
        pytest.param([("Content-Type", "text/html")], None, id="once"),
        pytest.param([("Content-Type", "text/html; charset=utf-8"),
                      ("content-type", "Text/HTML;charset=UTF-8")], None, id="twice-alike"),
        pytest.param([("Content-Type", "text/html"), ("Content-Type", "text/plain")],
                     "content-type", id="twice-otherwise"),
        pytest.param([("X-A", "1"), ("X-A", "2")], None, id="a-header-not-asked-for"),
        pytest.param([("Content-Encoding", "gzip"), ("Content-Type", "text/html"),
                      ("Content-Encoding", "br")], "content-encoding", id="among-others"),
    ],
)
def test_disagreeing(headers: list[tuple[str, str]], twice: str | None) -> None:
    assert disagreeing(headers, ("content-type", "content-encoding")) == twice


@pytest.mark.parametrize(
    ("content_type", "mime", "charset"),
    [
        pytest.param('Text/HTML; Charset="UTF-8"', "text/html", "utf-8", id="quoted-any-case"),
        pytest.param("text/html", "text/html", None, id="no-parameters"),
        pytest.param(" application/xhtml+xml ;charset=latin1", "application/xhtml+xml",
                     "latin1", id="spaces"),
        pytest.param("text/html; charset=a; charset=b", "text/html", "b", id="twice-the-last"),
        pytest.param("", "", None, id="empty"),
        pytest.param(None, "", None, id="absent"),
    ],
)
def test_media_type_and_parameter(content_type: str | None, mime: str,
                                  charset: str | None) -> None:
    assert media_type(content_type) == mime
    assert media_parameter(content_type, "charset") == charset


def test_request_media_type() -> None:
    assert request_media_type({"CONTENT_TYPE": "Multipart/Form-Data; boundary=x"}) == (
        "multipart/form-data")
    assert request_media_type({}) == ""


@pytest.mark.parametrize(
    ("accept", "gzip"),
    [
        pytest.param("gzip, deflate", True, id="listed"),
        pytest.param("GZIP;q=0.5", True, id="case-and-quality"),
        pytest.param("gzip;q=0", False, id="refused"),
        pytest.param("gzip;q=0.000", False, id="refused-zeros"),
        pytest.param("gzip;q=x", False, id="bad-quality"),
        pytest.param("br", False, id="not-listed"),
        pytest.param("", False, id="empty"),
    ],
)
def test_accepts_coding(accept: str, gzip: bool) -> None:
    assert accepts_coding(accept, "gzip") is gzip


@pytest.mark.parametrize(
    ("accept", "narrowed"),
    [
        pytest.param("gzip, br, deflate", "gzip, deflate", id="br-dropped"),
        pytest.param("*", "identity", id="star-dropped"),
        pytest.param("br;q=1", "identity", id="nothing-left"),
        pytest.param("GZip;q=0.5", "GZip;q=0.5", id="kept-as-written"),
    ],
)
def test_only_codings(accept: str, narrowed: str) -> None:
    assert only_codings(accept, {"gzip", "deflate", "identity"}) == narrowed


def test_private_headers_of_a_page_without_caching_headers() -> None:
    headers = [("Content-Type", "text/html"), ("X-Other", "kept"), ("Set-Cookie", "a=1")]
    assert private_headers(headers) == [*headers, ("Cache-Control", "private"),
                                        ("Vary", "Cookie")]
    assert private_headers([("VARY", "cookie")]) == [("VARY", "cookie"),
                                                     ("Cache-Control", "private")]


def test_private_headers_keep_the_rest() -> None:
    headers = [("Cache-Control", "public, max-age=5"), ("Vary", "Accept-Encoding"),
               ("X-Other", "kept")]
    assert private_headers(headers) == [("Vary", "Accept-Encoding, Cookie"),
                                        ("X-Other", "kept"),
                                        ("Cache-Control", "private, max-age=5")]


@pytest.mark.parametrize("name", ["CDN-Cache-Control", "Cloudflare-CDN-Cache-Control",
                                  "Surrogate-Control", "Edge-Control", "X-Accel-Expires"])
def test_private_headers_drop_what_a_cdn_obeys_instead_of_cache_control(name: str) -> None:
    """(found by a red-team pass) A CDN that finds its own header ignores Cache-Control: it
    kept a page with one browser's tokens and gave it to everyone."""
    headers = [("Content-Type", "text/html"), (name, "max-age=600")]
    assert private_headers(headers) == [("Content-Type", "text/html"),
                                        ("Cache-Control", "private"), ("Vary", "Cookie")]


def test_private_headers_read_a_quoted_list_whole_and_an_empty_vary() -> None:
    """(found by a red-team pass: split inside its quotes, and ", Cookie")"""
    headers = [("Cache-Control", 'no-cache="Set-Cookie, X-Foo", max-age=60'), ("Vary", "")]
    assert private_headers(headers) == [("Vary", "Cookie"), ("Cache-Control",
                                        'private, no-cache="Set-Cookie, X-Foo", max-age=60')]


SENT = "Mon, 02 Jun 2025 10:00:00 GMT"  # (the app's Date: Expires is read against it)
DAY = 86400
FORM = '<html><head></head><body><form method="post"><button>Go</button></form></body></html>'
NO_FORM = "<html><head></head><body><p>no form, no tokens</p></body></html>"


@pytest.mark.parametrize(
    ("app_headers", "page", "renewal_window", "cache_control", "expires"),
    [
        pytest.param({"Cache-Control": "max-age=2592000"}, FORM, DAY, "private, max-age=86400",
                     None, id="max-age-above-the-cap-cut"),
        pytest.param({"Cache-Control": "max-age=600"}, FORM, DAY, "private, max-age=600", None,
                     id="max-age-below-the-cap-kept"),
        pytest.param({"Cache-Control": 'max-age="2592000"'}, FORM, DAY, "private, max-age=86400",
                     None, id="quoted-max-age-cut"),
        *[pytest.param({"Cache-Control": f"max-age={'9' * digits}"}, FORM, DAY,
                       "private, max-age=86400", None, id=f"max-age-of-{digits}-digits-cut")
          for digits in (19, 5000)],  # (past the 18 digits read as a number, past int()'s 4,300)
        pytest.param({"Cache-Control": "public, max-age=31536000, immutable"}, FORM, DAY,
                     "private, max-age=86400", None, id="immutable-dropped"),
        pytest.param({"Cache-Control": "s-maxage=2592000, max-age=60"}, FORM, DAY,
                     "private, max-age=60", None, id="s-maxage-dropped"),
        pytest.param({"Cache-Control": "no-store"}, FORM, DAY, "private, no-store", None,
                     id="no-store-untouched"),
        pytest.param({"Cache-Control": "no-cache, max-age=2592000"}, FORM, DAY,
                     "private, no-cache, max-age=86400", None, id="no-cache-kept-max-age-cut"),
        pytest.param({"Cache-Control": "max-age=80000, stale-while-revalidate=86400"}, FORM, DAY,
                     "private, max-age=80000, stale-while-revalidate=6400", None,
                     id="stale-while-revalidate-cut-to-what-is-left"),
        pytest.param({"Date": SENT, "Expires": "Wed, 02 Jul 2025 10:00:00 GMT"}, FORM, DAY,
                     "private", "Tue, 03 Jun 2025 10:00:00 GMT", id="expires-past-the-cap-cut"),
        pytest.param({"Date": SENT, "Expires": "Mon, 02 Jun 2025 10:10:00 GMT"}, FORM, DAY,
                     "private", "Mon, 02 Jun 2025 10:10:00 GMT", id="expires-within-the-cap-kept"),
        pytest.param({"Date": SENT, "Expires": "0"}, FORM, DAY, "private", "0",
                     id="expires-no-date-stays-expired"),
        pytest.param({"Date": SENT, "Cache-Control": "max-age=2592000",
                      "Expires": "Wed, 02 Jul 2025 10:00:00 GMT"}, FORM, DAY,
                     "private, max-age=86400", "Tue, 03 Jun 2025 10:00:00 GMT",
                     id="max-age-and-expires-both-cut"),
        pytest.param({"Cache-Control": "max-age=86400"}, FORM, 0, "private, max-age=3600", None,
                     id="without-renewal-max-age-is-the-cap"),
        pytest.param({"Cache-Control": "public, max-age=2592000, immutable",
                      "Expires": "Wed, 02 Jul 2025 10:00:00 GMT"}, NO_FORM, DAY,
                     "public, max-age=2592000, immutable", "Wed, 02 Jul 2025 10:00:00 GMT",
                     id="page-without-tokens-untouched"),
    ],
)
def test_a_page_with_tokens_is_fresh_no_longer_than_its_tokens_live(
    app_headers: dict[str, str], page: str, renewal_window: int, cache_control: str,
    expires: str | None,
) -> None:
    """(found by a red-team pass) The app's month-long max-age (or immutable) stayed on a page
    whose tokens are refused after max_age, and renewed only within renewal_window: a browser
    showed its copy, and the form failed. Through the middleware (max_age 1 h)."""
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  *app_headers.items()])
        return [page.encode()]

    wrapped = PostbackMiddleware(app, secret_keys=[new_key()], max_age=3600,
                                 renewal_window=renewal_window)
    response = webtest.TestApp(wrapped).get("/")
    assert (b"__VIEWSTATE" in response.body) == (page == FORM)
    assert response.headers.getall("Cache-Control") == [cache_control]
    assert response.headers.get("Expires") == expires


def start_response_recorder(seen: list[Any]) -> Any:
    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append((status, headers))

    return start_response


def test_text_and_json_responses_are_never_cached() -> None:
    seen: list[Any] = []
    body = text_response(start_response_recorder(seen), "403 Forbidden", "nö", [("X-A", "1")])
    assert body == ["nö".encode()]
    assert seen[-1] == ("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8"),
                                          ("Content-Length", "3"),
                                          ("Cache-Control", "no-store"), ("X-A", "1")])
    body = json_response(start_response_recorder(seen), {"a": "é"}, [("Set-Cookie", "c=1")])
    assert json.loads(b"".join(body)) == {"a": "é"}
    status, headers = seen[-1]
    assert status == "200 OK" and headers[0] == ("Set-Cookie", "c=1")
    assert header(headers, "Cache-Control") == "no-store"
    assert header(headers, "Content-Length") == str(len(b"".join(body)))


# Past a slice, escapes across its cuts.
_LONG = "<div class=\"row\">é & \u2028 \\ \x00</div>\n" * 3000


@pytest.mark.parametrize("orjson", [True, False], ids=["orjson", "json-module"])
@pytest.mark.parametrize(("payload", "pieces"), [
    pytest.param({"version": 1, "fields": {"__VIEWSTATE": "x"}}, 1, id="short"),
    pytest.param({"version": 1, "panels": {"p": _LONG, "q": "a"}, "forms": [{"a": "b"}]}, 8,
                 id="a-long-panel"),
    pytest.param({"panels": {"p": [0, _LONG, 2, "x"]}}, 8, id="a-long-piece-of-a-panel"),
    pytest.param({"a": [], "b": {}, "c": [_LONG], "d": {1: _LONG}}, 8, id="empty-and-int-keys"),
    pytest.param({"panels": {"p": [0] * 256}}, 1, id="a-list-of-256-at-once"),
    pytest.param({"panels": {"p": [0] * 257}}, 4, id="a-list-of-257-in-slices"),
    pytest.param({"panels": {"p": [*range(1000), "<b>x</b>", 7]}}, 6, id="a-long-list"),
    pytest.param({"p": [*range(600), _LONG, "x", [1] * 300]}, 10, id="long-lists-and-strings"),
    pytest.param({"p": [1.5, True, None, -2, "short", {"q": _LONG}]}, 8,
                 id="numbers-and-a-long-string-in-a-dict-in-a-list"),
    pytest.param({"p": [True, None, 0.5] * 100}, 4, id="a-long-list-of-other-numbers"),
    pytest.param({"p": [[_LONG], ["a"] * 300, {"x": 1}]}, 8, id="lists-in-a-list"),
])
def test_json_with_long_strings_comes_in_slices_that_join_to_the_same(
    monkeypatch: pytest.MonkeyPatch, payload: dict[str, Any], pieces: int, orjson: bool
) -> None:
    """A JSON answer holding a long string (a partial answer's panel) or a long list (its
    children) is written a slice at a time and sent in pieces (orjson would reserve 8 bytes a
    character of the string, some 190 an item of the list, and the joined answer be a copy
    more): joined, the same bytes as one call writes."""
    from postback_middleware import http

    if not orjson:
        monkeypatch.setattr(http, "orjson", None)
    written = json_pieces(payload)
    assert len(written) >= pieces
    assert b"".join(written) == http._json(payload)
    assert json.loads(b"".join(written)) == json.loads(json.dumps(payload))


def test_a_long_list_in_json_takes_about_its_size() -> None:
    """The 87,000 indices of a panel's children: orjson's answer for them at once keeps 16 MB
    for 174 KB of JSON; written in slices, each copied to its size, they take about that."""
    payload = {"version": 1, "panels": {"p": [0] * 87_000}}
    tracemalloc.start()
    try:
        written = json_pieces(payload)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    size = sum(map(len, written))
    assert size == len(b"{\"version\":1,\"panels\":{\"p\":[]}}") + 2 * 87_000 - 1
    assert held < 3 * size


def test_closing_iterable_closes_the_inner_one_then_cleans_up() -> None:
    order: list[str] = []

    class Inner(list[bytes]):
        def close(self) -> None:
            order.append("inner")

    wrapped = ClosingIterable(Inner([b"a", b"b"]), lambda: order.append("cleanup"))
    assert b"".join(wrapped) == b"ab"
    wrapped.close()
    assert order == ["inner", "cleanup"]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        pytest.param("http://Shop.Example/x", ("http", "shop.example", 80), id="default-port"),
        pytest.param("https://shop.example:8443", ("https", "shop.example", 8443), id="port"),
        pytest.param("HTTPS://[::1]/", ("https", "::1", 443), id="ipv6-upper-scheme"),
        pytest.param("ftp://shop.example/", None, id="not-http"),
        pytest.param("http:///nohost", None, id="no-host"),
        pytest.param("http://[::1", None, id="unparseable"),
        pytest.param("http://shop.example:99999/", None, id="port-out-of-range"),
    ],
)
def test_origin_of(url: str, origin: tuple[str, str, int] | None) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(("url", "kept"), [
    pytest.param("http://shop.example/cart/view?id=3#top", "http://shop.example/cart/view",
                 id="query-and-fragment"),
    pytest.param("http://shop.example/p#f?x", "http://shop.example/p", id="a-fragment-first"),
    pytest.param("http://shop.example?q=1", "http://shop.example", id="no-path"),
    pytest.param("/admin/users/17/delete/", "/admin/users/17/delete/", id="a-path-alone"),
])
def test_without_query_is_what_the_parser_reads_before_them(url: str, kept: str) -> None:
    assert without_query(url) == kept
    assert urlsplit(without_query(url))[:3] == urlsplit(url)[:3]


@pytest.mark.parametrize(
    ("headers", "in_origin"),
    [
        pytest.param([("Content-Type", "text/html")], True, id="plain-page"),
        pytest.param([("Content-Disposition", "inline; filename=a.html")], True, id="inline"),
        pytest.param([("Content-Security-Policy", "default-src 'self'")], True,
                     id="the-sites-own-csp"),
        pytest.param([("Content-Security-Policy", "default-src 'none'; sandbox-x")], True,
                     id="no-sandbox-directive"),
        pytest.param([("Content-Security-Policy-Report-Only", "sandbox")], True,
                     id="report-only-sandbox-enforces-nothing"),
        pytest.param([("Content-Disposition", "attachment")], False, id="download"),
        pytest.param([("Content-Disposition", "Attachment; filename=a.html")], False,
                     id="download-in-capitals"),
        pytest.param([("Content-Disposition", "x-unknown")], False, id="unknown-disposition"),
        pytest.param([("Content-Disposition", "inline"), ("Content-Disposition", "attachment")],
                     False, id="download-second"),
        pytest.param([("Content-Disposition", "inline"), ("Content-Disposition", "Inline")],
                     True, id="inline-twice"),
        pytest.param([("Content-Security-Policy", "sandbox")], False, id="csp-sandbox"),
        pytest.param([("Content-Security-Policy", "script-src 'self'; SANDBOX allow-scripts")],
                     False, id="csp-sandbox-among-directives"),
        pytest.param([("Content-Security-Policy", "script-src 'self'"),
                      ("Content-Security-Policy", "sandbox")], False, id="csp-sandbox-second"),
        pytest.param([("Content-Security-Policy", "script-src 'self', sandbox")], False,
                     id="csp-sandbox-in-a-joined-policy"),
    ],
)
def test_pages_the_app_keeps_out_of_its_origin(headers: list[tuple[str, str]],
                                               in_origin: bool) -> None:
    """A download or a sandbox: neither edited nor written into a page by a partial postback."""
    assert kept_apart(headers) is not in_origin
