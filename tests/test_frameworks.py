"""The framework examples (examples/frameworks/): Flask, Django, Pyramid and Bottle apps, each
wired in its framework's idiom (Flask's extension, Django's ``wrap`` and ``settings.POSTBACK``,
Pyramid's PasteDeploy pipeline, Bottle in code), driven through WebTest with
``postback_middleware.testing``; the frameworks' own CSRF protection working alongside; and the
plain demo under gunicorn with two workers, where pages issued by one worker post back to the
other. (The idioms themselves are tested in ``test_frameworks_flask`` and
``test_frameworks_django``, after the modules they test.)
"""

from __future__ import annotations

import contextlib
import http.client
import importlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import webtest
from paste.deploy import loadapp

from postback_middleware import PostbackMiddleware
from postback_middleware.testing import callback, postback

from .helpers import SCRIPT_TAG, hidden_fields, new_key

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FRAMEWORKS = ["flask", "django", "pyramid", "bottle"]
ALL_ORDERS = [1001, 1002, 1003, 1004]
REFUSED = "Invalid postback or callback argument."


@dataclass
class Example:
    name: str
    module: ModuleType
    app: webtest.TestApp

    @property
    def view_calls(self) -> int:
        return len(self.module.VIEW_CALLS)


@pytest.fixture(params=FRAMEWORKS)
def example(request: pytest.FixtureRequest) -> Example:
    name = request.param
    module = importlib.import_module(f"frameworks.{name}_app")
    return Example(name, module, webtest.TestApp(module.make_app(new_key())))


def order_numbers(page: webtest.TestResponse) -> list[int]:
    rows = page.html.select("#order-rows tr td:first-child")
    return [int(td.text) for td in rows if td.text.isdigit()]


def text_of(page: webtest.TestResponse, selector: str) -> str:
    return str(page.html.select_one(selector).text)


# -- every framework ---------------------------------------------------------------------------


def test_get_has_the_hidden_fields_and_the_script(example: Example) -> None:
    page = example.app.get("/")
    assert order_numbers(page) == ALL_ORDERS
    assert set(hidden_fields(page.body)) >= {
        "__EVENTTARGET", "__EVENTARGUMENT", "__VIEWSTATE", "__EVENTVALIDATION"}
    tag = SCRIPT_TAG.search(page.body)
    assert tag is not None and b'/_postback/postback.' in tag.group(0)
    assert text_of(page, "#last-event") == "none"


def test_delete_postback_reaches_the_view_with_the_verified_event(example: Example) -> None:
    page = example.app.get("/")
    calls = example.view_calls
    page = postback(page, "delete", "1003")
    assert example.view_calls == calls + 1
    assert example.module.VIEW_CALLS[-1] == "POST"
    assert text_of(page, "#last-event") == "delete(1003)"  # what the view read from the environ
    assert order_numbers(page) == [1001, 1002, 1004]


def test_counter_in_view_state_survives_several_postbacks(example: Example) -> None:
    page = example.app.get("/")
    assert text_of(page, "#clicks") == "0"
    for expected in ("1", "2", "3"):
        page = postback(page, "increment")
        assert text_of(page, "#clicks") == expected
    page = postback(page, "delete", "1001")
    page = postback(page, "increment")
    page = postback(page, "delete", "1004")
    assert text_of(page, "#clicks") == "4"
    assert order_numbers(page) == [1002, 1003]
    # The state belongs to the page: a fresh GET starts afresh.
    assert text_of(example.app.get("/"), "#clicks") == "0"


def test_callback_is_answered_without_calling_the_view(example: Example) -> None:
    page = example.app.get("/")
    calls = example.view_calls
    result = callback(example.app, page, "CallServer", "42")
    assert result == f"{example.name.capitalize()} example: the server got '42'"
    assert example.view_calls == calls
    # The page still posts back afterwards.
    assert order_numbers(postback(page, "delete", "1002")) == [1001, 1003, 1004]


