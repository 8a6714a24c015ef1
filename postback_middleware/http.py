"""HTTP semantics, in one place: header lookup, media types, content codings, cache headers,
the middleware's own short replies, the iterable that closes what a response opened, the
origin of a URL (which the request side's site checks and the response side's form checks
compare), and which encodings a form's text is posted and read in (the response side records
a form's, the request side reads its postbacks in it: see ``charset.form_encoding``).

Every other module asks here instead of parsing a header itself, so a header is read one way
everywhere (names compared case-insensitively, a media type lower-cased without its
parameters, a coding's ``q=0`` honoured).
"""

from __future__ import annotations

import codecs
import functools
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

try:
    import orjson
except ImportError:  # (a dependency; without it, the json module writes the same JSON)
    orjson = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse

Headers = list[tuple[str, str]]
_SURROGATE = re.compile("[\ud800-\udfff]")

ONCE_HEADERS = frozenset({"set-cookie", "set-cookie2", "clear-site-data"})
"""Headers whose effect happens once, where the answer arrives: kept when an answer is replaced
by another (a partial postback's JSON, a delta, a compatibility script), never repeated."""


def header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of header ``name`` (case-insensitive), or None."""
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


def header_values(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive), in order: for a header given several
    times whose values all count (a browser enforces every ``Content-Security-Policy``)."""
    name = name.lower()
    return [value for key, value in headers if key.lower() == name]


def disagreeing(headers: Iterable[tuple[str, str]], names: Collection[str]) -> str | None:
    """The first of ``names`` (lower-case) that ``headers`` give twice with values that differ
    (beyond case and white space), or None. A browser reads such a header otherwise than
    :func:`header` does (Chromium takes the last ``Content-Type``, and refuses a page with two
    ``Content-Disposition``): what depends on it must not be guessed from the first."""
    seen: dict[str, str] = {}
    for key, value in headers:
        name = key.lower()
        if name in names:
            spelled = "".join(value.split()).lower()
            if seen.setdefault(name, spelled) != spelled:
                return name
    return None


