"""One table of bad requests: each gets its exact status and generic body, the reason goes to the
log, and the inner app never runs with an unverified event.

Rows build their request from a real page's tokens (``Ctx``), so every row starts from what a
browser would send and changes one thing.
"""

from __future__ import annotations

import gzip
import json
import logging
import pickle
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from webob import Request

from postback_middleware import CallbackError, CookieMissing, PostbackMiddleware, Registry
from postback_middleware.tokens import Purpose, TokenSigner

from .helpers import PAGE, RecordingApp, hidden_fields, multipart_body, new_key, part, token_signed

INVALID = "Invalid postback or callback argument."
COOKIE_MESSAGE = CookieMissing.public_message
MAX_BODY, MAX_STATE = 2_000_000, 16_384  # the limits of the app under test
KEY, OLD_KEY = new_key(), new_key()
# The browser every row comes from: the tokens below were issued to it (its cookie).
BROWSER_COOKIE = f"postback-browser={secrets.token_urlsafe(32)}"


@dataclass
class Ctx:
    """A page's real tokens, and the means to make more."""

    vs: str
    ev: str
    other_vs: str  # from another response (another form id)
    other_ev: str
    old_vs: str  # signed by a retired key
    old_ev: str
    user_vs: str  # issued to user "alice"
    user_ev: str

    def fields(self, **changes: str) -> dict[str, str]:
        base = {"note": "hello", "__EVENTTARGET": "delete", "__EVENTARGUMENT": "7",
                "__VIEWSTATE": self.vs, "__EVENTVALIDATION": self.ev}
        base.update(changes)
        return {k: v for k, v in base.items() if v is not None}


def forge(purpose: Purpose, payload: bytes) -> str:
    """A token with a payload this library never writes, signed with the real key."""
    return token_signed(KEY.encode(), purpose, payload)


def claims(data: object, **changes: object) -> bytes:
    """Token claims issued to the table's browser (see ``BROWSER_COOKIE``)."""
    browser = TokenSigner([KEY.encode()], max_age=1, max_size=1).binding_digest(
        0, "browser:" + BROWSER_COOKIE.partition("=")[2])
    value = {"v": 1, "t": int(time.time()), "p": "/orders", "u": browser, "f": "F", "n": "N",
             "d": data, **changes}
    return json.dumps(value, separators=(",", ":")).encode()


def flip(token: str, index: int) -> str:
    return token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]


def urlencoded(fields: dict[str, str] | list[tuple[str, str]]) -> bytes:
    items = fields.items() if isinstance(fields, dict) else fields
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in items).encode()


def multipart(parts: list[bytes]) -> bytes:
    """A multipart body of ``parts`` under this table's boundary (``MULTI``)."""
    return multipart_body(*parts, boundary="B0und")


@dataclass
class Row:
    status: int
    reason: str  # a word of the logged reason
    body: Callable[[Ctx], bytes]
    content_type: str = "application/x-www-form-urlencoded"
    path: str = "/orders"
    environ: dict[str, Any] = field(default_factory=dict)
    callback: bool = False  # answered in the callback framing ("e" + message)
    user: str | None = None
    public: str | None = None  # the body, when not the status's generic one
    method: str = "POST"


def form_row(status: int, reason: str, *, environ: dict[str, Any] | None = None,
             public: str | None = None, **changes: str | None) -> Row:
    return Row(status, reason, lambda c: urlencoded(c.fields(**changes)),  # type: ignore[arg-type]
               environ=environ or {}, public=public)


def token_row(reason: str, vs: Callable[[Ctx], str] | None = None,
              ev: Callable[[Ctx], str] | None = None, status: int = 403, **kw: Any) -> Row:
    def body(c: Ctx) -> bytes:
        return urlencoded(c.fields(__VIEWSTATE=vs(c) if vs else c.vs,
                                   __EVENTVALIDATION=ev(c) if ev else c.ev))
    return Row(status, reason, body, **kw)


def callback_row(name: str, status: int = 403, reason: str = "no callback") -> Row:
    return Row(status, reason, lambda c: urlencoded(
        {"__VIEWSTATE": c.vs, "__CALLBACKID": name, "__CALLBACKPARAM": "x",
         "__EVENTVALIDATION": c.ev}), callback=True)


MULTI = "multipart/form-data; boundary=B0und"
SIG = "signature"

