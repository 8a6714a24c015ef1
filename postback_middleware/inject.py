"""Response side: find the post forms of a page and insert the hidden fields and script tag.

Edits are insertions at byte offsets found by ``html_scan``; the page is never re-serialised, so
every byte the inner app wrote reaches the browser unchanged and in order.

A form gets fields when it is a POST form (``method`` is ``post``, ASCII case-insensitive) whose
``action`` resolves to the page's own origin. Its event validation lists the (target, argument)
pairs declared inside it by ``data-postback`` / ``data-postback-argument`` and by named controls
with ``data-autopostback`` (the scanner gathers them: see ``html_scan.PostbackScanner``), as
``{target: [argument, ...]}`` in page order, each pair once. A ``<form>`` start tag inside an
open form is ignored, as browsers ignore it; a form left open runs to the end of the document.

Pages may arrive in pieces (a streamed response). A form whose start and end tags arrive in the
same piece, as every form of a buffered page does, gets all its fields at the top. A form still
open when its piece ends gets the fields that do not depend on its content at the top at once,
and ``__VIEWSTATE`` / ``__EVENTVALIDATION`` just before its ``</form>`` (or at the end of the
document), when its event pairs are known. The script tag goes before ``</head>`` when that
arrives with the first post form, else just before the first post form.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

from . import fields as f
from .html_scan import Pairs, PostbackScanner

log = logging.getLogger("postback_middleware")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_URL_NOISE = str.maketrans("", "", "\t\n\r")


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


@functools.lru_cache(maxsize=1024)  # a site renders the same few actions on the same pages
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


def hidden_input(name: str, value: str, *, with_id: bool) -> bytes:
    if not value:  # most fields of every form: made once
        return _empty_input(name, with_id)
    return _input(name, value, with_id)


def _input(name: str, value: str, with_id: bool) -> bytes:
    id_attr = f' id="{name}"' if with_id else ""
    if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
        value = html.escape(value, quote=True)  # (tokens never need it)
    return f'<input type="hidden" name="{name}"{id_attr} value="{value}" />'.encode("ascii")


@functools.lru_cache(maxsize=64)  # a few reserved names, with and without an id
def _empty_input(name: str, with_id: bool) -> bytes:
    return _input(name, "", with_id)


@dataclass
class PostForm:
    """A form that receives fields, with what the scan learned about it."""

    insert_at: int  # just past its start tag (offset in the piece it arrived in)
    action_path: str  # the path its tokens are bound to (WSGI form: latin-1 text)
    # target -> its arguments, in page order, each pair once
    _pairs: dict[str, list[str]] = field(default_factory=dict, repr=False)
    # target -> set of its arguments, made when a target comes in a second batch
    _seen: dict[str, set[str]] = field(default_factory=dict, repr=False)
    # A submit button with a formaction off this origin would send the tokens there.
    posts_elsewhere: bool = False

    @property
    def pairs(self) -> dict[str, list[str]]:
        """The event validation data: ``{target: [argument, ...]}``, each pair once."""
        return self._pairs

    def add_pairs(self, pairs: Pairs) -> None:
        """Add the scanner's batch for one stretch of the form.

        A batch holds each pair once; a form gets one batch per stretch between the tags the
        scanner returns inside it (a formaction button, an id, a nested ``<form>``), and a
        later stretch may repeat pairs of an earlier one.
        """
        for target, arguments in pairs.items():
            known = self._pairs.get(target)
            if known is None:
                self._pairs[target] = list(arguments)
                continue
            seen = self._seen.get(target)
            if seen is None:
                seen = self._seen[target] = set(known)
            if not seen.isdisjoint(arguments):
                arguments = [a for a in arguments if a not in seen]
            seen.update(arguments)
            known.extend(arguments)


TokenPair = tuple[str, str]
_TOP_FIELDS = (f.EVENTTARGET, f.EVENTARGUMENT)
_TOKEN_FIELDS = (f.VIEWSTATE, f.EVENTVALIDATION)
_CLIENT_FIELDS = (f.LASTFOCUS, f.SCROLLPOSITIONX, f.SCROLLPOSITIONY)


class FormRewriter:
    """Inserts fields and the script tag into one page, given whole or in pieces.

    ``sign_form(form)`` returns the (view state, event validation) tokens of a form once its
    pairs are known; ``client_fields`` are the scroll/focus values to add (None: option off).
    """

    def __init__(
        self,
        *,
        page_url: str,
        encoding: str,
        sign_form: Callable[[PostForm], TokenPair],
        script_tag: bytes,
        client_fields: dict[str, str] | None,
    ) -> None:
        self._scanner = PostbackScanner(encoding=encoding, names=("form", "head"))
        self._page_url = page_url
        self._sign_form = sign_form
        self._script_tag = script_tag
        self._client_fields = client_fields
        self.forms: list[PostForm] = []  # every post form found so far
        self._open: PostForm | None = None  # the post form being read
        self._inside_form = False  # also inside a GET or cross-origin form
        self._taken_ids: set[str] = set()  # reserved ids the page itself uses
        self._kept = b""  # the end of the last piece, which the scanner left undecided

    @property
    def changed(self) -> bool:
        return bool(self.forms)

    def rewrite(self, document: bytes) -> bytes:
        """A whole page at once (``self.forms`` then says whether anything was added)."""
        return self._rewrite(document, final=True)

    def feed(self, piece: bytes) -> bytes:
        """The next piece of a streamed page; returns what can be sent now."""
        return self._rewrite(self._kept + piece, final=False)

    def finish(self) -> bytes:
        """The end of a streamed page."""
        return self._rewrite(self._kept, final=True)

    def _rewrite(self, data: bytes, *, final: bool) -> bytes:
        tags, decided = self._scanner.scan(data, final=final)
        self._kept = data[decided:]
        data = data[:decided]
        if not tags and not final:
            return data  # most pieces of a long page (their pairs come with the next tag)
        # The page's own reserved ids first, so that fields made below leave those ids out
        # (the scanner returns every tag whose id starts with "__").
        for tag in tags:
            if not isinstance(tag, dict) and tag.attrs.get("id", "") in f.RESERVED:
                self._taken_ids.add(tag.attrs["id"])
        insertions: list[tuple[int, bytes]] = []
        started_here: list[PostForm] = []  # forms whose start tag is in this piece
        head_end = None
        for tag in tags:
            if isinstance(tag, dict):  # the pairs declared since the previous tag
                if self._open is not None:
                    self._open.add_pairs(tag)
                continue
            if tag.is_end:
                if tag.name == "form":
                    self._inside_form = False
                    form, self._open = self._open, None
                    if form in started_here:
                        started_here.remove(form)
                        insertions.append((form.insert_at, self._fields(form, *_TOP_FIELDS,
                                                                        *_TOKEN_FIELDS)))
                    elif form is not None:
                        insertions.append((tag.start, self._fields(form, *_TOKEN_FIELDS)))
                elif tag.name == "head" and head_end is None:
                    head_end = tag.start
                continue
            if tag.name == "form":
                if self._inside_form:
                    continue  # browsers ignore a form start tag inside a form
                self._inside_form = True
                self._open = self._post_form(tag.attrs, tag.end)
                if self._open is not None:
                    if not self.forms:
                        at = head_end if head_end is not None else tag.start
                        insertions.append((at, self._script_tag))
                    self.forms.append(self._open)
                    started_here.append(self._open)
                continue
            if self._open is not None:
                self._check_formaction(self._open, tag.name, tag.attrs)
        for form in started_here:
            # At the end of the document an open form's pairs are all known: all fields on top.
            names: tuple[str, ...] = (*_TOP_FIELDS, *_TOKEN_FIELDS) if final else _TOP_FIELDS
            insertions.append((form.insert_at, self._fields(form, *names)))
        if final and self._open is not None and self._open not in started_here:
            insertions.append((len(data), self._fields(self._open, *_TOKEN_FIELDS)))
        return splice(data, insertions) if insertions else data

    def _post_form(self, attrs: Mapping[str, str], insert_at: int) -> PostForm | None:
        if attrs.get("method", "").lower() != "post":
            return None
        path = action_path(attrs.get("action"), self._page_url)
        return None if path is None else PostForm(insert_at, path)

    def _check_formaction(self, form: PostForm, name: str, attrs: Mapping[str, str]) -> None:
        """A submit button whose ``formaction`` leaves the origin would send the tokens there."""
        formaction = attrs.get("formaction")
        if (
            formaction is not None
            and _submits(name, attrs)
            and action_path(formaction, self._page_url) is None
        ):
            form.posts_elsewhere = True

    def _fields(self, form: PostForm, *names: str) -> bytes:
        """The hidden inputs ``names`` of ``form`` (ids on the first form, when unique)."""
        values = {f.EVENTTARGET: "", f.EVENTARGUMENT: ""}
        if f.VIEWSTATE in names and form.posts_elsewhere:
            log.warning(
                "a form posting to %s has a submit button whose formaction leaves the origin;"
                " it gets no tokens, so its postbacks are refused",
                form.action_path,
            )
            names = tuple(name for name in names if name not in _TOKEN_FIELDS)
        elif f.VIEWSTATE in names:
            values[f.VIEWSTATE], values[f.EVENTVALIDATION] = self._sign_form(form)
        if self._client_fields is not None and f.EVENTTARGET in names:
            names = (*names, *_CLIENT_FIELDS)
            values.update((name, self._client_fields.get(name, "")) for name in _CLIENT_FIELDS)
        first = form is self.forms[0]
        return b"".join(
            hidden_input(name, values[name], with_id=first and name not in self._taken_ids)
            for name in names
        )


def _submits(name: str, attrs: Mapping[str, str]) -> bool:
    """Whether the element is a submit button (the only place ``formaction`` matters).

    ``type`` is matched as HTML does (ASCII case-insensitive, not trimmed); a button's missing
    or unknown type means submit.
    """
    kind = attrs.get("type", "").lower()
    if name == "button":
        return kind not in ("button", "reset")
    return name == "input" and kind in ("submit", "image")


def splice(document: bytes, insertions: list[tuple[int, bytes]]) -> bytes:
    """Insert byte strings at offsets; ties keep the order given.

    Slices are taken through a memoryview, so the page is copied once, into the result.
    """
    view = memoryview(document)
    pieces: list[bytes | memoryview] = []
    cursor = 0
    for offset, text in sorted(insertions, key=lambda item: item[0]):
        pieces.append(view[cursor:offset])
        pieces.append(text)
        cursor = offset
    pieces.append(view[cursor:])
    return b"".join(pieces)
