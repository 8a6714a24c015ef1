"""``frameworks.django``: ``wrap`` (``wsgi.py``'s one line) with ``settings.POSTBACK``, and
handlers that get Django's request, driven through WebTest.

Django's test ``Client`` calls Django's handler directly, never the ``application`` of
``wsgi.py`` (a test below pins that), so the wrapped application is driven with WebTest and
``postback_middleware.testing``, as a project's own tests would. Django allows one settings
configuration a process: the framework example's (``examples/frameworks/django_app.py``) is
used, and each test changes what it needs with ``override_settings``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import webtest
from django.core import signals
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.test import Client, override_settings
from django.urls import path
from frameworks.django_app import configure

from postback_middleware import (
    ConfigurationError,
    Event,
    InvalidType,
    PostbackMiddleware,
    Registry,
    UnknownOption,
)
from postback_middleware.frameworks.django import with_django_request, wrap
from postback_middleware.testing import CallbackFailed, callback, postback

from .helpers import hidden_fields, new_key

configure()

HERE = __name__  # this module is the URLconf of its tests, and holds their handlers
KEY = new_key()
PAGE = """<!DOCTYPE html><html><head><title>Orders</title></head><body>
<form method="post" id="orders" data-callbacks="CallServer Who Fields Plain">
  <input name="note" value="héllo">
  <a href="#" data-postback="delete" data-postback-argument="7">Delete 7</a>
  <a href="#" data-postback="leave" data-postback-argument="now">Leave</a>
  <a href="#" data-postback="read" data-postback-argument="1">Read</a>
</form><p id="seen">{seen}</p></body></html>"""

VIEW_CALLS: list[dict[str, list[str]]] = []  # what the view read from request.POST
HANDLED: list[Any] = []  # what the handlers were given


def orders(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        VIEW_CALLS.append(dict(request.POST.lists()))
    if hasattr(request, "session"):
        request.session["name"] = "Ada"
    if "postback.event" not in request.META:  # the middleware was not in the way
        return HttpResponse(PAGE.format(seen="no middleware"))
    event = request.META["postback.event"]
    return HttpResponse(PAGE.format(seen=f"{event.target}({event.argument})" if event else "none"))


urlpatterns = [path("", orders)]


# -- the handlers, named in settings.POSTBACK as "tests.test_frameworks_django:..." -----------


def call_server(argument: str, request: Any) -> str:
    return f"You sent {argument}"


@with_django_request
def fields(argument: str, request: HttpRequest) -> str:
    HANDLED.append(request)
    return f"{type(request).__name__} {request.method} {request.path} " + ",".join(
        f"{name}={value}" for name, value in request.POST.items())


@with_django_request
def who(argument: str, request: HttpRequest) -> str:
    name = request.session.get("name", "nobody")
    return f"{name} authenticated={request.user.is_authenticated}"


@with_django_request
def plain(argument: str, request: HttpRequest) -> str:
    return f"session={hasattr(request, 'session')} user={hasattr(request, 'user')}"


@with_django_request
def read(event: Event, request: HttpRequest) -> None:
    """A postback handler reading the body: the view after it reads it again."""
    HANDLED.append((event, dict(request.POST.lists())))


@with_django_request
def leave(event: Event, request: HttpRequest) -> Any:
    """A postback handler answering with a Django response instead of the view."""
    response = redirect("/bye")
    response.set_cookie("left", event.argument)
    return response


HANDLERS = {
    "CALLBACKS": {"CallServer": f"{HERE}:call_server", "Fields": f"{HERE}:fields",
                  "Who": f"{HERE}:who", "Plain": f"{HERE}:plain"},
    "POSTBACKS": {"read": f"{HERE}:read", "leave": f"{HERE}:leave"},
}


@pytest.fixture(autouse=True)
def urls() -> Iterator[None]:
    VIEW_CALLS.clear()
    HANDLED.clear()
    with override_settings(ROOT_URLCONF=HERE, MIDDLEWARE=[],
                           POSTBACK={"SECRET_KEYS": [KEY], **HANDLERS}):
        yield


def application() -> webtest.TestApp:
    """``wsgi.py``'s ``application = wrap(get_wsgi_application())``, driven by WebTest."""
    from django.core.wsgi import get_wsgi_application

    return webtest.TestApp(wrap(get_wsgi_application()))


# -- wrap: settings.POSTBACK, one line in wsgi.py ----------------------------------------------


def test_wrap_reads_settings_postback_and_its_handler_names() -> None:
    app = application()
    page = app.get("/")
    assert {"__EVENTTARGET", "__VIEWSTATE", "__EVENTVALIDATION"} <= set(hidden_fields(page.body))
    answer = postback(page, "delete", "7")
    assert answer.html.select_one("#seen").text == "delete(7)"
    assert VIEW_CALLS == [{"note": ["héllo"]}]  # the reserved fields cut out
    assert callback(app, page, "CallServer", "42") == "You sent 42"
    assert len(VIEW_CALLS) == 1  # the callback did not reach Django


