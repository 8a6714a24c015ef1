"""Pyramid, with postback-middleware as Pyramid wires WSGI middleware: a PasteDeploy filter.

Run:  python examples/frameworks/pyramid_app.py [PORT]    (default 6552; key: POSTBACK_SECRET_KEYS)
 or:  POSTBACK_SECRET_KEYS=... PYTHONPATH=examples pserve examples/frameworks/pyramid_app.ini

``main`` is Pyramid's usual app factory (what ``pserve`` calls); ``pyramid_app.ini`` puts the
middleware in front of it as ``[filter:postback]`` (``use = egg:postback-middleware``) in a
pipeline, with the callback named there as ``module:function``: Pyramid's idiom, and why the
package has no ``config.include`` (an include cannot wrap the WSGI app the Configurator makes;
see ``postback_middleware.frameworks``). ``make_app`` wires the same in code, for a server
started from Python. The view reads the verified event and the view state from
``request.environ`` and renders plain HTML with ``data-postback`` markers.
"""

from __future__ import annotations

import html
import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from postback_middleware import PostbackMiddleware, Registry

ORDERS = [(1001, "Ada Lovelace"), (1002, "Grace Hopper"), (1003, "Alan Turing"),
          (1004, "Barbara Liskov")]
VIEW_CALLS: list[str] = []  # one entry per call of the view (the tests count them)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Orders - Pyramid</title></head>
<body>
<h1>Orders (Pyramid)</h1>
<form method="post" id="orders" data-callbacks="CallServer">
  <table><tbody id="order-rows">{rows}</tbody></table>
  <p>Clicks: <strong id="clicks">{clicks}</strong>
     <button type="button" data-postback="increment">Count a click</button></p>
  <p>Last event: <code id="last-event">{last_event}</code></p>
  <p><button type="button" id="call-server">Call Server</button> <span id="result"></span></p>
</form>
<script>
document.getElementById("call-server").addEventListener("click", function () {{
  var show = function (text) {{ document.getElementById("result").textContent = text; }};
  Postback.callback("CallServer", "1").then(show, function (e) {{ show("Error: " + e); }});
}});
</script>
</body>
</html>
"""


def orders_view(request: Request) -> Response:
    VIEW_CALLS.append(request.method)
    state = request.environ["postback.viewstate"]  # signed, comes back with the next post
    event = request.environ["postback.event"]  # verified (target, argument), or None
    if event is not None and event.target == "delete":
        state["deleted"] = sorted({*state.get("deleted", []), int(event.argument)})
    elif event is not None and event.target == "increment":
        state["clicks"] = int(state.get("clicks", 0)) + 1
    deleted = set(state.get("deleted", []))
    rows = "".join(
        f"<tr><td>{number}</td><td>{html.escape(customer)}</td>"
        f'<td><a href="#" data-postback="delete" data-postback-argument="{number}">Delete</a>'
        f"</td></tr>"
        for number, customer in ORDERS
        if number not in deleted
    ) or '<tr><td colspan="3">No orders left.</td></tr>'
    last_event = f"{event.target}({event.argument})" if event else "none"
    page = PAGE.format(rows=rows, clicks=int(state.get("clicks", 0)),
                       last_event=html.escape(last_event))
    return Response(page, content_type="text/html", charset="utf-8")


def main(global_config: Any, **settings: Any) -> Any:
    """Pyramid's app factory (``use = call:frameworks.pyramid_app:main``): the app, as it would
    be without postback-middleware."""
    with Configurator(settings=settings) as config:
        config.add_route("orders", "/")
        config.add_view(orders_view, route_name="orders", request_method=("GET", "POST"))
        return config.make_wsgi_app()


def call_server(argument: str, request: Any) -> str:
    """Callback ``CallServer``: answered by the middleware; the Pyramid view is not called."""
    return f"Pyramid example: the server got {argument!r}"


def make_app(secret_key: str | Sequence[str]) -> PostbackMiddleware:
    """What ``pyramid_app.ini``'s pipeline makes, in code (``secret_key``: a key, or keys)."""
    registry = Registry()
    registry.add_callback("CallServer", call_server)
    keys = [secret_key] if isinstance(secret_key, str) else list(secret_key)
    return PostbackMiddleware(main({}), secret_keys=keys, registry=registry)


if __name__ == "__main__":
    import waitress

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6552
    keys = os.environ.get("POSTBACK_SECRET_KEYS", "").split() or [secrets.token_urlsafe(48)]
    print(f"Pyramid example: open http://127.0.0.1:{port}/  (Ctrl+C to stop)", flush=True)
    waitress.serve(make_app(keys), host="127.0.0.1", port=port)
