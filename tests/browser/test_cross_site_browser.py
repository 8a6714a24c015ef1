"""A real cross-site page attacks a real app in Chromium: every attempt is refused, nothing runs.

The app (waitress on 127.0.0.1:A) registers a postback handler and a callback that record every
run. The attacker's page is served by a second server on another port, reached two ways:

* ``http://127.0.0.1:B`` -- another origin of the *same site* (ports do not make a site): the
  browser sends the victim's ``SameSite=Lax`` cookie with it, so only the site checks
  (``Sec-Fetch-Site``, ``Origin``) stand in the way;
* ``http://localhost:B`` -- another *site*: the cookie stays home as well.

The attacker has the tokens of the page (it fetched the page itself) and, in the harshest case,
the victim's own tokens, as if they had leaked. It tries a form post, ``fetch`` with credentials
(a postback, a callback, a partial postback) and ``WebForm_DoCallback``'s own request shape.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware, Registry

from ..helpers import new_key

APP_PAGE = """<!DOCTYPE html><html><head><title>Orders</title>{head}</head><body>
<form method="post" action="/orders" data-callbacks="CallServer">
  <input name="note" value="hello">
  <a href="#" id="del" data-postback="delete" data-postback-argument="7">Delete 7</a>
  <div id="rows" data-update-panel><a href="#" id="del-p" data-postback="delete"
     data-postback-argument="8">Delete 8 (partial)</a></div>
</form>
<p id="last">{last}</p>
</body></html>"""


class VictimApp:
    """The inner app, plus what the middleware's handlers ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.events: list[Any] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] != "/orders":  # (a favicon request must not set cookies)
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        self.events.append(environ.get("postback.event"))
        # ?no-referrer: the page asks browsers to send no referrer (and so Origin: null).
        head = ('<meta name="referrer" content="no-referrer">'
                if environ.get("QUERY_STRING") == "no-referrer" else "")
        body = APP_PAGE.format(last=len(self.ran), head=head).encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body]


@pytest.fixture
def victim(serve: Any) -> Iterator[tuple[VictimApp, str]]:
    inner = VictimApp()
    registry = Registry()
    registry.add_postback("delete", lambda event, request: inner.ran.append(event.argument))
    registry.add_callback("CallServer",
                          lambda argument, request: inner.ran.append("cb:" + argument) or "ok")
    with serve(PostbackMiddleware(inner, secret_keys=[new_key()], registry=registry)) as url:
        yield inner, url


def attacker_page(target: str, tokens: dict[str, str]) -> str:
    """The hostile page: each attack reports when its request has been answered (or failed)."""
    fields = {"__EVENTTARGET": "delete", "__EVENTARGUMENT": "7", "note": "pwned", **tokens}
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    postback = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in fields.items())
    callback = (f"__CALLBACKID=CallServer&__CALLBACKPARAM=x&__EVENTVALIDATION="
                f"{urllib.parse.quote(tokens['__EVENTVALIDATION'])}")
    return f"""<!DOCTYPE html><html><body>
<form id="f" method="post" action="{target}/orders">{inputs}</form>
<script>
window.results = {{}};
function attack(name, options) {{
  return fetch({json.dumps(target + "/orders")}, options).then(
    function (r) {{ results[name] = "answered"; }},
    function (e) {{ results[name] = "blocked"; }});
}}
window.fetchAttacks = function () {{
  var form = {{"Content-Type": "application/x-www-form-urlencoded"}};
  return Promise.all([
    attack("postback", {{method: "POST", mode: "no-cors", credentials: "include",
                         headers: form, body: {json.dumps(postback)}}}),
    attack("callback", {{method: "POST", mode: "no-cors", credentials: "include",
                         headers: form, body: {json.dumps(callback)}}}),
    attack("partial", {{method: "POST", credentials: "include",
                        headers: {{"Content-Type": "application/x-www-form-urlencoded",
                                  "X-Postback-Panels": "rows"}},
                        body: {json.dumps(postback)}}}),
  ]);
}};
</script></body></html>"""


class AttackerApp:
    def __init__(self) -> None:
        self.page = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [self.page.encode()]


def page_tokens(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(__VIEWSTATE|__EVENTVALIDATION)"[^>]*value="([^"]*)"', html))


def own_tokens(url: str) -> dict[str, str]:
    """What the attacker's server gets by fetching the page itself (bound to its own cookie)."""
    with urllib.request.urlopen(url + "/orders") as response:
        return page_tokens(response.read().decode())


@pytest.mark.parametrize("attacker_host", ["127.0.0.1", "localhost"],
                         ids=["same-site-other-port", "cross-site"])
@pytest.mark.parametrize("leaked", [False, True], ids=["fetched-tokens", "victims-own-tokens"])
def test_a_cross_site_page_cannot_make_the_victim_post_back(
    browser_page: Any, serve: Any, victim: tuple[VictimApp, str], attacker_host: str,
    leaked: bool,
) -> None:
    inner, app_url = victim
    page = browser_page
    page.goto(app_url + "/orders")  # the victim has been to the app: it has its cookie
    assert page.context.cookies()[0]["httpOnly"]
    tokens = page_tokens(page.content()) if leaked else own_tokens(app_url)
    attacker = AttackerApp()
    with serve(attacker) as attacker_url:
        attacker_url = attacker_url.replace("127.0.0.1", attacker_host)
        attacker.page = attacker_page(app_url, tokens)
        page.goto(attacker_url + "/")
        page.evaluate("fetchAttacks()")
        assert page.evaluate("results") == {
            "postback": "answered", "callback": "answered",
            "partial": "blocked",  # its custom header needs a CORS preflight the app never grants
        }
        with page.expect_response(app_url + "/orders") as answered:
            page.evaluate("document.getElementById('f').submit()")
        assert answered.value.status == 403
    assert inner.ran == []
    assert not any(inner.events)  # the inner app never saw an event either


def test_the_same_tokens_work_from_the_page_itself(
    browser_page: Any, victim: tuple[VictimApp, str]
) -> None:
    """The control: the attacks above fail for their origin, not because the tokens were bad."""
    inner, app_url = victim
    page = browser_page
    page.goto(app_url + "/orders")
    with page.expect_navigation():
        page.click("#del")
    assert inner.ran == ["7"]
    assert page.evaluate("Postback.callback('CallServer', 'x')") == "ok"
    page.click("#del-p")
    page.wait_for_function("document.getElementById('del-p') === null || "
                           "document.getElementById('rows').getAttribute('aria-busy') === null")
    assert inner.ran == ["7", "cb:x", "8"]


def test_with_cookies_off_a_postback_is_refused_with_a_clear_message(
    browser_page: Any, victim: tuple[VictimApp, str]
) -> None:
    inner, app_url = victim
    page = browser_page
    page.goto(app_url + "/orders")
    page.context.clear_cookies()  # the browser did not keep the cookie the page came with
    with page.expect_navigation():
        page.click("#del")
    assert "This form needs cookies" in page.inner_text("body")
    assert inner.ran == []


def test_a_no_referrer_page_still_posts_back_to_itself(
    browser_page: Any, victim: tuple[VictimApp, str]
) -> None:
    """Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` even to its own
    origin; `Sec-Fetch-Site: same-origin` tells it apart from a sandboxed or foreign page."""
    inner, app_url = victim
    page = browser_page
    page.goto(app_url + "/orders?no-referrer")
    with page.expect_request(app_url + "/orders") as sent, page.expect_navigation():
        page.click("#del")
    assert sent.value.headers.get("origin") == "null"
    assert inner.ran == ["7"]

