"""The JavaScript references ASP.NET's ``ClientScriptManager`` writes into a page.

A template that called ``Page.ClientScript.GetCallbackEventReference(...)`` in code-behind calls
:func:`callback_reference` with the same arguments and gets the same call text, so the page's
script reads as it did.
"""

from __future__ import annotations

import json

_HTML_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027", '"': "\\u0022",
     "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _js_string(text: str) -> str:
    """A JavaScript string literal in single quotes, as ASP.NET writes one, that is also safe
    in a ``<script>`` and in a double-quoted attribute (``onclick="..."``, where ASP.NET's
    goes): JSON's escapes, with every quote, ``<``, ``>`` and ``&`` written as ``\\uXXXX``."""
    escaped = json.dumps(text)[1:-1].replace('\\"', '"')  # (JSON's only quotes: escaped)
    return "'" + escaped.translate(_HTML_SAFE) + "'"


def callback_reference(
    target: str,
    argument: str,
    client_callback: str,
    context: str,
    error_callback: str | None = None,
    use_async: bool = False,
) -> str:
    """The ``WebForm_DoCallback(...)`` call text, like ASP.NET's ``GetCallbackEventReference``.

    ``target`` is a callback name and becomes a string literal; ``argument``, ``context`` and
    the two callbacks are JavaScript expressions, written as given (as in ASP.NET)::

        callback_reference("CallServer", "arg", "HandleResult", "context")
        # "WebForm_DoCallback('CallServer',arg,HandleResult,context,null,false)"
    """
    return (
        f"WebForm_DoCallback({_js_string(target)},{argument},{client_callback},{context},"
        f"{error_callback or 'null'},{'true' if use_async else 'false'})"
    )
