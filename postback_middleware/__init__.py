"""postback-middleware: ASP.NET WebForms-style postbacks and client callbacks for any WSGI app.

The request's journey, module by module:

* request side: ``body`` (read, scan, strip a form POST), ``csrf`` (the browser's cookie and
  the site checks), ``form_tokens`` (a form's tokens issued and checked; ``Postback``,
  ``Callback``, ``Event``), ``tokens`` (the signer of JSON view state and event validation),
  ``validation`` (what a form offered, compactly);
* dispatch: ``registry`` (postback and callback handlers), ``middleware`` (the WSGI core);
* response side: ``response`` (which responses are edited, which headers), ``html_scan``
  (find tags), ``inject`` (insert fields and the script tag), ``partial`` (partial
  postbacks: panels, replays, downloads);
* ``client`` (the served script), ``config`` (options, ini text),
  ``paste`` (the PasteDeploy filter),
  ``charset`` (page encodings), ``http`` (header lookup, media types, codings, cache headers,
  the middleware's own replies), ``fields`` (reserved names), ``errors`` (one hierarchy);
* ``testing``: ``postback`` / ``callback`` for your own WebTest suites (import it explicitly);
* rooms for capabilities: ``aspnet`` (ASP.NET compatibility), ``stores`` (state shared by
  workers: in-process, Redis), ``single_use`` (each form accepted once; double clicks get the
  first answer), ``server_state`` (view state kept in the store);
* ``frameworks``: each web framework's idiom, imported by name only (so this package imports
  no framework): ``frameworks.flask`` (the ``Postback`` extension), ``frameworks.django``
  (``wrap`` for ``wsgi.py``, ``settings.POSTBACK``).
"""

__version__ = "0.1.0"

from .aspnet import callback_reference
from .config import Options
from .errors import (
    AlreadySent,
    BadRequest,
    CallbackError,
    ConfigurationError,
    CookieMissing,
    CrossSite,
    EngineUnavailable,
    Forbidden,
    InvalidArgument,
    InvalidType,
    LengthRequired,
    PostbackError,
    Reason,
    Rejected,
    StateTooLarge,
    StoreUnavailable,
    TokenError,
    TokenExpired,
    TooLarge,
    UnknownOption,
    UsageError,
    WrongBinding,
)
from .form_tokens import Event
from .middleware import EVENT_KEY, VIEWSTATE_KEY, PostbackMiddleware
from .paste import filter_factory
from .registry import Registry
from .response import SKIP_ENVIRON_KEY, SKIP_HEADER

__all__ = [
    "EVENT_KEY",
    "SKIP_ENVIRON_KEY",
    "SKIP_HEADER",
    "VIEWSTATE_KEY",
    "AlreadySent",
    "BadRequest",
    "CallbackError",
    "ConfigurationError",
    "CookieMissing",
    "CrossSite",
    "EngineUnavailable",
    "Event",
    "Forbidden",
    "InvalidArgument",
    "InvalidType",
    "LengthRequired",
    "Options",
    "PostbackError",
    "PostbackMiddleware",
    "Reason",
    "Registry",
    "Rejected",
    "StateTooLarge",
    "StoreUnavailable",
    "TokenError",
    "TokenExpired",
    "TooLarge",
    "UnknownOption",
    "UsageError",
    "WrongBinding",
    "callback_reference",
    "filter_factory",
]
