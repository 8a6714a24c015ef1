"""Replays: a partial postback's answer that must end as a real navigation (see ``partial``).

The answer (an attachment, an SVG, a PDF, a page with its own CSP...) comes back as a signed,
short-lived token plus the body; the browser submits both (``text/plain``) to the postback's
URL, and the middleware answers with the stored response without calling the app. Every way a
replay can be forged or misused is refused (4xx) with the app never called.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
import webtest

from postback_middleware import PostbackMiddleware, partial
from postback_middleware.errors import BadRequest, CrossSite, Rejected, TokenError, TooLarge
from postback_middleware.tokens import Purpose, TokenSigner

from .helpers import hidden_fields, new_key

PAGE = b"""<!DOCTYPE html><html><head><title>t</title></head><body>
<form method="post" action="/files?x=1">
  <div id="panel" data-update-panel><a href="#" data-postback="get">get</a></div>
</form></body></html>"""

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
ANSWERS: dict[str, tuple[str, list[tuple[str, str]], bytes]] = {
    "attachment": ("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Disposition",
                               'attachment; filename="r\u00e9sum\u00e9.html"'),
                              ("Set-Cookie", "secret=1; HttpOnly")],
                   b"<script>document.cookie='ran=1'</script>"),
    "svg": ("200 OK", [("Content-Type", "image/svg+xml")], SVG),
    "pdf": ("200 OK", [("Content-Type", "application/pdf"), ("Cache-Control", "private")],
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256))),
    "sandboxed": ("200 OK", [("Content-Type", "text/html"),
                             ("Content-Security-Policy", "sandbox"),
                             ("X-Content-Type-Options", "nosniff")],
                  b"<p>sandboxed</p><script>parent.x=1</script>"),
    "no-content": ("204 No Content", [], b""),
    # The page's own panel in a download or a sandbox (a user's uploaded HTML file): never cut
    # into panels that the client writes into the page (its markup would run in the origin).
    "attachment-with-the-panel": ("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                             ("Content-Disposition", "attachment")],
                                  b'<div id="panel" data-update-panel><img src="x" '
                                  b'onerror="parent.x=1"></div>'),
    "sandboxed-with-the-panel": ("200 OK", [("Content-Type", "text/html"),
                                            ("Content-Security-Policy",
                                             "default-src 'self'; Sandbox allow-forms")],
                                 b'<div id="panel" data-update-panel><img src="x" '
                                 b'onerror="parent.x=1"></div>'),
    "plain-error": ("500 Internal Server Error", [("Content-Type", "text/html")], b"<h1>no</h1>"),
}


class App:
    def __init__(self) -> None:
        self.calls = 0
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.calls += 1
        self.bodies.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        event = environ["postback.event"]
        if event is not None and event.target == "get":
            status, headers, body = ANSWERS[environ["HTTP_X_ANSWER"]]
            start_response(status, headers)
            return [body]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [PAGE]


@pytest.fixture
def inner() -> App:
    return App()


@pytest.fixture
def middleware(inner: App) -> PostbackMiddleware:
    return PostbackMiddleware(inner, secret_keys=[new_key()])


@pytest.fixture
def app(middleware: PostbackMiddleware) -> webtest.TestApp:
    return webtest.TestApp(middleware)


SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}


def partial_postback(app: webtest.TestApp, answer: str, **kwargs: Any) -> webtest.TestResponse:
    fields = hidden_fields(app.get("/files").body)
    return app.post(
        "/files?x=1",
        {"__EVENTTARGET": "get", "__EVENTARGUMENT": "", "__VIEWSTATE": fields["__VIEWSTATE"],
         "__EVENTVALIDATION": fields["__EVENTVALIDATION"]},
        headers={"X-Postback-Panels": "panel", "X-Answer": answer, **SAME_ORIGIN}, **kwargs,
    )


def recorder(seen: list[Any], *, headers: bool = False) -> Any:
    """A start_response that keeps the status (and the headers)."""

    def start_response(status: str, header_list: list[tuple[str, str]],
                       exc_info: Any = None) -> Any:
        seen.append((status, header_list) if headers else status)
        return seen.append

    return start_response


def replay_body(token: str, body: bytes | str) -> bytes:
    encoded = body if isinstance(body, str) else base64.b64encode(body).decode()
    return f"__POSTBACKREPLAY={token}\r\nbody={encoded}\r\n".encode()


def send_replay(app: webtest.TestApp, raw: bytes, *, path: str = "/files?x=1",
                headers: dict[str, str] | None = None, status: int | str = 200
                ) -> webtest.TestResponse:
    return app.post(path, raw, content_type="text/plain",
                    headers=SAME_ORIGIN if headers is None else headers, status=status)


@pytest.mark.parametrize("answer", ["attachment", "svg", "pdf", "sandboxed", "no-content",
                                    "attachment-with-the-panel", "sandboxed-with-the-panel"])
def test_answer_is_replayed_exactly_without_calling_the_app_again(
    app: webtest.TestApp, inner: App, answer: str
) -> None:
    status, headers, body = ANSWERS[answer]
    response = partial_postback(app, answer)
    assert response.headers["X-Postback-Partial"] == "replay"
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    reply = json.loads(response.text)
    assert reply["version"] == 1 and base64.b64decode(reply["body"]) == body
    # Set-Cookie is carried out once, by this answer, and never put in the (readable) token.
    cookies = [v for k, v in headers if k == "Set-Cookie"]
    assert [v for v in response.headers.getall("Set-Cookie") if "secret" in v] == cookies
    assert "secret" not in base64.urlsafe_b64decode(reply["replay"].split(".")[0] + "==").decode()
    calls = inner.calls

    replayed = send_replay(app, replay_body(reply["replay"], reply["body"]),
                           status=int(status[:3]))
    assert inner.calls == calls  # never called again
    assert replayed.status == status
    assert replayed.body == body
    expected = [(k, v) for k, v in headers if k != "Set-Cookie"]
    assert [(k, v) for k, v in replayed.headerlist if k not in ("Content-Length", "Set-Cookie")
            ] == expected
    assert replayed.headers["Content-Length"] == str(len(body))
    assert "Set-Cookie" not in replayed.headers


def test_plain_html_answer_is_still_written_into_the_page(app: webtest.TestApp) -> None:
    response = partial_postback(app, "plain-error", status=500)
    assert response.headers["X-Postback-Partial"] == "fallback"
    assert response.body == b"<h1>no</h1>"


@pytest.mark.parametrize(
    ("status", "headers", "inline"),
    [
        ("200 OK", [("Content-Type", "text/html; charset=utf-8")], True),
        ("404 Not Found", [("content-type", "TEXT/HTML")], True),
        ("200 OK", [("Content-Type", "text/html"), ("Content-Disposition", "inline")], True),
        ("200 OK", [("Content-Type", "text/html"),
                    ("Content-Disposition", "attachment; filename=a.html")], False),
        ("200 OK", [("Content-Type", "text/html"), ("Content-Security-Policy", "sandbox")],
         False),
        ("200 OK", [("Content-Type", "text/html"),
                    ("Content-Security-Policy-Report-Only", "script-src 'none'")], False),
        ("200 OK", [("Content-Type", "application/xhtml+xml")], False),
        ("200 OK", [("Content-Type", "image/svg+xml")], False),
        ("200 OK", [("Content-Type", "text/plain")], False),
        ("200 OK", [], False),
        ("204 No Content", [("Content-Type", "text/html")], False),
        # (two Content-Types: Chromium reads the last, so the first cannot be trusted)
        ("200 OK", [("Content-Type", "text/html"), ("Content-Type", "text/plain")], False),
        ("200 OK", [("Content-Type", "text/html"), ("Content-Type", "Text/HTML")], True),
        ("200 OK", [("Content-Type", "text/html"), ("Content-Disposition", "inline"),
                    ("Content-Disposition", "attachment")], False),
    ],
)
def test_only_plain_html_is_inline(status: str, headers: list[tuple[str, str]],
                                   inline: bool) -> None:
    assert partial.inline_html(status, headers) is inline


# -- refusals: 4xx, the app never called ------------------------------------------------------


@pytest.fixture
def issued(app: webtest.TestApp) -> tuple[str, str]:
    reply = json.loads(partial_postback(app, "attachment").text)
    return reply["replay"], reply["body"]


def _same_length_other(body: str | bytes) -> bytes:
    """Other bytes of the same length as the replayed body ``body`` (its base64 or bytes)."""
    raw = base64.b64decode(body) if isinstance(body, str) else body
    return bytes(byte ^ 0x20 for byte in raw)


def _tamper(token: str) -> str:
    payload, signature = token.rsplit(".", 1)
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["d"]["h"].append(["Content-Type", "text/html"])
    raw = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + signature


REFUSALS: dict[str, tuple[Callable[[str, str], tuple[bytes, str, dict[str, str]]], int]] = {
    "tampered-token": (lambda t, b: (replay_body(_tamper(t), b), "/files", SAME_ORIGIN), 403),
    "flipped-signature": (
        lambda t, b: (replay_body(t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), b), "/files",
                      SAME_ORIGIN), 403),
    # A body of the signed length but other bytes fails the hash; another length is refused
    # before the body is read at all.
    "other-body": (lambda t, b: (replay_body(t, _same_length_other(b)), "/files",
                                 SAME_ORIGIN), 403),
    "other-body-length": (lambda t, b: (replay_body(t, b"<script>evil()</script>"), "/files",
                                        SAME_ORIGIN), 400),
    "other-path": (lambda t, b: (replay_body(t, b), "/other", SAME_ORIGIN), 403),
    "cross-site": (lambda t, b: (replay_body(t, b), "/files",
                                 {"Sec-Fetch-Site": "cross-site"}), 403),
    "same-site": (lambda t, b: (replay_body(t, b), "/files",
                                {"Sec-Fetch-Site": "same-site"}), 403),
    "other-origin": (lambda t, b: (replay_body(t, b), "/files",
                                   {"Origin": "https://evil.example"}), 403),
    "null-origin": (lambda t, b: (replay_body(t, b), "/files", {"Origin": "null"}), 403),
    "no-token": (lambda t, b: (replay_body("", b), "/files", SAME_ORIGIN), 403),
    "garbled-token": (lambda t, b: (replay_body(t.replace(".", ".x"), b), "/files",
                                    SAME_ORIGIN), 403),
    "bad-base64": (lambda t, b: (replay_body(t, "not base64!"), "/files", SAME_ORIGIN), 400),
    "no-body-field": (lambda t, b: (f"__POSTBACKREPLAY={t}\r\n".encode(), "/files",
                                    SAME_ORIGIN), 400),
    "extra-line": (lambda t, b: (replay_body(t, b) + b"x=1\r\n", "/files", SAME_ORIGIN), 400),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_forged_or_misused_replay_is_refused(
    app: webtest.TestApp, inner: App, issued: tuple[str, str], case: str
) -> None:
    make, status = REFUSALS[case]
    raw, path, headers = make(*issued)
    calls = inner.calls
    response = send_replay(app, raw, path=path, headers=headers, status=status)
    assert inner.calls == calls
    assert b"<script>" not in response.body


def test_other_tokens_do_not_pass_for_a_replay(app: webtest.TestApp, inner: App) -> None:
    fields = hidden_fields(app.get("/files").body)
    calls = inner.calls
    for name in ("__VIEWSTATE", "__EVENTVALIDATION"):
        send_replay(app, replay_body(fields[name], b""), path="/files", status=403)
    assert inner.calls == calls


def test_expired_replay_is_refused(inner: App) -> None:
    now = [1_000_000.0]
    signer = TokenSigner([new_key().encode()], max_age=14400, max_size=131072,
                         clock=lambda: now[0])
    replayer = partial.Replayer(signer, max_body_size=1 << 20, clock=lambda: now[0])
    token = replayer.token("200 OK", [("Content-Type", "image/svg+xml")], SVG, path="/p",
                           binding="browser:a")
    assert token is not None
    raw = replay_body(token, SVG)

    def serve(binding: str = "browser:a") -> tuple[str, bytes]:
        environ = webtest.TestRequest.blank("/p", method="POST", body=raw,
                                            content_type="text/plain").environ
        assert partial.is_replay(environ)
        seen: list[str] = []
        body = replayer.serve(environ, recorder(seen), path="/p", binding=binding)
        return seen[0], b"".join(body)

    now[0] += 60
    assert serve() == ("200 OK", SVG)  # a minute: still good
    with pytest.raises(TokenError, match="another user"):
        serve("browser:b")  # another browser
    now[0] += 1
    with pytest.raises(TokenError, match="expired"):
        serve()


def test_replay_of_another_browser_is_refused_through_the_middleware(
    app: webtest.TestApp, inner: App, issued: tuple[str, str]
) -> None:
    other = webtest.TestApp(app.app)
    other.get("/files")  # a browser of its own (its own cookie)
    calls = inner.calls
    send_replay(other, replay_body(*issued), status=403)
    assert inner.calls == calls


def test_token_cannot_pass_for_another_purpose() -> None:
    signer = TokenSigner([new_key().encode()], max_age=14400, max_size=131072)
    token = partial.Replayer(signer, max_body_size=1 << 20).token(
        "200 OK", [], b"", path="/p", binding=None)
    assert token is not None
    for purpose in (Purpose.VIEWSTATE, Purpose.EVENT_VALIDATION):
        with pytest.raises(TokenError, match="signature"):
            signer.verify(purpose, token, path="/p", user=None)


def test_oversized_replay_request_is_refused_before_it_is_read() -> None:
    signer = TokenSigner([new_key().encode()], max_age=14400, max_size=4096)
    replayer = partial.Replayer(signer, max_body_size=10_000)
    environ = webtest.TestRequest.blank("/p", method="POST",
                                        body=b"__POSTBACKREPLAY=" + b"x" * 20_000,
                                        content_type="text/plain").environ
    assert partial.is_replay(environ)
    with pytest.raises(TooLarge):
        replayer.serve(environ, recorder([]), path="/p", binding=None)


def test_malformed_request_is_bad_request() -> None:
    signer = TokenSigner([new_key().encode()], max_age=14400, max_size=4096)
    replayer = partial.Replayer(signer, max_body_size=10_000)
    environ = webtest.TestRequest.blank("/p", method="POST", body=b"__POSTBACKREPLAY=abc",
                                        content_type="text/plain").environ
    assert partial.is_replay(environ)
    with pytest.raises(BadRequest):
        replayer.serve(environ, recorder([]), path="/p", binding=None)
    assert issubclass(CrossSite, Rejected)


# -- what is not a replay reaches the app whole ------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"__POSTBACKREPLAx=1\r\n", b"hello world\nsecond line\n", b"__POST", b"",
     b"a" * 100_000],
)
def test_other_text_plain_posts_reach_the_app_unchanged(body: bytes) -> None:
    environ = webtest.TestRequest.blank("/p", method="POST", body=body,
                                        content_type="text/plain").environ
    assert not partial.is_replay(environ)
    stream = environ["wsgi.input"]
    assert stream.read(len(body)) == body
    environ = webtest.TestRequest.blank("/p", method="POST", body=body,
                                        content_type="text/plain").environ
    partial.is_replay(environ)
    assert b"".join(environ["wsgi.input"]) == body  # read line by line, too
    environ = webtest.TestRequest.blank("/p", method="POST", body=body,
                                        content_type="text/plain").environ
    partial.is_replay(environ)
    assert environ["wsgi.input"].read(3) + environ["wsgi.input"].read() == body


def test_text_plain_post_to_the_app_through_the_middleware(app: webtest.TestApp,
                                                           inner: App) -> None:
    app.post("/echo", b"__POSTBACKREPLAx=1\r\nbody=2\r\n", content_type="text/plain")
    assert inner.bodies[-1] == b"__POSTBACKREPLAx=1\r\nbody=2\r\n"


def test_prefixed_readline_with_sizes() -> None:
    stream = partial.PrefixedStream(b"ab\ncd", io.BytesIO(b"ef\ngh"))
    assert stream.readline(2) == b"ab"
    assert stream.readline() == b"\n"
    assert stream.readline() == b"cdef\n"
    assert stream.readlines() == [b"gh"]


# -- too large to replay: saved as a file, never rendered --------------------------------------


def test_answer_too_large_to_replay_is_streamed_as_a_download(inner: App) -> None:
    middleware = PostbackMiddleware(inner, secret_keys=[new_key()])
    middleware.replayer.max_size = 10
    app = webtest.TestApp(middleware)
    response = partial_postback(app, "attachment")
    assert response.headers["X-Postback-Partial"] == "download"
    assert response.content_type == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Postback-Filename"] == "r%C3%A9sum%C3%A9.html"
    assert "Content-Disposition" not in response.headers
    assert response.body == ANSWERS["attachment"][2]


def test_streamed_answer_past_the_limit_is_not_held_in_memory() -> None:
    chunks_read = []

    def big(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "application/pdf")])
        for i in range(100):
            chunks_read.append(i)
            yield b"x" * 1000

    signer = TokenSigner([new_key().encode()], max_age=14400, max_size=4096)
    issuer = partial.Replayer(signer, max_body_size=1 << 20, max_size=5000).issuer(
        path="/p", binding=None)
    seen: list[tuple[str, Any]] = []
    result = partial.answer(lambda start: big({}, start), recorder(seen, headers=True),
                            page_url="http://h/p/file.pdf", panels={"x": ()}, replay=issuer)
    assert len(chunks_read) == 6  # read just past the limit, then streamed
    assert dict(seen[0][1])["X-Postback-Partial"] == "download"
    assert dict(seen[0][1])["X-Postback-Filename"] == "file.pdf"
    assert b"".join(result) == b"x" * 100_000
    result.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("disposition", "name"),
    [
        ("attachment; filename=\"a \\\"b\\\".txt\"", 'a "b".txt'),
        ("attachment; filename*=UTF-8''%E2%82%AC.pdf; filename=x.pdf", "\u20ac.pdf"),
        ("attachment; filename=plain.csv", "plain.csv"),
        ("attachment", "report"),
        ("", "report"),
    ],
)
def test_download_name(disposition: str, name: str) -> None:
    assert partial.download_name([("Content-Disposition", disposition)],
                                 "http://h/x/report?q=1") == name


def test_an_answer_too_large_to_replay_is_saved_not_rendered(inner: App) -> None:
    """The replay must fit one request: past that, a download nothing renders."""
    state = 16 * 1024
    app = webtest.TestApp(PostbackMiddleware(inner, secret_keys=[new_key()],
                                             max_state_size=state, max_body_size=state + 64 + 40))
    response = partial_postback(app, "svg")
    assert response.headers["X-Postback-Partial"] == "download"
    assert response.content_type == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.body == SVG


class CountingInput:
    """A ``wsgi.input`` of ``size`` bytes made on demand, counting what was read of it."""

    def __init__(self, head: bytes, size: int, fill: bytes = b"A") -> None:
        self.head, self.size, self.fill, self.read_bytes = head, size, fill, 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.read_bytes if n < 0 else min(n, self.size - self.read_bytes)
        start, self.read_bytes = self.read_bytes, self.read_bytes + n
        head = self.head[start:start + n]
        return head + self.fill * (n - len(head))


def test_an_unsigned_replay_costs_no_more_than_its_token(middleware: PostbackMiddleware) -> None:
    """The token is read (at most max_state_size) and refused before any of the body."""
    size = 90 * 1024 * 1024
    head = b"__POSTBACKREPLAY=x.y\r\nbody="
    stream = CountingInput(head, size)
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/files", "CONTENT_TYPE": "text/plain",
               "CONTENT_LENGTH": str(size), "wsgi.input": stream, "wsgi.url_scheme": "http",
               "HTTP_HOST": "localhost", "HTTP_COOKIE": "postback-browser=" + "A" * 43}
    seen: list[Any] = []
    body = b"".join(middleware(environ, recorder(seen)))
    assert seen == ["403 Forbidden"] and b"Traceback" not in body
    # At most a token's worth (max_state_size), not the 90 MB behind it.
    assert stream.read_bytes <= middleware.signer.max_size + 1024

