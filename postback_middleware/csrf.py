"""Cross-site request forgery: a token works only in the browser it was issued to.

A cross-site page can fetch one of your pages itself and copy its ``__VIEWSTATE`` and
``__EVENTVALIDATION``; what it cannot do is make a victim's browser send them *as the victim*
past these two checks, both on with zero configuration:

1. **Binding.** Every token carries (as an HMAC, see ``tokens``) who it was issued to: the
   operator's ``user_key(environ)`` when one is configured and returns a value, else the
   browser's own secret cookie. That cookie is the middleware's alone: 258 random bits,
   ``HttpOnly``, ``SameSite=Lax``, ``Path=/``, named ``__Host-postback`` on https (the prefix
   makes browsers refuse it from another host or over http, so a sibling subdomain cannot plant
   a value it knows) and ``postback-browser`` on plain http. It is set on the first page that
   gets tokens, never logged, and a postback without it is refused with a message that says to
   allow cookies (:class:`~postback_middleware.errors.CookieMissing`).
2. **Site checks.** A postback, callback or partial postback is refused when the browser says
   another site sent it: ``Sec-Fetch-Site`` other than ``same-origin`` or ``none`` (a typed
   URL), or an ``Origin`` header other than this request's origin, unless that origin is
   listed in ``trusted_origins``. ``Origin: null`` is refused too, except beside
   ``Sec-Fetch-Site: same-origin`` (a page under ``Referrer-Policy: no-referrer`` posting to
   itself). Browsers without Fetch Metadata still send ``Origin`` on POSTs; a client that
   sends neither is judged by the binding alone.

The registered postback handlers run before the inner app, so before a framework's own CSRF
check: these two checks are what keep them from running for a forged request.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from .errors import BadRequest, CookieMissing, CrossSite, InvalidArgument
from .http import origin_of
from .tokens import random_text

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

SECURE_COOKIE = "__Host-postback"
PLAIN_COOKIE = "postback-browser"
COOKIE_MAX_AGE = 365 * 24 * 3600  # a browser keeps its id; tokens still expire after max_age
# 43 base64url characters (what ``secrets.token_urlsafe(32)`` made before: the cookies
# browsers hold stay valid), cut from the text of 33 random bytes: 258 random bits.
_ID_CHARS = 43
_ID = re.compile(r"[A-Za-z0-9_-]{43}")
_ALLOWED_SITES = frozenset({"same-origin", "none"})


class Browser:
    """The browser a request comes from, as far as the middleware's cookie tells.

    Read-only once made. A browser without our cookie gets a fresh random ``id`` made when it
    is first asked for: most pages (no post form, nothing verified) never ask.
    """

    __slots__ = ("_id", "ambiguous", "secure", "sent")

    def __init__(self, id: str | None, secure: bool, sent: bool, ambiguous: bool = False) -> None:
        self._id = id  # None: a fresh one, made on first use
        self.secure = secure  # https: the cookie is ``__Host-`` prefixed and Secure
        self.sent = sent  # the request carried exactly one well-formed cookie: ``id`` is it
        self.ambiguous = ambiguous  # several cookies of that name (planted by another site?)

    def __repr__(self) -> str:
        return (f"Browser(secure={self.secure!r}, sent={self.sent!r}, "
                f"ambiguous={self.ambiguous!r})")  # (never the id: it is the browser's secret)

    @property
    def id(self) -> str:
        """The browser's id: its cookie's value, or the fresh one to set."""
        found = self._id
        if found is None:
            found = self._id = random_text(33)[:_ID_CHARS]
        return found

    @property
    def binding(self) -> str:
        """What tokens issued to this browser are bound to."""
        return "browser:" + self.id

    def check_sent(self) -> None:
        """Refuse a request whose browser sent two of our cookies, or none (a refusal that says
        so, rather than "a token of another browser")."""
        if self.ambiguous:
            raise BadRequest("the postback cookie was sent more than once")
        if not self.sent:
            raise CookieMissing("no postback cookie (cookies off, or a cross-site request)")

    def set_cookie(self) -> tuple[str, str]:
        """The ``Set-Cookie`` header that gives the browser its id."""
        name = SECURE_COOKIE if self.secure else PLAIN_COOKIE
        secure = "; Secure" if self.secure else ""
        value = f"{name}={self.id}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax"
        return "Set-Cookie", value + secure


def read_browser(environ: WSGIEnvironment) -> Browser:
    """The browser's id from its cookie, or a fresh one to set."""
    secure = environ.get("wsgi.url_scheme") == "https"
    name = SECURE_COOKIE if secure else PLAIN_COOKIE
    found = _cookie_values(environ.get("HTTP_COOKIE", ""), name)
    if len(found) > 1:
        return Browser(found[0], secure, sent=False, ambiguous=True)
    if found and _ID.fullmatch(found[0]):
        return Browser(found[0], secure, sent=True)
    return Browser(None, secure, sent=False)


