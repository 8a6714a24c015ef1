"""Flask: the ``Postback`` extension, ``init_app(app)`` with its options in ``app.config``.

::

    from flask import Flask
    from postback_middleware.frameworks.flask import Postback

    postback = Postback()

    @postback.callback("CallServer")
    def call_server(argument, request):
        return "You sent " + argument

    def create_app():
        app = Flask(__name__)
        app.config["POSTBACK_SECRET_KEYS"] = os.environ["POSTBACK_SECRET_KEYS"].split()
        postback.init_app(app)
        return app

**Options.** Each option of the middleware is the config key ``POSTBACK_`` + its name in
capitals: ``POSTBACK_SECRET_KEYS`` (required: a list of keys, or one key as a string),
``POSTBACK_MAX_AGE``, ``POSTBACK_CALLBACKS`` (names mapped to functions or
``"package.module:function"`` strings)... Python values, as in ``PostbackMiddleware(...)``.
They are read when ``init_app`` runs; a keyword given to ``Postback(...)`` wins over the app's
key. A ``POSTBACK_*`` key that is no option, a missing key and a bad value stop ``init_app``
with the key named. ``app.config["SECRET_KEY"]`` is never used: it signs Flask's session, is
often not random enough for the middleware's check, and rotates on its own schedule; one key,
one purpose.

**Wrapping.** ``init_app`` wraps ``app.wsgi_app``, so every server and Flask's own test client
go through the middleware; the extension goes in ``app.extensions["postback"]``. A second
``init_app`` on the same app is refused (the app would be wrapped twice). Wrap
``app.wsgi_app`` in Werkzeug's ``ProxyFix`` *after* ``init_app``, so that the middleware sees
the scheme and host the browser used. One extension may serve several apps (an app factory):
each gets its own middleware and options, and they share the handlers.

**Handlers** (``@postback.callback``, ``@postback.postback``, ``POSTBACK_CALLBACKS``,
``POSTBACK_POSTBACKS``, or straight into ``postback.registry``) run in the app's **app
context**: ``current_app``, ``g`` and extensions that need it (Flask-SQLAlchemy's
``db.session``) work. The middleware runs inside an app context it pushes for every request
(Flask's own request then reuses it, as Flask does with an app context already pushed), so a
postback handler and the view after it share ``g`` and one ``db.session``; it is torn down
with the exception that ended the request, as Flask's own would be (``teardown_appcontext``
functions that commit or roll back get the view's error). There is no *request* context
while a handler runs (Flask has not read the request yet): ``flask.request`` and ``session``
are not there; the handler's ``request`` argument (WebOb's) has the form, query, cookies and
headers. A callback is answered without calling the app, as always. A postback handler's
response (``redirect(...)``) is sent as it is, Flask not called: no ``after_request``
function runs for it (nor the headers an extension adds there: Flask-Talisman's CSP,
``X-Frame-Options``...). Return a redirect (the page after it goes through Flask), or
``None`` and let the view render the page: not a page of its own.

``POSTBACK_USER_KEY`` runs in an app context too (``current_app`` works: an app factory's
reads the session through it): the request's when a postback is checked, one of its own when
a page's forms are signed, since that happens while the response is sent, after the request's
context is popped (a ``stream_with_context`` page is signed in the request's contexts, which
Flask pushes again for it).
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, current_app, got_request_exception, has_app_context

from ..config import UserKey, check_names
from ..errors import ConfigurationError
from ..middleware import PostbackMiddleware
from ..registry import Registry
from . import read_settings, setting_names

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["EXTENSION_KEY", "PREFIX", "Postback"]

PREFIX = "POSTBACK_"
EXTENSION_KEY = "postback"  # app.extensions[EXTENSION_KEY] is the extension
CONFIG_KEYS = setting_names(lambda option: PREFIX + option.upper())
H = TypeVar("H")


class Postback:
    """The extension: ``Postback(app)``, or ``Postback()`` then ``init_app(app)`` per app.

    ``options`` are the middleware's options as keywords (they win over ``app.config``);
    ``registry`` the :class:`~postback_middleware.registry.Registry` the handlers go in (a new
    one by default), shared by every app the extension is initialised on.
    """

    def __init__(
        self, app: Flask | None = None, *, registry: Registry | None = None, **options: Any
    ) -> None:
        check_names(options)  # (the values are checked by init_app, with the app's config)
        self.registry = registry if registry is not None else Registry()
        self.options: Mapping[str, Any] = dict(options)
        # Handlers from the apps' config (and the keywords), as given: an app factory run
        # again with the same config registers nothing twice.
        self._configured: dict[tuple[str, str], Any] = {}
        self._middlewares: weakref.WeakKeyDictionary[Flask, PostbackMiddleware] = (
            weakref.WeakKeyDictionary())
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read the app's ``POSTBACK_*`` keys and wrap ``app.wsgi_app`` in the middleware."""
        if EXTENSION_KEY in app.extensions:
            raise ConfigurationError(
                f"postback-middleware is already initialised on the Flask app {app.name!r} "
                f"(app.extensions[{EXTENSION_KEY!r}]): call init_app once per app (an app "
                "factory calls it once for each app it makes), with the options in app.config "
                "before that one call; a second call would wrap the app twice")
        if isinstance(app.wsgi_app, PostbackMiddleware | _InAppContext):
            raise ConfigurationError(
                f"the Flask app {app.name!r} is already wrapped in a PostbackMiddleware: use "
                "either the extension or the middleware, not both")
        config = {key: value for key, value in app.config.items()
                  if isinstance(key, str) and key.startswith(PREFIX)}
        settings = read_settings(
            config,
            names=CONFIG_KEYS,
            label=lambda key: f"app.config[{key!r}]",
            keywords=self.options,
            keyword_label=lambda option: f"Postback({option}=...)",
            where=f"app.config {PREFIX}* (and Postback(...) keywords)",
            missing_keys=(f"app.config['{PREFIX}SECRET_KEYS'] is required: the list of the "
                          "middleware's own keys, each 32 or more random bytes (never the "
                          "app's SECRET_KEY), the first signing, all verifying"),
        )
        self._register("callback", settings.callbacks)
        self._register("postback", settings.postbacks)
        options = settings.options
        if options.user_key is not None:  # (asked while the response is sent too)
            options = dataclasses.replace(
                options, user_key=_in_app_context(app, options.user_key))
        middleware = PostbackMiddleware(app.wsgi_app, registry=self.registry, options=options)
        app.wsgi_app = _InAppContext(app, middleware)  # type: ignore[method-assign]
        app.extensions[EXTENSION_KEY] = self
        self._middlewares[app] = middleware

    def middleware(self, app: Flask) -> PostbackMiddleware:
        """The middleware ``init_app`` made for ``app`` (its options, ``scanner_engine``)."""
        try:
            return self._middlewares[app]
        except KeyError:
            raise ConfigurationError(
                f"the extension is not initialised on the Flask app {app.name!r}: call "
                "init_app(app) first") from None

    # -- handlers (the registry's) ---------------------------------------------------------

    def callback(self, name: str, *, page: str | None = None) -> Callable[[H], H]:
        """Decorator: register a callback ``f(argument, request) -> str | None`` (or an
        ``ICallbackEventHandler`` class), of one page only with ``page=``: see ``registry``."""
        return self.registry.callback(name, page=page)

    def postback(self, name: str) -> Callable[[H], H]:
        """Decorator: register a postback handler ``f(event, request) -> Response | None``."""
        return self.registry.postback(name)

    def _register(self, kind: str, handlers: Mapping[str, Any]) -> None:
        """Register the handlers of an app's config; the same handler again is no news (an
        app factory run twice), another one under a name already taken is refused."""
        for name, handler in handlers.items():
            known = self._configured.get((kind, name), None)
            if known is handler:
                continue
            if known is not None:
                raise ConfigurationError(
                    f"{kind} {name!r} is configured with {handler!r} for this app and with "
                    f"{known!r} for another app of the same extension: the apps of one "
                    "extension share its handlers; give each app its own Postback()")
            if kind == "callback":
                self.registry.add_callback(name, handler)
            else:
                self.registry.add_postback(name, handler)
            self._configured[kind, name] = handler