def test_tampered_postback_is_refused_before_the_view(example: Example) -> None:
    page = example.app.get("/")
    form = page.forms["orders"]
    state = form["__VIEWSTATE"].value
    form["__VIEWSTATE"].force_value(state[:-2] + ("A" if state[-2] != "A" else "B") + state[-1])
    calls = example.view_calls
    with pytest.raises(webtest.AppError, match="403") as refused:
        postback(page, "delete", "1001")
    assert REFUSED in str(refused.value)
    assert example.view_calls == calls
    # An event the page never offered is refused too.
    page = example.app.get("/")
    calls = example.view_calls
    with pytest.raises(webtest.AppError, match="403") as refused:
        postback(page, "delete", "9999")
    assert REFUSED in str(refused.value)
    assert example.view_calls == calls


def test_pyramid_example_under_its_pserve_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pyramid's idiom: ``pserve pyramid_app.ini``, the middleware a PasteDeploy filter in
    front of the app factory, its key from the environment, its callback named in the ini."""
    monkeypatch.setenv("POSTBACK_SECRET_KEYS", new_key())
    module = importlib.import_module("frameworks.pyramid_app")
    app = webtest.TestApp(loadapp(f"config:{EXAMPLES / 'frameworks' / 'pyramid_app.ini'}"))
    page = app.get("/")
    calls = len(module.VIEW_CALLS)
    assert callback(app, page, "CallServer", "7") == "Pyramid example: the server got '7'"
    assert len(module.VIEW_CALLS) == calls
    assert order_numbers(postback(page, "delete", "1003")) == [1001, 1002, 1004]


# -- the frameworks' own CSRF protection, alongside the middleware -------------------------------

CSRF = {
    # framework: (its token field in the form, its refusal status, text of its refusal page)
    "flask": ("csrf_token", 400, "The CSRF token is missing."),
    "django": ("csrfmiddlewaretoken", 403, "CSRF verification failed."),
}


@pytest.fixture(params=sorted(CSRF))
def csrf_example(request: pytest.FixtureRequest) -> Example:
    module = importlib.import_module(f"frameworks.{request.param}_app")
    return Example(request.param, module, webtest.TestApp(module.make_app(new_key())))


def test_postback_carrying_the_framework_csrf_token_works(csrf_example: Example) -> None:
    field, _, _ = CSRF[csrf_example.name]
    page = csrf_example.app.get("/")
    assert page.forms["orders"][field].value  # the framework's token is in the form
    assert csrf_example.app.cookies  # and its cookie (Flask's session, Django's csrftoken)
    page = postback(page, "delete", "1001")
    page = postback(page, "increment")
    assert order_numbers(page) == [1002, 1003, 1004]
    assert text_of(page, "#clicks") == "1"
    assert page.forms["orders"][field].value  # a fresh page keeps both protections


def test_postback_without_the_framework_csrf_token_is_refused_by_the_framework(
    csrf_example: Example,
) -> None:
    field, status, message = CSRF[csrf_example.name]
    page = csrf_example.app.get("/")
    form = page.forms["orders"]
    form.field_order = [(name, f) for name, f in form.field_order if name != field]
    del form.fields[field]
    calls = csrf_example.view_calls
    with pytest.raises(webtest.AppError, match=str(status)) as refused:
        postback(page, "delete", "1001")  # the middleware's tokens are valid...
    assert message in str(refused.value)  # ...so the refusal is the framework's, not ours
    assert REFUSED not in str(refused.value)
    assert csrf_example.view_calls == calls


# -- servers: the plain demo under gunicorn, two workers ----------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Forward:
    """A WSGI app that sends every request on to the real server, so WebTest (and the testing
    helpers) can drive it. Each request is tagged (``?tag=rN``) to find it in the access log."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.tags: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        tag = f"r{len(self.tags)}"
        self.tags.append(tag)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        headers = {"Connection": "close"}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        if environ.get("HTTP_COOKIE"):  # the browser's cookie binds its tokens
            headers["Cookie"] = environ["HTTP_COOKIE"]
        query = environ.get("QUERY_STRING", "")
        target = f"{environ['PATH_INFO']}?{query + '&' if query else ''}tag={tag}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(environ["REQUEST_METHOD"], target, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        hop_by_hop = {"connection", "keep-alive", "transfer-encoding"}
        start_response(f"{response.status} {response.reason}",
                       [(k, v) for k, v in response.getheaders() if k.lower() not in hop_by_hop]
                       + [("X-Tag", tag)])
        return [data]