def _cookie_values(header: str, name: str) -> list[str]:
    """Every value of cookie ``name`` in a ``Cookie`` header (RFC 6265: ``a=b; c=d``).

    Names are matched byte for byte once RFC 6265's whitespace (space, tab) is trimmed: another
    host may set a cookie named ``\xa0__Host-postback`` (not ``__Host-`` prefixed, so not held
    to its rules) that ``str.strip`` would read as ours.
    """
    if name not in header:
        return []
    values = []
    for pair in header.split(";"):
        key, equals, value = pair.partition("=")
        if equals and key.strip(" \t") == name:
            values.append(value.strip(" \t").strip('"'))
    return values


Origin = tuple[str, str, int | None]  # (scheme, host, port), default ports made explicit


def check_site(environ: WSGIEnvironment, trusted_origins: Collection[Origin]) -> None:
    """Refuse a request the browser says another site sent (see the module docstring)."""
    origin = environ.get("HTTP_ORIGIN")
    site = environ.get("HTTP_SEC_FETCH_SITE")
    if origin is not None and origin.strip() == "null" and site is not None and (
        site.strip().lower() == "same-origin"
    ):
        # A page under `Referrer-Policy: no-referrer` sends `Origin: null` even to its own
        # origin; Fetch Metadata still says same-origin, and the binding does the rest.
        return
    if origin is not None:
        parsed = origin_of(origin.strip())
        if parsed is not None and parsed in trusted_origins:
            return
        own = request_origin(environ)
        if parsed is None or parsed != own:
            # Behind a TLS-terminating proxy the request may look like http: say so.
            raise CrossSite(
                f"Origin {origin[:100]!r} is not this site's ({_spelled(own)}); if it is, "
                "let the server see the scheme and host the browser used (proxy settings) or "
                "list the origin in trusted_origins"
            )
    if site is not None and site.strip().lower() not in _ALLOWED_SITES:
        raise CrossSite(f"Sec-Fetch-Site: {site[:40]!r}")


def request_origin(environ: WSGIEnvironment) -> Origin | None:
    """(scheme, host, port) of the request, as the browser addressed it."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    return origin_of(f"{scheme}://{host}")


def _spelled(origin: Origin | None) -> str:
    if origin is None:
        return "unknown"
    scheme, host, port = origin
    return f"{scheme}://{host}:{port}"


def parse_origin(text: str) -> Origin:
    """A trusted origin as written in the options (``scheme://host[:port]``), or ValueError:
    also for one no browser sends (a wildcard, a comma, a host not in ASCII), which would
    match nothing and leave its pages refused without a word."""
    value = text.strip().rstrip("/")
    if "*" in value or "," in value:
        raise InvalidArgument(f"an origin has no wildcard, and origins are separated by white "
                              f"space, not commas: list each one ({text!r})")
    parsed = origin_of(value)
    if parsed is None or value.count("/") != 2 or any(c in value for c in "@?#"):
        raise InvalidArgument(f"not an origin (scheme://host[:port]): {text!r}")
    host = parsed[1]
    if not (_HOST_NAME.fullmatch(host) or _is_ip(host)):
        try:
            hint = f": browsers send {host.encode('idna').decode('ascii')!r}"
        except UnicodeError:
            hint = ""
        raise InvalidArgument(f"not a host name a browser sends in an origin ({text!r}){hint}")
    return parsed


# A host name as browsers send it in Origin: ASCII labels (punycode for others), no empty one.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