def test_keywords_win_over_settings_and_a_registry_may_be_given() -> None:
    from django.core.wsgi import get_wsgi_application

    registry = Registry()
    registry.add_callback("Extra", call_server)
    with override_settings(POSTBACK={"SECRET_KEYS": ["not a key at all"], "MAX_AGE": 60,
                                     **HANDLERS}):
        middleware = wrap(get_wsgi_application(), registry=registry, secret_keys=[KEY],
                          max_age=120)
    assert middleware.options.max_age == 120
    assert middleware.options.keys == (KEY.encode(),)
    assert middleware.registry is registry
    assert registry.has_callback("Extra") and registry.has_callback("CallServer")


def test_djangos_test_client_does_not_go_through_wsgi_py() -> None:
    """What the module's docstring warns of: the test Client calls Django's handler itself."""
    page = Client().get("/")
    assert page.status_code == 200
    assert b"__VIEWSTATE" not in page.content
    assert b'<p id="seen">no middleware</p>' in page.content


NOT_SET = object()  # settings.POSTBACK absent


@pytest.mark.parametrize(("setting", "keywords", "error", "message"), [
    pytest.param(NOT_SET, {}, ConfigurationError,
                 r"settings.POSTBACK\['SECRET_KEYS'\] is required.*never settings.SECRET_KEY"
                 r".*secrets.token_urlsafe", id="no-POSTBACK-setting"),
    pytest.param({"MAX_AGE": 60}, {}, ConfigurationError,
                 r"settings.POSTBACK\['SECRET_KEYS'\] is required", id="missing-key"),
    pytest.param({"SECRET_KEYS": []}, {}, ConfigurationError,
                 r"'SECRET_KEYS'\] is required", id="empty-key-list"),
    pytest.param({"SECRET_KEYS": ["short"]}, {}, ConfigurationError,
                 r"settings.POSTBACK\['SECRET_KEYS'\]: secret key #1 has 5 bytes", id="weak-key"),
    pytest.param({"secret_keys": [KEY]}, {}, UnknownOption,
                 r"settings.POSTBACK\['secret_keys'\] is no option.*in capitals: 'SECRET_KEYS'"
                 r".*the options are: ASPNET_AJAX, CALLBACKS, ", id="lower-case-name"),
    pytest.param({"SECRET_KEYS": [KEY], "MAX_AEG": 60}, {}, UnknownOption,
                 r"settings.POSTBACK\['MAX_AEG'\] is no option.*did you mean 'MAX_AGE'",
                 id="misspelt-name"),
    pytest.param({"SECRET_KEYS": [KEY]}, {"max_aeg": 60}, UnknownOption,
                 r"unknown option 'max_aeg' \(did you mean 'max_age'\?\)", id="unknown-keyword"),
    pytest.param(["SECRET_KEYS"], {}, ConfigurationError,
                 r"settings.POSTBACK must be a dict.*not a list", id="not-a-dict"),
    pytest.param({"SECRET_KEYS": [KEY], "MAX_AGE": "7200"}, {}, ConfigurationError,
                 r"settings.POSTBACK\['MAX_AGE'\]: max_age must be a positive integer, "
                 r"not '7200'", id="wrong-type"),
    pytest.param({"SECRET_KEYS": [KEY]}, {"maintain_scroll_position": 1}, ConfigurationError,
                 r"wrap\(maintain_scroll_position=...\): maintain_scroll_position must be True "
                 r"or False", id="wrong-type-in-keyword"),
    pytest.param({"SECRET_KEYS": [KEY], "CALLBACKS": {"X": "no.such.module:call"}}, {},
                 ConfigurationError, r"settings.POSTBACK\['CALLBACKS'\]: callbacks X: cannot "
                 r"import 'no.such.module:call'", id="unimportable-handler"),
    pytest.param({"SECRET_KEYS": [KEY], "CALLBACKS": ["CallServer"]}, {}, ConfigurationError,
                 r"settings.POSTBACK\['CALLBACKS'\]: callbacks must map names to functions",
                 id="handlers-not-a-dict"),
    pytest.param({"SECRET_KEYS": [KEY], "RENEWAL_WINDOW": 60}, {}, ConfigurationError,
                 r"settings.POSTBACK: renewal_window \(60s\) is shorter than max_age",
                 id="options-that-disagree"),
])
def test_configuration_mistakes_stop_start_up(
    setting: Any, keywords: dict[str, Any], error: type[Exception], message: str,
) -> None:
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    django_app = get_wsgi_application()
    with override_settings(POSTBACK=setting):
        if setting is NOT_SET:
            del settings.POSTBACK
        with pytest.raises(error, match=message):
            wrap(django_app, **keywords)