ROWS = [
    # -- tampered tokens: every spelling but the issued one is refused --------------------
    pytest.param(token_row(SIG, vs=lambda c: flip(c.vs, 0)), id="vs-flip-first-char"),
    pytest.param(token_row(SIG, vs=lambda c: flip(c.vs, len(c.vs) // 2)), id="vs-flip-middle"),
    pytest.param(token_row(SIG, vs=lambda c: flip(c.vs, -1)), id="vs-flip-signature"),
    pytest.param(token_row(SIG, ev=lambda c: flip(c.ev, 5)), id="ev-flip-payload"),
    pytest.param(token_row(SIG, ev=lambda c: flip(c.ev, -3)), id="ev-flip-signature"),
    pytest.param(token_row(SIG, vs=lambda c: c.vs[:-1]), id="vs-truncated-by-one"),
    pytest.param(token_row(SIG, ev=lambda c: c.ev[: len(c.ev) // 2]), id="ev-truncated-half"),
    pytest.param(token_row(SIG, vs=lambda c: c.vs + "A"), id="vs-appended-char"),
    pytest.param(token_row(SIG, vs=lambda c: c.vs + "="), id="vs-padding-added"),
    pytest.param(token_row(SIG, ev=lambda c: c.ev + "=="), id="ev-double-padding"),
    pytest.param(token_row(SIG, vs=lambda c: c.vs.replace("-", "+").replace("_", "/") + "+"),
                 id="vs-standard-base64-spelling"),
    pytest.param(token_row(SIG, vs=lambda c: c.vs[:9] + " " + c.vs[9:]), id="vs-space-inside"),
    pytest.param(token_row(SIG, vs=lambda c: " " + c.vs), id="vs-leading-space"),
    pytest.param(token_row(SIG, ev=lambda c: c.ev + "\n"), id="ev-trailing-newline"),
    pytest.param(token_row(SIG, vs=lambda c: c.vs.swapcase()), id="vs-case-swapped"),
    pytest.param(token_row(SIG, vs=lambda c: c.vs.split(".")[0] + "." + c.other_vs.split(".")[1]),
                 id="payload-of-one-signature-of-another"),
    pytest.param(token_row(SIG, vs=lambda c: c.ev, ev=lambda c: c.vs), id="tokens-swapped"),
    pytest.param(token_row(SIG, ev=lambda c: c.vs), id="viewstate-as-validation"),
    pytest.param(token_row("different forms", vs=lambda c: c.other_vs),
                 id="viewstate-of-another-response"),
    pytest.param(token_row("non-ASCII", vs=lambda c: c.vs + "é"), id="vs-non-ascii"),
    pytest.param(form_row(403, "missing", __VIEWSTATE=None), id="vs-missing"),
    pytest.param(form_row(403, "missing", __EVENTVALIDATION=None), id="ev-missing"),
    pytest.param(form_row(403, "missing", __VIEWSTATE=None, __EVENTVALIDATION=None),
                 id="both-missing"),
    # -- binding -----------------------------------------------------------------------------
    pytest.param(token_row("another path", path="/admin"), id="other-path"),
    pytest.param(token_row("another path", path="/orders/"), id="other-path-trailing-slash"),
    pytest.param(token_row("another path", path="/Orders"), id="other-path-case"),
    pytest.param(token_row("another user", vs=lambda c: c.user_vs, ev=lambda c: c.user_ev,
                           user="mallory"), id="other-user"),
    pytest.param(token_row("another user", vs=lambda c: c.user_vs, ev=lambda c: c.user_ev),
                 id="user-token-without-user"),
    pytest.param(token_row("another user", user="alice"), id="anonymous-token-for-user"),
    pytest.param(token_row(SIG, vs=lambda c: c.old_vs, ev=lambda c: c.old_ev), id="retired-key"),
    pytest.param(token_row("expired", vs=lambda c: forge(Purpose.VIEWSTATE, claims(
        {}, t=int(time.time()) - 10**6))), id="expired"),
    pytest.param(token_row("future", vs=lambda c: forge(Purpose.VIEWSTATE, claims(
        {}, t=int(time.time()) + 10**6))), id="far-future"),
    # -- authentic signature, payload that is not this library's JSON -------------------------
    pytest.param(token_row("malformed", vs=lambda c: forge(Purpose.VIEWSTATE, pickle.dumps(
        {"d": 1}))), id="signed-pickle"),
    pytest.param(token_row("malformed", vs=lambda c: forge(
        Purpose.VIEWSTATE, b"\xff\x01\x0f\x0f\x05\x0a/wEPDwUKMTk0MTQ1MTcxMWRk")),
        id="signed-objectstateformatter-blob"),
    pytest.param(token_row("malformed", vs=lambda c: forge(Purpose.VIEWSTATE, claims(
        {}).replace(b'"d":{}', b'"d":NaN'))), id="signed-nan"),
    pytest.param(token_row("malformed", vs=lambda c: forge(
        Purpose.VIEWSTATE, b"[" * 5000 + b"]" * 5000)), id="signed-deep-nesting"),
    pytest.param(token_row("malformed", vs=lambda c: forge(Purpose.VIEWSTATE, claims(
        {}).replace(b'"d":{}', b'"d":1' + b"0" * 5000))), id="signed-huge-integer"),
    pytest.param(token_row("malformed", vs=lambda c: forge(Purpose.VIEWSTATE, claims(
        {}).replace(b'"v":1,', b'"v":1,"v":1,'))), id="signed-duplicate-keys"),
    pytest.param(token_row("malformed", vs=lambda c: forge(Purpose.VIEWSTATE, claims(
        {}).replace(b'"d":{}', b'"d":"\\ud800"'))), id="signed-lone-surrogate"),
    pytest.param(token_row("not an object", vs=lambda c: forge(Purpose.VIEWSTATE, claims([1, 2])),
                           ev=lambda c: forge(Purpose.EVENT_VALIDATION,
                                              claims({"e": {"delete": ["7"]}}))),
                 id="signed-state-not-object"),
    # -- sizes -------------------------------------------------------------------------------
    pytest.param(token_row("max_state_size", vs=lambda c: "A" * (MAX_STATE + 1), status=413),
                 id="oversized-viewstate"),
    pytest.param(token_row("max_state_size", ev=lambda c: c.ev + "A" * MAX_STATE, status=413),
                 id="oversized-validation"),
    pytest.param(Row(413, "max_body_size", lambda c: urlencoded(c.fields(note="x" * MAX_BODY))),
                 id="oversized-body"),
    # -- events ------------------------------------------------------------------------------
    pytest.param(form_row(403, "not registered", __EVENTARGUMENT="8"), id="unregistered-argument"),
    pytest.param(form_row(403, "not registered", __EVENTTARGET="Delete"), id="target-case"),
    pytest.param(form_row(403, "without __EVENTTARGET", __EVENTTARGET=""),
                 id="argument-without-target"),
    # -- duplicated or disguised reserved fields ----------------------------------------------
    pytest.param(Row(400, "sent twice", lambda c: urlencoded(
        [*c.fields().items(), ("__EVENTTARGET", "refresh")])), id="target-twice-different"),
    pytest.param(Row(400, "disguises", lambda c: urlencoded(c.fields()) + b"&%5F%5FEVENTTARGET=x"),
                 id="percent-encoded-name"),
    pytest.param(Row(400, "disguises", lambda c: urlencoded(c.fields()) + b"&__eventtarget=x"),
                 id="lower-case-name"),
    pytest.param(Row(400, "disguises", lambda c: urlencoded(c.fields()) + b"&__EventTarget=x"),
                 id="mixed-case-name"),
    pytest.param(Row(400, "disguises", lambda c: urlencoded(c.fields()) +
                     "&＿＿EVENTTARGET=x".encode()), id="fullwidth-look-alike"),  # noqa: RUF001
    pytest.param(Row(400, "query string", lambda c: urlencoded(c.fields()),
                     environ={"QUERY_STRING": "__EVENTTARGET=delete"}), id="query-string-copy"),
    pytest.param(Row(400, "query string", lambda c: urlencoded(c.fields()),
                     environ={"QUERY_STRING": "a=1&__viewstate=x"}), id="query-string-case"),
    pytest.param(Row(400, "query string", lambda c: urlencoded(c.fields()),
                     environ={"QUERY_STRING": "a=1&%5f%5FEVENTTARGET=x"}),
                 id="query-string-percent-encoded"),
    pytest.param(Row(400, "query string", lambda c: urlencoded(c.fields()),
                     environ={"QUERY_STRING": "%EF%BC%BF%EF%BC%BFVIEWSTATE=x"}),
                 id="query-string-fullwidth-look-alike"),
    pytest.param(Row(400, "query string", lambda c: urlencoded(c.fields()),
                     environ={"QUERY_STRING": "a=1&\uff3f\uff3fVIEWSTATE=x"}),
                 id="query-string-look-alike-unencoded"),
    # PEP 3333: QUERY_STRING is the latin-1 text of the raw bytes (what servers give).
    *[pytest.param(Row(400, "query string", lambda c: urlencoded(c.fields()),
                       environ={"QUERY_STRING": query}), id=f"query-string-{name}")
      for name, query in [
          ("raw-fullwidth-underscores", "a=1&＿＿VIEWSTATE=x".encode().decode("latin-1")),  # noqa: RUF001
          ("raw-ideographic-space", "\u3000__EVENTTARGET=x".encode().decode("latin-1")),
          ("latin-1-ordinal-a-bottle-reads", "__EVENTT%AARGET=x"),
          ("latin-1-no-break-space-bottle-reads", "%A0__EVENTTARGET=x"),
      ]],
    pytest.param(Row(400, "2231", lambda c: multipart([
        part("__VIEWSTATE", c.vs), part("__EVENTVALIDATION", c.ev),
        b"Content-Disposition: form-data; name*=UTF-8''__EVENTTARGET\r\n\r\ndelete"]),
        content_type=MULTI), id="rfc2231-name"),
    pytest.param(Row(400, "file part", lambda c: multipart([
        part("__VIEWSTATE", c.vs), part("__EVENTVALIDATION", c.ev),
        part("__EVENTTARGET", "delete", filename="t.txt")]), content_type=MULTI),
        id="reserved-file-part"),
    pytest.param(Row(400, "two name", lambda c: multipart([
        part("__VIEWSTATE", c.vs), part("__EVENTVALIDATION", c.ev),
        b'Content-Disposition: form-data; name="note"; name="__EVENTTARGET"\r\n\r\ndelete']),
        content_type=MULTI), id="second-name-parameter"),
    pytest.param(Row(400, "UTF-8", lambda c: urlencoded(c.fields()) + b"&__LASTFOCUS=%FF%FE"),
                 id="invalid-utf8-in-reserved-field"),
    # -- CONTENT_LENGTH ----------------------------------------------------------------------
    *[pytest.param(Row(400, "CONTENT_LENGTH", lambda c: urlencoded(c.fields()),
                       environ={"CONTENT_LENGTH": value}), id=f"content-length-{name}")
      for name, value in [("negative", "-1"), ("plus-sign", "+10"), ("underscore", "1_0"),
                          ("arabic-indic-digits", "\u0661\u0660"), ("hex", "0x10")]],
    # ("¹": a latin-1 byte that str.isdigit takes and int refuses; wsgiref and Werkzeug's
    # server pass the header on as it came: a 500, or a traceback on a GET, before)
    *[pytest.param(Row(400, "CONTENT_LENGTH", lambda c: urlencoded(c.fields()),
                       content_type=content_type, method=method,
                       environ={"CONTENT_LENGTH": "\xb9"}),
                   id=f"content-length-superscript-one-{method}-{content_type.split('/')[1]}")
      for method, content_type in [("POST", "application/x-www-form-urlencoded"),
                                   ("POST", "text/plain"), ("GET", "text/plain")]],
    # (more digits than int() reads, 4,300: a ValueError out of the middleware on a GET)
    *[pytest.param(Row(400, "CONTENT_LENGTH", lambda c: urlencoded(c.fields()),
                       content_type="text/plain", method=method,
                       environ={"CONTENT_LENGTH": "9" * 5000}),
                   id=f"content-length-of-5000-digits-{method}") for method in ("POST", "GET")],
    pytest.param(Row(400, "ended after", lambda c: urlencoded(c.fields()),
                     environ={"CONTENT_LENGTH": "5000"}), id="content-length-larger-than-body"),
    pytest.param(Row(403, SIG, lambda c: urlencoded(c.fields()),
                     environ={"CONTENT_LENGTH": "450"}), id="content-length-smaller-than-body"),
    pytest.param(Row(411, "without CONTENT_LENGTH", lambda c: urlencoded(c.fields()),
                     environ={"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}),
                 id="chunked-without-terminated-input"),
    # -- multipart ---------------------------------------------------------------------------
    pytest.param(Row(400, "boundary", lambda c: b"x", content_type="multipart/form-data"),
                 id="multipart-without-boundary"),
    pytest.param(Row(400, "malformed", lambda c: multipart([part("__EVENTTARGET", "delete")])[:-9],
                     content_type=MULTI), id="multipart-without-closing-boundary"),
    pytest.param(Row(413, "more than 1000 parts",
                     lambda c: multipart([part(f"f{i}", "x") for i in range(1001)]),
                     content_type=MULTI), id="multipart-1001-parts"),
    pytest.param(Row(413, "more than 1000 parts",
                     lambda c: multipart([part(f"f{i}", "x") for i in range(10_000)]),
                     content_type=MULTI), id="multipart-10000-parts"),
    pytest.param(Row(413, "limit", lambda c: multipart([
        part("a", "1", headers="X-A: " + "a" * 2**20 + "\r\n")]),
                     content_type=MULTI), id="multipart-1MB-header-line"),
    pytest.param(Row(413, "limit", lambda c: multipart([
        part("a", "1", headers="X-A: " + "a" * 9000 + "\r\n")]),
                     content_type=MULTI), id="multipart-long-header-line"),
    pytest.param(Row(400, "malformed", lambda c: b"--B0und\nContent-Disposition: form-data; "
                     b'name="__EVENTTARGET"\n\ndelete\n--B0und--\n', content_type=MULTI),
                 id="multipart-bare-lf"),
    pytest.param(Row(400, "malformed", lambda c: b"--B0und\r\n\r\nContent-Disposition: form-data;"
                     b' name="x"\r\n\r\n1\r\n--B0und--\r\n', content_type=MULTI),
                 id="multipart-part-starting-with-crlf"),
    pytest.param(Row(400, "outside its delimiters", lambda c: (
        b'--B0und\r\nContent-Disposition: form-data; name="note"\r\n\r\n1'
        b'\n--B0und\nContent-Disposition: form-data; name="__EVENTTARGET"\n\ndelete'
        b"\r\n--B0und--\r\n"), content_type=MULTI), id="multipart-bare-lf-delimiter-smuggling"),
    # -- every spelling of a reserved name, and the cost of a body (body.py) -------------------
    *[pytest.param(Row(400, reason, lambda c, d=disposition: multipart([
        part("__VIEWSTATE", c.vs), part("__EVENTVALIDATION", c.ev),
        f"Content-Disposition: form-data; {d}\r\n\r\ndelete".encode()]), content_type=MULTI),
        id=name) for name, reason, disposition in [
            ("rfc2231-continuation", "2231", "name*0=__EVENT; name*1=TARGET"),
            ("rfc2231-encoded-continuation", "2231", "name*0*=UTF-8''__EVENT; name*1=TARGET"),
            ("rfc2231-name-after-plain-name", "2231", "name=\"note\"; name*=UTF-8''__EVENTTARGET"),
            ("filename-star-without-filename", "filename* but no filename",
             "name=\"f\"; filename*=UTF-8''a.txt"),
            ("name-star-beside-filename-star", "2231",
             "name=\"f\"; filename=\"a\"; filename*=UTF-8''a; name*=UTF-8''__EVENTTARGET"),
            ("two-filename-parameters", "two filename", 'name="f"; filename="a"; filename="b"'),
            ("too-many-parameters", "too many", 'name="f"' + "; x=1" * 20),
            ("backslash-escaped-name", "disguises", 'name="\\_\\_EVENTTARGET"'),
            ("rfc2047-encoded-word-name", "disguises", 'name="=?utf-8?q?=5F=5FEVENTTARGET?="'),
            ("unquoted-reserved-name", "non-canonical", "name=__EVENTTARGET"),
            ("folded-disposition", "folded", 'name="note";\r\n x="1"'),
            ("bare-cr-in-part-header", "bare CR", 'name="note"\rX-A: 1'),
            ("second-disposition", "more than one Content-Disposition",
             'name="note"\r\nContent-Disposition: form-data; name="__EVENTTARGET"'),
            ("reserved-part-with-content-type", "non-canonical",
             'name="__EVENTTARGET"\r\nContent-Type: text/plain; charset=utf-7'),
            ("reserved-part-base64", "non-canonical",
             'name="__EVENTTARGET"\r\nContent-Transfer-Encoding: base64'),
        ]],
    pytest.param(Row(400, "non-canonical", lambda c: multipart([
        part("__VIEWSTATE", c.vs), part("__EVENTVALIDATION", c.ev),
        b'Content-Disposition : form-data; name="__EVENTTARGET"\r\n\r\ndelete']),
        content_type=MULTI), id="reserved-part-space-before-colon"),
    *[pytest.param(Row(400, reason, lambda c: urlencoded(c.fields()) + b"&%2BAF8AXw-EVENTTARGET=x",
                       content_type=content_type), id=name) for name, reason, content_type in [
        ("utf-7-charset", "charset", "application/x-www-form-urlencoded; charset=utf-7"),
        ("utf-7-charset-quoted", "charset", 'application/x-www-form-urlencoded; charset="UTF-7"'),
        ("utf-8-sig-charset", "charset", "application/x-www-form-urlencoded; charset=utf-8-sig"),
        ("charset-twice", "repeated parameter",
         "application/x-www-form-urlencoded; charset=utf-8; charset=utf-7"),
        ("charset-rfc2231", "2231", "application/x-www-form-urlencoded; charset*=utf-7''x"),
        ("multipart-utf-7-charset", "charset", MULTI + "; charset=utf-7"),
    ]],
    pytest.param(Row(400, "_charset_", lambda c: urlencoded(c.fields()) +
                     b"&_charset_=utf-7&%2BAF8AXw-EVENTTARGET=x"), id="charset-field-utf-7"),
    pytest.param(Row(400, "_charset_", lambda c: multipart([
        part("__VIEWSTATE", c.vs), part("__EVENTVALIDATION", c.ev), part("_charset_", "utf-7"),
        part("+AF8AXw-EVENTTARGET", "delete")]), content_type=MULTI),
        id="charset-part-utf-7"),
    *[pytest.param(Row(400, "Content-Encoding", lambda c, e=coding: (
        gzip.compress(urlencoded(c.fields())) if e == "gzip" else urlencoded(c.fields())),
        environ={"HTTP_CONTENT_ENCODING": coding}), id=f"content-encoding-{coding}")
      for coding in ("gzip", "deflate", "br", "identity, gzip")],
    pytest.param(Row(400, "sent twice", lambda c: urlencoded(
        [*c.fields().items(), ("__EVENTTARGET", "delete")])), id="target-twice-identical"),
    pytest.param(Row(400, "sent twice", lambda c: urlencoded(
        [*c.fields().items(), ("__EVENTVALIDATION", c.ev), ("__EVENTVALIDATION", c.ev)])),
        id="validation-three-times"),
    pytest.param(Row(400, "sent twice", lambda c: urlencoded(
        [*c.fields().items(), ("__EVENTVALIDATION", c.other_ev)])),
        id="validation-twice-different"),
    pytest.param(Row(400, "sent twice", lambda c: urlencoded(c.fields()) + b"&__LASTFOCUS=" * 900),
                 id="lastfocus-repeated"),
    pytest.param(Row(400, "sent twice", lambda c: multipart([
        part("__VIEWSTATE", c.vs), part("__EVENTVALIDATION", c.ev), part("__EVENTTARGET", "delete"),
        part("__EVENTTARGET", "delete")]), content_type=MULTI), id="multipart-target-twice"),
    pytest.param(Row(413, "more than 1000 fields", lambda c: urlencoded(c.fields()) + b"&a" * 1000),
                 id="urlencoded-1001-fields"),
    pytest.param(Row(413, "more than 1000 fields", lambda c: b"&" * 500_000),
                 id="urlencoded-500k-ampersands"),
    pytest.param(Row(400, "disguises", lambda c: urlencoded(c.fields()) +
                     b"&" + b"+" * 100 + b"__EVENTTARGET=x"), id="space-padded-name"),
    *[pytest.param(Row(400, "usable boundary", lambda c: multipart([
        part("__VIEWSTATE", c.vs), part("__EVENTVALIDATION", c.ev),
        part("__EVENTTARGET", "delete")]), content_type=content_type), id=name)
      for name, content_type in [
            ("boundary-with-backslash", 'multipart/form-data; boundary="B0\\und"'),
            ("boundary-read-two-ways", "multipart/form-data; boundary=B0und x"),
            ("boundary-twice", "multipart/form-data; boundary=B0und; boundary=x"),
        ]],
    pytest.param(Row(400, "disguises", lambda c: urlencoded(c.fields()) + b"&%5F%5FEVENTTARGET=x",
                     content_type="application/x-url-encoded"), id="x-url-encoded-type"),
    pytest.param(Row(400, "padded with whitespace", lambda c: urlencoded(c.fields()) +
                     b"&" + b"%20" * 200_000 + b"__EVENTTARGET=x"),
                 id="space-padded-name-longer-than-read"),
    # -- callbacks ---------------------------------------------------------------------------
    pytest.param(callback_row("__class__"), id="callback-dunder-class"),
    pytest.param(callback_row("os.system"), id="callback-dotted-path"),
    pytest.param(callback_row("../x"), id="callback-path-traversal"),
    pytest.param(callback_row("C" * 10_000), id="callback-10k-name"),
    pytest.param(callback_row("СallServer"), id="callback-cyrillic-look-alike"),  # noqa: RUF001
    pytest.param(Row(403, SIG, lambda c: urlencoded({"__CALLBACKID": "CallServer",
                                                     "__EVENTVALIDATION": flip(c.ev, 4)}),
                     callback=True), id="callback-tampered-validation"),
    pytest.param(Row(400, "without __CALLBACKID", lambda c: urlencoded(
        c.fields(__CALLBACKPARAM="x"))), id="callback-param-without-id"),
    pytest.param(callback_row("Export", reason="not offered by the form"),
                 id="callback-registered-but-not-offered-by-the-page"),
    # -- forged from another site, or from another browser -----------------------------------
    pytest.param(form_row(403, "Sec-Fetch-Site", environ={"HTTP_SEC_FETCH_SITE": "cross-site"}),
                 id="fetch-metadata-cross-site"),
    pytest.param(form_row(403, "Sec-Fetch-Site", environ={"HTTP_SEC_FETCH_SITE": "same-site"}),
                 id="fetch-metadata-same-site"),
    pytest.param(form_row(403, "not this site", environ={"HTTP_ORIGIN": "http://evil.example"}),
                 id="foreign-origin"),
    pytest.param(form_row(403, "not this site", environ={"HTTP_ORIGIN": "null"}),
                 id="null-origin"),
    pytest.param(form_row(403, "not this site", environ={"HTTP_ORIGIN": "https://localhost:80"}),
                 id="origin-of-another-scheme"),
    pytest.param(Row(403, "Sec-Fetch-Site", lambda c: urlencoded(
        {"__CALLBACKID": "CallServer", "__EVENTVALIDATION": c.ev}), callback=True,
        environ={"HTTP_SEC_FETCH_SITE": "cross-site"}), id="callback-from-another-site"),
    pytest.param(form_row(403, "no postback cookie", environ={"HTTP_COOKIE": ""},
                          public=COOKIE_MESSAGE), id="no-cookie-cookies-off"),
    pytest.param(form_row(403, "another user or browser",
                          environ={"HTTP_COOKIE": "postback-browser=" + "B" * 43}),
                 id="tokens-of-another-browser"),
    pytest.param(form_row(400, "more than once", environ={
        "HTTP_COOKIE": f"postback-browser={'B' * 43}; {BROWSER_COOKIE}"}),
                 id="cookie-planted-beside-the-real-one"),
    pytest.param(form_row(403, "no postback cookie",
                          environ={"HTTP_COOKIE": "postback-browser=short"},
                          public=COOKIE_MESSAGE), id="malformed-cookie"),
    pytest.param(form_row(403, "another user or browser",
                          environ={"HTTP_COOKIE": BROWSER_COOKIE, "HTTP_X_USER": "mallory"}),
                 id="browser-token-for-a-logged-in-user"),
    # -- fields echoed into the next page ----------------------------------------------------
    pytest.param(form_row(400, "not an element id", __LASTFOCUS="a\r\nb"),
                 id="lastfocus-with-newline"),
    pytest.param(form_row(400, "not an element id", __LASTFOCUS="a\x00b"),
                 id="lastfocus-with-nul"),
    pytest.param(token_row("not event validation data", vs=lambda c: forge(
        Purpose.VIEWSTATE, claims({})), ev=lambda c: forge(
        Purpose.EVENT_VALIDATION, claims({"delete": ["7"]}))), id="event-validation-old-format"),
    # -- form bodies of other methods: parsers read them too, no postback comes that way ------
    *[pytest.param(Row(400, "reserved fields in a", lambda c: urlencoded(c.fields()),
                       method=method), id=f"reserved-fields-in-a-{method}-body")
      for method in ("PUT", "PATCH", "DELETE", "post", "OPTIONS")],
    pytest.param(Row(400, "reserved fields in a", lambda c: multipart(
        [part("note", "x"), part("__EVENTTARGET", "delete")]), content_type=MULTI,
        method="PUT"), id="reserved-part-in-a-multipart-put"),
    # An HTTP/2 body streamed without content-length: no CONTENT_LENGTH, no Transfer-Encoding,
    # wsgi.input_terminated (gunicorn's h2); Werkzeug reads it as a form whatever the method.
    *[pytest.param(Row(400, "reserved fields in a", lambda c: urlencoded(c.fields()),
                       method=method, environ={"CONTENT_LENGTH": "",
                                               "wsgi.input_terminated": True}),
                   id=f"reserved-fields-in-a-{method}-body-without-length")
      for method in ("PUT", "PATCH", "DELETE", "post")],
    pytest.param(Row(400, "malformed CONTENT_LENGTH", lambda c: urlencoded(c.fields()),
                     method="PUT", environ={"CONTENT_LENGTH": " 12"}),
                 id="put-body-with-a-length-werkzeug-reads-and-isdigit-does-not"),
    pytest.param(token_row("not event validation data", vs=lambda c: forge(
        Purpose.VIEWSTATE, claims({})), ev=lambda c: forge(
        Purpose.EVENT_VALIDATION, claims({"h": "not base64!"}))), id="event-digests-garbled"),
]


# The table's page offers the callbacks the rows call.
CALLBACK_PAGE = PAGE.replace('<form method="post"',
                             '<form method="post" data-callbacks="CallServer Broken Deliberate"')


@pytest.fixture(scope="module")
def ctx() -> Ctx:
    def page_tokens(keys: list[str], user: str | None = None) -> dict[str, str]:
        app = PostbackMiddleware(RecordingApp(page=CALLBACK_PAGE), secret_keys=keys,
                                 user_key=lambda environ: environ.get("HTTP_X_USER"))
        headers = {"Cookie": BROWSER_COOKIE, **({"X-User": user} if user else {})}
        request = Request.blank("/orders", headers=headers)
        return hidden_fields(request.get_response(app).body)

    first, second = page_tokens([KEY]), page_tokens([KEY])
    old, user = page_tokens([OLD_KEY]), page_tokens([KEY], "alice")
    return Ctx(first["__VIEWSTATE"], first["__EVENTVALIDATION"], second["__VIEWSTATE"],
               second["__EVENTVALIDATION"], old["__VIEWSTATE"], old["__EVENTVALIDATION"],
               user["__VIEWSTATE"], user["__EVENTVALIDATION"])


def test_the_table_is_long_enough() -> None:
    assert len(ROWS) >= 100


@pytest.mark.parametrize("row", ROWS)
def test_bad_request(row: Row, ctx: Ctx, caplog: pytest.LogCaptureFixture) -> None:
    inner = RecordingApp(page=PAGE)
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "ok")
    registry.add_callback("Export", lambda argument, request: "csv")  # no page offers it
    app = PostbackMiddleware(inner, secret_keys=[KEY], registry=registry,
                             max_body_size=MAX_BODY, max_state_size=MAX_STATE,
                             user_key=lambda environ: environ.get("HTTP_X_USER"))
    request = Request.blank(row.path, method=row.method, body=row.body(ctx),
                            content_type=row.content_type, headers={"Cookie": BROWSER_COOKIE})
    if row.user:
        request.environ["HTTP_X_USER"] = row.user
    request.environ.update(row.environ)
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        response = request.get_response(app)

    public = row.public or {400: "Bad request.", 403: INVALID, 411: "Length required.",
                            413: "Request too large."}[row.status]
    assert response.status_int == row.status
    assert response.text == ("e" + public if row.callback else public)
    assert "Traceback" not in response.text
    records = [r.getMessage() for r in caplog.records if r.name == "postback_middleware"]
    assert any(row.reason in message for message in records), records
    assert inner.calls == []  # the inner app never ran


def test_a_raising_handler_gives_a_generic_error(ctx: Ctx,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    registry = Registry()

    def broken(argument: str, request: Any) -> str:
        raise KeyError("secret detail")

    def deliberate(argument: str, request: Any) -> str:
        raise CallbackError("Out of stock.")

    registry.add_callback("Broken", broken)
    registry.add_callback("Deliberate", deliberate)
    app = PostbackMiddleware(RecordingApp(page=PAGE), secret_keys=[KEY], registry=registry)
    for name, status, text in (("Broken", 500, None), ("Deliberate", 200, "eOut of stock.")):
        body = urlencoded({"__CALLBACKID": name, "__EVENTVALIDATION": ctx.ev})
        response = Request.blank("/orders", method="POST", body=body,
                                 content_type="application/x-www-form-urlencoded",
                                 headers={"Cookie": BROWSER_COOKIE}).get_response(app)
        assert response.status_int == status
        assert response.text.startswith("e") and "secret detail" not in response.text
        if text:
            assert response.text == text
    assert "secret detail" in caplog.text
