"""Behaviour on the wire, through a real server (waitress) and a raw HTTP client."""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.parse
from collections.abc import Iterator

import pytest

from postback_middleware import PostbackMiddleware, Registry

from .helpers import PAGE, RecordingApp, new_key
from .servers import serve_wsgi


@pytest.fixture
def server() -> Iterator[tuple[str, RecordingApp]]:
    inner = RecordingApp(page=PAGE)
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "echo:" + argument)
    app = PostbackMiddleware(inner, secret_keys=[new_key()], registry=registry,
                             max_body_size=64 * 1024 * 1024, spool_threshold=256 * 1024)
    with serve_wsgi(app) as url:
        yield url, inner


def request(url: str, method: str, path: str, body: bytes | Iterator[bytes] | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {},
                           encode_chunked=not isinstance(body, bytes | type(None)))
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def page_tokens(url: str) -> dict[str, str]:
    """The page's tokens, and under "Cookie" the browser cookie they are bound to."""
    _, headers, body = request(url, "GET", "/orders")
    tokens = {m[0]: m[1] for m in re.findall(r'name="(__VIEWSTATE|__EVENTVALIDATION)"[^>]*'
                                             r'value="([^"]*)"', body.decode())}
    return {**tokens, "Cookie": headers["Set-Cookie"].split(";")[0]}


def multipart(boundary: str, fields: list[tuple[str, str]], filename: str, data: bytes) -> bytes:
    out = b""
    for name, value in fields:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n").encode()
    out += (f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
    return out + data + f"\r\n--{boundary}--\r\n".encode()


def test_large_upload_arrives_byte_exact_with_its_event(server: tuple[str, RecordingApp]) -> None:
    url, inner = server
    tokens = page_tokens(url)
    data = os.urandom(8 * 1024 * 1024)
    body = multipart("b0undary", [("__EVENTTARGET", "delete"), ("__EVENTARGUMENT", "7"),
                                  ("__VIEWSTATE", tokens["__VIEWSTATE"]),
                                  ("__EVENTVALIDATION", tokens["__EVENTVALIDATION"])],
                     "big.bin", data)
    status, _, _ = request(url, "POST", "/orders", body,
                           {"Content-Type": "multipart/form-data; boundary=b0undary",
                            "Cookie": tokens["Cookie"]})
    assert status == 200
    seen = inner.calls[-1]
    assert seen.event.target == "delete"
    assert seen.body == multipart("b0undary", [], "big.bin", data)
    assert hashlib.sha256(seen.body).digest() == hashlib.sha256(
        multipart("b0undary", [], "big.bin", data)).digest()


def test_chunked_body_without_length_is_read_when_the_server_terminates_it(
    server: tuple[str, RecordingApp],
) -> None:
    url, inner = server
    tokens = page_tokens(url)
    body = urllib.parse.urlencode({"__VIEWSTATE": tokens["__VIEWSTATE"],
                                   "__EVENTVALIDATION": tokens["__EVENTVALIDATION"],
                                   "note": "chunked"}).encode()
    chunks = iter([body[:100], body[100:]])
    status, _, _ = request(url, "POST", "/orders", chunks,
                           {"Content-Type": "application/x-www-form-urlencoded",
                            "Cookie": tokens["Cookie"]})
    assert status == 200
    assert inner.calls[-1].body == b"note=chunked"
    assert inner.calls[-1].content_length == str(len(b"note=chunked"))


def test_callback_over_the_wire(server: tuple[str, RecordingApp]) -> None:
    url, inner = server
    tokens = page_tokens(url)
    calls = len(inner.calls)
    body = (f"__VIEWSTATE={tokens['__VIEWSTATE']}&__CALLBACKID=CallServer&__CALLBACKPARAM=hi"
            f"&__EVENTVALIDATION={tokens['__EVENTVALIDATION']}").encode()
    status, headers, reply = request(url, "POST", "/orders", body, {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Cookie": tokens["Cookie"]})
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.decode().endswith("echo:hi")
    assert len(inner.calls) == calls


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        pytest.param({"Content-Length": "99999999999"}, b"a=1", 413, id="declared-too-large"),
        pytest.param({"Content-Type": "multipart/form-data"}, b"a=1", 400, id="no-boundary"),
        pytest.param({"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\nbroken",
                     400, id="unterminated-multipart"),
    ],
)
def test_bad_requests_get_clean_answers(server: tuple[str, RecordingApp], headers: dict[str, str],
                                        body: bytes, status: int) -> None:
    url, inner = server
    headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    calls = len(inner.calls)
    got, _, reply = request(url, "POST", "/orders", body, headers)
    assert got == status
    assert len(inner.calls) == calls
    assert b"Traceback" not in reply and b"__" not in reply



def flask_page_app() -> object:
    import flask

    app = flask.Flask(__name__)

    @app.route("/")
    def page() -> str:
        return PAGE

    return app


def test_keep_alive_survives_a_flask_page() -> None:
    """Flask hands a rendered page over with its Content-Length: the edited page keeps a
    correct length, so requests travel on one connection (not one each)."""
    app = flask_page_app()
    wrapped = PostbackMiddleware(app.wsgi_app, secret_keys=[new_key()])  # type: ignore[attr-defined]
    with serve_wsgi(wrapped) as url:
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            socket = connection.sock
            for _ in range(3):
                connection.request("GET", "/")
                response = connection.getresponse()
                body = response.read()
                assert not response.will_close, "the server closed the connection"
                assert b'name="__VIEWSTATE"' in body
                assert response.getheader("Content-Length") == str(len(body))
            assert connection.sock is socket  # still the first connection
        finally:
            connection.close()


def test_head_on_the_wire_agrees_with_get(server: tuple[str, RecordingApp]) -> None:
    """An app that answers HEAD with its page (WebOb, Django, plain WSGI): HEAD's length is
    the edited GET's, and the connection stays open."""
    url, _ = server
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", "/orders")
        get = connection.getresponse()
        get_body = get.read()
        connection.request("HEAD", "/orders")
        head = connection.getresponse()
        assert head.read() == b"" and not head.will_close
        assert head.getheader("Content-Length") == get.getheader("Content-Length")
        assert get.getheader("Content-Length") == str(len(get_body))
    finally:
        connection.close()