def test_the_django_secret_key_is_not_taken_for_the_middlewares() -> None:
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    with override_settings(SECRET_KEY=secrets.token_urlsafe(48), POSTBACK={}), \
            pytest.raises(ConfigurationError, match=r"never settings\.SECRET_KEY"):
        assert settings.SECRET_KEY  # Django's own key is there, random enough
        wrap(get_wsgi_application())


# -- handlers that get Django's request --------------------------------------------------------


def test_a_callback_gets_djangos_request_of_the_verified_request() -> None:
    app = application()
    page = app.get("/")
    assert callback(app, page, "Fields", "1") == "WSGIRequest POST / note=héllo"
    [request] = HANDLED
    assert isinstance(request, WSGIRequest)
    assert "__CALLBACKID" not in request.POST and "__EVENTVALIDATION" not in request.POST
    assert VIEW_CALLS == []


def test_a_postback_handler_reads_the_body_and_the_view_reads_it_again() -> None:
    app = application()
    answer = postback(app.get("/"), "read", "1")
    [(event, handler_form)] = HANDLED
    assert event == Event("read", "1")
    assert handler_form == {"note": ["héllo"]}
    assert VIEW_CALLS == [{"note": ["héllo"]}]  # the same body, from its start
    assert answer.html.select_one("#seen").text == "read(1)"


def test_a_postback_handler_may_answer_with_a_django_response() -> None:
    app = application()
    finished: list[object] = []

    def count(**kwargs: Any) -> None:
        finished.append(kwargs.get("sender"))

    page = app.get("/")
    signals.request_finished.connect(count)
    try:
        answer = postback(page, "leave", "now")
    finally:
        signals.request_finished.disconnect(count)
    assert answer.status_int == 302 and answer.headers["Location"] == "/bye"
    assert app.cookies["left"] == "now"
    assert VIEW_CALLS == []
    assert len(finished) == 1  # when the response was closed, as Django's handler does


SECURITY = ["django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware"]


def test_a_handlers_page_skips_the_response_phase_of_middleware_the_views_has_it() -> None:
    """Documented (the module's docstring, docs/reference/frameworks.md): a handler's response
    is sent as it is, without what ``MIDDLEWARE`` adds to responses; a handler that returns
    None leaves the page to the view, which has it all."""
    registry = Registry()

    @registry.postback("delete")
    @with_django_request
    def delete(event: Event, request: HttpRequest) -> HttpResponse:
        return HttpResponse(PAGE.format(seen="handler"))

    from django.core.wsgi import get_wsgi_application

    with override_settings(MIDDLEWARE=SECURITY):
        app = webtest.TestApp(wrap(get_wsgi_application(), registry=registry))
        page = app.get("/")
        from_view = postback(page, "read", "1")  # (its handler returns None)
        from_handler = postback(page, "delete", "7")
    assert from_view.html.select_one("#seen").text == "read(1)"
    assert from_handler.html.select_one("#seen").text == "handler"
    watched = ["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
               "Cross-Origin-Opener-Policy", "Content-Length"]
    assert all(name in from_view.headers for name in watched)
    assert not any(name in from_handler.headers for name in watched)


def test_a_handler_is_a_request_to_djangos_signals() -> None:
    app = application()
    page = app.get("/")
    sent: list[str] = []

    def started(**kwargs: Any) -> None:
        sent.append("started " + kwargs["environ"]["PATH_INFO"])

    def finished(**kwargs: Any) -> None:
        sent.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        callback(app, page, "Fields", "1")
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert sent == ["started /", "finished"]


IDENTITY = {
    "MIDDLEWARE": ["django.contrib.sessions.middleware.SessionMiddleware",
                   "django.contrib.auth.middleware.AuthenticationMiddleware"],
    "INSTALLED_APPS": ["django.contrib.auth", "django.contrib.contenttypes",
                       "django.contrib.sessions"],
    "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies",
}


def test_a_handler_gets_the_session_and_user_the_views_get() -> None:
    with override_settings(**IDENTITY):
        app = application()
        page = app.get("/")  # the view put a name in the session (a signed cookie)
        assert "sessionid" in app.cookies
        assert callback(app, page, "Who", "1") == "Ada authenticated=False"
        assert callback(app, page, "Plain", "1") == "session=True user=True"


def test_without_that_middleware_there_is_no_session_or_user() -> None:
    app = application()
    assert callback(app, app.get("/"), "Plain", "1") == "session=False user=False"
    with pytest.raises(CallbackFailed):  # the handler's own AttributeError: a generic error
        callback(app, app.get("/"), "Who", "1")


def test_a_class_cannot_be_decorated() -> None:
    class Handler:
        def raise_callback_event(self, argument: str) -> None: ...

        def get_callback_result(self) -> str:
            return ""

    with pytest.raises(InvalidType, match="decorates a handler function"):
        with_django_request(Handler)


def test_wrap_returns_the_middleware() -> None:
    assert isinstance(application().app, PostbackMiddleware)
