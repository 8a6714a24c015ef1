"""What the test suites share, imported where used (fixtures live in ``conftest.py``).

Keys and forged tokens, a recording inner app with the standard page and the requests the client
script sends for it (postbacks, callbacks, renewals), multipart bodies (``part``,
``multipart_body``), a store that is down, the inserted markup
and reading back the fields the middleware inserted, ``unavailable`` (the skip that fails under
CI) and the scanner-engine guard, the documentation's sections and code blocks (README.md and
``docs/``), and the injector on its own. Hypothesis strategies are in ``strategies``, the
html5lib reference in ``html_reference``, a real ``redis-server`` in ``redis_server``.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import re
import secrets
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from itsdangerous import Signer
from itsdangerous.encoding import base64_encode

from postback_middleware import PostbackMiddleware
from postback_middleware.errors import StoreUnavailable
from postback_middleware.html_scan import TagScanner
from postback_middleware.inject import FieldInjector, PostForm
from postback_middleware.partial import (
    PanelContent,
    PanelRequest,
    end_tag,
    panel_content,
    panel_starts,
)

if TYPE_CHECKING:
    import webtest

# The markup the middleware inserts, defined once for every test that reads it: a hidden field
# as ``inject.hidden_input`` writes it (groups: name, value) and the script tag of
# ``client.ClientScript.tag`` (any prefix, any nonce).
FIELD = re.compile(rb'<input type="hidden" name="(__[A-Z]+)"(?: id="__[A-Z]+")? value="([^"]*)" />')
SCRIPT_TAG = re.compile(rb'<script defer="defer" src="[^"]*postback\.[0-9a-f]+\.js"'
                        rb'(?: data-max-age="[0-9]+")?(?: data-aspnet-ajax="true")?'
                        rb'(?: nonce="[^"]*")?></script>')
INSERTED = re.compile(FIELD.pattern + rb"|" + SCRIPT_TAG.pattern)


def without_insertions(body: bytes) -> bytes:
    """The page with the middleware's insertions taken out again: the app's bytes."""
    return INSERTED.sub(b"", body)


def token_signed(key: bytes, purpose: Any, payload: bytes) -> str:
    """A token of ``payload`` (bytes this library may never write) signed with ``key``, made
    with itsdangerous directly: the token format is its ``Signer`` (salt = the purpose, HMAC
    key derivation, SHA-256) over the base64url payload, so a test can forge what it likes."""
    body = base64_encode(payload)
    signer = Signer(key, salt=purpose.value, key_derivation="hmac", digest_method=hashlib.sha256)
    return signer.sign(body).decode("ascii")


def new_key() -> str:
    return secrets.token_urlsafe(48)


@dataclass
class Seen:
    """What the inner app received on one call."""

    method: str
    path: str
    body: bytes
    content_length: str | None
    event: Any
    viewstate: Any
    environ: dict[str, Any]


@dataclass
class RecordingApp:
    """An inner app that renders ``page`` and records every request it gets."""

    page: str = ""
    content_type: str = "text/html; charset=utf-8"
    calls: list[Seen] = field(default_factory=list)
    state_update: Callable[[dict[str, Any]], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = environ.get("CONTENT_LENGTH")
        body = environ["wsgi.input"].read(int(length)) if length else b""
        self.calls.append(
            Seen(
                method=environ["REQUEST_METHOD"],
                path=environ.get("PATH_INFO", ""),
                body=body,
                content_length=length,
                event=environ.get("postback.event"),
                viewstate=dict(environ.get("postback.viewstate") or {}),
                environ=environ,
            )
        )
        if self.state_update is not None:
            self.state_update(environ["postback.viewstate"])
        data = self.page.encode("utf-8")
        start_response("200 OK", [("Content-Type", self.content_type),
                                  ("Content-Length", str(len(data)))])
        return [data]


PAGE = """<!DOCTYPE html>
<html><head><title>Orders</title></head>
<body>
<form method="post" action="/orders" data-callbacks="CallServer Broken Deliberate Echo">
  <input name="note" value="hello">
  <a href="#" data-postback="delete" data-postback-argument="7">Delete 7</a>
  <button type="button" data-postback="refresh">Refresh</button>
  <select name="sort" data-autopostback><option>a</option></select>
