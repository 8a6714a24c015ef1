"""htmx: what its attributes say about where a form's fields go.

htmx (https://htmx.org) sends a form's fields from JavaScript, to the URL an ``hx-post`` (or
``hx-put``, ``hx-patch``, ``hx-delete``, ``hx-get``; also spelled ``data-hx-*``) names, and
filters them by ``hx-params``. The injector (``inject``) reads these attributes to bind a form's
tokens to where its requests really go and to withhold them from requests that would take them
off the origin or into a URL; the rules are in ``inject``'s docstring and the docs' "htmx
and fetch()" (``docs/how-to/htmx-and-fetch.md``). This module only reads the attributes,
exactly as htmx reads them.
"""

from __future__ import annotations

from collections.abc import Mapping

# htmx's request attributes, in its own order (htmx reads hx-X, else data-hx-X)
_HX_VERBS = ("get", "post", "put", "patch", "delete")
_HX_ATTRIBUTES = tuple((verb, f"hx-{verb}", f"data-hx-{verb}") for verb in _HX_VERBS)
REQUEST_NAMES = frozenset(name for _, *names in _HX_ATTRIBUTES for name in names)
# The attributes that tell a page uses htmx (its common ones), when a tag read here has one.
_HX_SIGNS = frozenset(
    spelling for name in ("get", "post", "put", "patch", "delete", "boost", "target", "swap",
                          "trigger", "select", "include", "vals", "headers", "ext", "indicator",
                          "push-url", "confirm", "params", "sync", "on")
    for spelling in (f"hx-{name}", f"data-hx-{name}"))
# The verbs whose parameters htmx puts in the URL (its default methodsThatUseUrlParams).
URL_VERBS = frozenset({"get", "delete"})

HxRequest = tuple[str, str]  # (verb, URL as written; "" is the document's URL)


def hx_requests(attrs: Mapping[str, str]) -> tuple[HxRequest, ...]:
    """The htmx requests an element declares, as htmx reads them: ``hx-post``, else
    ``data-hx-post`` (an empty value falls through to the other spelling), and so on."""
    if REQUEST_NAMES.isdisjoint(attrs):  # (nearly every tag: a few set lookups in C)
        return ()
    found: list[HxRequest] = []
    for verb, plain, data in _HX_ATTRIBUTES:
        if plain in attrs or data in attrs:
            found.append((verb, attrs.get(plain) or attrs.get(data) or ""))
    return tuple(found)


def uses_htmx(attrs: Mapping[str, str]) -> bool:
    """Whether an element has one of htmx's common attributes (``hx-post``, ``hx-boost``,
    ``hx-target``..., or their ``data-hx-*`` spelling)."""
    return not _HX_SIGNS.isdisjoint(attrs)


def hx_params(attrs: Mapping[str, str]) -> str | None:
    """An element's own ``hx-params`` (htmx reads hx-params, else data-hx-params)."""
    return attrs.get("hx-params") or attrs.get("data-hx-params")


def leaves_out(params: str | None, names: tuple[str, ...]) -> bool:
    """Whether an ``hx-params`` value keeps every one of ``names`` out of the request, read as
    htmx's ``filterValues`` reads it (``none``; ``*``; ``not a, b``; else the names kept)."""
    if not params or params == "*":
        return False
    if params == "none":
        return True
    if params.startswith("not "):
        dropped = {name.strip() for name in params[4:].split(",")}
        return all(name in dropped for name in names)
    kept = {name.strip() for name in params.split(",")}
    return kept.isdisjoint(names)


def hx_post(requests: tuple[HxRequest, ...]) -> str | None:
    """The URL of the ``hx-post`` among an element's htmx requests, if any."""
    for verb, url in requests:
        if verb == "post":
            return url
    return None
