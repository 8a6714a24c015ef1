"""The PasteDeploy filter: ``use = egg:postback-middleware`` in an ini file (``pserve``).

Kept apart from ``config`` (which only converts and checks options), so that ``config`` never
imports the middleware it configures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .config import options_from_ini
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
    kwargs = options_from_ini(local_conf)
    kwargs.setdefault("secret_keys", None)  # so a missing key gets the clear message

    def make_filter(app: WSGIApplication) -> WSGIApplication:
        return PostbackMiddleware(app, **kwargs)

    return make_filter
