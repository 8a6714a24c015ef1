"""Cross-site forgery: tokens verify only in their browser, and other sites' requests are refused.

Each test is what an attacker would try against the documented setup (a key and nothing else).
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable
from typing import Any

import pytest
import webtest

from postback_middleware import PostbackMiddleware, Registry
from postback_middleware.csrf import (
    COOKIE_MAX_AGE,
    PLAIN_COOKIE,
    SECURE_COOKIE,
    check_site,
    parse_origin,
    read_browser,
)
from postback_middleware.errors import CrossSite

from .helpers import PAGE, RecordingApp, hidden_fields, new_key

AppFactory = Callable[..., webtest.TestApp]
COOKIE_TEXT = "This form needs cookies"


def page_fields(app: webtest.TestApp, path: str = "/orders") -> dict[str, str]:
    return hidden_fields(app.get(path).body)


def event_post(fields: dict[str, str], target: str = "delete", argument: str = "7",
               **extra: str) -> dict[str, str]:
    return {"__EVENTTARGET": target, "__EVENTARGUMENT": argument,
            "__VIEWSTATE": fields["__VIEWSTATE"],
            "__EVENTVALIDATION": fields["__EVENTVALIDATION"], **extra}


@pytest.fixture
def ran() -> list[str]:
    """What the registered handlers did: an attack succeeds iff something lands here."""
    return []


@pytest.fixture
def handlers(registry: Registry, ran: list[str]) -> Registry:
    registry.add_postback("delete", lambda event, request: ran.append("delete:" + event.argument))
    registry.add_callback("CallServer", lambda argument, request: ran.append("call") or "ok")
    return registry


# -- the browser's cookie -----------------------------------------------------------------------


def test_the_first_page_sets_a_secret_httponly_cookie(app: webtest.TestApp) -> None:
    response = app.get("/orders")
    (cookie,) = [c for c in response.headers.getall("Set-Cookie") if c.startswith(PLAIN_COOKIE)]
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    assert len(name_value.partition("=")[2]) == 43  # 32 random bytes
    assert set(attributes) == {"Path=/", f"Max-Age={COOKIE_MAX_AGE}", "HttpOnly",
                               "SameSite=Lax"}
    # The page's tokens do not contain it.
    assert name_value.partition("=")[2] not in response.text
    # A browser that has it is not given another.
    assert "Set-Cookie" not in app.get("/orders").headers


def test_over_https_the_cookie_is_host_prefixed_and_secure(app: webtest.TestApp) -> None:
    response = app.get("/orders", extra_environ={"wsgi.url_scheme": "https",
                                                 "HTTP_HOST": "shop.example"})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(SECURE_COOKIE + "=") and "; Secure" in cookie
    assert "Domain" not in cookie and "Path=/" in cookie


def test_tokens_copied_by_another_browser_are_refused(
    make_app: AppFactory, handlers: Registry, ran: list[str], inner: RecordingApp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The attack of the issue: fetch the page yourself, make the victim post its tokens."""
    attacker, victim = make_app(), make_app()
    victim.get("/orders")  # the victim has a cookie of its own
    stolen = page_fields(attacker)
    calls = len(inner.calls)
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        victim.post("/orders", event_post(stolen), status=403)
        victim.post("/orders", {"__CALLBACKID": "CallServer", "__CALLBACKPARAM": "x",
                                "__EVENTVALIDATION": stolen["__EVENTVALIDATION"]}, status=403)
    assert ran == [] and len(inner.calls) == calls
    assert "another user or browser" in caplog.text
    # ...while the attacker's own browser may use them, as always.
    attacker.post("/orders", event_post(stolen))
    assert ran == ["delete:7"]


def test_without_the_cookie_the_refusal_says_to_allow_cookies(
    make_app: AppFactory, handlers: Registry, ran: list[str],
) -> None:
    app = make_app()
    fields = page_fields(app)
    app.reset()  # the browser forgot (or never kept) its cookies
    response = app.post("/orders", event_post(fields), status=403)
    assert response.text.startswith(COOKIE_TEXT)
    assert response.headers["Cache-Control"] == "no-store"
    assert ran == []


def test_a_cookie_sent_twice_is_refused(make_app: AppFactory, handlers: Registry,
                                        ran: list[str]) -> None:
    """Over plain http a sibling subdomain can plant a second cookie of the same name."""
    app = make_app()
    fields = page_fields(app)
    mine = app.cookies[PLAIN_COOKIE]
    planted = "A" * 43
    app.reset()
    app.post("/orders", event_post(fields), status=400,
             headers={"Cookie": f"{PLAIN_COOKIE}={planted}; {PLAIN_COOKIE}={mine}"})
    app.post("/orders", event_post(fields), status=400,
             headers={"Cookie": f"{PLAIN_COOKIE}={mine}; {PLAIN_COOKIE}={planted}"})
    assert ran == []


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        pytest.param("A" * 43, True, id="well-formed"),
        pytest.param("A" * 42, False, id="short"),
        pytest.param("A" * 44, False, id="long"),
        pytest.param("A" * 42 + "!", False, id="bad-character"),
        pytest.param("", False, id="empty"),
        pytest.param('"' + "A" * 43 + '"', True, id="quoted"),
    ],
)
def test_malformed_cookies_are_replaced(value: str, sent: bool) -> None:
    browser = read_browser({"HTTP_COOKIE": f"other=1; {PLAIN_COOKIE}={value}"})
    assert browser.sent is sent
    assert (browser.id == value.strip('"')) is sent


