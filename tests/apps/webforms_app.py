"""The Python port of an ASP.NET WebForms page: its rendered HTML kept, its code-behind in Python.

The page is the one ``tests/aspnet_pages.py`` writes, served unchanged (ASP.NET's own hidden
fields, inline ``__doPostBack`` script and ``WebResource.axd`` tags included) at
``/<layout>/<controls>/Page.aspx``, so that its form's ``action="./Page.aspx"`` posts back to
it: ``<layout>`` is one of :data:`LAYOUTS` (``tests.aspnet_pages.LAYOUTS``, and ``csp``
below), ``<controls>`` a control kind of :data:`tests.aspnet_pages.CONTROLS` or ``all`` (every
kind, in one form). Any prefix before them (a mount point: ``/fwd/page/gridview/Page.aspx``)
is ignored. Behind :class:`postback_middleware.PostbackMiddleware`, what the code-behind did
becomes:

* **Events** (``Button_Click``, ``GridView_RowCommand``, ``SelectedIndexChanged``...): the
  verified ``environ["postback.event"]`` (target, argument), or the native submit button's own
  field (``SaveButton=Save``, ``RefreshImage.x``): :func:`code_behind` says which handler ran,
  and the page shows it in a Label (``<span id="EventLabel">``).
* **Server-side validation** (``Page.IsValid``): the RequiredFieldValidators are checked here;
  an invalid one is rendered shown, as ASP.NET renders it (no ``visibility:hidden``).
* **The page's callback** (``ICallbackEventHandler`` on the page, seed 000's
  ``RaiseCallbackEvent``/``GetCallbackResult``): a registry class for the target ``__Page``
  of each page that carries the seed's button (:func:`make_registry`).
* **WebUIValidation.js**: not provided by the middleware. With
  :attr:`WebFormsApp.serve_validation_script` the app answers that include's
  ``WebResource.axd`` URL itself with a small stand-in (:data:`VALIDATION_SCRIPT`), as a port
  may; else it 404s it like any URL it does not know (the middleware then answers with its
  WebForms.js compatibility script).

Each POST is recorded (:class:`Post`: the verified event and the fields, in order) so tests
assert what the server got; each callback too (:attr:`WebFormsApp.callbacks`).

The layout ``csp`` is the same page after a migration to a strict Content Security Policy
(``docs/how-to/migration-from-webforms.md``): ASP.NET's inline handlers and ``javascript:`` URLs
cannot run under ``script-src 'nonce-...'``, so each control's markup is rewritten with the
middleware's ``data-postback`` / ``data-autopostback`` attributes (:data:`CSP_CONTROLS`), its
page scripts get the response's nonce, and ASP.NET's page around the form is gone.
"""

from __future__ import annotations

import html
import re
import secrets
import struct
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from postback_middleware import Registry

from .. import aspnet_pages
from ..aspnet_pages import CONTROLS, VALIDATION_D, Control

ALL = "all"
CSP = "csp"
LAYOUTS = (*aspnet_pages.LAYOUTS, CSP)
STATUS = '<span id="EventLabel"></span>'  # <asp:Label ID="EventLabel" runat="server" />
PREFIXES = ("", "/fwd")  # where the test servers mount the app (see the browser suite)
CALLBACK_RESULT = "Calling server was successful.<br/>The passed argument was "

# The buttons that post natively (their own field tells which was clicked, no event fields).
SUBMIT_BUTTONS = ("SaveButton", "RefreshImage", "SearchButton")
# Server-side RequiredFieldValidators: validator id -> (the handler it guards, its field).
REQUIRED = {"NameRequired": ("SaveButton", "NameBox"), "CityRequired": ("SendLink", "CityBox")}

# A stand-in for WebUIValidation.js: the functions the page ASP.NET wrote calls (its startup
# script, WebForm_OnSubmit, WebForm_DoPostBackWithOptions), using the expandos that page sets
# on each validator, for RequiredFieldValidators only.
VALIDATION_SCRIPT = b"""
var Page_IsValid = true, Page_BlockSubmit = false, Page_ValidationActive = false;
function ValidatorOnLoad() { Page_ValidationActive = true; }
function Page_ClientValidate(validationGroup) {
  Page_IsValid = true;
  for (var i = 0; i < Page_Validators.length; i++) {
    var val = Page_Validators[i];
    if ((val.validationGroup || "") !== (validationGroup || "")) continue;
    var input = document.getElementById(val.controltovalidate);
    val.isvalid = input.value.replace(/^\\s+|\\s+$/g, "") !== val.initialvalue;
    val.style.visibility = val.isvalid ? "hidden" : "visible";
    if (!val.isvalid) Page_IsValid = false;
  }
  Page_BlockSubmit = !Page_IsValid;
  return Page_IsValid;
}
function ValidatorCommonOnSubmit() {
  var result = !Page_BlockSubmit;
  Page_BlockSubmit = false;
  return result;
}
"""


