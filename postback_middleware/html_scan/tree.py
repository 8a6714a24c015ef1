"""Just enough HTML5 tree construction to know when the tokenizer changes state.

The tokenizer's switches into raw text (RAWTEXT, RCDATA, script data, PLAINTEXT) and whether
``<![CDATA[`` opens a CDATA section are decided by the tree builder, not the tokenizer, so both
engines keep this small model of it (:class:`_Tree`): the foreign-content stack (``<svg>``,
``<math>``, their integration points, the "breakout" elements that leave them), the "in
select" insertion mode, the form element pointer, and a count of the open HTML elements by
name. It owns the element sets that drive it (:data:`_SWITCHES`, :data:`_TREE_NAMES`,
:data:`VOID_ELEMENTS`...); ``_cscan.c`` follows it (``tree_start``, ``tree_end``).
"""

from __future__ import annotations

from .tag import Tag

# The elements whose start tag (in HTML content) switches the tokenizer: RAWTEXT, RCDATA, and
# script data and PLAINTEXT.
_RAWTEXT = frozenset({"style", "xmp", "iframe", "noembed", "noframes", "noscript"})
_RCDATA = frozenset({"textarea", "title"})
_SWITCHES = _RAWTEXT | _RCDATA | {"script", "plaintext"}
# start tags that change the tree model (everything else only counts open elements)
_TREE_NAMES = _SWITCHES | {"svg", "math", "select", "table", "form"}

_HTML, _SVG, _MATH = 0, 1, 2
# fmt: off
_BREAKOUT = frozenset({
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
    "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing",
    "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong", "strike",
    "sub", "sup", "table", "tt", "u", "ul", "var",
})
_MATH_TEXT_IP = frozenset({"mi", "mo", "mn", "ms", "mtext"})
_SVG_HTML_IP = frozenset({"foreignobject", "desc", "title"})
VOID_ELEMENTS = frozenset({
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
})


def closes_itself(tag: Tag) -> bool:
    """Whether a start tag ends its element at once, as a tag counted by name (a panel's, an
    element's end found with nesting) is counted: self-closing (``<x/>``) and not of a name
    that is HTML wherever it is (``<div/>`` opens a div as ``<div>`` does: HTML ignores the
    slash, and a foreign element of such a name breaks out to HTML). A foreign element's
    slash (``<svg/>``, ``<path/>``) closes it; another HTML element's is read so too, which
    a name count cannot tell from a foreign one of that name."""
    return tag.self_closing and tag.name not in _BREAKOUT


# Elements that stop the search for an end tag's element (scope boundaries).
_HTML_BOUNDARY = frozenset({
    "applet", "caption", "html", "marquee", "object", "table", "td", "th", "template",
})
_TABLE_PARTS = frozenset({"caption", "table", "tbody", "tfoot", "thead", "tr", "td", "th"})
_NOT_COUNTED = frozenset({"html", "head", "body"})
# start tags "in body" ignores (so they never become the current node)
_IGNORED_IN_BODY = frozenset({
    "caption", "col", "colgroup", "frame", "head", "tbody", "td", "tfoot", "th", "thead", "tr",
    "html", "body",
})
# fmt: on
# Of those, the ones that would be counted: outside a table (and a <template>) they never open.
_TABLE_ONLY = _IGNORED_IN_BODY - _NOT_COUNTED - VOID_ELEMENTS


class _Node:
    """An element of the foreign-content stack (only what the tokenizer depends on)."""

    __slots__ = ("boundary", "html_ip", "name", "ns", "text_ip")

    def __init__(self, ns: int, name: str, html_ip: bool = False) -> None:
        self.ns = ns
        self.name = name
        self.html_ip = html_ip or (ns == _SVG and name in _SVG_HTML_IP)
        self.text_ip = ns == _MATH and name in _MATH_TEXT_IP
        self.boundary = (
            self.html_ip
            or self.text_ip
            or (ns == _MATH and name == "annotation-xml")
            or (ns == _HTML and name in _HTML_BOUNDARY)
        )


