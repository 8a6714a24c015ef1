"""The client script: served by the middleware, referenced once per page.

``static/postback.js`` (the core) followed by ``static/webforms.js`` (the WebForms.js functions
ASP.NET's controls call: ``WebForm_DoPostBackWithOptions``, ``WebForm_FireDefaultButton``...) is
read, hashed and gzipped once at start-up, as one script: a page needs one request for both, and
the functions are there at click time on pages that never load ``WebResource.axd``. It is
served at ``<script_prefix>postback.<hash>.js`` with a one-year immutable cache, so browsers
fetch it once per release and a new release can never be mixed with a cached old one; browsers
that accept gzip get the compressed bytes (about a third of the size). Every other path under
the prefix is answered 404, so the prefix belongs to the middleware alone.

:class:`Asset` is how any script of the package is answered (ETag, ``If-None-Match``, gzip,
``HEAD``): ``aspnet.resources`` answers ``WebResource.axd`` with :func:`compat_script` through it.
Its gzip and identity copies are two representations, each with its own ETag (the gzip one's
ends in ``-gzip``), as a strong validator must be (RFC 9110, 8.8.3).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import TYPE_CHECKING, NamedTuple

from .http import ONCE_HEADERS, Headers, accepts_coding, text_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# A nonce source: the keyword in any case, the value (base64 or base64url) as written.
_NONCE = re.compile(r"'(?i:nonce)-([A-Za-z0-9+/_=-]+)'")
CORE_SCRIPT = "static/postback.js"
_PLAIN_TAGS_KEPT = 1024  # script tags without a nonce kept made (one per host and mount point)
COMPAT_SCRIPT = "static/webforms.js"


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (a list, weak ``W/`` tags, ``*``):
    the weak comparison RFC 9110 asks of it."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


class Asset:
    """A script's bytes, served: made once (gzip copy, version, ETag), answered many times."""

    def __init__(self, body: bytes, *, content_type: str, cache_control: str) -> None:
        self.body = body
        self.gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        self.version = hashlib.sha256(body).hexdigest()[:12]
        self.etag = f'"{self.version}"'
        self.gzip_etag = f'"{self.version}-gzip"'  # (the gzipped copy's: another representation)
        self.content_type = content_type
        self.cache_control = cache_control

    def respond(self, environ: WSGIEnvironment, start_response: StartResponse,
                kept: Sequence[tuple[str, str]] = ()) -> list[bytes]:
        """Answer a GET or HEAD (the caller checked the method): 304 when the browser's copy is
        this one (the copy it is answered with: gzipped or not), the gzipped bytes when it
        accepts them, no body for HEAD. ``kept``: headers
        of an answer this one replaces that must not be lost (its ``Set-Cookie``)."""
        cache_control = self.cache_control
        if any(key.lower() in ONCE_HEADERS for key, _ in kept):
            cache_control = f"private, {cache_control}"  # (the app's cookie: no shared cache's)
        gzipped = accepts_coding(environ.get("HTTP_ACCEPT_ENCODING", ""), "gzip")
        etag = self.gzip_etag if gzipped else self.etag
        headers: Headers = [
            *kept,
            ("Cache-Control", cache_control),
            ("ETag", etag),
            ("Vary", "Accept-Encoding"),
        ]
        if etag_matches(environ.get("HTTP_IF_NONE_MATCH"), etag):
            start_response("304 Not Modified", headers)
            return []
        body = self.body
        if gzipped:
            body = self.gzipped
            headers.append(("Content-Encoding", "gzip"))
        headers += [
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
        ]
        start_response("200 OK", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


@functools.cache
def compat_script() -> Asset:
    """``webforms.js`` alone, as ``WebResource.axd`` answers it (see ``aspnet.resources``): its
    URL is the page's, not versioned by us, so browsers revalidate it (``no-cache``, ETag)."""
    return Asset(_static(COMPAT_SCRIPT), content_type="application/javascript; charset=utf-8",
                 cache_control="no-cache")


class ClientScript:
    """The script asset and the tag that loads it."""

    def __init__(self, prefix: str, *, max_age: int | None = None,
                 aspnet_ajax: bool = False) -> None:
        # max_age: told to the script (data-max-age) so that it renews a form's tokens before
        # they expire (see form_tokens); None when renewal is off. aspnet_ajax: told to it
        # (data-aspnet-ajax) so that it leaves Microsoft's client the __doPostBack it wrapped.
        self.max_age = max_age
        self.aspnet_ajax = aspnet_ajax
        # One script for both: webforms.js defines only what is not defined yet, so a page that
        # loaded it earlier from WebResource.axd keeps its (possibly wrapped) functions.
        self.asset = Asset(_static(CORE_SCRIPT) + b"\n" + compat_script().body,
                           content_type="text/javascript; charset=utf-8",
                           cache_control="public, max-age=31536000, immutable")
        self.body = self.asset.body
        self.gzipped = self.asset.gzipped
        self.version = self.asset.version
        self.prefix = prefix
        self.path = f"{prefix}postback.{self.version}.js"
        self._plain_tags: dict[str, bytes] = {}  # tag() without a nonce, by script_name

    def tag(self, script_name: str, nonce: str | None) -> bytes:
        """The ``<script defer>`` element for a page (valid HTML and XHTML). ``script_name``:
        what goes before the prefix (the app's mount point, ``//host`` first to pin the
        script's origin: see ``middleware``). Made once per ``script_name`` when there is no
        nonce (a nonce is new on every page)."""
        if nonce is not None:
            return self._tag(script_name, nonce)
        tags = self._plain_tags
        tag = tags.get(script_name)
        if tag is None:
            if len(tags) >= _PLAIN_TAGS_KEPT:  # (the Host header is the client's: bounded)
                tags.clear()
            tag = tags[script_name] = self._tag(script_name, None)
        return tag

    def _tag(self, script_name: str, nonce: str | None) -> bytes:
        nonce_attr = f' nonce="{html.escape(nonce)}"' if nonce else ""
        age_attr = f' data-max-age="{self.max_age}"' if self.max_age else ""
        ajax_attr = ' data-aspnet-ajax="true"' if self.aspnet_ajax else ""
        src = html.escape(script_name + self.path)
        return (f'<script defer="defer" src="{src}"{age_attr}{ajax_attr}{nonce_attr}>'
                "</script>").encode()

    def serve(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer a request whose path lies under the prefix."""
        if environ.get("PATH_INFO") != self.path:
            return text_response(start_response, "404 Not Found", "Not found.")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return text_response(start_response, "405 Method Not Allowed", "Method not allowed.",
                                 [("Allow", "GET, HEAD")])
        return self.asset.respond(environ, start_response)


# What a Content-Security-Policy says about the client script (its ``<script src>`` element and
# its fetch() calls). A response may carry several policies (several headers, or one header
# whose value lists them, joined by commas: CSP3's serialized policy list); a browser enforces
# every one of them, so what the script needs must pass them all.
_SCRIPT_DIRECTIVES = ("script-src-elem", "script-src", "default-src")  # (browsers fall back so)
_CONNECT_DIRECTIVES = ("connect-src", "default-src")


class NonceChoice(NamedTuple):
    """The nonce for the script tag, and whether the page's enforced policies disagree: each
    lets the tag through only by a nonce, and no one nonce is in all of them (the script is
    blocked whatever it gets; so are the page's own scripts, an element has one nonce)."""

    nonce: str | None
    conflict: bool = False


def csp_policies(values: Iterable[str]) -> list[dict[str, list[str]]]:
    """Each policy of a response's CSP header ``values``: its directives by lower-cased name
    (the first of a name kept, as browsers do), each with its source expressions."""
    policies = []
    for value in values:
        for serialized in value.split(","):
            directives: dict[str, list[str]] = {}
            for directive in serialized.split(";"):
                tokens = directive.split()
                if tokens:
                    directives.setdefault(tokens[0].lower(), tokens[1:])
            if directives:
                policies.append(directives)
    return policies


def _governing(policy: dict[str, list[str]], names: Sequence[str]) -> list[str] | None:
    """The sources of the first of ``names`` the policy has (its fallback order), or None
    when it has none of them (it does not restrict that)."""
    return next((policy[name] for name in names if name in policy), None)


def _may_match_urls(sources: Sequence[str]) -> bool:
    """Whether a source list may allow a URL: ``'self'``, a host or scheme source or ``*``.
    Other quoted keywords, nonces and hashes allow no URL; ``'none'`` or nothing, none."""
    return any(source.lower() == "'self'" or not source.startswith("'") for source in sources)


def _nonces(sources: Sequence[str]) -> list[str]:
    return [match.group(1) for source in sources if (match := _NONCE.fullmatch(source))]


def _script_nonces(values: Iterable[str], *, needed: list[list[str]],
                   wished: list[list[str]]) -> None:
    """Sort the script-restricting policies of ``values``: ``needed`` gets the nonces of each
    one the tag passes only by a nonce ('strict-dynamic' ignores 'self' and hosts), ``wished``
    those of each one that may also let it through by its URL (its nonce does no harm)."""
    for policy in csp_policies(values):
        sources = _governing(policy, _SCRIPT_DIRECTIVES)
        if sources is None:
            continue
        nonces = _nonces(sources)
        by_url = "'strict-dynamic'" not in (s.lower() for s in sources) and _may_match_urls(
            sources)
        if not by_url:
            needed.append(nonces)
        elif nonces:
            wished.append(nonces)


def script_nonce(enforced: Iterable[str], reported: Iterable[str] = ()) -> NonceChoice:
    """The nonce for the script tag of a page whose ``Content-Security-Policy`` headers are
    ``enforced`` (and ``-Report-Only`` ones ``reported``).

    One that every enforced policy restricting scripts (``script-src-elem``, else
    ``script-src``, else ``default-src``) allows, where the tag can pass it only so; among
    those, the one named by most of the others and of the report-only policies: those block
    nothing, but a nonce they allow spares the app a violation report on every page (and is
    the nonce when only they name one). When the enforced policies leave no such nonce, the
    first one they name, and ``conflict``.
    """
    needed: list[list[str]] = []
    wished: list[list[str]] = []
    _script_nonces(enforced, needed=needed, wished=wished)
    report_only: list[list[str]] = []
    _script_nonces(reported, needed=report_only, wished=report_only)
    wished += report_only
    offered = list(dict.fromkeys(n for nonces in (*needed, *wished) for n in nonces))
    fitting = [nonce for nonce in offered if all(nonce in nonces for nonces in needed)]
    if needed and not fitting:
        return NonceChoice(offered[0] if offered else None, conflict=True)
    # (max keeps the first of equals: the order the policies came in)
    best = max(fitting, key=lambda nonce: sum(nonce in nonces for nonces in wished),
               default=None)
    return NonceChoice(best)


def connect_blocked(enforced: Iterable[str]) -> str | None:
    """The directive (as written, lower-cased name) of an enforced policy that lets the page
    connect to no URL at all (``connect-src``, else ``default-src``, with no ``'self'``, host
    or scheme source), so not to its own origin: the script's renewals, callbacks and partial
    postbacks are blocked. None otherwise; a policy naming only other hosts is not judged."""
    for policy in csp_policies(enforced):
        for name in _CONNECT_DIRECTIVES:
            if name in policy:
                if not _may_match_urls(policy[name]):
                    return " ".join([name, *policy[name]])
                break
    return None
