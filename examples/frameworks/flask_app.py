"""Flask (with Flask-WTF's CSRF protection), with postback-middleware as a Flask extension.

Run:  python examples/frameworks/flask_app.py [PORT]      (default 6550; key: POSTBACK_SECRET_KEYS)

The app uses Flask's idiom: the ``Postback`` extension (``postback_middleware.frameworks.flask``),
its key in ``app.config["POSTBACK_SECRET_KEYS"]``, ``postback.init_app(app)`` in the app factory
and the callback registered with ``@postback.callback``. The view itself knows nothing of the
middleware: it renders an ordinary ``method="post"`` form with ``data-postback`` markers and
Flask-WTF's ``csrf_token()`` field, and reads the verified event and the view state from
``request.environ``.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from flask import Flask, current_app, render_template_string, request
from flask_wtf.csrf import CSRFProtect

from postback_middleware.frameworks.flask import Postback

ORDERS = [(1001, "Ada Lovelace"), (1002, "Grace Hopper"), (1003, "Alan Turing"),
          (1004, "Barbara Liskov")]
VIEW_CALLS: list[str] = []  # one entry per call of the view (the tests count them)

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Orders - Flask</title></head>
<body>
<h1>Orders (Flask)</h1>
<form method="post" id="orders" data-callbacks="CallServer">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <table><tbody id="order-rows">
  {% for number, customer in orders %}
    <tr><td>{{ number }}</td><td>{{ customer }}</td>
        <td><a href="#" data-postback="delete" data-postback-argument="{{ number }}">Delete</a></td>
    </tr>
  {% else %}
    <tr><td colspan="3">No orders left.</td></tr>
  {% endfor %}
  </tbody></table>
  <p>Clicks: <strong id="clicks">{{ clicks }}</strong>
     <button type="button" data-postback="increment">Count a click</button></p>
  <p>Last event: <code id="last-event">{{ last_event }}</code></p>
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


postback = Postback()  # the extension: one for every app the factory makes


@postback.callback("CallServer")
def call_server(argument: str, request: Any) -> str:
    """Callback ``CallServer``: answered by the middleware, the view not called; it runs in the
    app's context (``current_app``)."""
    return f"{current_app.config['EXAMPLE_NAME']} example: the server got {argument!r}"


def create_app(secret_keys: Sequence[str]) -> Flask:
    """The app factory: the Flask app with the extension initialised on it."""
    app = Flask(__name__)
    app.config["EXAMPLE_NAME"] = "Flask"
    # Flask's own key (session cookie, CSRF token); not the middleware's.
    app.config["SECRET_KEY"] = os.environ.get("FLASK_SECRET_KEY") or secrets.token_urlsafe(32)
    # The middleware's keys: a list, the first signs, every one verifies.
    app.config["POSTBACK_SECRET_KEYS"] = list(secret_keys)
    CSRFProtect(app)
    postback.init_app(app)

    @app.route("/", methods=["GET", "POST"])
    def orders() -> str:
        VIEW_CALLS.append(request.method)
        state = request.environ["postback.viewstate"]  # signed, comes back with the next post
        event = request.environ["postback.event"]  # verified (target, argument), or None
        if event is not None and event.target == "delete":
            state["deleted"] = sorted({*state.get("deleted", []), int(event.argument)})
        elif event is not None and event.target == "increment":
            state["clicks"] = int(state.get("clicks", 0)) + 1
        deleted = set(state.get("deleted", []))
        return render_template_string(
            TEMPLATE,
            orders=[order for order in ORDERS if order[0] not in deleted],
            clicks=int(state.get("clicks", 0)),
            last_event=f"{event.target}({event.argument})" if event else "none",
        )

    return app


def make_app(secret_key: str | Sequence[str]) -> Flask:
    """The app with the middleware's key, or keys (the first signs): what the tests drive."""
    return create_app([secret_key] if isinstance(secret_key, str) else list(secret_key))


if __name__ == "__main__":
    import waitress

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6550
    keys = os.environ.get("POSTBACK_SECRET_KEYS", "").split() or [secrets.token_urlsafe(48)]
    print(f"Flask example: open http://127.0.0.1:{port}/  (Ctrl+C to stop)", flush=True)
    waitress.serve(make_app(keys), host="127.0.0.1", port=port)
