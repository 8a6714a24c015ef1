"""Response side: find the post forms of a page and insert the hidden fields and script tag.

Edits are insertions at byte offsets found by ``html_scan``; the page is never re-serialised, so
every byte the inner app wrote reaches the browser unchanged and in order.

A form gets fields when it is a POST form (``method`` is ``post``, ASCII case-insensitive) whose
``action`` resolves to the page's own origin. Its event validation lists the (target, argument)
pairs declared inside it by ``data-postback`` / ``data-postback-argument`` and by named controls
with ``data-autopostback``. A ``<form>`` start tag inside an open form is ignored, as browsers
ignore it; a form left open runs to the end of the document.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

from . import fields as f
from .html_scan import Tag, iter_tags

_DEFAULT_PORTS = {"http": 80, "https": 443}
_AUTOPOSTBACK_TAGS = frozenset({"input", "select", "textarea"})
_URL_NOISE = str.maketrans("", "", "\t\n\r")


@dataclass
class PostForm:
    """A form that receives fields, with what the scan learned about it."""

    tag_start: int  # the "<" of the form's start tag
    insert_at: int  # just past the form's start tag
    action_path: str  # the path its tokens are bound to (WSGI form: latin-1 text)
    pairs: list[list[str]] = field(default_factory=list)


@dataclass
class PageForms:
    forms: list[PostForm]
    script_at: int | None  # where the client script tag goes
    taken_ids: set[str]  # reserved ids the page already uses


def origin_of(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an http(s) URL, with default ports made explicit."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return None
        return scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        return None


def action_path(action: str | None, page_url: str) -> str | None:
    """The path a form posts to, or None when it leaves the page's origin.

    Resolved as a browser does: tabs and newlines dropped, backslashes read as slashes, an
    absent or empty action meaning the page itself.
    """
    action = (action or "").translate(_URL_NOISE).strip().replace("\\", "/")
    try:
        target = urljoin(page_url, action) if action else page_url
        if origin_of(target) != origin_of(page_url):
            return None
        return unquote_to_bytes(urlsplit(target).path).decode("latin-1")
    except ValueError:  # not a URL a browser could post to either
        return None


def find_post_forms(tags: Iterable[Tag], page_url: str) -> PageForms:
    forms: list[PostForm] = []
    head_end = None
    open_form: PostForm | None = None
    inside_form = False  # also true inside a GET or cross-origin form: nested forms are ignored
    taken: set[str] = set()
    for tag in tags:
        if tag.is_end:
            if tag.name == "form":
                inside_form = False
                open_form = None
            elif tag.name == "head" and head_end is None:
                head_end = tag.start
            continue
        attrs = tag.attrs
        element_id = attrs.get("id")
        if element_id in f.RESERVED:
            taken.add(element_id)
        if tag.name == "form":
            if inside_form:
                continue
            inside_form = True
            path = None
            if attrs.get("method", "").lower() == "post":
                path = action_path(attrs.get("action"), page_url)
            open_form = None if path is None else PostForm(tag.start, tag.end, path)
            if open_form is not None:
                forms.append(open_form)
            continue
        if open_form is None:
            continue
        target = attrs.get("data-postback")
        if target:
            _add_pair(open_form, target, attrs.get("data-postback-argument", ""))
        if "data-autopostback" in attrs and tag.name in _AUTOPOSTBACK_TAGS:
            name = attrs.get("name")
            if name:
                _add_pair(open_form, name, "")
    # Before </head>, else just before the first post form (never inside it).
    script_at = head_end if head_end is not None else (forms[0].tag_start if forms else None)
    return PageForms(forms=forms, script_at=script_at, taken_ids=taken)


def _add_pair(form: PostForm, target: str, argument: str) -> None:
    pair = [target, argument]
    if pair not in form.pairs:
        form.pairs.append(pair)


def hidden_input(name: str, value: str, *, with_id: bool) -> bytes:
    id_attr = f' id="{name}"' if with_id else ""
    escaped = html.escape(value, quote=True)
    return f'<input type="hidden" name="{name}"{id_attr} value="{escaped}" />'.encode("ascii")


TokenPair = tuple[str, str]


def inject(
    document: bytes,
    *,
    page_url: str,
    encoding: str,
    sign_form: Callable[[PostForm], TokenPair],
    script_tag: bytes,
    client_fields: dict[str, str] | None,
) -> bytes | None:
    """The document with fields and script inserted, or None when it has no post form.

    ``sign_form`` returns the (view state, event validation) tokens of one form.
    ``client_fields`` are the scroll/focus fields to add (None when the option is off).
    """
    page = find_post_forms(iter_tags(document, encoding=encoding), page_url)
    if not page.forms:
        return None
    insertions: list[tuple[int, bytes]] = []
    for index, form in enumerate(page.forms):
        viewstate, validation = sign_form(form)
        values = [
            (f.EVENTTARGET, ""),
            (f.EVENTARGUMENT, ""),
            (f.VIEWSTATE, viewstate),
            (f.EVENTVALIDATION, validation),
        ]
        if client_fields is not None:
            values += [
                (name, client_fields.get(name, ""))
                for name in (f.LASTFOCUS, f.SCROLLPOSITIONX, f.SCROLLPOSITIONY)
            ]
        block = b"".join(
            hidden_input(name, value, with_id=index == 0 and name not in page.taken_ids)
            for name, value in values
        )
        insertions.append((form.insert_at, block))
    assert page.script_at is not None
    insertions.append((page.script_at, script_tag))
    return splice(document, insertions)


def splice(document: bytes, insertions: list[tuple[int, bytes]]) -> bytes:
    """Insert byte strings at offsets; ties keep the order given."""
    pieces = []
    cursor = 0
    for offset, text in sorted(insertions, key=lambda item: item[0]):
        pieces.append(document[cursor:offset])
        pieces.append(text)
        cursor = offset
    pieces.append(document[cursor:])
    return b"".join(pieces)
