"""Faults on a real server: whatever fails, the client never sees a traceback, the inner app's
iterable is closed exactly once, and the spooled request body is closed."""

from __future__ import annotations

import http.client
import socket
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from .helpers import PAGE, new_key
from .servers import serve_wsgi


class Body:
    """An app iterable that can fail, and counts close() calls."""

    def __init__(self, fail_at: int | None) -> None:
        self.fail_at = fail_at
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        for index, chunk in enumerate([PAGE.encode()[:50], PAGE.encode()[50:]]):
            if index == self.fail_at:
                raise RuntimeError("secret detail of the app")
            yield chunk

    def close(self) -> None:
        self.closed += 1


class FaultyApp:
    def __init__(self, where: str) -> None:
        self.where = where
        self.bodies: list[Body] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.where == "before-start-response":
            raise RuntimeError("secret detail of the app")
        start_response("200 OK", [("Content-Type", "text/html")])
        if self.where == "after-start-response":
            raise RuntimeError("secret detail of the app")
        body = Body(fail_at=1 if self.where == "while-iterating" else None)
        self.bodies.append(body)
        return body


def get(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        connection.request(method, "/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    except (http.client.IncompleteRead, ConnectionError) as exc:  # cut short mid-body
        return -1, str(exc).encode()
    finally:
        connection.close()


@pytest.mark.parametrize("where", ["before-start-response", "after-start-response",
                                   "while-iterating", "nowhere"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_inner_app_faults(where: str, method: str) -> None:
    inner = FaultyApp(where)
    app = PostbackMiddleware(inner, secret_keys=[new_key()])
    with serve_wsgi(app) as url:
        status, body = get(url, method, b"a=1" if method == "POST" else None)
    assert b"secret detail" not in body and b"Traceback" not in body
    if where == "nowhere":
        assert status == 200 and b"__VIEWSTATE" in body
    elif where != "while-iterating":
        assert status == 500
    assert all(b.closed == 1 for b in inner.bodies)


def test_our_own_failure_is_a_generic_500(monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    import postback_middleware.middleware as middleware

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr(middleware, "scan_urlencoded", broken)
    app = PostbackMiddleware(FaultyApp("nowhere"), secret_keys=[new_key()])
    with serve_wsgi(app) as url:
        status, body = get(url, "POST", b"a=1")
    assert status == 500 and body == b"Internal Server Error"
    assert "a bug of ours" in caplog.text


def test_client_disconnecting_mid_body_does_not_reach_the_app() -> None:
    inner = FaultyApp("nowhere")
    app = PostbackMiddleware(inner, secret_keys=[new_key()])
    with serve_wsgi(app) as url:
        parts = urllib.parse.urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
                         b"__EVENTTARGET=x&")
        # The server saw a short body; a new request still works.
        status, _ = get(url)
    assert status == 200
    assert len(inner.bodies) == 1  # only the GET reached the app


def test_spooled_body_is_closed_when_the_app_raises() -> None:
    files: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        files.append(environ["wsgi.input"])
        raise RuntimeError("boom")

    from webob import Request

    request = Request.blank("/", method="POST", body=b"a=1",
                            content_type="application/x-www-form-urlencoded")
    with pytest.raises(RuntimeError):
        request.get_response(PostbackMiddleware(app, secret_keys=[new_key()]))
    assert files and files[0].closed


class ResetAfter:
    """A ``wsgi.input`` whose client goes away after ``data`` (the server's OSError)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        if not self.data:
            raise ConnectionResetError("connection reset by peer")
        chunk, self.data = (self.data, b"") if size < 0 else (self.data[:size],
                                                               self.data[size:])
        return chunk


@pytest.mark.parametrize(("content_type", "data"), [
    pytest.param("application/x-www-form-urlencoded", b"a=1&", id="urlencoded"),
    pytest.param("multipart/form-data; boundary=B0und", b"--B0und\r\n", id="multipart"),
    pytest.param("text/plain", b"", id="text-plain-before-its-first-bytes"),
    pytest.param("text/plain", b"a=1", id="text-plain-mid-body"),
    pytest.param("text/plain", b"__POSTBACKREPLAY=", id="replay-before-its-token"),
    pytest.param("text/plain", b"__POSTBACKREPLAY=abc", id="replay-mid-token"),
])
def test_a_client_going_away_mid_body_is_a_400_whatever_the_body(
    content_type: str, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    from webob import Request

    inner = FaultyApp("nowhere")
    app = PostbackMiddleware(inner, secret_keys=[new_key()])
    request = Request.blank("/", method="POST", content_type=content_type,
                            headers={"Cookie": "postback-browser=" + "B" * 43})
    request.environ.update({"CONTENT_LENGTH": "1000", "wsgi.input": ResetAfter(data)})
    response = request.get_response(app)
    assert response.status_int == 400 and b"Traceback" not in response.body
    assert "went away" in caplog.text and "answering 500" not in caplog.text
    assert inner.bodies == []