def _in_app_context(app: Flask, user_key: UserKey) -> UserKey:
    """``user_key`` called in an app context of ``app``, wherever the middleware asks it.

    It is asked when a postback is checked, in the request's app context, and again when a
    page's forms are signed, while the response is sent: the request's context is popped by
    then (Flask's own too), so it gets one of its own there, as a CLI command does. (In a
    ``stream_with_context`` generator's page, the request's contexts are pushed again: it
    runs in those.)
    """

    @functools.wraps(user_key)
    def in_app_context(environ: WSGIEnvironment) -> str | None:
        if has_app_context() and current_app == app:
            return user_key(environ)
        with app.app_context():
            return user_key(environ)

    return in_app_context


class _InAppContext:
    """``app.wsgi_app`` once ``init_app`` has run: the middleware, inside the app's context.

    The context is pushed for the whole call (the handlers run during it); Flask's own
    request, further in, reuses it. It is popped when the middleware returns, as Flask pops
    its own before the body is sent. Flask does not pop a context it reuses, so the pop here
    gives the teardown functions (``teardown_appcontext``, ``appcontext_tearing_down``: a
    commit-or-rollback) what Flask's own would: the exception that ended the request.
    """

    def __init__(self, app: Flask, middleware: WSGIApplication) -> None:
        self.app = app
        self.middleware = middleware
        # (Weak, as blinker keeps it: this object lives as long as app.wsgi_app.)
        got_request_exception.connect(self._handled, app)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        handled: list[BaseException] = []
        token = _HANDLED.set(handled)
        context = self.app.app_context()
        context.push()
        error: BaseException | None = None
        try:
            return self.middleware(environ, start_response)
        except BaseException as raised:
            error = raised
            raise
        finally:
            _HANDLED.reset(token)
            # What Flask tears its request down with: the exception it made a 500 of (it
            # raises no further) or the one that propagates, unless the app ignores it.
            if error is None and handled:
                error = handled[-1]
            if error is not None and self.app.should_ignore_error(error):
                error = None
            context.pop(error)

    def _handled(self, sender: Flask, exception: BaseException, **extra: Any) -> None:
        """``got_request_exception``: Flask is making a 500 of ``exception``."""
        handled = _HANDLED.get()
        if handled is not None:
            handled.append(exception)


# The exceptions Flask handled during the _InAppContext call in progress (None outside one).
_HANDLED: ContextVar[list[BaseException] | None] = ContextVar("postback_flask_handled",
                                                               default=None)
