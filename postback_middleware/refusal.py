"""How a refused request is answered: by the channel it came through, never with a traceback.

Every refusal is a :class:`~postback_middleware.errors.Rejected`: an HTTP status, a generic
public message, and a :class:`~postback_middleware.errors.Reason` (``expired``, ``tampered``,
``cross-site``...). The detailed reason goes to the log only. The answer depends on who asked:

* a **callback** (``WebForm_DoCallback``): ASP.NET's framing, ``e`` and the message, which the
  page's error callback receives;
* an **async postback** of Microsoft's ASP.NET AJAX client (option ``aspnet_ajax``): its
  ``error`` record with HTTP 200 (``aspnet.ajax``), so that the page's ``endRequest``
  handlers get the error, as they did from ASP.NET;
* a **partial postback** (``X-Postback-Panels``): JSON ``{"version": 1, "refused": REASON,
  "message": TEXT}`` with ``X-Postback-Partial: refused``; the client keeps the page as it is
  (nothing typed is lost) and tells the person, or renews expired tokens and sends again;
* **anything else**: the operator's ``render_refusal(environ, refusal)`` when it gives an answer
  (the app's own error page; JSON for its own fetch callers), else a small HTML page for a
  browser's navigation (what happened, and how to get back to the filled form), JSON for a
  caller that asks for JSON, plain text otherwise.

Every answer the middleware writes carries ``X-Postback-Refused: REASON`` (for scripts),
``Cache-Control: no-store`` and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import html
import io
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from .aspnet import ajax
from .errors import Reason, Rejected
from .http import callback_reply, json_response, text_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("postback_middleware")

REFUSAL_KEY = "postback.refusal"  # the environ key a renderer (and the app) can read it from
RenderRefusal = Callable[["WSGIEnvironment", Rejected], "WSGIApplication | None"]

_STATUS_TEXT = {400: "Bad Request", 403: "Forbidden", 409: "Conflict", 411: "Length Required",
                413: "Content Too Large", 503: "Service Unavailable"}
_BACK = ("What you typed is still in the form: use your browser's Back button to return to it, "
         "copy what you want to keep, then reload the page and send it again.")
# What the page says, by reason: what happened, in words a person can act on.
_EXPLANATIONS = {
    Reason.EXPIRED: "The page was open for a long time, so its form expired before it was sent.",
    Reason.COOKIES_OFF: "This form needs cookies: allow cookies for this site, then reload the "
                        "page and try again.",
    Reason.CROSS_SITE: "The form was sent from another site, so it was not accepted.",
    Reason.OTHER_USER: "The form belongs to another session (you may have signed in or out "
                       "in another tab).",
    Reason.TOO_LARGE: "What was sent is larger than this site accepts.",
    Reason.UNAVAILABLE: "The service is temporarily unavailable.",
    Reason.ALREADY_SENT: "This page's form was sent already, and each page's form is accepted "
                         "once, so it was not sent again.",
}
_GENERIC = "The form could not be accepted."


def answer(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    refusal: Rejected,
    *,
    callback: bool,
    render: RenderRefusal | None,
    async_postback: bool = False,
) -> Iterable[bytes]:
    """The answer to a refused request (see the module docstring)."""
    status = f"{refusal.status} {_STATUS_TEXT[refusal.status]}"
    if callback:
        return callback_reply(start_response, status, "e" + refusal.public_message,
                              [("X-Postback-Refused", str(refusal.kind))])
    headers = [("X-Postback-Refused", str(refusal.kind)), ("X-Content-Type-Options", "nosniff")]
    if async_postback:
        return text_response(start_response, "200 OK",
                             ajax.error_body(refusal.status, refusal.public_message), headers)
    if environ.get("HTTP_X_POSTBACK_PANELS") is not None:
        return json_response(
            start_response,
            {"version": 1, "refused": str(refusal.kind), "message": refusal.public_message},
            [*headers, ("X-Postback-Partial", "refused")], status=status,
        )
    if render is not None:
        environ[REFUSAL_KEY] = refusal
        # The refused body is not the renderer's to read (nor the app's it may hand over to).
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(), "0"
        try:
            answer_app: object = render(environ, refusal)
        except Exception:
            log.exception("render_refusal failed; answering with the default refusal")
            answer_app = None
        if callable(answer_app):
            return cast("WSGIApplication", answer_app)(environ, start_response)
        if answer_app is not None:
            log.error("render_refusal returned a %s, not a WSGI response (or None); answering "
                      "with the default refusal", type(answer_app).__name__)
    accept = str(environ.get("HTTP_ACCEPT", ""))
    if _navigates(environ, accept):
        return text_response(start_response, status, _page(refusal), headers,
                             content_type="text/html; charset=utf-8")
    if "application/json" in accept:
        return json_response(
            start_response, {"refused": str(refusal.kind), "message": refusal.public_message},
            headers, status=status)
    return text_response(start_response, status, refusal.public_message, headers)


def _navigates(environ: WSGIEnvironment, accept: str) -> bool:
    """Whether a browser is loading the answer as a page (a form submitted the ordinary way)."""
    mode = environ.get("HTTP_SEC_FETCH_MODE")
    if mode is not None:
        return str(mode) == "navigate"
    return "text/html" in accept  # (an older browser: it asks for HTML when it navigates)


def _page(refusal: Rejected) -> str:
    explanation = _EXPLANATIONS.get(refusal.kind, _GENERIC)
    back = "" if refusal.kind in (Reason.COOKIES_OFF, Reason.UNAVAILABLE) else f"<p>{_BACK}</p>"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<title>{html.escape(refusal.public_message)}</title></head>"
        f"<body><h1>{html.escape(refusal.public_message)}</h1>"
        f"<p>{html.escape(explanation)}</p>{back}</body></html>"
    )