</form>
</body></html>
"""


def hidden_fields(body: bytes, form_index: int = 0) -> dict[str, str]:
    """The hidden fields the middleware inserted into the ``form_index``-th post form."""
    forms = body.split(b'<input type="hidden" name="__EVENTTARGET"')[1:]
    block = b'<input type="hidden" name="__EVENTTARGET"' + forms[form_index]
    found: dict[str, str] = {}
    for name, value in FIELD.findall(block):
        if name.decode() in found:
            break
        found[name.decode()] = value.decode()
    return found


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose tool is missing; under ``CI=true``, fail it: CI never skips silently."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def require_engine(engine: str) -> None:
    """Skip a test of a scanner engine this installation lacks; under ``CI=true``, fail it.

    The compiled engine is built by ``pip install`` where a C compiler is present.
    """
    from postback_middleware import html_scan

    if engine not in html_scan.ENGINES:
        unavailable("the compiled scanner engine is not built (no C compiler at install time?)")


# -- the documentation: README.md and the MkDocs pages in docs/, whose code tests run as written

ROOT = Path(__file__).resolve().parent.parent


def markdown_section(page: str, title: str) -> str:
    """The section titled ``title`` (a heading of any level) of the markdown file ``page`` (a
    path from the repository's root, e.g. ``docs/reference/options.md``): its text up to the
    next heading of the same or a higher level. Lines in fenced code are not headings."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines(keepends=True)
    fenced, level, body = False, 0, []
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        heading = re.match(r"(#+) (.*)", line) if not fenced else None
        if level and heading and len(heading.group(1)) <= level:
            break
        if level:
            body.append(line)
        elif heading and heading.group(2).strip() == title:
            level = len(heading.group(1))
    if not level:
        raise LookupError(f"{page} has no section titled {title!r}")
    return "".join(body)


def code_blocks(page: str, section: str, language: str) -> list[str]:
    """The ``language`` code blocks of the section titled ``section`` of ``page``."""
    return re.findall(rf"```{language}\n(.*?)```", markdown_section(page, section), re.DOTALL)


# -- the injector on its own (inject.FieldInjector), as the injector and real-page suites drive it

PAGE_URL = "http://shop.example/cart/view?id=3"
# The script tag the injector tests insert: the real tag's shape (``INSERTED`` finds it), at a
# path nothing a generated or saved page contains.
INJECTOR_SCRIPT_TAG = (b'<script defer="defer" src="/by-the-test/postback.0a1b2c3d4e5f.js">'
                       b"</script>")


def pairs_of(form: PostForm) -> list[list[str]]:
    """A form's (target, argument) pairs, flattened in page order of their targets."""
    return [[target, argument] for target, arguments in form.pairs.items()
            for argument in arguments]


def injector(**options: Any) -> FieldInjector:
    """A FieldInjector for ``PAGE_URL`` whose tokens spell the form's pairs ("VS", "EV:...")."""
    def sign(forms: list[PostForm]) -> list[tuple[str, str]]:
        return [("VS", "EV:" + ";".join(",".join(pair) for pair in pairs_of(form)))
                for form in forms]

    settings = {"page_url": PAGE_URL, "encoding": "utf-8", "sign_forms": sign,
                "script_tag": INJECTOR_SCRIPT_TAG, "client_fields": None, **options}
    return FieldInjector(**settings)


def streamed(document: bytes, cuts: list[int], **options: Any) -> bytes:
    """``document`` through an injector in pieces cut at ``cuts``, as a streamed page comes."""
    return streamed_by(injector(**options), document, cuts)


def streamed_by(editor: FieldInjector, document: bytes, cuts: list[int]) -> bytes:
    """``document`` through ``editor`` in pieces cut at ``cuts`` (its forms are then there)."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(document)}), len(document)]
    out = b"".join(editor.feed(document[a:b]) for a, b in itertools.pairwise(bounds))
    return out + editor.finish()


def whole_and_streamed(document: bytes, cuts: list[int]) -> tuple[FieldInjector, FieldInjector]:
    """Two injectors that read ``document``: whole, and in pieces cut at ``cuts``."""
    whole, editor = injector(), injector()
    whole.edit(document)
    streamed_by(editor, document, cuts)
    return whole, editor


# -- requests as the client script sends them (WebTest) ------------------------------------


def tokens_of(app: webtest.TestApp, path: str = "/orders", **kwargs: Any) -> dict[str, str]:
    """The tokens of the first post form of the page at ``path``."""
    return hidden_fields(app.get(path, **kwargs).body)


def postback(app: webtest.TestApp, fields: dict[str, str], target: str = "", argument: str = "",
             path: str = "/orders", status: int | str = 200, **extra: str) -> webtest.TestResponse:
    """A postback of the standard page's form (``PAGE``) with ``fields``' tokens."""
    params = [("note", "hello"), ("__EVENTTARGET", target), ("__EVENTARGUMENT", argument),
              ("__VIEWSTATE", fields["__VIEWSTATE"]),
              ("__EVENTVALIDATION", fields["__EVENTVALIDATION"]), *extra.items()]
    return app.post(path, params, status=status)


def callback(app: webtest.TestApp, fields: dict[str, str], target: str, argument: str,
             status: int = 200, path: str = "/orders") -> webtest.TestResponse:
    """Exactly what WebForms.js sends: the form's fields, then the callback fields."""
    body = (f"__EVENTTARGET=&__EVENTARGUMENT=&__VIEWSTATE={fields['__VIEWSTATE']}&note=hello&"
            f"__CALLBACKID={target}&__CALLBACKPARAM={argument}"
            f"&__EVENTVALIDATION={fields['__EVENTVALIDATION']}")
    return app.post(path, body.encode(), status=status,
                    content_type="application/x-www-form-urlencoded; charset=utf-8")


def parse_success(text: str) -> tuple[str, str]:
    """A callback's success answer: (the fresh event validation, the handler's result)."""
    length, _, rest = text.partition("|")
    return rest[: int(length)], rest[int(length):]


def renew(app: webtest.TestApp, fields: dict[str, str], status: int = 200,
          **headers: str) -> webtest.TestResponse:
    """What the client sends to renew a form's tokens (``X-Postback-Renew``)."""
    tokens = {name: fields[name] for name in ("__VIEWSTATE", "__EVENTVALIDATION")}
    return app.post("/orders", tokens, headers={"X-Postback-Renew": "1", **headers},
                    status=status)


class UnreachableStore:
    """A store whose every call fails, as a shared store does when it is down (the real one
    stopped: see ``test_stores``)."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("connection refused (test)")

    add = put = get = delete = _fail


def counting(state: dict[str, Any]) -> None:
    """An app's ``state_update`` (``RecordingApp``) that counts its pages in the view state."""
    state["n"] = state.get("n", 0) + 1


def effects(inner: RecordingApp) -> int:
    """How many postbacks reached the app (each one's effect happened once)."""
    return sum(call.method == "POST" for call in inner.calls)


def grid_page(rows: int = 400) -> str:
    """A post form of ``rows`` links, each an event with an argument of its own (a grid's Edit
    links): an event validation too large for the page even in its compact form."""
    return ("<!DOCTYPE html><html><head><title>Grid</title></head><body>"
            '<form method="post" action="/orders" data-callbacks="CallServer">'
            + "".join(f'<a href="#" data-postback="grid" data-postback-argument="Edit${n}:'
                      f'{secrets.token_hex(12)}">edit</a>' for n in range(rows))
            + "</form></body></html>")


# -- partial postbacks -------------------------------------------------------------------------


def panels_counted(document: bytes, panels: PanelRequest, encoding: str = "utf-8"
                   ) -> dict[str, PanelContent] | None:
    """Each panel's content as ``partial.read_panels`` cut it before the scanners gave where
    panels end (the reference their ends are held to): from every tag of the page, each
    panel's first start tag (``partial.panel_starts``) to its end tag, found by counting the
    tags of its name with nesting (``partial.end_tag``); None when one is missing or open."""
    tags = TagScanner(encoding=encoding).scan(document, final=True)[0]
    starts = panel_starts(tags, panels, document)
    if len(starts) != len(panels):
        return None
    contents: dict[str, PanelContent] = {}
    for panel_id, first in starts.items():
        last = end_tag(tags, first)
        if last is None:
            return None
        markup = document[tags[first].end : tags[last].start]
        contents[panel_id] = panel_content(markup, encoding, panels[panel_id])
    return contents


def partial_postback_peak(page: bytes, panels: str, *, piece: int = 0,
                          children: str | None = None) -> tuple[int, str, dict[str, Any]]:
    """How much memory (the peak tracemalloc sees, over what was held before) the middleware
    takes to answer a partial postback asking for ``panels`` (a postback of the page's first
    form, its first ``data-postback`` raised), called through WSGI as a server calls it, its
    answer read to the end; with the answer's ``X-Postback-Partial`` and its JSON. The app
    serves ``page`` (made before the count starts) whole, or (``piece``) in pieces of that
    size, as a streamed page comes. ``children``: its ``X-Postback-Children``, if any."""
    pieces = [page] if not piece else [page[at : at + piece] for at in range(0, len(page), piece)]

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return pieces

    middleware = PostbackMiddleware(app, secret_keys=[new_key()])
    base = {"SERVER_NAME": "shop.example", "SERVER_PORT": "80", "HTTP_HOST": "shop.example",
            "wsgi.url_scheme": "http", "SCRIPT_NAME": "", "PATH_INFO": "/orders",
            "wsgi.errors": sys.stderr}

    def call(environ: dict[str, Any]) -> tuple[list[tuple[str, str]], list[bytes]]:
        headers: list[tuple[str, str]] = []

        def start_response(status: str, sent: list[tuple[str, str]], exc_info: Any = None
                           ) -> Any:
            headers[:] = sent

        result = middleware(environ, start_response)
        try:
            return headers, list(result)  # (as a server sends them: each, not joined)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    headers, sent = call({**base, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()})
    body = b"".join(sent)
    fields = hidden_fields(body)
    cookies = "; ".join(value.split(";", 1)[0] for name, value in headers
                        if name.lower() == "set-cookie")
    target = re.search(rb'data-postback="([^"]*)"', page)
    assert target is not None
    data = (f"__EVENTTARGET={target[1].decode()}&__EVENTARGUMENT="
            f"&__VIEWSTATE={fields['__VIEWSTATE']}"
            f"&__EVENTVALIDATION={fields['__EVENTVALIDATION']}").encode()
    environ = {**base, "REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(data),
               "CONTENT_LENGTH": str(len(data)),
               "CONTENT_TYPE": "application/x-www-form-urlencoded",
               "HTTP_ORIGIN": "http://shop.example", "HTTP_SEC_FETCH_SITE": "same-origin",
               "HTTP_COOKIE": cookies, "HTTP_X_POSTBACK_PANELS": panels}
    if children is not None:
        environ["HTTP_X_POSTBACK_CHILDREN"] = children
    del body, sent, headers
    tracemalloc.start()
    try:
        held = tracemalloc.get_traced_memory()[0]
        headers, sent = call(environ)
        peak = tracemalloc.get_traced_memory()[1] - held
    finally:
        tracemalloc.stop()
    kind = dict(headers).get("X-Postback-Partial", "")
    return peak, kind, json.loads(b"".join(sent)) if kind else {}


# -- multipart bodies --------------------------------------------------------------------------


def part(name: str, value: bytes | str, *, filename: str | None = None, headers: str = ""
         ) -> bytes:
    """One multipart part: its Content-Disposition (``filename`` if given), more ``headers``
    (each ending in CRLF), a blank line, the value."""
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    data = value.encode() if isinstance(value, str) else value
    return f"Content-Disposition: {disposition}\r\n{headers}\r\n".encode() + data


def multipart_body(*parts: bytes, boundary: str = "XyZ", epilogue: bytes = b"\r\n") -> bytes:
    """``parts`` between delimiters of ``boundary``, then the close delimiter and ``epilogue``."""
    out = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return out + b"--" + boundary.encode() + b"--" + epilogue
