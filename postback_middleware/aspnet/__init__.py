"""ASP.NET compatibility: what lets markup and code written for WebForms run unchanged.

The core of the package speaks the wire contract (``PROTOCOL.md``: the reserved fields,
``__doPostBack``, ``WebForm_DoCallback``) with markup of its own (``data-postback``,
``data-update-panel``). Everything that exists only because ASP.NET wrote pages a certain way
lives here, one module per piece, so that the core never grows a branch for it:

* ``references``: the JavaScript references ASP.NET's ``ClientScriptManager`` writes into a
  page (``GetCallbackEventReference`` today), made from Python;
* ``markup``: the postback references ASP.NET renders (``javascript:__doPostBack('T','A')``,
  ``WebForm_DoPostBackWithOptions``, AutoPostBack's ``setTimeout``), read back into the event
  pairs a form offers and the pages it posts to (``references``), for the injector;
* ``resources``: a ``WebResource.axd`` the app answers 404 gets the WebForms.js functions
  rendered controls call (``static/webforms.js``: ``WebForm_PostBackOptions``,
  ``WebForm_FireDefaultButton``...), which also travel in the one client script;
* ASP.NET's own hidden fields in a page, taken over rather than duplicated (in ``inject``,
  where fields are written);
* the delta format of Microsoft's AJAX client (``MicrosoftAjaxWebForms.js``), answered from the
  same partial-postback stage as the package's own panels.

Each of those plugs into the request's journey where the core already does the same job for its
own markup (the injector's form pairs, the client script's parts, the partial stage), and each
is covered by its own tests.
"""

from __future__ import annotations

from .references import callback_reference

__all__ = ["callback_reference"]