def _png(size: int = 24) -> bytes:
    """A small solid PNG (the ImageButtons' images)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x20\x60\xc0" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


PNG = _png()

# --------------------------------------------------------------------------------------------
# The same controls, ready for a strict CSP: no inline handler, no javascript: URL.

_LINK = re.compile(r'href="javascript:__doPostBack\(&#39;([^&]*)&#39;,&#39;([^&]*)&#39;\)"')


def _data_postback(match: re.Match[str]) -> str:
    """A command link as ``data-postback``: the same (target, argument), no script in it."""
    target, argument = match.groups()
    extra = f' data-postback-argument="{argument}"' if argument else ""
    return f'href="#" data-postback="{target}"{extra}'


def _links(markup: str) -> str:
    return _LINK.sub(_data_postback, markup)


CSP_CONTROLS: dict[str, str] = {
    "gridview": _links(aspnet_pages.GRIDVIEW),
    "linkbutton": _links(aspnet_pages.LINKBUTTON),
    "detailsview": _links(aspnet_pages.DETAILSVIEW),
    "formview": _links(aspnet_pages.FORMVIEW),
    "dropdownlist": (
        '<select name="DropDownList1" id="DropDownList1" data-autopostback>\n'
        '\t<option selected="selected" value="name">Name</option>\n'
        '\t<option value="date">Date</option>\n'
        "</select>"),
    # No onclick: the button submits natively; validation is the server's (or your own
    # script's, with the page's nonce).
    "validating-button": aspnet_pages.VALIDATING_BUTTON.split(' onclick="')[0]
    + ' id="SaveButton" />',
    "validating-linkbutton": aspnet_pages.VALIDATING_LINKBUTTON.split("<a ")[0]
    + '<a id="SendLink" href="#" data-postback="SendLink">Send</a>',
    "button-nosubmit": ('<input type="button" name="RefreshButton" value="Refresh"'
                        ' data-postback="RefreshButton" id="RefreshButton" />'),
    "checkbox": ('<input id="SubscribeCheck" type="checkbox" name="SubscribeCheck"'
                 ' data-autopostback /><label for="SubscribeCheck">Email me updates</label>'),
    # ASP.NET's event target is the button's ID, not its group's name: data-postback on the
    # radio button keeps it (a click posts, as ASP.NET's onclick did).
    "radiobutton": (
        '<input id="RadioStandard" type="radio" name="Shipping" value="RadioStandard"'
        ' checked="checked" /><label for="RadioStandard">Standard</label>\n'
        '        <input id="RadioExpress" type="radio" name="Shipping" value="RadioExpress"'
        ' data-postback="RadioExpress" /><label for="RadioExpress">Express</label>'),
    "textbox": '<input name="SearchBox" type="text" id="SearchBox" data-autopostback />',
    "imagebutton": aspnet_pages.IMAGEBUTTON,
    # No onkeypress: Enter in the text box submits the form natively, with its first submit
    # button (the panel's only one here; a page with several needs a nonce'd keydown handler).
    "panel-defaultbutton": aspnet_pages.PANEL.replace(
        ' onkeypress="javascript:return WebForm_FireDefaultButton(event, &#39;SearchButton&#39;)"',
        ""),
    # An image that raises an event without submitting the form natively: a button around it.
    "imagebutton-in-grid": re.sub(
        r'<input type="image" src="([^"]*)" alt="([^"]*)" onclick="javascript:__doPostBack'
        r'\(&#39;([^&]*)&#39;,&#39;([^&]*)&#39;\);return false;" />',
        r'<button type="button" data-postback="\3" data-postback-argument="\4">'
        r'<img src="\1" alt="\2" /></button>', aspnet_pages.IMAGE_GRID),
    "callback": ('<input id="Button1" type="button" value="Call Server" />\n'
                 '        <label id="lbl">Label State Before Calling the Server</label>'),
}

# The seed page's scripts, with the response's nonce: HandleResult, the CallServer block the
# code-behind registered, and the button's handler (no more onclick attribute).
CSP_CALLBACK_SCRIPT = """
<script nonce="{nonce}">
function HandleResult(arg, context) {{ document.getElementById("lbl").innerHTML = arg; }}
function CallServer(arg, context) {{
  WebForm_DoCallback("__Page", arg, HandleResult, "", null, false);
}}
document.getElementById("Button1").addEventListener("click", function () {{
  CallServer(1, alert("Calling Server Now"));
}});
</script>"""


def csp_page(names: list[str], status: str, nonce: str) -> str:
    """The port's page under a strict CSP: the rewritten controls in a plain post form."""
    body = "\n<br />\n".join(CSP_CONTROLS[name] for name in names)
    script = CSP_CALLBACK_SCRIPT.format(nonce=nonce) if "callback" in names else ""
    return (f"<!DOCTYPE html>\n<html>\n<head><title>Orders</title></head>\n<body>\n"
            f'<form method="post" action="./Page.aspx" id="form1">\n{body}\n<br />\n{status}\n'
            f"</form>{script}\n</body>\n</html>\n")


