"""The distinct-targets page as a real app serves it: rendered from row data on every request.

Issue #18, point 4: ``load.py`` serves this module under gunicorn, bare (``shape_app:app``) and
wrapped in ``PostbackMiddleware`` (``shape_app:wrapped_app()``, the key from
``POSTBACK_SECRET_KEYS`` as the demo's ini file takes it), and compares their page throughput.

The page is ``shapes.target_per_row()`` (80 KB, 4 post forms, 400 rows each with its own
``data-postback="rowN" data-postback-argument="delete:N"``). A cached ``bytes`` would make the
bare app nearly free and the ratio meaningless, so the app does what a Flask or Django view
does: a Jinja2 template (autoescaped, compiled once at import) whose four ``<tbody>`` are
loops over order rows, the rows' totals formatted by a filter, rendered per request and
encoded. The template is that page with its rows turned into loops (the rest of the page is
the template's static text), and the rows are read back from the page, so one render is
checked at import to give exactly ``target_per_row()``'s bytes: the same page that
``shapes.py`` measures in-process.

Jinja2 comes with Flask (the ``test`` extra).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jinja2
from shapes import target_per_row

from postback_middleware import PostbackMiddleware

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PATH = "/"
BATCHES = 4
ROW_TEMPLATE = (
    '<tr id="r{{ order.number }}"><td>{{ order.number }}</td><td>{{ order.customer }}</td>'
    "<td>&euro;&nbsp;{{ order.cents|money }}</td>"
    '<td><a href="#" data-postback="row{{ order.number }}"'
    ' data-postback-argument="delete:{{ order.number }}">Delete</a></td></tr>\n'
)
_ROW = re.compile(
    r'<tr id="r(\d+)"><td>\d+</td><td>([^<]*)</td><td>&euro;&nbsp;([\d,]+)\.(\d\d)</td>'
)
_TBODY = re.compile(r"(<tbody>\n)(.*?)(</tbody>)", re.S)


@dataclass(frozen=True, slots=True)
class Order:
    number: int
    customer: str
    cents: int


def money(cents: int) -> str:
    """``123456`` as ``1,234.56``: the row's total, formatted at render time as apps do."""
    return f"{cents // 100:,}.{cents % 100:02d}"


def _fixtures() -> tuple[str, list[Order]]:
    """The template source and the order rows (the app's "database"), both from the page."""
    page = target_per_row().decode("utf-8")
    orders = [Order(int(n), customer, int(units.replace(",", "")) * 100 + int(cents))
              for n, customer, units, cents in _ROW.findall(page)]
    parts: list[str] = []
    last = 0
    for index, match in enumerate(_TBODY.finditer(page)):
        static = page[last : match.start(2)]
        parts.append(f"{{% raw %}}{static}{{% endraw %}}")
        parts.append(f"{{% for order in batches[{index}] %}}{ROW_TEMPLATE}{{% endfor %}}")
        last = match.end(2)
    parts.append(f"{{% raw %}}{page[last:]}{{% endraw %}}")
    if len(parts) != 2 * BATCHES + 1:
        raise RuntimeError("shapes.target_per_row() no longer has 4 <tbody>: update shape_app")
    return "".join(parts), orders


_SOURCE, ORDERS = _fixtures()
_ENVIRONMENT = jinja2.Environment(autoescape=True, keep_trailing_newline=True)
_ENVIRONMENT.filters["money"] = money
TEMPLATE = _ENVIRONMENT.from_string(_SOURCE)


def render() -> str:
    """One page: the orders split into their batches (one form each) and rendered."""
    per_batch = -(-len(ORDERS) // BATCHES)
    batches = [ORDERS[i * per_batch : (i + 1) * per_batch] for i in range(BATCHES)]
    return TEMPLATE.render(batches=batches)


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The bare app: the page at ``/``, rendered afresh for every request."""
    if environ.get("PATH_INFO", "/") != PATH:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found"]
    body = render().encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


def wrapped_app(**options: Any) -> WSGIApplication:
    """The app retrofitted: gunicorn's ``shape_app:wrapped_app()``. Every worker takes the
    key list from ``POSTBACK_SECRET_KEYS``, as ``examples/demo.ini`` does, so a token made by
    one worker verifies in another."""
    keys = os.environ["POSTBACK_SECRET_KEYS"].split()
    return PostbackMiddleware(app, secret_keys=keys, **options)


if render().encode("utf-8") != target_per_row():
    raise RuntimeError("shape_app renders a page other than shapes.target_per_row()")
