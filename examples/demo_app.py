"""The demo: a plain WSGI order list, retrofitted with postbacks by ``demo.ini``.

The app imports nothing from postback_middleware except ``callback_reference`` (a template
helper). It writes ordinary HTML with ``data-postback`` / ``data-autopostback`` markers, reads
``environ["postback.viewstate"]`` and ``environ["postback.event"]`` to render, and leaves the
rest to the middleware. The event handlers below are plain functions; ``demo.ini`` names them,
so the app never registers anything.

The order rows, the view-state box and the inspector's server half are update panels
(``data-update-panel``): their postbacks travel as partial postbacks, and only what changed in
them is sent back and swapped in.

The inspector makes the invisible visible. Its server half is rendered here, from what this app
received; its browser half (bytes of each answer, the callback's round trip, the tamper button,
the client events) is ``static/demo.js``, which only listens to the client script's events.

Page state (deleted orders, the click counter) lives in the signed view state, not on the
server, so any number of worker processes can serve the demo with one shared key.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
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


# -- static files: the page's script and stylesheet -----------------------------------------

STATIC = Path(__file__).resolve().with_name("static")

# The one piece of script the library writes for the page (ASP.NET's GetCallbackEventReference):
# how CallServer reaches the server. HandleResult and HandleError are in static/demo.js.
CALL_SERVER = f"""\
function CallServer(arg, context) {{
  {callback_reference("CallServer", "arg", "HandleResult", "context", "HandleError")};
}}
"""

# path -> (Content-Type, body). Files, not inline <script>/<style>: the page's policy below
# allows nothing inline, and postback-middleware needs nothing inline either.
ASSETS = {
    "/demo.js": ("text/javascript; charset=utf-8",
                 (CALL_SERVER + (STATIC / "demo.js").read_text("utf-8")).encode("utf-8")),
    "/demo.css": ("text/css; charset=utf-8", (STATIC / "demo.css").read_bytes()),
}
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

# -- the page -----------------------------------------------------------------------------------

BODY_SHOWN = 200  # characters of the posted body the inspector shows


def _posted_body(environ: dict[str, Any]) -> str:
    """The form body as this app receives it: the middleware has verified and cut out its
    own fields (``__VIEWSTATE``, ``__EVENTVALIDATION``, ``__EVENTTARGET``...)."""
    if environ.get("REQUEST_METHOD") != "POST":
        return ""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length)
    return body.decode("utf-8", "replace")


def render_orders(orders: list[tuple[int, str, str, float]]) -> str:
    """The table rows, each with a delete link: a postback that updates two panels."""
    return "".join(
        f"<tr><td>{number}</td><td>{html.escape(customer)}</td>"
        f'<td class="item">{html.escape(item)}</td><td class="total">{total:,.2f}</td>'
        f'<td><a href="#" class="delete" data-postback="delete" data-postback-argument="{number}"'
        f' data-postback-panel="order-rows server-view" aria-label="Delete order {number}">'
        f"Delete</a></td></tr>"
        for number, customer, item, total in orders
    ) or '<tr><td colspan="5">No orders left.</td></tr>'


def render_server_view(environ: dict[str, Any], body: str, state: dict[str, Any]) -> str:
    """The inspector's server half: what this app received, as the middleware handed it over.

    The panel's children are its ``<dt>``/``<dd>`` elements: a partial answer sends again only
    those that changed (the values), and refers to the others (the captions) by index."""
    event = environ.get("postback.event")
    if environ.get("REQUEST_METHOD") != "POST":
        request, last_event = "GET: a fresh page", "none yet"
    else:
        request = "POST: a postback, its tokens verified"
        # (no event: a plain submit button, such as Restore)
        last_event = f"{event.target}({event.argument})" if event else "none"
    shown = body if len(body) <= BODY_SHOWN else body[:BODY_SHOWN] + "…"
    return f"""
      <dt>Request</dt>
      <dd id="request-kind">{html.escape(request)}</dd>
      <dt>Verified event <small>environ["postback.event"]: target(argument), one this
        page offered</small></dt>
      <dd><code id="last-event">{html.escape(last_event)}</code></dd>
      <dt>Form body the app read <small>the tokens and event fields were checked, then cut
        out</small></dt>
      <dd><code id="app-body">{html.escape(shown) or "(empty)"}</code></dd>
      <dt>View state <small>environ["postback.viewstate"], signed (not encrypted) into the
        page's __VIEWSTATE</small></dt>
      <dd><code id="view-state">{html.escape(json.dumps(state, sort_keys=True))}</code></dd>
    """


def render_page(environ: dict[str, Any]) -> str:
    """The whole page, for a GET and for every postback alike (partial ones too: the
    middleware cuts the panels out of it)."""
    state = environ.get("postback.viewstate", {})
    body = _posted_body(environ)
    posted = dict(parse_qsl(body, keep_blank_values=True))
    if "restore" in posted:
        state["deleted"] = []
    sort = posted.get("sort", "number")
    if sort not in SORTS:
        sort = "number"
    deleted = set(state.get("deleted", []))
    clicks = int(state.get("clicks", 0))
    orders = sorted((o for o in ORDERS if o[0] not in deleted), key=SORTS[sort][1])
    options = "".join(
        f'<option value="{key}"{" selected" if key == sort else ""}>{label}</option>'
        for key, (label, _) in SORTS.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Orders - postback-middleware demo</title>
<link rel="stylesheet" href="/demo.css">
<script src="/demo.js" defer></script>
</head>
<body>
<header class="top">
  <h1>postback-middleware demo</h1>
  <p>A plain WSGI app. Every control below posts back to it through postback-middleware;
     the inspector shows what travelled and what the app received.</p>
</header>
<form method="post" id="orders" data-callbacks="CallServer">
<main class="layout">
  <div class="stack">
    <section class="card" aria-labelledby="orders-title">
      <div class="toolbar">
        <h2 id="orders-title">Orders</h2>
        <label>Sort by <select name="sort" data-autopostback>{options}</select></label>
      </div>
      <table>
        <thead><tr><th>No.</th><th>Customer</th><th class="item">Item</th>
          <th class="total">Total</th><th><span class="visually-hidden">Action</span></th>
        </tr></thead>
        <tbody id="order-rows" data-update-panel>{render_orders(orders)}</tbody>
      </table>
      <p class="hint">Delete: a partial postback (only the rows and the inspector come back).
        Sort: a full postback. Restore: a plain submit button.</p>
      <button type="submit" name="restore" value="1" class="secondary">
        Restore deleted orders</button>
    </section>
    <section class="card" aria-labelledby="state-title">
      <h2 id="state-title">View state</h2>
      <div id="state" data-update-panel>
        <p>The button was clicked <strong id="clicks">{clicks}</strong>
           time{"" if clicks == 1 else "s"}.</p>
        <button type="button" data-postback="increment"
                data-postback-panel="state server-view">Count a click</button>
      </div>
    </section>
    <section class="card" aria-labelledby="callback-title">
      <h2 id="callback-title">Client callback</h2>
      <p class="hint">CallServer(arg) → Python → HandleResult(result): the app is not called,
        the page does not reload.</p>
      <div class="toolbar">
        <input id="call-arg" value="1" size="6" aria-label="Argument">
        <button type="button" id="call-server">Call Server</button>
      </div>
      <p id="lbl" role="status">Label State Before Calling the Server</p>
    </section>
  </div>
  <aside class="card inspector" aria-labelledby="inspector-title">
    <h2 id="inspector-title">Inspector</h2>
    <h3>What the app received</h3>
    <dl id="server-view" data-update-panel>{render_server_view(environ, body, state)}</dl>
    <h3>What travelled <small>measured by this browser</small></h3>
    <dl>
      <dt>Full page <small>the last page loaded whole</small></dt>
      <dd><span id="full-bytes">…</span> bytes</dd>
      <dt>Partial answer <small>to the last partial postback</small></dt>
      <dd><span id="partial-bytes">none yet</span> <span id="partial-saving"></span>
        <meter id="partial-meter" min="0" max="1" value="0"
               aria-label="Partial answer against the full page"></meter></dd>
      <dt>Callback round trip <small>CallServer → HandleResult, by performance.now()</small></dt>
      <dd id="callback-ms">none yet</dd>
    </dl>
    <h3>Tamper</h3>
    <button type="button" id="tamper" class="danger" data-postback="increment"
            data-postback-panel="state server-view">Tamper with the view state</button>
    <p class="hint">Changes one character of the signed __VIEWSTATE, then counts a
      click.</p>
    <p id="refusal" class="refusal" role="alert" hidden></p>
    <h3>Client events <small>postback:… since the last postback or callback</small></h3>
    <ol id="client-events"></ol>
  </aside>
</main>
</form>
</body>
</html>
"""


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path in ASSETS:
        content_type, body = ASSETS[path]
        start_response("200 OK", [("Content-Type", content_type),
                                  ("Content-Length", str(len(body))),
                                  ("X-Content-Type-Options", "nosniff")])
        return [body]
    if path == "/favicon.ico":
        start_response("204 No Content", [])
        return []
    if path != "/":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found"]
    body = render_page(environ).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body))),
                              ("Content-Security-Policy", PAGE_POLICY)])
    return [body]


def make_app(global_conf: dict[str, str], **settings: str) -> Any:
    """PasteDeploy app factory (``use = call:demo_app:make_app``)."""
    return app