def csp_header(nonce: str) -> str:
    return f"script-src 'nonce-{nonce}' 'strict-dynamic'; object-src 'none'; base-uri 'none'"


def posted(environ: dict[str, Any]) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """What a ported page's code-behind reads of a POST: its fields (urlencoded, in order) and
    the verified event as (target, argument)."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size).decode("utf-8")
    verified = environ.get("postback.event")
    event = None if verified is None else (verified.target, verified.argument)
    return parse_qsl(body, keep_blank_values=True), event


@dataclass
class Post:
    """One postback as the inner app received it (after the middleware)."""

    path: str
    event: tuple[str, str] | None
    fields: list[tuple[str, str]]
    handled: str  # what code_behind ran ("" when nothing)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.fields)


def code_behind(event: tuple[str, str] | None, form: dict[str, str]) -> str:
    """The handler the page's code-behind ran, as its Label shows it: an event's target (and
    argument: ``GridView1: Sort$Name``), or the native submit button that was clicked."""
    if event is not None:
        target, argument = event
        return f"{target}: {argument}" if argument else target
    for button in SUBMIT_BUTTONS:
        if button in form or f"{button}.x" in form:
            return button
    return ""


def invalid_validators(handled: str, form: dict[str, str]) -> list[str]:
    """Server-side validation (``Page.Validate()`` before the handler): the validators of the
    handler's group whose field is empty."""
    return [validator for validator, (handler, name) in REQUIRED.items()
            if handled == handler and not form.get(name, "").strip()]


def controls_for(name: str) -> list[Control]:
    return list(CONTROLS.values()) if name == ALL else [CONTROLS[name]]


def page_paths(control: str) -> list[str]:
    """Every path (mount points included) of the pages that carry ``control``."""
    return [f"{prefix}/{layout}/{name}/Page.aspx" for prefix in PREFIXES for layout in LAYOUTS
            for name in (control, ALL)]


@dataclass
class WebFormsApp:
    posts: list[Post] = field(default_factory=list)
    callbacks: list[tuple[str, str]] = field(default_factory=list)  # (page path, argument)
    serve_validation_script: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.posts.clear()
            self.callbacks.clear()
        self.serve_validation_script = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.endswith(".png"):
            return _send(start_response, "200 OK", "image/png", PNG)
        if path == "/favicon.ico":
            return _send(start_response, "204 No Content", "text/plain", b"")
        if path == "/WebResource.axd" and self.serve_validation_script:
            query = parse_qs(environ.get("QUERY_STRING", ""))
            if query.get("d") == [VALIDATION_D]:
                return _send(start_response, "200 OK", "application/javascript",
                             VALIDATION_SCRIPT)
        parts = path.split("/")
        if len(parts) < 4 or parts[-1] != "Page.aspx" or parts[-3] not in LAYOUTS or (
                parts[-2] != ALL and parts[-2] not in CONTROLS):
            return _send(start_response, "404 Not Found", "text/plain", b"not found")
        layout, name = parts[-3], parts[-2]

        handled, invalid = "", []
        if environ["REQUEST_METHOD"] == "POST":
            fields, event = posted(environ)
            handled = code_behind(event, dict(fields))
            invalid = invalid_validators(handled, dict(fields))
            with self.lock:
                self.posts.append(Post(path, event, fields, handled))

        status = STATUS.replace("></", f">{html.escape(handled)}</")
        headers: list[tuple[str, str]] = []
        if layout == CSP:
            nonce = secrets.token_urlsafe(16)  # a fresh nonce for every response
            names = [c.name for c in controls_for(name)]
            page = csp_page(names, status, nonce)
            headers.append(("Content-Security-Policy", csp_header(nonce)))
        else:
            page = aspnet_pages.render(layout, controls_for(name), status=status)
        for validator in invalid:  # rendered shown, as ASP.NET renders an invalid validator
            page = page.replace(f'<span id="{validator}" style="visibility:hidden;">',
                                f'<span id="{validator}">')
        return _send(start_response, "200 OK", "text/html; charset=utf-8", page.encode("utf-8"),
                     headers)


def _send(start_response: Any, status: str, content_type: str, body: bytes,
          headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            ("Cache-Control", "private"), *headers])
    return [body]


def make_registry(app: WebFormsApp) -> Registry:
    """The page's own callback, seed 000's ``ICallbackEventHandler`` on the page (target
    ``__Page``), registered for every page that carries the seed's button."""
    registry = Registry()

    class PageCallback:
        """RaiseCallbackEvent keeps the argument, GetCallbackResult answers with it."""

        def __init__(self, request: Any) -> None:
            self.path = request.path
            self.temp_var = ""

        def raise_callback_event(self, argument: str) -> None:
            self.temp_var = argument
            with app.lock:
                app.callbacks.append((self.path, argument))

        def get_callback_result(self) -> str:
            return CALLBACK_RESULT + self.temp_var

    for path in page_paths("callback"):
        registry.add_callback("__Page", PageCallback, page=path)
    return registry
