"""Dispatch: the Python handlers for postback events and client callbacks.

Two kinds of handler, after ASP.NET:

* a **postback** handler runs when a verified postback names its target, before the inner app.
  It may change the view state, and may return a WSGI response (``webob.Response``, a Flask or
  Werkzeug ``Response``, a redirect) to answer instead of the inner app (that response is
  edited like any other page). What it raises propagates like the inner app's own exceptions::

      @registry.postback("delete")
      def delete(event, request):
          orders.remove(int(event.argument))

* a **callback** handler answers ``WebForm_DoCallback`` / ``Postback.callback`` without the inner
  app. It is a function ``f(argument, request) -> str | None``, or a class with ASP.NET's
  two-step ``ICallbackEventHandler`` interface, instantiated afresh for every call (with the
  request if its constructor takes one) so that state kept between the two steps belongs to one
  request::

      @registry.callback("CallServer")
      class CallServer:
          def raise_callback_event(self, argument): self.argument = argument
          def get_callback_result(self): return "You sent " + self.argument

A callback may belong to one page, as an ASP.NET page's own callbacks do (``'__Page'``, the
target its ``GetCallbackEventReference(this, ...)`` writes): registered with ``page=`` (the
page's path, as the browser requests it, mount point included), it is offered by every post
form whose action is that page, with no ``data-callbacks`` in the markup, and runs only for
requests to that path; each page may have its own ``'__Page'``. (A form's event validation
names it with its path, apart from the names ``data-callbacks`` lists: a callback of every
page runs only where a form lists it, whatever the page callbacks)::

      @registry.callback("__Page", page="/Default.aspx")
      def receive(argument, request):
          return "You sent " + argument

Handlers are looked up by exact name in a dict: a name such as ``__class__`` or ``os.system``
is just a key that is not there.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from webob import Request, Response

from .config import check_call
from .errors import InvalidArgument, InvalidType
from .form_tokens import Event

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

MAX_NAME_LENGTH = 256


class CallbackEventHandler(Protocol):
    """ASP.NET's ``ICallbackEventHandler``: one instance per call."""

    def raise_callback_event(self, argument: str) -> None: ...

    def get_callback_result(self) -> str | None: ...


CallbackFunction = Callable[[str, Request], "str | None"]
PostbackFunction = Callable[[Event, Request], "WSGIApplication | Response | None"]
H = TypeVar("H")


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"{kind} name must be a non-empty string of at most {MAX_NAME_LENGTH}")
    return name