class _Tree:
    """Just enough tree construction to know when the tokenizer changes state."""

    __slots__ = (
        "changed",
        "copied_into",
        "foreign",
        "form_open",
        "in_select",
        "open_counts",
        "select_in_table",
        "started_foreign",
        "table_depth",
    )

    def __init__(self) -> None:
        self.foreign: list[_Node] = []  # empty: plain HTML content
        self.in_select = False
        self.select_in_table = False
        self.table_depth = 0
        self.open_counts: dict[str, int] = {}
        # Once the engine restarted another in this state (restart_into), the names whose
        # counts changed since, and the tree it gave that one: a restart of the same one
        # again copies those counts only, not every name the page opened so far.
        self.changed: set[str] | None = None
        self.copied_into: _Tree | None = None
        self.form_open = False  # the form element pointer: a nested <form> is ignored
        # whether the last start tag made a foreign element (an <svg>'s <form> is no form)
        self.started_foreign = False

    def cdata_allowed(self) -> bool:
        """``<![CDATA[`` is a CDATA section only when the current node is foreign."""
        return bool(self.foreign) and self.foreign[-1].ns != _HTML

    def start(self, tag: Tag) -> str | None:
        """Process a start tag; return the raw-text element name it opens, if any."""
        name = tag.name
        stack = self.foreign
        self.started_foreign = False
        while stack:
            top = stack[-1]
            if (
                top.ns == _HTML
                or top.html_ip
                or (top.text_ip and name not in ("mglyph", "malignmark"))
                or (top.ns == _MATH and top.name == "annotation-xml" and name == "svg")
            ):
                break  # processed with the HTML rules
            if name in _BREAKOUT or (
                name == "font" and not {"color", "face", "size"}.isdisjoint(tag.attrs)
            ):
                while (
                    stack and stack[-1].ns != _HTML and not (stack[-1].html_ip or stack[-1].text_ip)
                ):
                    stack.pop()
                continue
            if not tag.self_closing:
                html_ip = (
                    top.ns == _MATH
                    and name == "annotation-xml"
                    and tag.attrs.get("encoding", "").lower()
                    in ("text/html", "application/xhtml+xml")
                )
                stack.append(_Node(top.ns, name, html_ip))
            self.started_foreign = True
            return None
        return self._html_start(tag)

    def _html_start(self, tag: Tag) -> str | None:
        name = tag.name
        stack = self.foreign
        if self.in_select:
            if name == "script":
                return name
            if name in ("select", "input", "keygen", "textarea") or (
                self.select_in_table and name in _TABLE_PARTS
            ):
                self._close_select()
                if name == "select":
                    return None
                return self._html_start(tag)
            return None  # ignored by the "in select" insertion mode
        if name == "svg" or name == "math":
            if not tag.self_closing:
                stack.append(_Node(_SVG if name == "svg" else _MATH, name))
            return None
        if name in _SWITCHES:
            return name
        if name == "form":
            if self.form_open:
                return None
            self.form_open = True
        if name == "select":
            self.in_select = True
            self.select_in_table = not stack and self.table_depth > 0
        if stack:
            if name not in VOID_ELEMENTS and name not in _IGNORED_IN_BODY:
                stack.append(_Node(_HTML, name))
            return None
        if name == "table":
            self.table_depth += 1
        if name not in VOID_ELEMENTS and name not in _NOT_COUNTED and self.opens(name):
            self.open_counts[name] = self.open_counts.get(name, 0) + 1
            if self.changed is not None:
                self.changed.add(name)
        return None

    def opens(self, name: str) -> bool:
        """False for a table part "in body" ignores: outside a table and a ``<template>``."""
        return name not in _TABLE_ONLY or bool(self.table_depth or self.open_counts.get("template"))

    def _close_select(self) -> None:
        self.in_select = False
        stack = self.foreign
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].ns == _HTML and stack[i].name == "select":
                del stack[i:]
                return

    def closes_foreign(self, name: str) -> bool:
        """Whether an end tag ``name`` closes a foreign element (:meth:`end`'s first loop):
        an ``<svg>``'s ``</form>`` is no form's end."""
        stack = self.foreign
        i = len(stack) - 1
        if i < 0 or stack[i].ns == _HTML or self.in_select:
            return False
        while i >= 0 and stack[i].ns != _HTML:
            if stack[i].name == name:
                return True
            i -= 1
        return False

    def end(self, name: str) -> None:
        """Process an end tag (only its effect on the state the tokenizer depends on)."""
        if self.in_select:
            # "in select" only listens to </select> (and, in a table, to table parts)
            if name != "select" and not (self.select_in_table and name in _TABLE_PARTS):
                return
            self._close_select()
            if name == "select":
                return
        stack = self.foreign
        if stack:
            i = len(stack) - 1
            if stack[i].ns != _HTML:
                # foreign content: close the nearest foreign element of that name, until
                # an HTML element is met (that one is handled by the HTML rules)
                while i >= 0:
                    if stack[i].name == name:
                        del stack[i:]
                        return  # (an <svg>'s </form>: the form element pointer stays)
                    i -= 1
                    if i >= 0 and stack[i].ns == _HTML:
                        break
        if name == "form":
            self.form_open = False
        if stack:
            while i >= 0:
                node = stack[i]
                if node.ns == _HTML and node.name == name:
                    if name == "form":
                        del stack[i]  # </form> removes the form element alone
                    else:
                        del stack[i:]
                    return
                if node.boundary:
                    return
                i -= 1
            if name != "form" and self.open_counts.get(name, 0) > 0:
                stack.clear()  # an element opened before the <svg>/<math> closes it
            else:
                return
        if name == "table" and self.table_depth:
            self.table_depth -= 1
        count = self.open_counts.get(name, 0)
        if count:
            self.open_counts[name] = count - 1
            if self.changed is not None:
                self.changed.add(name)
