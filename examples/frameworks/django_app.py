"""A single-file Django project with postback-middleware the Django way: settings.POSTBACK, wrap().

Run:  python examples/frameworks/django_app.py [PORT]     (default 6551; key: POSTBACK_SECRET_KEYS)

Settings are configured in code (a project's ``settings.py`` in one function): the middleware's
options are in ``POSTBACK``, its handler named there as ``"module:function"``, and the WSGI
application is ``wrap(get_wsgi_application())``, the one line a project's ``wsgi.py`` gets
(``postback_middleware.frameworks.django``). The callback takes Django's ``HttpRequest``
(``@with_django_request``). ``CsrfViewMiddleware`` is on and the template has
``{% csrf_token %}``: Django's CSRF check runs on every postback as it would without the
middleware. The view reads the verified event and the view state from ``request.META``
(Django's name for the WSGI environ).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Sequence

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.urls import path

from postback_middleware import PostbackMiddleware
from postback_middleware.frameworks.django import with_django_request, wrap

ORDERS = [(1001, "Ada Lovelace"), (1002, "Grace Hopper"), (1003, "Alan Turing"),
          (1004, "Barbara Liskov")]
VIEW_CALLS: list[str] = []  # one entry per call of the view (the tests count them)

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Orders - Django</title></head>
<body>
<h1>Orders (Django)</h1>
<form method="post" id="orders" data-callbacks="CallServer">
  {% csrf_token %}
  <table><tbody id="order-rows">
  {% for number, customer in orders %}
    <tr><td>{{ number }}</td><td>{{ customer }}</td>
        <td><a href="#" data-postback="delete" data-postback-argument="{{ number }}">Delete</a></td>
    </tr>
  {% empty %}
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


def orders(request: HttpRequest) -> HttpResponse:
    from django.template import engines

    VIEW_CALLS.append(request.method or "")
    state = request.META["postback.viewstate"]  # signed, comes back with the next post
    event = request.META["postback.event"]  # verified (target, argument), or None
    if event is not None and event.target == "delete":
        state["deleted"] = sorted({*state.get("deleted", []), int(event.argument)})
    elif event is not None and event.target == "increment":
        state["clicks"] = int(state.get("clicks", 0)) + 1
    deleted = set(state.get("deleted", []))
    context = {
        "orders": [order for order in ORDERS if order[0] not in deleted],
        "clicks": int(state.get("clicks", 0)),
        "last_event": f"{event.target}({event.argument})" if event else "none",
    }
    return HttpResponse(engines["django"].from_string(TEMPLATE).render(context, request))


urlpatterns = [path("", orders)]


def configure() -> None:
    """Configure Django for this module, once per process."""
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        # Django's own key (CSRF, signing); not the middleware's.
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        INSTALLED_APPS=[],
        USE_TZ=True,
        # The middleware's options (postback_middleware.frameworks.django reads them).
        POSTBACK={
            # Its own keys, never SECRET_KEY: a list, the first signs, every one verifies.
            "SECRET_KEYS": os.environ.get("POSTBACK_SECRET_KEYS", "").split()
            or [secrets.token_urlsafe(48)],
            "CALLBACKS": {"CallServer": f"{__name__}:call_server"},
        },
    )
    django.setup(set_prefix=False)


def create_app() -> WSGIHandler:
    """The Django project's WSGI application, as it would be without postback-middleware."""
    configure()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


@with_django_request
def call_server(argument: str, request: HttpRequest) -> str:
    """Callback ``CallServer`` (named in ``settings.POSTBACK``): answered by the middleware, the
    view not called; it gets Django's ``HttpRequest``."""
    return f"Django example: the server got {argument!r}"


def make_app(secret_key: str | Sequence[str] | None = None) -> PostbackMiddleware:
    """What ``wsgi.py`` holds: ``wrap(get_wsgi_application())``, with ``settings.POSTBACK``'s
    options; ``secret_key`` (a key, or keys), when given, wins over its ``SECRET_KEYS`` (the
    tests give each app a fresh one: Django's settings are configured once a process)."""
    application = create_app()
    if secret_key is None:
        return wrap(application)
    return wrap(application,
                secret_keys=[secret_key] if isinstance(secret_key, str) else list(secret_key))


if __name__ == "__main__":
    import waitress

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6551
    print(f"Django example: open http://127.0.0.1:{port}/  (Ctrl+C to stop)", flush=True)
    waitress.serve(make_app(), host="127.0.0.1", port=port)  # the key: settings.POSTBACK
