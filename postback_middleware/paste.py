"""The PasteDeploy filter: ``use = egg:postback-middleware`` in an ini file (``pserve``).

Kept apart from ``config`` (which only converts and checks options), so that ``config`` never
imports the middleware it configures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .config import OPTION_SPECS, options_from_ini
from .errors import ConfigurationError
from .middleware import PostbackMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


def filter_factory(
    global_conf: Mapping[str, str], **local_conf: str
) -> Callable[[WSGIApplication], WSGIApplication]:
    """PasteDeploy ``paste.filter_factory`` entry point (``use = egg:postback-middleware``).

    The text is converted here; PasteDeploy calls the returned filter while the file loads, so
    the middleware's own checks (keys, limits) also run at start-up.
    """
    # PasteDeploy gives [DEFAULT]'s names to every section in global_conf, and drops a
    # section's own line of such a name: an option there would be silently ignored.
    shadowed = sorted(name for name in global_conf
                      if name in OPTION_SPECS and name not in local_conf)
    if shadowed:
        raise ConfigurationError(
            f"{', '.join(shadowed)} {'is' if len(shadowed) == 1 else 'are'} named in [DEFAULT]: "
            "PasteDeploy then drops the filter section's own line of that name, so it would "
            "be ignored; take the [DEFAULT] value into the filter section with "
            f"'get {shadowed[0]} = {shadowed[0]}', or name the [DEFAULT] variable otherwise")
    kwargs = options_from_ini(local_conf)
    kwargs.setdefault("secret_keys", None)  # so a missing key gets the clear message

    def make_filter(app: WSGIApplication) -> WSGIApplication:
        return PostbackMiddleware(app, **kwargs)

    return make_filter