class Held:
    """A connection that keeps one sync worker busy: it has sent only part of its headers."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(b"GET /?held=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")

    def release(self) -> None:
        self.sock.sendall(b"Connection: close\r\n\r\n")
        data = b""
        while chunk := self.sock.recv(65536):
            data += chunk
        self.sock.close()
        assert data.startswith(b"HTTP/1.1 200"), data[:200]


@contextlib.contextmanager
def gunicorn(tmp_path: Path, workers: int = 2) -> Iterator[tuple[int, Path]]:
    """Run the demo under gunicorn on 127.0.0.1; yield (port, access log path)."""
    port = free_port()
    access_log = tmp_path / "access.log"
    error_log = tmp_path / "gunicorn.log"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--workers", str(workers),
        "--bind", f"127.0.0.1:{port}",
        "--pythonpath", str(EXAMPLES),
        "--timeout", "30",
        "--graceful-timeout", "5",
        "--access-logfile", str(access_log),
        "--access-logformat", "%(p)s %(m)s %(q)s %(s)s",
        "--error-logfile", str(error_log),
        "frameworks.demo_wsgi:app",
    ]
    env = {**os.environ, "POSTBACK_SECRET_KEYS": new_key()}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            booted = error_log.exists() and error_log.read_text().count("Booting worker") >= workers
            if booted:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    connection.request("GET", "/?ready=1")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    pass
                finally:
                    connection.close()
            if process.poll() is not None or time.monotonic() > deadline:
                log = error_log.read_text() if error_log.exists() else ""
                pytest.fail(f"gunicorn did not start (exit {process.poll()}):\n{log}")
            time.sleep(0.1)
        yield port, access_log
    finally:
        process.send_signal(signal.SIGTERM)  # graceful stop
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def served_by(access_log: Path, tags: list[str]) -> dict[str, str]:
    """tag -> pid of the worker that served it, from gunicorn's access log."""
    found: dict[str, str] = {}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in access_log.read_text().splitlines():
            match = re.match(r"<(\d+)> \w+ (?:.*&)?tag=(r\d+) ", line)
            if match:
                found[match[2]] = match[1]
        if all(tag in found for tag in tags):
            break
        time.sleep(0.05)
    return found


@pytest.mark.parametrize("server", ["gunicorn-2-workers"])
def test_demo_under_gunicorn_posts_back_across_workers(server: str, tmp_path: Path) -> None:
    with gunicorn(tmp_path) as (port, access_log):
        forward = Forward(port)
        web = webtest.TestApp(forward)
        # One worker is always held by a half-sent request, so the other serves the next
        # request; the held one is swapped before each postback: each page is then issued by
        # one worker and posted back to the other.
        held = Held(port)
        page = web.get("/")
        pairs = []  # (tag of the page, tag of its postback)
        deleted: list[int] = []
        for number in (1001, 1003, 1005, 1002, 1006):
            next_held = Held(port)
            time.sleep(0.2)  # let the free worker take it before the held one is released
            held.release()
            held = next_held
            answer = postback(page, "delete", str(number))  # raises unless 2xx
            pairs.append((page.headers["X-Tag"], answer.headers["X-Tag"]))
            deleted.append(number)
            assert answer.html.select_one("#last-event").text == f"delete({number})"
            assert not set(deleted) & set(order_numbers(answer))  # state came across
            page = answer
        held.release()
        assert order_numbers(page) == [1004]
        assert callback(web, page, "CallServer", "7").endswith("argument was 7")

        pids = served_by(access_log, forward.tags)
    assert len(set(pids.values())) == 2, pids
    crossed = [pair for pair in pairs if pids[pair[0]] != pids[pair[1]]]
    assert len(crossed) == len(pairs), f"only {len(crossed)} of {pairs} crossed workers: {pids}"


# -- forward_event_fields: the frameworks' own form parsers read the verified event -------------

