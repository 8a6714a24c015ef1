"""Helpers for testing your own app with WebTest, as a browser with postback.js would drive it.

::

    from postback_middleware.testing import callback, postback

    def test_delete(app):                       # app: webtest.TestApp around your wrapped app
        page = app.get("/orders")
        page = postback(page, "delete", "17")   # what a click on data-postback="delete" does
        assert "Order 17" not in page.text

    def test_call_server(app):
        page = app.get("/orders")
        assert callback(app, page, "CallServer", "1") == "Calling server was successful..."

``postback`` fills ``__EVENTTARGET`` / ``__EVENTARGUMENT`` of the right form and submits it, as
``__doPostBack`` does: the form that holds the element declaring the event, else the one you
name, else the page's first post form (``theForm``). ``callback`` sends exactly what
``WebForm_DoCallback`` sends and returns the result, raising :class:`CallbackFailed` on an error
reply. WebTest (and its BeautifulSoup dependency) is needed only when these are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin

from . import fields as f
from .errors import InvalidType
from .html_scan import FORM_ASSOCIATED
from .http import is_number

if TYPE_CHECKING:
    import webtest

__all__ = ["CallbackFailed", "callback", "postback"]


class CallbackFailed(AssertionError):
    """The server answered a callback with an error (``e…``); ``message`` is its text."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(f"callback failed ({status}): {message}")
        self.message = message
        self.status = status


def _form_index(response: webtest.TestResponse, target: str, argument: str) -> int:
    """Index (among all forms, as WebTest counts them) of the form that raises this event."""
    forms = response.html.find_all("form")
    declared = [
        element
        for element in response.html.find_all(attrs={"data-postback": target})
        if element.get("data-postback-argument", "") == argument
    ] + [
        element
        for element in response.html.find_all(attrs={"name": target})
        if element.has_attr("data-autopostback")
    ]
    for element in declared:
        form = _owner(response, element)
        if form is not None and form.find("input", attrs={"name": f.EVENTTARGET}):
            return int(forms.index(form))
    return _the_form(response)


def _owner(response: webtest.TestResponse, element: Any) -> Any:
    """The form an element raises its event on, as the client script finds it (``el.form``,
    else the form around it): a control's ``form="ID"`` names its owner, where there is one."""
    named = element.get("form") if element.name in FORM_ASSOCIATED else None
    owner = response.html.find("form", id=named) if named is not None else None
    return owner if owner is not None else element.find_parent("form")



def _checked(response: Any, app: Any = None) -> None:
    """Refuse arguments given the wrong way round, saying what each must be."""
    if not hasattr(response, "forms") or not hasattr(response, "html"):
        raise InvalidType(f"response must be the WebTest response of the page (app.get(...)), "
                          f"not {type(response).__name__}")
    if app is not None and not hasattr(app, "post"):
        raise InvalidType(f"app must be the webtest.TestApp that serves the page, not "
                          f"{type(app).__name__}")


def _the_form(response: webtest.TestResponse) -> int:
    """``theForm``: the first form that received the hidden fields."""
    for index, form in enumerate(response.html.find_all("form")):
        if form.find("input", attrs={"name": f.EVENTTARGET}):
            return index
    raise AssertionError("the page has no post form with postback fields")


def postback(
    response: webtest.TestResponse,
    target: str,
    argument: str | int | None = "",
    *,
    form: int | str | None = None,
    **fields: Any,
) -> webtest.TestResponse:
    """Raise the event (``target``, ``argument``) from ``response``'s page and return the answer.

    ``form`` (an index or an id, as in ``response.forms``) picks the form; ``fields`` set other
    controls first (``sort="customer"``). Extra keyword arguments of WebTest's ``submit`` are not
    taken: use ``response.forms[...]`` directly for those. ``argument`` is sent as text, as the
    page's attribute holds it (``17`` and ``"17"`` alike).
    """
    _checked(response)
    target, argument = str(target), "" if argument is None else str(argument)
    chosen = response.forms[form if form is not None else _form_index(response, target, argument)]
    chosen[f.EVENTTARGET].force_value(target)
    chosen[f.EVENTARGUMENT].force_value(argument)
    for name, value in fields.items():
        chosen[name] = value
    return chosen.submit()


def _callback_fields(form: Any) -> list[tuple[str, str]]:
    """The fields ``WebForm_InitCallback`` collects: no buttons, files or event validation."""
    from webtest.forms import File, Submit

    collected: list[tuple[str, str]] = []
    for name, field in form.field_order:
        if not name or name == f.EVENTVALIDATION or isinstance(field, Submit | File):
            continue
        value = field.value
        if value is None:  # an unchecked box
            continue
        if isinstance(value, list):  # a multiple select: each selected option
            collected += [(name, str(item)) for item in value]
        else:
            collected.append((name, str(value)))
    return collected


def callback(
    app: webtest.TestApp,
    response: webtest.TestResponse,
    target: str,
    argument: str | int | None = "",
    *,
    form: int | str | None = None,
) -> str:
    """Call the server like ``WebForm_DoCallback(target, argument, ...)`` from this page.

    Returns the result text; raises :class:`CallbackFailed` when the answer is an error. It
    sends ``theForm``, the page's first post form, as ``WebForm_DoCallback`` does; ``form``
    names another only where the page's own script made that one ``theForm``. ``argument`` is
    sent as text, as the client sends ``String(argument)`` (None: ``""``, as
    ``Postback.callback`` sends it).
    """
    _checked(response, app)
    target, argument = str(target), "" if argument is None else str(argument)
    chosen = response.forms[form if form is not None else _the_form(response)]
    pairs = _callback_fields(chosen)
    body = "".join(f"{quote(name, safe='')}={quote(value, safe='')}&" for name, value in pairs)
    body += f"{f.CALLBACKID}={quote(target, safe='')}&{f.CALLBACKPARAM}={quote(argument, safe='')}"
    if f.EVENTVALIDATION in chosen.fields:
        validation = chosen[f.EVENTVALIDATION].value or ""
        body += f"&{f.EVENTVALIDATION}={quote(validation, safe='')}"
    url = urljoin(response.request.url, chosen.action or response.request.url)
    reply = app.post(
        url,
        body.encode("utf-8"),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
        status="*",
    )
    text: str = reply.text
    if text.startswith("e"):
        raise CallbackFailed(text[1:], reply.status_int)
    if text.startswith("s"):
        return text[1:]
    length, bar, rest = text.partition("|")
    if not bar or not is_number(length):
        raise CallbackFailed(f"unreadable reply {text[:80]!r}", reply.status_int)
    validation, result = rest[: int(length)], rest[int(length) :]
    if validation and f.EVENTVALIDATION in chosen.fields:
        chosen[f.EVENTVALIDATION].force_value(validation)  # as WebForms.js stores it
    return result