def test_a_new_browser_gets_one_fresh_id_made_when_first_needed() -> None:
    browser, other = read_browser({}), read_browser({})
    assert browser.id == browser.id and browser.binding == "browser:" + browser.id
    assert len(browser.id) == 43 and browser.id != other.id
    assert browser.set_cookie() == ("Set-Cookie", f"{PLAIN_COOKIE}={browser.id}; Path=/; "
                                    f"Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax")
    assert browser.id not in repr(browser)  # (the browser's secret is never logged)
    # Sent back, it is read as the browser's own (the format old cookies have too).
    assert read_browser({"HTTP_COOKIE": f"{PLAIN_COOKIE}={browser.id}"}).sent


def test_fresh_ids_are_never_handed_out_twice_and_use_the_whole_alphabet() -> None:
    ids = [read_browser({}).id for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    # Every character drawn from all 64 (the last one too: 258 random bits, not 256).
    assert {value[-1] for value in ids} == set(string.ascii_letters + string.digits + "-_")


def test_a_user_key_binds_instead_of_the_cookie(make_app: AppFactory, handlers: Registry,
                                                ran: list[str]) -> None:
    app = make_app(user_key=lambda environ: environ.get("HTTP_X_USER"))
    alice = {"X-User": "alice"}
    fields = hidden_fields(app.get("/orders", headers=alice).body)
    app.reset()  # a user-bound token needs no browser cookie...
    app.post("/orders", event_post(fields), headers=alice)
    assert ran == ["delete:7"]
    # ...and no other user's request verifies it.
    app.post("/orders", event_post(fields), headers={"X-User": "mallory"}, status=403)
    app.post("/orders", event_post(fields), status=403)
    assert ran == ["delete:7"]


@pytest.mark.parametrize("anonymous", [
    pytest.param(None, id="none"),
    # (environ.get("REMOTE_USER", ""): every anonymous visitor would share one binding)
    pytest.param("", id="an-empty-string"),
])
def test_an_anonymous_user_is_bound_to_the_browser(make_app: AppFactory, handlers: Registry,
                                                    ran: list[str], anonymous: str | None) -> None:
    """user_key returning None or "" (not logged in) must not leave tokens unbound, nor
    bound to everyone who is not."""
    attacker, victim = (make_app(user_key=lambda environ: anonymous) for _ in range(2))
    victim.get("/orders")
    victim.post("/orders", event_post(page_fields(attacker)), status=403)
    assert ran == []
    victim.post("/orders", event_post(page_fields(victim)))  # (the browser's own: verified)
    assert ran == ["delete:7"]


# -- Fetch Metadata and Origin ------------------------------------------------------------------


def environ(**headers: str) -> dict[str, Any]:
    return {"wsgi.url_scheme": "http", "HTTP_HOST": "shop.example:8080", **{
        "HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}}


TRUSTED = {parse_origin("https://admin.example")}


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        pytest.param({}, False, id="no-headers-old-client"),
        pytest.param({"Sec-Fetch-Site": "same-origin"}, False, id="same-origin"),
        pytest.param({"Sec-Fetch-Site": "none"}, False, id="typed-url"),
        pytest.param({"Sec-Fetch-Site": "cross-site"}, True, id="cross-site"),
        pytest.param({"Sec-Fetch-Site": "same-site"}, True, id="sibling-subdomain-or-port"),
        pytest.param({"Sec-Fetch-Site": "Cross-Site"}, True, id="cross-site-case"),
        pytest.param({"Sec-Fetch-Site": "bogus"}, True, id="unknown-value"),
        pytest.param({"Origin": "http://shop.example:8080"}, False, id="own-origin"),
        pytest.param({"Origin": "HTTP://SHOP.EXAMPLE:8080"}, False, id="own-origin-case"),
        pytest.param({"Origin": "http://evil.example"}, True, id="foreign-origin"),
        pytest.param({"Origin": "http://shop.example:8081"}, True, id="other-port"),
        pytest.param({"Origin": "https://shop.example:8080"}, True, id="other-scheme"),
        pytest.param({"Origin": "null"}, True, id="null-origin-sandboxed-frame"),
        pytest.param({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, False,
                     id="null-origin-of-a-no-referrer-page-posting-to-itself"),
        pytest.param({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, True,
                     id="null-origin-cross-site"),
        pytest.param({"Origin": "null", "Sec-Fetch-Site": "same-site"}, True,
                     id="null-origin-same-site"),
        pytest.param({"Origin": "garbage"}, True, id="unparsable-origin"),
        pytest.param({"Origin": "http://shop.example:8080", "Sec-Fetch-Site": "cross-site"},
                     True, id="own-origin-but-cross-site"),
        pytest.param({"Origin": "https://admin.example", "Sec-Fetch-Site": "cross-site"},
                     False, id="trusted-origin"),
        pytest.param({"Origin": "https://admin.example:443"}, False, id="trusted-default-port"),
        pytest.param({"Sec-Fetch-Site": "cross-site", "Referer": "https://admin.example/"},
                     True, id="referer-is-not-trust"),
    ],
)
def test_site_checks(headers: dict[str, str], refused: bool) -> None:
    if refused:
        with pytest.raises(CrossSite):
            check_site(environ(**headers), TRUSTED)
    else:
        check_site(environ(**headers), TRUSTED)


def test_default_port_of_the_request_is_its_origin() -> None:
    check_site({"wsgi.url_scheme": "https", "HTTP_HOST": "shop.example",
                "HTTP_ORIGIN": "https://shop.example"}, ())
    check_site({"wsgi.url_scheme": "http", "SERVER_NAME": "shop.example", "SERVER_PORT": "80",
                "HTTP_ORIGIN": "http://shop.example"}, ())


@pytest.mark.parametrize("kind", ["postback", "callback", "partial"])
@pytest.mark.parametrize("headers", [
    pytest.param({"Sec-Fetch-Site": "cross-site"}, id="fetch-metadata"),
    pytest.param({"Origin": "http://evil.example"}, id="origin"),
])
def test_no_handler_runs_for_another_sites_request(
    make_app: AppFactory, handlers: Registry, ran: list[str], inner: RecordingApp,
    kind: str, headers: dict[str, str], caplog: pytest.LogCaptureFixture,
) -> None:
    """Even with the victim's own valid tokens and cookie, as a same-site page could send."""
    app = make_app()
    fields = page_fields(app)
    calls = len(inner.calls)
    params = event_post(fields)
    if kind == "callback":
        params = {"__CALLBACKID": "CallServer", "__CALLBACKPARAM": "x",
                  "__EVENTVALIDATION": fields["__EVENTVALIDATION"]}
    if kind == "partial":
        headers = {**headers, "X-Postback-Panels": "rows"}
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        response = app.post("/orders", params, headers=headers, status=403)
    assert ran == [] and len(inner.calls) == calls
    assert "Traceback" not in response.text
    assert "Sec-Fetch-Site" in caplog.text or "Origin" in caplog.text
    # The same request from the page itself goes through.
    app.post("/orders", params, headers={"Sec-Fetch-Site": "same-origin",
                                         "X-Postback-Panels": "rows"} if kind == "partial"
             else {"Sec-Fetch-Site": "same-origin"})
    assert ran


def test_the_apps_own_cross_site_forms_are_left_to_the_app(app: webtest.TestApp,
                                                          inner: RecordingApp) -> None:
    """A POST with no reserved field is the app's business (its own CSRF protection)."""
    app.post("/orders", {"note": "hi"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert inner.calls[-1].body == b"note=hi"


def test_trusted_origins_option(make_app: AppFactory, handlers: Registry,
                                ran: list[str]) -> None:
    app = make_app(trusted_origins=["https://admin.example"])
    fields = page_fields(app)
    app.post("/orders", event_post(fields), headers={"Origin": "https://admin.example",
                                                     "Sec-Fetch-Site": "cross-site"})
    app.post("/orders", event_post(fields), headers={"Origin": "https://evil.example",
                                                     "Sec-Fetch-Site": "cross-site"}, status=403)
    assert ran == ["delete:7"]


@pytest.mark.parametrize("bad", ["admin.example", "https://admin.example/path",
                                 "https://user@admin.example", "ftp://admin.example", ""])
def test_trusted_origins_must_be_origins(bad: str) -> None:
    from postback_middleware import ConfigurationError

    with pytest.raises(ConfigurationError, match="trusted_origins"):
        PostbackMiddleware(RecordingApp(page=PAGE), secret_keys=[new_key()],
                           trusted_origins=[bad])


@pytest.mark.parametrize("prefix", ["\xa0", "\x85", "\x1c", "\u3000", "\x0b"])
@pytest.mark.parametrize("name", [SECURE_COOKIE, PLAIN_COOKIE])
def test_a_cookie_whose_name_only_looks_like_ours_is_not_ours(prefix: str, name: str) -> None:
    """A sibling host can set "\xa0__Host-postback" (not held to the prefix's rules)."""
    planted = "A" * 43
    scheme = "https" if name == SECURE_COOKIE else "http"
    alone = read_browser({"wsgi.url_scheme": scheme, "HTTP_COOKIE": f"{prefix}{name}={planted}"})
    assert not alone.sent and alone.id != planted
    mine = "B" * 43
    beside = read_browser({"wsgi.url_scheme": scheme,
                           "HTTP_COOKIE": f"{prefix}{name}={planted}; {name}={mine}"})
    assert beside.sent and not beside.ambiguous and beside.id == mine


def test_rfc_6265_whitespace_around_a_name_is_still_ours() -> None:
    browser = read_browser({"HTTP_COOKIE": f"a=1;\t {PLAIN_COOKIE} = {'C' * 43}"})
    assert browser.sent and browser.id == "C" * 43