def shown_inline(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether a response is shown where it arrives, not saved as a file: no
    ``Content-Disposition``, or ``inline`` in each (of two, Chromium refuses the answer;
    others may take either)."""
    return all(value.partition(";")[0].strip().lower() in ("", "inline")
               for key, value in headers if key.lower() == "content-disposition")


def kept_apart(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether the app keeps a page out of its origin: a download (a ``Content-Disposition``
    other than ``inline``: a user's uploaded HTML file, a report to save) or a sandbox (a CSP
    with ``sandbox``: an opaque origin). What such a page holds is not the app's own markup to
    post back: it gets no tokens and no script (the user saves the app's bytes as they are),
    and a partial postback never writes it into the app's page."""
    headers = list(headers)
    return not shown_inline(headers) or any(
        key.lower() == "content-security-policy"
        and any(directive.strip().split(None, 1)[:1] == ["sandbox"]
                for policy in value.lower().split(",") for directive in policy.split(";"))
        for key, value in headers)


MAX_NUMBER_DIGITS = 18  # (any count HTTP means fits a signed 64-bit integer)


def is_number(text: str) -> bool:
    """Whether ``text`` is a whole number written in ASCII digits, as HTTP writes one (a
    ``Content-Length``, a status code), of at most :data:`MAX_NUMBER_DIGITS`:
    ``str.isdigit`` also takes "¹²³" (latin-1 bytes of a header), and ``int`` refuses both
    those and more than 4,300 digits (a ValueError, where the request was only malformed)."""
    return 0 < len(text) <= MAX_NUMBER_DIGITS and text.isascii() and text.isdigit()


@functools.lru_cache(maxsize=256)  # (the same few, request after request; twice a form post)
def media_type(content_type: str | None) -> str:
    """``"text/html"`` for ``"Text/HTML; charset=utf-8"``: lower-cased, parameters dropped."""
    return (content_type or "").partition(";")[0].strip().lower()


def media_parameter(content_type: str | None, name: str) -> str | None:
    """A parameter of a media type (``charset``), unquoted and lower-cased (the last one if it
    is given twice), or None."""
    found = None
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == name:
            found = value.strip().strip('"').lower()
    return found


def request_media_type(environ: Mapping[str, Any]) -> str:
    """The media type of a request's body (``CONTENT_TYPE``), as :func:`media_type` reads it."""
    return media_type(str(environ.get("CONTENT_TYPE", "")))


def _codings(accept_encoding: str) -> Iterator[tuple[str, str, str]]:
    """(item as written, coding lower-cased, its parameters) for each ``Accept-Encoding`` item."""
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        yield item, coding.strip().lower(), params


def accepts_coding(accept_encoding: str, coding: str) -> bool:
    """Whether ``Accept-Encoding`` lists ``coding`` without ``q=0``."""
    for _, name, params in _codings(accept_encoding):
        if name == coding:
            quality = params.strip().lower().removeprefix("q=").strip() or "1"
            try:
                return float(quality) > 0
            except ValueError:
                return False
    return False


def only_codings(accept_encoding: str, allowed: Collection[str]) -> str:
    """``Accept-Encoding`` narrowed to ``allowed`` codings (``*`` dropped); ``identity`` if none."""
    kept = [item for item, name, _ in _codings(accept_encoding) if name in allowed]
    return ",".join(kept).strip() or "identity"


# Cache-Control directives that let a shared cache keep a response (RFC 9111).
_SHARED_CACHE_DIRECTIVES = frozenset({"public", "s-maxage", "proxy-revalidate", "private"})
# Headers by which a CDN or a proxy keeps a response whatever its Cache-Control says (RFC 9213's
# CDN-Cache-Control and the vendors' own): dropped from a private response, so that caches fall
# back to its Cache-Control.
_SHARED_CACHE_HEADERS = frozenset({"cdn-cache-control", "cloudflare-cdn-cache-control",
                                   "surrogate-control", "edge-control", "x-accel-expires"})
# A Cache-Control directive: up to a comma outside quotes (no-cache="Set-Cookie, X-Y").
_DIRECTIVE = re.compile(r'(?:[^,"]|"[^"]*")+')
# What private_headers may change.
_CACHE_HEADERS = frozenset({"cache-control", "vary", "expires", *_SHARED_CACHE_HEADERS})
# Directives that let a browser show its copy without asking: how long it is fresh, and how
# long after that a stale copy may still be shown (stale-while-revalidate: shown at once,
# revalidated behind it; stale-if-error: when the server cannot be reached).
_STALE_DIRECTIVES = frozenset({"stale-while-revalidate", "stale-if-error"})


def private_headers(headers: Headers, *, fresh_for: int | None = None) -> Headers:
    """Headers of a response that belongs to one browser or user.

    No shared cache may keep it (``Cache-Control: private``; the app's ``no-store`` stays, and
    so do its other directives; a CDN's own cache headers, which it would obey instead, go),
    and a cache that keeps it per browser must tell cookies apart (``Vary: Cookie``).

    ``fresh_for``: how long the page's tokens can be used (see ``middleware``). A browser may
    show its copy without asking for that long at most: ``max-age`` (and a stale copy's
    extra time, and an ``Expires`` later than that) is cut to it, and ``immutable`` goes (a
    reload must fetch the page, and new tokens). Else a copy the app let live a month holds
    tokens refused after a week, in a form that looks fresh.
    """
    if not any(key.lower() in _CACHE_HEADERS for key, _ in headers):
        return [*headers, ("Cache-Control", "private"), ("Vary", "Cookie")]  # (the usual page)
    out: Headers = []
    directives: list[str] = []
    for key, value in headers:
        name = key.lower()
        if name == "cache-control":
            directives += [d.strip() for d in _DIRECTIVE.findall(value) if d.strip()]
        elif name not in _SHARED_CACHE_HEADERS:
            out.append((key, value))
    kept = [d for d in directives
            if d.split("=", 1)[0].strip().lower() not in _SHARED_CACHE_DIRECTIVES]
    if fresh_for is not None:
        out, expires_in = _expires_capped(out, fresh_for)
        kept = _capped(kept, fresh_for, expires_in)
    out.append(("Cache-Control", ", ".join(["private", *kept])))
    vary = [(i, v) for i, (k, v) in enumerate(out) if k.lower() == "vary"]
    if not vary:
        out.append(("Vary", "Cookie"))
    elif not any(
        token.strip().lower() in ("cookie", "*") for _, v in vary for token in v.split(",")
    ):
        index, value = vary[0]
        out[index] = ("Vary", f"{value}, Cookie" if value.strip() else "Cookie")
    return out


def _seconds(directive: str) -> tuple[str, int | None]:
    """A directive's lower-cased name, and its value as a number of seconds (None when it
    has none, or not a whole number)."""
    name, _, value = directive.partition("=")
    value = value.strip().strip('"')
    if is_number(value):
        return name.strip().lower(), int(value)
    if value.isascii() and value.isdigit():  # (longer than any age: past any cap)
        return name.strip().lower(), 10**MAX_NUMBER_DIGITS
    return name.strip().lower(), None


def _capped(directives: list[str], fresh_for: int, expires_in: int) -> list[str]:
    """Cache-Control ``directives`` that keep a copy fresh (or shown stale) no longer than
    ``fresh_for`` seconds in all (``expires_in``: how long ``Expires`` keeps it fresh when no
    ``max-age`` does): see :func:`private_headers`."""
    out = []
    fresh = None  # (how long max-age keeps the copy fresh, capped)
    for directive in directives:
        name, seconds = _seconds(directive)
        if name == "immutable":
            continue
        if name == "max-age" and seconds is not None:
            seconds = min(seconds, fresh_for)
            fresh = seconds if fresh is None else max(fresh, seconds)
            directive = f"max-age={seconds}"
        out.append(directive)
    left = fresh_for - (expires_in if fresh is None else fresh)  # (to show it stale)
    for index, directive in enumerate(out):
        name, seconds = _seconds(directive)
        if name in _STALE_DIRECTIVES and seconds is not None and seconds > left:
            out[index] = f"{name}={left}"
    return out


def _expires_capped(headers: Headers, fresh_for: int) -> tuple[Headers, int]:
    """``headers`` with an ``Expires`` later than ``fresh_for`` seconds after the response's
    ``Date`` (now, if it has none: the server adds it as it sends) moved back to that time,
    and how long the last ``Expires`` keeps the page fresh then (0 without one). One that is
    no date means "already expired" (RFC 9111): it stays."""
    if not any(key.lower() == "expires" for key, _ in headers):
        return headers, 0
    sent = _http_date(header(headers, "date")) or time.time()
    out = []
    expires_in = 0
    for key, value in headers:
        if key.lower() == "expires":
            expires = _http_date(value)
            if expires is not None and expires > sent + fresh_for:
                value, expires = formatdate(sent + fresh_for, usegmt=True), sent + fresh_for
            expires_in = 0 if expires is None else max(0, int(expires - sent))
        out.append((key, value))
    return out, expires_in


def _http_date(value: str | None) -> float | None:
    """An HTTP date (always GMT) as a timestamp, or None when it is none."""
    try:
        when = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def text_response(
    start_response: StartResponse,
    status: str,
    text: str,
    extra_headers: Headers | None = None,
    *,
    content_type: str = "text/plain; charset=utf-8",
) -> list[bytes]:
    """A short text answer (``text/plain`` unless told) that no cache keeps (errors, refusals,
    callbacks)."""
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:  # (lone surrogates: a callback echoing JSON's "\ud800")
        body = _SURROGATE.sub("\ufffd", text).encode("utf-8")  # (as a browser shows one)
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
    start_response(status, headers + (extra_headers or []))
    return [body]


def callback_reply(start_response: StartResponse, status: str, text: str,
                   extra_headers: Headers | None = None) -> list[bytes]:
    """A callback's answer in ASP.NET's framing (``s``/``e``/``N|EV`` and the text):
    WebForms.js reads the body, not the status."""
    return text_response(start_response, status, text,
                         [("X-Content-Type-Options", "nosniff"), *(extra_headers or [])])


def json_response(
    start_response: StartResponse, payload: Mapping[str, object], headers: Headers, *,
    status: str = "200 OK",
) -> list[bytes]:
    """A JSON answer (compact, UTF-8; ``200`` unless told) that no cache keeps, after
    ``headers``. Its body comes in pieces where it holds a long string (see
    :func:`json_pieces`)."""
    body = json_pieces(payload)
    start_response(status, [
        *headers,
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(sum(map(len, body)))),
        ("Cache-Control", "no-store"),
    ])
    return body