FORM_PAGE = """<!DOCTYPE html><html><head><title>Port</title></head><body>
<form method="post" enctype="{enctype}" id="port">
  <input name="note" value="héllo &amp; =">{file_input}
  <a href="#" data-postback="delete" data-postback-argument="7">Delete 7</a>
</form></body></html>"""
UPLOAD = bytes(range(256)) * 64 + b"\r\n--\r\n"
# What a view read from its framework's form: [(name, value)...] and {file name: bytes}.
Read = tuple[list[tuple[str, str]], dict[str, bytes]]


def flask_reader(page: str, reads: list[Read]) -> Any:
    """A Flask app whose view reads ``request.form`` and ``request.files``."""
    import flask

    app = flask.Flask("forward_event_fields")

    @app.route("/", methods=["GET", "POST"])
    def view() -> str:
        if flask.request.method == "POST":
            reads.append((list(flask.request.form.items(multi=True)),
                          {name: f.read() for name, f in flask.request.files.items()}))
        return page

    return app


def django_reader(page: str, reads: list[Read]) -> Any:
    """A Django view reading ``request.POST`` and ``request.FILES`` (the example's settings;
    Django allows one configuration a process), called by a minimal WSGI handler."""
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpRequest, HttpResponse
    from frameworks.django_app import configure

    configure()

    def view(request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            reads.append(([(n, v) for n, values in request.POST.lists() for v in values],
                          {name: f.read() for name, f in request.FILES.items()}))
        return HttpResponse(page)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        response = view(WSGIRequest(environ))
        start_response(f"{response.status_code} {response.reason_phrase}",
                       list(response.items()))
        return [response.content]

    return app


def webob_reader(page: str, reads: list[Read]) -> Any:
    """A plain WSGI app reading WebOb's ``request.POST``."""
    import webob

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        request = webob.Request(environ)
        if request.method == "POST":
            form = request.POST
            reads.append(([(n, v) for n, v in form.items() if isinstance(v, str)],
                          {n: v.value for n, v in form.items() if not isinstance(v, str)}))
        return webob.Response(page)(environ, start_response)  # type: ignore[no-any-return]

    return app


READERS = {"flask": flask_reader, "django": django_reader, "webob": webob_reader}
ENCTYPES = {"urlencoded": "application/x-www-form-urlencoded",
            "multipart": "multipart/form-data"}
FILE_INPUT = '\n  <input type="file" name="upload">'  # (WebTest posts a form with one as multipart)


@pytest.mark.parametrize(("forward", "target", "argument", "expected"), [
    pytest.param(False, "delete", "7", [], id="off"),
    pytest.param(True, "delete", "7", [("__EVENTTARGET", "delete"), ("__EVENTARGUMENT", "7")],
                 id="on"),
    pytest.param(True, "", "", [], id="on-no-event"),
])
@pytest.mark.parametrize("enctype", sorted(ENCTYPES))
@pytest.mark.parametrize("framework", sorted(READERS))
def test_forwarded_event_fields_are_read_by_the_framework(
    framework: str, enctype: str, forward: bool, target: str, argument: str,
    expected: list[tuple[str, str]],
) -> None:
    """Code ported from WebForms reads ``Request.Form["__EVENTTARGET"]``: with the option on,
    ``request.form`` / ``request.POST`` hold the verified event, after the app's own fields
    (a file upload alongside arrives byte for byte); off, or without an event, they hold none."""
    reads: list[Read] = []
    multipart = enctype == "multipart"
    page = FORM_PAGE.format(enctype=ENCTYPES[enctype], file_input=FILE_INPUT if multipart else "")
    inner = READERS[framework](page, reads)
    app = webtest.TestApp(PostbackMiddleware(inner, secret_keys=[new_key()],
                                             forward_event_fields=forward))
    fields = {"upload": webtest.Upload("a.bin", UPLOAD)} if multipart else {}
    answer = postback(app.get("/"), target, argument, **fields)
    assert answer.request.content_type == ENCTYPES[enctype]
    (form, files) = reads[-1]
    assert form == [("note", "héllo & ="), *expected]
    assert files == ({"upload": UPLOAD} if multipart else {})
