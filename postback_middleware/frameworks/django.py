"""Django: ``wrap(application)`` in ``wsgi.py``, with the options in ``settings.POSTBACK``.

``wsgi.py``::

    import os
    from django.core.wsgi import get_wsgi_application
    from postback_middleware.frameworks.django import wrap

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    application = wrap(get_wsgi_application())

``settings.py``::

    POSTBACK = {
        "SECRET_KEYS": os.environ["POSTBACK_SECRET_KEYS"].split(),
        "CALLBACKS": {"CallServer": "shop.callbacks:call_server"},
    }

**Options.** ``settings.POSTBACK`` is a dict of the middleware's options, their names in
capitals as Django's own dict settings spell theirs (``SECRET_KEYS``, ``MAX_AGE``,
``CALLBACKS``...), with Python values; handlers are functions or, as settings usually hold
them, ``"package.module:function"`` strings. Keywords given to ``wrap`` win. ``wrap`` reads
and checks them when ``wsgi.py`` is loaded: an unknown key, a missing ``SECRET_KEYS`` and a bad
value stop start-up with the setting named. ``settings.SECRET_KEY`` is never used: it signs
Django's sessions, password-reset links and messages, and rotates with
``SECRET_KEY_FALLBACKS``; the middleware's tokens get keys of their own (one key, one purpose:
either can leak or rotate without touching the other), and Django's generated keys are not
in a form the middleware's key check accepts (32 or more random bytes, spelled in base64url,
base64 or hex).

``runserver`` serves ``settings.WSGI_APPLICATION`` (``mysite.wsgi.application``), so the
development server goes through the middleware too. **Django's test** ``Client`` **does not**:
it calls Django's handler directly, never the ``application`` of ``wsgi.py``; test through the
wrapped application with WebTest and ``postback_middleware.testing``. ``asgi.py`` cannot be
wrapped: this is a WSGI middleware.

**Handlers that want Django's request**: decorate them with :func:`with_django_request`; they
get an ``HttpRequest`` (a ``WSGIRequest`` of the request the middleware verified, the reserved
fields gone), with ``request.session`` and ``request.user`` when ``SessionMiddleware`` and
``AuthenticationMiddleware`` are in ``MIDDLEWARE`` (their ``process_request`` is run; no other
middleware is, and what a handler changes in the session is not saved). A postback handler may
return a Django response (``redirect(...)``), sent instead of the view's. Django's
``request_started`` and ``request_finished`` signals are sent around the handler, as around a
view, so database connections are looked after as for one; the body the handler's request
reads is read again by the view after it.

**A handler's response is sent as it is**: Django's handler never sees it, so the response
phase of ``MIDDLEWARE`` does not run for it. It has no ``X-Frame-Options``
(``XFrameOptionsMiddleware``), no ``X-Content-Type-Options``, ``Referrer-Policy``,
``Cross-Origin-Opener-Policy`` or HSTS (``SecurityMiddleware``), no ``Content-Length``
(``CommonMiddleware``), no cookie a middleware would set (the CSRF cookie, the session's), no
header a third-party middleware adds (a CSP). It cannot be given them: the handler runs before
Django's handler, whose response phase belongs to a request phase that has not run. So a
handler returns a redirect (the page after it goes through ``MIDDLEWARE``), or ``None`` and
lets the view render the page (it reads ``request.META["postback.event"]``): not a page of
its own.

**Why not a** ``MIDDLEWARE`` **class.** The middleware verifies a postback and cuts its
reserved fields out of the body byte for byte before any of the app's code reads it, answers
callbacks without the app, and edits every HTML response. As a class in ``MIDDLEWARE`` it
could not do the first reliably, and would do the rest twice:

* Django has no public way to hand the view another body. A middleware may read the body
  (``request.read()``) and may set ``request.POST``, but ``request.body``, ``request.read()``
  and ``request.FILES`` keep reading the original stream: a JSON view, a REST framework
  parser or a multipart upload would see the unverified fields. Replacing them means writing
  ``HttpRequest``'s private attributes (``_stream``, ``_body``, ``_files``).
* Its place in ``MIDDLEWARE`` is only a convention: a middleware listed above it whose
  ``__call__`` or ``process_request`` reads ``request.POST`` or the body gets the fields
  unverified (and consumes the stream). Django's own ``CsrfViewMiddleware`` is not one: it
  reads ``request.POST`` in ``process_view``, after every middleware's request phase.
* A callback answered from ``MIDDLEWARE`` would first pass through every middleware above it
  (sessions loaded, users fetched) and go out through their ``process_response``; answered in
  ``wsgi.py``, Django does no work for it at all.
* The response side (pages whole and streamed, gzip, charsets, partial postbacks) is one
  implementation over WSGI, shared by every framework and tested byte for byte; a class would
  need a second one over ``HttpResponse`` and ``StreamingHttpResponse``.

Django documents ``wsgi.py`` as the place for WSGI middleware ("Applying WSGI middleware" in
its deployment guide); ``wrap`` is that one line. (What a class would give, ASGI, this
package does not offer.)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIRequest, get_script_name
from django.http import HttpRequest, HttpResponseBase
from django.urls import set_script_prefix
from django.utils.module_loading import import_string
from webob import Request

from ..errors import ConfigurationError, InvalidType
from ..middleware import PostbackMiddleware
from ..registry import Registry
from . import read_settings, setting_names

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["SETTING", "DjangoResponse", "django_request", "with_django_request", "wrap"]

SETTING = "POSTBACK"
SETTING_KEYS = setting_names(str.upper)
# The middleware whose process_request a handler's request gets (and their subclasses): who
# is asking, as the views see it.
IDENTITY_MIDDLEWARE = ("django.contrib.sessions.middleware.SessionMiddleware",
                       "django.contrib.auth.middleware.AuthenticationMiddleware")
A = TypeVar("A")


def wrap(
    application: WSGIApplication, *, registry: Registry | None = None, **options: Any
) -> PostbackMiddleware:
    """``application`` (Django's WSGI application) wrapped in the middleware, with the options
    of ``settings.POSTBACK`` and ``options`` (keywords, which win); handlers from
    ``settings.POSTBACK["CALLBACKS"]`` / ``["POSTBACKS"]`` go in ``registry`` (a new one by
    default)."""
    configured = getattr(settings, SETTING, None)
    if configured is None:
        configured = {}
    if not isinstance(configured, Mapping):
        raise ConfigurationError(
            f"settings.{SETTING} must be a dict of postback-middleware's options "
            f"({{'SECRET_KEYS': [...], ...}}), not a {type(configured).__name__}")
    read = read_settings(
        configured,
        names=SETTING_KEYS,
        label=lambda key: f"settings.{SETTING}[{key!r}]",
        keywords=options,
        keyword_label=lambda option: f"wrap({option}=...)",
        where=f"settings.{SETTING}",
        missing_keys=(f"settings.{SETTING}['SECRET_KEYS'] is required: the list of the "
                      "middleware's own keys, each 32 or more random bytes (never "
                      "settings.SECRET_KEY), the first signing, all verifying"),
    )
    registry = registry if registry is not None else Registry()
    registry.update(callbacks=read.callbacks, postbacks=read.postbacks)
    return PostbackMiddleware(application, registry=registry, options=read.options)


def with_django_request(handler: Callable[[A, Any], Any]) -> Callable[[A, Request], Any]:
    """Decorator: the handler ``f(argument, request)`` (a callback) or ``f(event, request)``
    (a postback) gets Django's ``HttpRequest`` instead of WebOb's (see the module's
    docstring); a postback handler may return a Django response, sent as it is (no
    ``MIDDLEWARE`` response phase: return a redirect, or None and let the view render)."""
    if inspect.isclass(handler) or not callable(handler):
        raise InvalidType(
            f"with_django_request decorates a handler function f(argument or event, request), "
            f"not {handler!r}; a callback class can make one with django_request(request)")

    @functools.wraps(handler)
    def run(first: A, request: Request) -> Any:
        environ = request.environ
        body = environ.get("wsgi.input")
        position = _position(body)
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=PostbackMiddleware, environ=environ)
        result: Any = None
        try:
            result = handler(first, django_request(request))
            if isinstance(result, HttpResponseBase):
                # Closed once sent, which sends request_finished, as Django's handler does.
                return DjangoResponse(result)
            return result
        finally:
            if position is not None:
                body.seek(position)  # the view reads the body again
            if not isinstance(result, HttpResponseBase):
                signals.request_finished.send(sender=PostbackMiddleware)

    return run


def django_request(request: Request | WSGIEnvironment) -> HttpRequest:
    """Django's request for a handler's (WebOb) request or WSGI environ: a ``WSGIRequest``
    (of a copy of the environ: Django's request rewrites its path keys), with ``session`` and
    ``user`` when ``SessionMiddleware`` and ``AuthenticationMiddleware`` are in
    ``MIDDLEWARE``."""
    environ = request.environ if isinstance(request, Request) else request
    made = WSGIRequest(dict(environ))
    for middleware in _identity_middleware():
        middleware(_no_view).process_request(made)
    return made


def _position(body: Any) -> int | None:
    """Where a (seekable) body stands, to go back there; None if it cannot."""
    try:
        return int(body.tell()) if body is not None and body.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


def _identity_middleware() -> list[Any]:
    """The classes of ``MIDDLEWARE`` that are (or derive from) ``IDENTITY_MIDDLEWARE``, in
    their order. (Matched by name: importing the auth middleware to compare classes would
    need the auth app installed; what ``MIDDLEWARE`` names is imported already.)"""
    found = []
    for path in settings.MIDDLEWARE:
        middleware = import_string(path)
        if isinstance(middleware, type) and any(
                f"{cls.__module__}.{cls.__qualname__}" in IDENTITY_MIDDLEWARE
                for cls in middleware.__mro__):
            found.append(middleware)
    return found


def _no_view(request: HttpRequest) -> None:
    """(What the identity middleware is given as its ``get_response``: never called.)"""


class DjangoResponse:
    """A Django response returned by a postback handler, as the WSGI response the middleware
    sends instead of the view's: status and headers (cookies included) as Django's own
    handler sends them; closed by the server, which sends ``request_finished``."""

    def __init__(self, response: HttpResponseBase) -> None:
        self.response = response

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.response
        start_response(f"{response.status_code} {response.reason_phrase}", [
            *response.items(),
            *(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values()),
        ])
        return response  # type: ignore[no-any-return]
