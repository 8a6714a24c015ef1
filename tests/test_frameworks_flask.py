"""``frameworks.flask``: the ``Postback`` extension, driven through Flask's own test client.

Options from ``app.config`` (keywords winning), every configuration mistake stopping
``init_app`` with the key named, ``app.wsgi_app`` wrapped (so the test client goes through
it), handlers in the app's context, one extension for the apps of a factory.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import flask
import pytest
import webtest
from flask import Flask, appcontext_tearing_down, current_app, g
from flask_sqlalchemy import SQLAlchemy
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import TestResponse
from werkzeug.wrappers import Request as WerkzeugRequest

from postback_middleware import ConfigurationError, PostbackMiddleware, UnknownOption
from postback_middleware.frameworks.flask import EXTENSION_KEY, Postback
from postback_middleware.stores import RedisStore
from postback_middleware.testing import callback, postback

from .helpers import hidden_fields, new_key
from .redis_server import RedisServer

PAGE = """<!DOCTYPE html><html><head><title>Orders</title></head><body>
<form method="post" id="orders" data-callbacks="CallServer Configured Context">
  <input name="note" value="hello">
  <a href="#" data-postback="delete" data-postback-argument="7">Delete 7</a>
</form><p id="seen">{seen}</p></body></html>"""


def configured_callback(argument: str, request: Any) -> str:
    """A handler named in ``app.config`` as ``tests.test_frameworks_flask:configured_callback``."""
    return f"configured {argument} in {current_app.name}"


def other_callback(argument: str, request: Any) -> str:
    return "another"


def make_app(ext: Postback | None = None, name: str = "shop", **config: Any) -> Flask:
    """A Flask app with one page; ``ext`` initialised on it with ``config`` (the key set
    unless ``config`` says otherwise)."""
    app = Flask(name)
    app.config.update({"POSTBACK_SECRET_KEYS": [new_key()], **config})
    app.config["VIEW_CALLS"] = []

    @app.route("/", methods=["GET", "POST"])
    def orders() -> str:
        app.config["VIEW_CALLS"].append(flask.request.method)
        event = flask.request.environ["postback.event"]
        seen = f"{event.target}({event.argument})" if event else "none"
        return PAGE.format(seen=f"{seen} g={getattr(g, 'left_by_handler', '-')}")

    if ext is not None:
        ext.init_app(app)
    return app


def do_postback(client: Any, page: TestResponse, target: str, argument: str) -> TestResponse:
    """What ``__doPostBack(target, argument)`` sends, through Flask's test client."""
    fields = {**hidden_fields(page.data), "__EVENTTARGET": target, "__EVENTARGUMENT": argument}
    body = [*fields.items(), ("note", "hello")]
    return client.post("/", data=urlencode(body),  # type: ignore[no-any-return]
                       content_type="application/x-www-form-urlencoded")


def do_callback(client: Any, page: TestResponse, name: str, argument: str) -> str:
    """What ``WebForm_DoCallback(name, argument, ...)`` sends; the reply's result text."""
    fields = hidden_fields(page.data)
    validation = fields.pop("__EVENTVALIDATION")
    body = [*fields.items(), ("note", "hello"), ("__CALLBACKID", name),
            ("__CALLBACKPARAM", argument), ("__EVENTVALIDATION", validation)]
    reply = client.post("/", data=urlencode(body),
                        content_type="application/x-www-form-urlencoded")
    text = reply.get_data(as_text=True)
    assert reply.status_code == 200 and not text.startswith("e"), (reply.status, text)
    length, _, rest = text.partition("|")
    return rest[int(length):]


def seen(page: TestResponse | webtest.TestResponse) -> str:
    """What the view said it saw: the event, and what a handler left in ``g``."""
    text = page.text if isinstance(page, webtest.TestResponse) else page.get_data(as_text=True)
    found = re.search(r'<p id="seen">(.*?)</p>', text)
    assert found is not None
    return found.group(1)


# -- the extension, through Flask's test client -----------------------------------------------


def test_init_app_wraps_wsgi_app_so_the_test_client_goes_through_the_middleware() -> None:
    ext = Postback()

    @ext.callback("CallServer")
    def call_server(argument: str, request: Any) -> str:
        return f"You sent {argument}"

    app = make_app(ext)
    assert app.extensions[EXTENSION_KEY] is ext
    assert isinstance(ext.middleware(app), PostbackMiddleware)
    client = app.test_client()
    page = client.get("/")
    assert {"__EVENTTARGET", "__VIEWSTATE", "__EVENTVALIDATION"} <= set(hidden_fields(page.data))
    assert b"/_postback/postback." in page.data
    answer = do_postback(client, page, "delete", "7")
    assert answer.status_code == 200 and seen(answer) == "delete(7) g=-"
    calls = len(app.config["VIEW_CALLS"])
    assert do_callback(client, page, "CallServer", "42") == "You sent 42"
    assert len(app.config["VIEW_CALLS"]) == calls  # answered without the view


