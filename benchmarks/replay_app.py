"""The app ``replay_load.py`` serves under gunicorn: a shop whose every order is a real effect.

Each page offers one "buy" postback with an argument of its own (a fresh random order number),
so every accepted postback names the order it placed. Placing it is a real side effect, kept
where every worker and host sees it: ``INCR placed:<order>`` in Redis. After the run, each
order placed more than once is a replay that got through.

Configured from the environment (gunicorn loads ``replay_app:app``):

* ``POSTBACK_SECRET_KEYS``: the key every worker shares;
* ``POSTBACK_STORE``: the middleware's store (``redis://``, ``unix://``...), ``single_use`` on;
* ``EFFECTS_REDIS``: where the effects are counted (a redis-py URL; the same server will do).
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

import redis

from postback_middleware import PostbackMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

EFFECTS = redis.Redis.from_url(os.environ["EFFECTS_REDIS"])


def shop(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    event = environ["postback.event"]
    placed = ""
    if event is not None and event.target == "buy":
        count = EFFECTS.incr("placed:" + event.argument)
        placed = f'<p id="placed">placed {event.argument} ({count}) by {os.getpid()}</p>'
    order = secrets.token_hex(8)
    page = ("<!DOCTYPE html><html><head><title>Shop</title></head><body>" + placed +
            '<form method="post" action="/shop"><input name="item" value="tea">'
            f'<a href="#" data-postback="buy" data-postback-argument="{order}">Buy</a>'
            "</form></body></html>")
    body = page.encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


app = PostbackMiddleware(shop, secret_keys=os.environ["POSTBACK_SECRET_KEYS"].split(),
                         store=os.environ["POSTBACK_STORE"], single_use=True)