class Registry:
    """Handlers by name. One registry can serve several middleware instances."""

    def __init__(self) -> None:
        self._callbacks: dict[str, Callable[[str, Request], str | None]] = {}
        self._postbacks: dict[str, PostbackFunction] = {}
        # A page's own callbacks, by (path, name); and their names by path, for the forms.
        self._page_callbacks: dict[tuple[str, str], Callable[[str, Request], str | None]] = {}
        self._offered_on: dict[str, tuple[str, ...]] = {}
        # What each name was registered with, as given: the same handler again is no error (two
        # middlewares given one registry and the same handlers option, an app factory run
        # twice), another one is.
        self._given: dict[tuple[str, str | None, str], Any] = {}

    def _first_time(self, kind: str, page: str | None, name: str, handler: Any) -> bool:
        """Whether ``name`` is new; False for the same handler again; else InvalidArgument."""
        key = (kind, page, name)
        if key not in self._given:
            self._given[key] = handler
            return True
        if self._given[key] is handler:
            return False
        where = "" if page is None else f" of page {page!r}"
        raise InvalidArgument(f"{kind} {name!r}{where} is registered twice, with two different "
                              "handlers: rename one, or register it once")

    # -- registration --------------------------------------------------------------------

    def callback(self, name: str, *, page: str | None = None) -> Callable[[H], H]:
        """Decorator: register a callback function or ``ICallbackEventHandler`` class (of one
        page only, with ``page=``: see the module's docstring)."""

        def register(handler: H) -> H:
            self.add_callback(name, handler, page=page)
            return handler

        return register

    def postback(self, name: str) -> Callable[[H], H]:
        """Decorator: register a postback handler ``f(event, request) -> Response | None``."""

        def register(handler: H) -> H:
            self.add_postback(name, handler)
            return handler

        return register

    def add_callback(self, name: str, handler: Any, *, page: str | None = None) -> None:
        """Register a callback function or ``ICallbackEventHandler`` class under ``name``;
        with ``page``, a callback of that page's own, which its forms offer by themselves."""
        _check_name("callback", name)
        function = _as_callback_function(name, handler)  # (checked before it counts)
        if page is None:
            if self._first_time("callback", None, name, handler):
                self._callbacks[name] = function
            return
        if not isinstance(page, str) or not page.startswith("/"):
            raise InvalidArgument(f"page must be a path beginning with '/' (as the browser "
                                  f"requests it, the app's mount point included), not {page!r}")
        if not self._first_time("callback", page, name, handler):
            return
        self._page_callbacks[page, name] = function
        self._offered_on[page] = (*self._offered_on.get(page, ()), name)

    def add_postback(self, name: str, handler: Any) -> None:
        """Register a postback handler ``f(event, request) -> Response | None`` for ``name``."""
        _check_name("postback", name)
        if not callable(handler):
            raise InvalidType(f"postback handler for {name!r} is not callable")
        check_call(f"postback handler {name!r}", handler, "handler(event, request)",
                   error=InvalidType)
        if self._first_time("postback", None, name, handler):
            self._postbacks[name] = handler

    def update(
        self,
        *,
        callbacks: Mapping[str, Any] | None = None,
        postbacks: Mapping[str, Any] | None = None,
    ) -> None:
        """Register several handlers at once (used by the ini file's blocks)."""
        for name, handler in (callbacks or {}).items():
            self.add_callback(name, handler)
        for name, handler in (postbacks or {}).items():
            self.add_postback(name, handler)

    # -- lookup ----------------------------------------------------------------------------

    def page_callbacks(self, path: str) -> tuple[str, ...]:
        """What a form posting to ``path`` offers of that page's own callbacks: each as
        :func:`page_callback_key` writes it into the form's event validation (apart from the
        names of its ``data-callbacks``, so one never stands for the other)."""
        names = self._offered_on.get(path)
        if not names:  # (most paths: asked once for every form of every page)
            return ()
        return tuple(page_callback_key(path, name) for name in names)

    @property
    def callback_pages(self) -> Collection[str]:
        """The paths of the pages that offer callbacks of their own: a form posting to any
        other path offers none (:meth:`page_callbacks` is empty)."""
        return self._offered_on.keys()

    def has_callback(self, name: str, page: str | None = None) -> bool:
        """Whether a callback is registered under exactly this name: of the page at path
        ``page`` when given, else of every page."""
        if page is not None:
            return (page, name) in self._page_callbacks
        return name in self._callbacks

    def run_callback(self, name: str, argument: str, request: Request,
                     page: str | None = None) -> str:
        """Run the callback ``name`` (of the page at path ``page`` when given); KeyError if
        there is none. Returns the result text."""
        handler = self._page_callbacks[page, name] if page is not None else self._callbacks[name]
        result = handler(argument, request)
        if result is None:
            return ""
        if not isinstance(result, str):
            raise InvalidType(f"callback {name!r} returned {type(result).__name__}, not str")
        return result

    def run_postback(self, event: Event, request: Request) -> WSGIApplication | None:
        """Run the postback handler for ``event.target`` if there is one.

        Its answer, if any, is a WSGI response (any callable ``(environ, start_response)``:
        ``webob.Response``, a Flask or Werkzeug ``Response``, a redirect made by either). What
        it raises propagates, as the inner app's own exceptions do, to the debugger or error
        reporter around the middleware.
        """
        handler = self._postbacks.get(event.target)
        if handler is None:
            return None
        response = handler(event, request)
        if response is not None and not callable(response):
            raise InvalidType(
                f"postback handler {event.target!r} returned a {type(response).__name__}: return "
                "None (the inner app answers) or a WSGI response (webob.Response, a Flask or "
                "Werkzeug Response)"
            )
        return response


def page_callback_key(path: str, name: str) -> str:
    """How a page callback is named in event validation: the path and the name, unambiguous
    (JSON), and never a name a ``data-callbacks`` list could hold."""
    return json.dumps([path, name], ensure_ascii=False)


def _as_callback_function(name: str, handler: Any) -> Callable[[str, Request], str | None]:
    """Wrap an ``ICallbackEventHandler`` class so both kinds are called the same way."""
    factory: Any = handler
    if not inspect.isclass(handler):
        if not callable(handler):
            raise InvalidType(f"callback handler for {name!r} is not callable")
        check_call(f"callback handler {name!r}", handler, "handler(argument, request)",
                   error=InvalidType)
        return handler  # type: ignore[no-any-return]
    for method in ("raise_callback_event", "get_callback_result"):
        if not callable(getattr(handler, method, None)):
            raise InvalidType(f"callback class for {name!r} has no {method}() method")
    try:
        takes_request = bool(inspect.signature(handler).parameters)
    except (TypeError, ValueError):
        takes_request = False

    def two_step(argument: str, request: Request) -> str | None:
        instance: CallbackEventHandler = factory(request) if takes_request else factory()
        instance.raise_callback_event(argument)
        return instance.get_callback_result()

    return two_step
