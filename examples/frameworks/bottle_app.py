"""Bottle, wrapped unchanged by postback-middleware.

Run:  python examples/frameworks/bottle_app.py [PORT]     (default 6553; key: POSTBACK_SECRET_KEYS)

The Bottle route reads the verified event and the view state from ``bottle.request.environ`` and
renders a SimpleTemplate with ``data-postback`` markers. Only ``make_app`` (wrapping) and the
callback registration touch postback_middleware.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any

import bottle

from postback_middleware import PostbackMiddleware, Registry

ORDERS = [(1001, "Ada Lovelace"), (1002, "Grace Hopper"), (1003, "Alan Turing"),
          (1004, "Barbara Liskov")]
VIEW_CALLS: list[str] = []  # one entry per call of the view (the tests count them)

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Orders - Bottle</title></head>
<body>
<h1>Orders (Bottle)</h1>
<form method="post" id="orders" data-callbacks="CallServer">
  <table><tbody id="order-rows">
  % for number, customer in orders:
    <tr><td>{{number}}</td><td>{{customer}}</td>
        <td><a href="#" data-postback="delete" data-postback-argument="{{number}}">Delete</a></td>
    </tr>
  % end
  % if not orders:
    <tr><td colspan="3">No orders left.</td></tr>
  % end
  </tbody></table>
  <p>Clicks: <strong id="clicks">{{clicks}}</strong>
     <button type="button" data-postback="increment">Count a click</button></p>
  <p>Last event: <code id="last-event">{{last_event}}</code></p>
  <p><button type="button" id="call-server">Call Server</button> <span id="result"></span></p>
</form>
<script>
document.getElementById("call-server").addEventListener("click", function () {
  var show = function (text) { document.getElementById("result").textContent = text; };
  Postback.callback("CallServer", "1").then(show, function (e) { show("Error: " + e); });
});
</script>
</body>
</html>
"""


def create_app() -> bottle.Bottle:
    """The Bottle app, as it would be without postback-middleware."""
    app = bottle.Bottle()

    @app.route("/", method=["GET", "POST"])
    def orders() -> str:
        request = bottle.request
        VIEW_CALLS.append(request.method)
        state = request.environ["postback.viewstate"]  # signed, comes back with the next post
        event = request.environ["postback.event"]  # verified (target, argument), or None
        if event is not None and event.target == "delete":
            state["deleted"] = sorted({*state.get("deleted", []), int(event.argument)})
        elif event is not None and event.target == "increment":
            state["clicks"] = int(state.get("clicks", 0)) + 1
        deleted = set(state.get("deleted", []))
        return bottle.template(
            TEMPLATE,
            orders=[order for order in ORDERS if order[0] not in deleted],
            clicks=int(state.get("clicks", 0)),
            last_event=f"{event.target}({event.argument})" if event else "none",
        )

    return app


def call_server(argument: str, request: Any) -> str:
    """Callback ``CallServer``: answered by the middleware; the Bottle route is not called."""
    return f"Bottle example: the server got {argument!r}"


def make_app(secret_key: str | Sequence[str]) -> PostbackMiddleware:
    """The Bottle app wrapped by the middleware (``secret_key``: a key, or keys)."""
    registry = Registry()
    registry.add_callback("CallServer", call_server)
    keys = [secret_key] if isinstance(secret_key, str) else list(secret_key)
    return PostbackMiddleware(create_app(), secret_keys=keys, registry=registry)


if __name__ == "__main__":
    import waitress

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6553
    keys = os.environ.get("POSTBACK_SECRET_KEYS", "").split() or [secrets.token_urlsafe(48)]
    print(f"Bottle example: open http://127.0.0.1:{port}/  (Ctrl+C to stop)", flush=True)
    waitress.serve(make_app(keys), host="127.0.0.1", port=port)