# The characters of a long string written at a time (see json_pieces).
_SLICE = 1 << 14
# The items of a long list written at a time: orjson reserves some 190 bytes an item and its
# answer keeps them (16 MB for the 87,000 indices of a panel of small children, written in
# 174 KB), so a list of more is written in slices, each copied to its size.
_ITEMS = 256


def json_pieces(payload: object) -> list[bytes]:
    """Compact UTF-8 JSON (as :func:`_json` writes it), in pieces: a string longer than
    _SLICE characters (a partial answer's panel of markup) is written a slice at a time, a
    list of more than _ITEMS items (a panel's children) _ITEMS at a time, and the pieces are
    not joined. orjson reserves 8 bytes a character of a string before writing it, and some
    190 an item of a list: a panel of megabytes would take 8 times its size at once, and the
    joined answer a copy more; this takes about its size."""
    pieces = _long_pieces(payload)
    return [_json(payload)] if pieces is None else pieces


# The types of values that are never long, nor hold anything (a list of them, the children a
# client has, is judged in one step: see _long_pieces).
_NEVER_LONG = frozenset({int, float, bool, type(None)})


def _long_pieces(value: object) -> list[bytes] | None:
    """:func:`json_pieces` of ``value`` where it is, or holds (in dicts keyed by strings, and
    lists), a string longer than _SLICE or a list of more than _ITEMS items; None where it
    does not, for one :func:`_json` call to write it. Each value is looked at once, and a
    number or a short string without a call of its own (an answer's fields are dozens)."""
    if isinstance(value, str):
        if len(value) <= _SLICE:
            return None
        return [b'"', *[_json(value[at : at + _SLICE])[1:-1]
                        for at in range(0, len(value), _SLICE)], b'"']
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return None
        parts = _items_pieces(value.values())
        if parts is None:
            return None
        pieces: list[bytes] = []
        for index, ((key, item), part) in enumerate(zip(value.items(), parts, strict=True)):
            pieces.append((b"{" if index == 0 else b",") + _json(key) + b":")
            pieces += [_json(item)] if part is None else part
        pieces.append(b"}")
        return pieces
    if not isinstance(value, list):
        return None
    items = None if set(map(type, value)) <= _NEVER_LONG else _items_pieces(value)
    if items is None and len(value) <= _ITEMS:
        return None
    pieces = [b"["]
    for at in range(0, len(value), _ITEMS):
        if at:
            pieces.append(b",")
        if items is None or not any(items[at : at + _ITEMS]):
            # (a copy of its own size: orjson's answer keeps the room it reserved)
            pieces.append(_json(value[at : at + _ITEMS])[1:-1])
            continue
        for index in range(at, min(at + _ITEMS, len(value))):
            if index > at:
                pieces.append(b",")
            part = items[index]
            pieces += [_json(value[index])] if part is None else part
    pieces.append(b"]")
    return pieces


