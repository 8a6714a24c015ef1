"""The client script: served by the middleware, referenced once per page.

``static/postback.js`` is read, hashed and gzipped once at start-up. It is served at
``<script_prefix>postback.<hash>.js`` with a one-year immutable cache, so browsers fetch it once
per release and a new release can never be mixed with a cached old one; browsers that accept
gzip get the compressed bytes (about a third of the size). Every other path under the prefix is
answered 404, so the prefix belongs to the middleware alone.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING

from .http import accepts_coding, text_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_NONCE = re.compile(r"'nonce-([A-Za-z0-9+/_=-]+)'")


class ClientScript:
    """The script asset and the tag that loads it."""

    def __init__(self, prefix: str, *, max_age: int | None = None) -> None:
        # max_age: told to the script (data-max-age) so that it renews a form's tokens before
        # they expire (see form_tokens); None when renewal is off.
        self.max_age = max_age
        self.body = resources.files(__package__).joinpath("static/postback.js").read_bytes()
        self.gzipped = gzip.compress(self.body, compresslevel=9, mtime=0)
        self.version = hashlib.sha256(self.body).hexdigest()[:12]
        self.prefix = prefix
        self.path = f"{prefix}postback.{self.version}.js"
        self._etag = f'"{self.version}"'

    def tag(self, script_name: str, nonce: str | None) -> bytes:
        """The ``<script defer>`` element for a page (valid HTML and XHTML). ``script_name``:
        what goes before the prefix (the app's mount point, ``//host`` first to pin the
        script's origin: see ``middleware``)."""
        nonce_attr = f' nonce="{html.escape(nonce)}"' if nonce else ""
        age_attr = f' data-max-age="{self.max_age}"' if self.max_age else ""
        src = html.escape(script_name + self.path)
        return f'<script defer="defer" src="{src}"{age_attr}{nonce_attr}></script>'.encode()

    def serve(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer a request whose path lies under the prefix."""
        if environ.get("PATH_INFO") != self.path:
            return text_response(start_response, "404 Not Found", "Not found.")
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            return text_response(start_response, "405 Method Not Allowed", "Method not allowed.",
                                 [("Allow", "GET, HEAD")])
        headers = [
            ("Cache-Control", "public, max-age=31536000, immutable"),
            ("ETag", self._etag),
            ("Vary", "Accept-Encoding"),
        ]
        if environ.get("HTTP_IF_NONE_MATCH") == self._etag:
            start_response("304 Not Modified", headers)
            return []
        body = self.body
        if accepts_coding(environ.get("HTTP_ACCEPT_ENCODING", ""), "gzip"):
            body = self.gzipped
            headers.append(("Content-Encoding", "gzip"))
        headers += [
            ("Content-Type", "text/javascript; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
        ]
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [body]


def script_nonce(content_security_policy: str | None) -> str | None:
    """The nonce a page's CSP allows scripts with (``script-src``, else ``default-src``)."""
    if not content_security_policy:
        return None
    directives: dict[str, str] = {}
    for directive in content_security_policy.split(";"):
        name, _, value = directive.strip().partition(" ")
        directives.setdefault(name.lower(), value)
    for name in ("script-src-elem", "script-src", "default-src"):
        if name in directives:
            match = _NONCE.search(directives[name])
            return match.group(1) if match else None
    return None
