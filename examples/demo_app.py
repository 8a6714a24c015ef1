"""The demo: a plain WSGI order list, retrofitted with postbacks by ``demo.ini``.

The app imports nothing from postback_middleware except ``callback_reference`` (a template
helper). It writes ordinary HTML with ``data-postback`` / ``data-autopostback`` markers, reads
``environ["postback.viewstate"]`` to render, and leaves the rest to the middleware. The event
handlers below are plain functions; ``demo.ini`` names them, so the app never registers anything.

The order rows and the view-state box are update panels (``data-update-panel``): their
postbacks travel as partial postbacks, and only what changed in them is sent back and swapped
in.

Page state (deleted orders, the click counter) lives in the signed view state, not on the
server, so any number of worker processes can serve the demo with one shared key.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qsl

from postback_middleware import callback_reference

ORDERS = [
    (1001, "Ada Lovelace", "Analytical engine parts", 1843.00),
    (1002, "Grace Hopper", "Compiler manuals", 1952.50),
    (1003, "Alan Turing", "Bombe rotors", 1939.99),
    (1004, "Edsger Dijkstra", "Semaphores (pair)", 1965.00),
    (1005, "Barbara Liskov", "Substitutable widgets", 1987.25),
    (1006, "Ken Thompson", "Pipe fittings", 1973.10),
]
SORTS = {
    "number": ("Order number", lambda order: order[0]),
    "customer": ("Customer", lambda order: order[1]),
    "total": ("Total", lambda order: order[3]),
}

# -- event handlers, wired in demo.ini ------------------------------------------------------


def delete_order(event: Any, request: Any) -> None:
    """Postback ``delete``: remember the deleted order number in the view state."""
    state = request.environ["postback.viewstate"]
    deleted = set(state.get("deleted", []))
    deleted.add(int(event.argument))
    state["deleted"] = sorted(deleted)


def count_click(event: Any, request: Any) -> None:
    """Postback ``increment``: a counter kept in the view state, like ASP.NET's classic demo."""
    state = request.environ["postback.viewstate"]
    state["clicks"] = int(state.get("clicks", 0)) + 1


class CallServer:
    """Callback ``CallServer``: ASP.NET's ICallbackEventHandler example, in Python."""

    def raise_callback_event(self, argument: str) -> None:
        self.argument = argument

    def get_callback_result(self) -> str:
        return "Calling server was successful. The passed argument was " + self.argument


# -- the app ----------------------------------------------------------------------------------

PAGE_SCRIPT = f"""\
function CallServer(arg, context) {{
  {callback_reference("CallServer", "arg", "HandleResult", "context", "HandleError")};
}}
function HandleResult(result, context) {{
  document.getElementById("lbl").textContent = result + " (context: " + context + ")";
}}
function HandleError(message, context) {{
  document.getElementById("lbl").textContent = "Error: " + message;
}}
document.getElementById("call-server").addEventListener("click", function () {{
  CallServer(document.getElementById("call-arg").value, "button");
}});
"""

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; }
td.total { text-align: right; font-variant-numeric: tabular-nums; }
a[data-postback], button { cursor: pointer; }
fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; }
#lbl { font-weight: 600; }
"""


def _posted_fields(environ: dict[str, Any]) -> dict[str, str]:
    if environ.get("REQUEST_METHOD") != "POST":
        return {}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def render_page(environ: dict[str, Any]) -> str:
    state = environ.get("postback.viewstate", {})
    posted = _posted_fields(environ)
    if "restore" in posted:
        state["deleted"] = []
    sort = posted.get("sort", "number")
    if sort not in SORTS:
        sort = "number"
    deleted = set(state.get("deleted", []))
    orders = sorted((o for o in ORDERS if o[0] not in deleted), key=SORTS[sort][1])
    event = environ.get("postback.event")
    last_event = (
        f"{html.escape(event.target)}({html.escape(event.argument)})" if event else "none yet"
    )

    options = "".join(
        f'<option value="{key}"{" selected" if key == sort else ""}>{label}</option>'
        for key, (label, _) in SORTS.items()
    )
    rows = "".join(
        f"<tr><td>{number}</td><td>{html.escape(customer)}</td><td>{html.escape(item)}</td>"
        f'<td class="total">{total:,.2f}</td>'
        f'<td><a href="#" data-postback="delete" data-postback-argument="{number}"'
        f' data-postback-panel="order-rows state">Delete</a></td>'
        f"</tr>"
        for number, customer, item, total in orders
    ) or '<tr><td colspan="5">No orders left.</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Orders - postback-middleware demo</title>
<style>{STYLE}</style>
<script src="/demo.js" defer></script>
</head>
<body>
<h1>Orders</h1>
<p>A plain WSGI app. Every control below posts back to it through postback-middleware.</p>
<form method="post" id="orders" data-callbacks="CallServer">
  <label>Sort by <select name="sort" data-autopostback>{options}</select></label>
  <table>
    <thead><tr><th>No.</th><th>Customer</th><th>Item</th><th>Total</th><th></th></tr></thead>
    <tbody id="order-rows" data-update-panel>{rows}</tbody>
  </table>
  <button type="submit" name="restore" value="1">Restore deleted orders</button>
  <fieldset>
    <legend>View state</legend>
    <div id="state" data-update-panel>
    <p>The button was clicked <strong id="clicks">{int(state.get("clicks", 0))}</strong> times.
       <button type="button" data-postback="increment">Count a click</button></p>
    <p>Last event: <code id="last-event">{last_event}</code></p>
    </div>
  </fieldset>
  <fieldset>
    <legend>Client callback (the inner app is not called)</legend>
    <input id="call-arg" value="1" size="6" aria-label="Argument">
    <button type="button" id="call-server">Call Server</button>
    <p><label id="lbl">Label State Before Calling the Server</label></p>
  </fieldset>
</form>
</body>
</html>
"""


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path == "/demo.js":
        body = PAGE_SCRIPT.encode()
        start_response("200 OK", [("Content-Type", "text/javascript; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/favicon.ico":
        start_response("204 No Content", [])
        return []
    if path != "/":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found"]
    body = render_page(environ).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


def make_app(global_conf: dict[str, str], **settings: str) -> Any:
    """PasteDeploy app factory (``use = call:demo_app:make_app``)."""
    return app