def _items_pieces(items: Iterable[object]) -> list[list[bytes] | None] | None:
    """:func:`_long_pieces` of each of ``items``, or None when none is long."""
    parts = [None if type(item) in _NEVER_LONG
             or (type(item) is str and len(item) <= _SLICE)
             else _long_pieces(item) for item in items]
    return parts if any(parts) else None


def _json(payload: object) -> bytes:
    """Compact UTF-8 JSON: orjson's (a partial answer carries whole panels of markup, which
    the json module writes several times slower), or the json module's for what orjson
    does not take."""
    if orjson is not None:
        try:
            return orjson.dumps(payload)
        except TypeError:  # (orjson.JSONEncodeError: a value of another type, a huge int)
            pass
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ClosingIterable:
    """Wraps an iterable so that extra clean-up runs when the server closes it."""

    def __init__(self, iterable: Iterable[bytes], *cleanups: Callable[[], Any]) -> None:
        self._iterable = iterable
        self._cleanups = cleanups

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._iterable)

    def close(self) -> None:
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            for cleanup in self._cleanups:
                cleanup()


_DEFAULT_PORTS = {"http": 80, "https": 443}


def without_query(url: str) -> str:
    """``url`` up to its query or fragment (where the URL parser ends its path): what a
    memo of a page's URL, or of a form's action's path, is kept by."""
    return url.partition("#")[0].partition("?")[0]


def origin_of(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an http(s) URL, with default ports made explicit."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return None
        return scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        return None


@functools.lru_cache(maxsize=64)
def reads_form_posts(codec: str) -> bool:
    """Whether a form's text posted in ``codec`` is read in it: every ASCII byte alone is that
    character and back (what all but the stateful encodings are: ISO-2022-JP and -KR, HZ,
    UTF-16 and UTF-7 are not, and keep being read as UTF-8). A codec name as
    ``charset.form_encoding`` gives it (``codecs.lookup``'s own spelling)."""
    try:
        info = codecs.lookup(codec)
        ascii_bytes = bytes(range(128))
        return (info.name == codec and getattr(info, "_is_text_encoding", True)
                and codecs.encode(ascii_bytes.decode("ascii"), codec) == ascii_bytes
                and all(codecs.decode(bytes([byte]), codec) == chr(byte) for byte in range(128)))
    except (LookupError, ValueError):  # (UnicodeError: a stateful codec's lone ESC, "~", "+")
        return False


def is_form_encoding(value: Any) -> bool:
    """Whether a token's record of a form's encoding (see ``form_tokens``) names one as
    ``charset.form_encoding`` gives it: a codec name, never UTF-8 (which is never recorded)."""
    return type(value) is str and value != "utf-8" and reads_form_posts(value)