def test_a_tampered_postback_is_refused_before_the_view() -> None:
    app = make_app(Postback())
    client = app.test_client()
    page = client.get("/")
    calls = len(app.config["VIEW_CALLS"])
    refused = do_postback(client, page, "delete", "8")  # an event the page never offered
    assert refused.status_code == 403
    assert len(app.config["VIEW_CALLS"]) == calls


def test_options_come_from_app_config_and_keywords_win() -> None:
    ext = Postback(max_age=600)
    app = make_app(ext, POSTBACK_MAX_AGE=900, POSTBACK_RENEWAL_WINDOW=1200,
                   POSTBACK_TRUSTED_ORIGINS=["https://admin.example"],
                   POSTBACK_CALLBACKS={"Configured": "tests.test_frameworks_flask:"
                                                     "configured_callback"})
    options = ext.middleware(app).options
    assert options.max_age == 600  # the keyword, not the config's 900
    assert options.renewal_window == 1200
    assert tuple(options.trusted_origins) == ("https://admin.example",)
    client = app.test_client()
    page = client.get("/")
    assert do_callback(client, page, "Configured", "1") == "configured 1 in shop"


def test_a_store_url_in_app_config_is_made_and_checked_once(
        redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    server = redis_server.client()
    server.config_set("maxmemory-policy", "allkeys-lru")
    try:
        with caplog.at_level(logging.WARNING, logger="postback_middleware"):
            ext = Postback()
            app = make_app(ext, POSTBACK_STORE=redis_server.url)
    finally:
        server.config_set("maxmemory-policy", "noeviction")
    assert isinstance(ext.middleware(app).options.store, RedisStore)
    assert caplog.text.count("maxmemory-policy allkeys-lru") == 1


def test_one_extension_serves_the_apps_of_a_factory() -> None:
    """An app factory runs init_app for each app it makes (one per test, say): each app has its
    own middleware and keys; the handlers, by decorator or by config, are shared."""
    ext = Postback()
    ext.callback("CallServer")(lambda argument, request: f"{current_app.name}:{argument}")
    reference = {"POSTBACK_CALLBACKS": {"Configured": "tests.test_frameworks_flask:"
                                                      "configured_callback"}}
    first = make_app(ext, name="first", **reference)
    second = make_app(ext, name="second", **reference)  # the same handler again: no news
    assert ext.middleware(first) is not ext.middleware(second)
    for app in (first, second):
        client = app.test_client()
        page = client.get("/")
        assert do_callback(client, page, "CallServer", "x") == f"{app.name}:x"
        assert do_callback(client, page, "Configured", "y") == f"configured y in {app.name}"
    # A page of one app does not post back to the other: their keys differ.
    page = first.test_client().get("/")
    assert do_postback(second.test_client(), page, "delete", "7").status_code == 403
    with pytest.raises(ConfigurationError, match="give each app its own Postback"):
        make_app(ext, name="third", POSTBACK_CALLBACKS={"Configured": other_callback})


def test_webtest_drives_the_flask_app_itself() -> None:
    """``postback_middleware.testing`` works on the Flask app: there is nothing else to wrap."""
    ext = Postback()
    ext.callback("CallServer")(lambda argument, request: "hi " + argument)
    app = webtest.TestApp(make_app(ext))
    page = app.get("/")
    assert seen(postback(page, "delete", "7")) == "delete(7) g=-"
    assert callback(app, page, "CallServer", "5") == "hi 5"


# -- handlers in the app's context -------------------------------------------------------------


def test_handlers_run_in_the_app_context_and_share_g_with_the_view() -> None:
    ext = Postback()
    torn_down: list[str] = []
    contexts: list[tuple[str, bool, bool]] = []

    @ext.callback("Context")
    def context(argument: str, request: Any) -> str:
        contexts.append((current_app.name, flask.has_app_context(),
                         flask.has_request_context()))
        g.seen = argument
        return f"{current_app.name} {g.seen} {request.path}"

    @ext.postback("delete")
    def delete(event: Any, request: Any) -> None:
        g.left_by_handler = f"handler saw {event.argument}"

    app = make_app(ext, name="ctx")
    app.teardown_appcontext(lambda error: torn_down.append(app.name))
    client = app.test_client()
    page = client.get("/")
    assert torn_down == ["ctx"]
    assert do_callback(client, page, "Context", "7") == "ctx 7 /"
    assert contexts == [("ctx", True, False)]  # an app context, no request context
    assert torn_down == ["ctx"] * 2  # one app context a request, torn down once
    answer = do_postback(client, page, "delete", "7")
    assert seen(answer) == "delete(7) g=handler saw 7"  # the view's g is the handler's
    assert torn_down == ["ctx"] * 3


def session_user(environ: dict[str, Any]) -> str | None:
    """A ``user_key`` of an app factory: the user of Flask's session, through ``current_app``
    (there is no global app); what it ran in is kept in ``app.config["USER_KEY_CONTEXTS"]``."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.config["USER_KEY_CONTEXTS"].append(flask.has_request_context())
    session = app.session_interface.open_session(app, WerkzeugRequest(environ))
    return str(session.get("user_id", "")) if session is not None else None


def create_shop() -> Flask:
    """An app factory whose ``POSTBACK_USER_KEY`` reads Flask's session; a whole page and a
    ``stream_with_context`` one whose form comes in a later piece."""
    app = Flask("shop")
    app.config.update(SECRET_KEY=secrets.token_hex(16), POSTBACK_SECRET_KEYS=[new_key()],
                      POSTBACK_USER_KEY=session_user, USER_KEY_CONTEXTS=[])

    @app.route("/login")
    def login() -> str:
        flask.session["user_id"] = 42
        return "in"

    @app.route("/orders", methods=["GET", "POST"])
    def orders() -> str:
        return PAGE.format(seen=flask.request.method)

    @app.route("/stream", methods=["GET", "POST"])
    def stream() -> flask.Response:
        @flask.stream_with_context
        def pieces() -> Iterator[str]:
            head, form = PAGE.format(seen=flask.request.method).split("<form", 1)
            yield head
            yield "<form" + form
        return flask.Response(pieces(), mimetype="text/html")

    Postback().init_app(app)
    return app


@pytest.mark.parametrize(("path", "in_request"), [("/orders", False), ("/stream", True)])
def test_user_key_runs_in_an_app_context_when_a_page_is_signed(
    path: str, in_request: bool,
) -> None:
    """The forms of a page are signed while its response is sent, after the request's app
    context is popped: a ``user_key`` that needs one (an app factory's) still gets one, and
    the page's tokens are the user's (its postback is accepted). A ``stream_with_context``
    page is signed in the request's own contexts, which Flask pushes again for it."""
    app = create_shop()
    client = app.test_client()
    client.get("/login")
    contexts = app.config["USER_KEY_CONTEXTS"]
    page = client.get(path)
    assert page.status_code == 200 and "__VIEWSTATE" in hidden_fields(page.data)
    assert contexts and set(contexts) == {in_request}  # asked while the page was signed
    fields = {**hidden_fields(page.data), "__EVENTTARGET": "delete", "__EVENTARGUMENT": "7"}
    answer = client.post(path, data=urlencode(fields),
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200 and b'<p id="seen">POST</p>' in answer.data


class IgnoringFlask(Flask):
    """An app that ignores ``LookupError`` in its teardown (``should_ignore_error``)."""

    def should_ignore_error(self, error: BaseException | None) -> bool:
        return isinstance(error, LookupError)


def failing_payment(case: str, wrapped: bool, database: Path) -> tuple[Any, list[str], int]:
    """A view that writes a row, then raises; the commit-or-rollback teardown idiom (Flask-
    SQLAlchemy 2's commit on teardown): the status (or what the test client raised), what
    ``teardown_appcontext`` and ``appcontext_tearing_down`` got, and the rows committed."""
    app = (IgnoringFlask if case == "ignored" else Flask)("pay")
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    app.config["PROPAGATE_EXCEPTIONS"] = case == "propagated"
    db = SQLAlchemy(app)

    class Order(db.Model):  # type: ignore[name-defined,misc]
        id = db.Column(db.Integer, primary_key=True)

    got: list[str] = []

    @app.teardown_appcontext
    def commit_or_rollback(error: BaseException | None) -> None:
        got.append(f"teardown {error!r}")
        if error is None:
            db.session.commit()
        else:
            db.session.rollback()

    @app.route("/pay")
    def pay() -> str:
        db.session.add(Order())
        db.session.flush()
        raise (KeyError if case == "ignored" else RuntimeError)("the provider timed out")

    with app.app_context():
        db.create_all()
    if wrapped:
        Postback(app, secret_keys=[new_key()])
    app.logger.disabled = True

    def tearing_down(sender: Flask, exc: BaseException | None = None, **extra: Any) -> None:
        got.append(f"signal {exc!r}")

    got.clear()  # (create_all's context)
    with appcontext_tearing_down.connected_to(tearing_down, app):
        try:
            outcome: Any = app.test_client().get("/pay").status_code
        except RuntimeError as error:
            outcome = repr(error)
    seen = list(got)
    with app.app_context():
        rows = db.session.query(Order).count()
    return outcome, seen, rows


@pytest.mark.parametrize(("case", "expected"), [
    ("handled", (500, ["teardown RuntimeError('the provider timed out')",
                       "signal RuntimeError('the provider timed out')"], 0)),
    ("propagated", ("RuntimeError('the provider timed out')",
                    ["teardown RuntimeError('the provider timed out')",
                     "signal RuntimeError('the provider timed out')"], 0)),
    ("ignored", (500, ["teardown None", "signal None"], 1)),
])
def test_teardown_appcontext_gets_the_exception_of_the_request(
    case: str, expected: tuple[Any, list[str], int], tmp_path: Path,
) -> None:
    """The app context Flask's request reuses is torn down by the extension, with the
    exception Flask tears its own down with: a failed request's writes are rolled back
    through the middleware as without it (``should_ignore_error`` honoured)."""
    assert failing_payment(case, False, tmp_path / "bare.db") == expected
    assert failing_payment(case, True, tmp_path / "wrapped.db") == expected


def test_a_handlers_page_skips_after_request_the_views_has_it() -> None:
    """Documented (the module's docstring, docs/reference/frameworks.md): a postback handler's
    response is sent as it is, Flask not called (no ``after_request``); a handler that returns
    None leaves the page to the view, which goes through them."""
    ext = Postback()
    answer_with_page = [True]

    @ext.postback("delete")
    def delete(event: Any, request: Any) -> flask.Response | None:
        return flask.Response(PAGE.format(seen="handler")) if answer_with_page[0] else None

    app = make_app(ext)

    @app.after_request
    def deny_framing(response: flask.Response) -> flask.Response:
        response.headers["X-Frame-Options"] = "DENY"
        return response

    client = app.test_client()
    page = client.get("/")
    from_handler = do_postback(client, page, "delete", "7")
    answer_with_page[0] = False
    from_view = do_postback(client, page, "delete", "7")
    assert seen(from_handler) == "handler" and "X-Frame-Options" not in from_handler.headers
    assert seen(from_view) == "delete(7) g=-" and from_view.headers["X-Frame-Options"] == "DENY"


def test_proxy_fix_goes_outside_the_extension() -> None:
    """Behind a TLS proxy the browser's Origin is https: the middleware must see the fixed
    scheme, so ProxyFix wraps ``app.wsgi_app`` after ``init_app`` (as documented)."""
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example",
               "Origin": "https://shop.example"}

    def proxied(after: bool) -> int:
        ext = Postback()
        app = make_app(None)
        if after:
            ext.init_app(app)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
        if not after:
            ext.init_app(app)
        client = app.test_client()
        page = client.get("/", headers=headers)
        fields = {**hidden_fields(page.data), "__EVENTTARGET": "delete", "__EVENTARGUMENT": "7"}
        answer = client.post("/", data=urlencode(fields), headers=headers,
                             content_type="application/x-www-form-urlencoded")
        return int(answer.status_code)

    assert proxied(after=True) == 200
    assert proxied(after=False) == 403  # the middleware saw http://localhost: cross-site


# -- configuration mistakes stop init_app, naming the key ---------------------------------------

KEY = new_key()


def double_init(ext: Postback, app: Flask) -> None:
    ext.init_app(app)
    ext.init_app(app)


def other_extension(ext: Postback, app: Flask) -> None:
    ext.init_app(app)
    Postback().init_app(app)


def already_wrapped(ext: Postback, app: Flask) -> None:
    app.wsgi_app = PostbackMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, secret_keys=[KEY])
    ext.init_app(app)


Setup = Callable[[Postback, Flask], None]


@pytest.mark.parametrize(("config", "keywords", "setup", "error", "message"), [
    pytest.param({}, {}, None, ConfigurationError,
                 r"app.config\['POSTBACK_SECRET_KEYS'\] is required.*never the app's SECRET_KEY"
                 r".*secrets.token_urlsafe", id="missing-key"),
    pytest.param({"POSTBACK_SECRET_KEYS": []}, {}, None, ConfigurationError,
                 r"'POSTBACK_SECRET_KEYS'\] is required", id="empty-key-list"),
    pytest.param({"SECRET_KEY": secrets.token_urlsafe(48)}, {}, None, ConfigurationError,
                 r"'POSTBACK_SECRET_KEYS'\] is required", id="flask-secret-key-is-not-used"),
    pytest.param({"POSTBACK_SECRET_KEYS": ["short"]}, {}, None, ConfigurationError,
                 r"app.config\['POSTBACK_SECRET_KEYS'\]: secret key #1 has 5 bytes",
                 id="weak-key"),
    pytest.param({"POSTBACK_SECRET_KEYS": [KEY], "POSTBACK_MAX_AGEE": 60}, {}, None,
                 UnknownOption, r"app.config\['POSTBACK_MAX_AGEE'\] is no option.*did you mean "
                 r"'POSTBACK_MAX_AGE'.*POSTBACK_ASPNET_AJAX, POSTBACK_CALLBACKS, ",
                 id="unknown-config-key"),
    pytest.param({"POSTBACK_SECRET_KEYS": [KEY]}, {"max_agee": 60}, None, UnknownOption,
                 r"unknown option 'max_agee' \(did you mean 'max_age'\?\); known options: ",
                 id="unknown-keyword"),
    pytest.param({"POSTBACK_SECRET_KEYS": [KEY], "POSTBACK_MAX_AGE": "7200"}, {}, None,
                 ConfigurationError, r"app.config\['POSTBACK_MAX_AGE'\]: max_age must be a "
                 r"positive integer, not '7200'", id="wrong-type-in-config"),
    pytest.param({"POSTBACK_SECRET_KEYS": [KEY]}, {"require_token": "yes"}, None,
                 ConfigurationError, r"Postback\(require_token=...\): require_token must be "
                 r"True or False", id="wrong-type-in-keyword"),
    pytest.param({"POSTBACK_SECRET_KEYS": KEY + " " + new_key()}, {}, None, ConfigurationError,
                 r"'POSTBACK_SECRET_KEYS'\]: 2 keys in one string; give them as a list, "
                 r"e.g. os.environ\['POSTBACK_SECRET_KEYS'\].split\(\)",
                 id="keys-in-one-string-not-split"),
    pytest.param({"POSTBACK_SECRET_KEYS": [KEY], "POSTBACK_CALLBACKS": {"X": "no.such:thing"}},
                 {}, None, ConfigurationError,
                 r"app.config\['POSTBACK_CALLBACKS'\]: callbacks X: cannot import 'no.such:thing'",
                 id="unimportable-handler"),
    pytest.param({"POSTBACK_SECRET_KEYS": [KEY], "POSTBACK_RENEWAL_WINDOW": 60}, {}, None,
                 ConfigurationError, r"app.config POSTBACK_\* \(and Postback\(...\) keywords\): "
                 r"renewal_window \(60s\) is shorter than max_age", id="options-that-disagree"),
    pytest.param({"POSTBACK_SECRET_KEYS": [KEY]}, {}, double_init, ConfigurationError,
                 r"already initialised on the Flask app 'shop'.*call init_app once per app",
                 id="init-app-twice"),
    pytest.param({"POSTBACK_SECRET_KEYS": [KEY]}, {}, other_extension, ConfigurationError,
                 r"already initialised", id="a-second-extension"),
    pytest.param({"POSTBACK_SECRET_KEYS": [KEY]}, {}, already_wrapped, ConfigurationError,
                 r"already wrapped in a PostbackMiddleware: use either", id="wrapped-by-hand"),
])
def test_configuration_mistakes_stop_init_app(
    config: dict[str, Any], keywords: dict[str, Any], setup: Setup | None,
    error: type[Exception], message: str,
) -> None:
    app = Flask("shop")
    app.config.update(config)
    bare = app.wsgi_app
    with pytest.raises(error, match=message):
        ext = Postback(**keywords)
        (setup or Postback.init_app)(ext, app)  # type: ignore[arg-type]
    if setup is None:  # nothing was changed on a refused app
        assert EXTENSION_KEY not in app.extensions
        assert app.wsgi_app == bare


def test_middleware_of_an_app_it_is_not_initialised_on() -> None:
    with pytest.raises(ConfigurationError, match="call init_app"):
        Postback().middleware(Flask("elsewhere"))
