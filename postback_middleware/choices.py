"""Response side: the values a post form lets a person choose (option ``validate_choices``).

ASP.NET's event validation refuses a posted DropDownList or RadioButtonList value that the page
did not render; with ``validate_choices`` on, the middleware does the same for every
``<select>`` and radio group of a post form. The injector hands each control it meets inside
the form to the form's :class:`Choices`, which records what each name can post; the values go
into the form's ``__EVENTVALIDATION`` (see ``validation``, part ``v``) and a postback that posts
anything else for one of those names is refused.

What a control can post, as the browser decides it:

* an ``<option>`` inside a ``<select name=N>``: its ``value`` attribute, else its text (ASCII
  whitespace stripped and collapsed, as ``option.value`` reads it);
* an ``<input type=radio name=N>``: its ``value``, ``on`` without one;
* nothing for a ``disabled`` option, radio or select, which the browser never posts (a
  ``<fieldset disabled>`` or ``<optgroup disabled>`` around them is not read: their values
  stay offered).

Only names with a select or a radio group are checked; and the names the page's other forms
check are checked in this form too, with no value (unless a control of its own posts that
name): so posting a select's value with another form's tokens is refused as well (in a page
read whole: a streamed page's forms know only the forms before them). Other controls of the
form with the same name add what they post (a hidden input, a checkbox, a submit
``<button>`` with its value), or, when a person types it or the browser makes it up (a text
input, a textarea, an ``<input type=submit>`` without ``value`` posts its localised label),
leave the name unchecked:
nothing is refused that the page itself could post. A control with a ``form`` attribute is not
read (it may belong to another form), nor an option whose text a streamed page cuts in two
(that select is then unchecked). A page whose script adds options must leave the option off,
as in ASP.NET.

The check covers postbacks: a form POST without tokens reaches the app unchecked unless
``require_token`` is on (the middleware says so at start-up); nor does a page know the
choices of another page's forms that post to the same path.
"""

from __future__ import annotations

import html
import re

# Input types that post a fixed value the page wrote (checkbox and radio: "on" without one).
_FIXED = frozenset({"hidden", "checkbox", "radio"})
# Input types that post nothing, or under other names (image: name.x and name.y).
_SILENT = frozenset({"reset", "button", "image", "file"})
_WHITESPACE = re.compile(r"[\t\n\f\r ]+")


class Choices:
    """What one post form's controls can post, by name."""

    def __init__(self) -> None:
        self._values: dict[str, dict[str, None]] = {}  # name -> values in page order, each once
        self._checked: set[str] = set()  # names with a select or a radio group
        self._free: set[str] = set()  # names a control posts anything for

    @property
    def pairs(self) -> dict[str, list[str]]:
        """The checked names and their values: ``{name: [value, ...]}``."""
        return {name: list(values) for name, values in self._values.items()
                if name in self._checked and name not in self._free}

    def option(self, select: str, value: str) -> None:
        """An option of the select named ``select``."""
        self._checked.add(select)
        self._add(select, value)

    def option_none(self, select: str) -> None:
        """A select, or an option of it the browser never posts (disabled): the name is
        checked, with no value added."""
        self._checked.add(select)
        self._values.setdefault(select, {})

    def disabled(self, name: str, kind: str) -> None:
        """A disabled input: it posts nothing (a radio's group is checked all the same)."""
        if kind == "radio":
            self._checked.add(name)
            self._values.setdefault(name, {})

    def option_text(self, select: str, raw: str) -> None:
        """An option without a value attribute: its text (character references not yet
        decoded) is its value."""
        self.option(select, _WHITESPACE.sub(" ", html.unescape(raw)).strip("\t\n\f\r "))

    def unknown(self, name: str) -> None:
        """A control of ``name`` whose value is not known here: the name is not checked."""
        self._free.add(name)

    def input(self, name: str, kind: str, value: str | None) -> None:
        """An ``<input>`` (``kind``: its type attribute, ASCII-lowercased)."""
        if kind == "radio":
            self._checked.add(name)
        if kind in _FIXED:
            self._add(name, "on" if value is None and kind != "hidden" else value or "")
        elif kind == "submit" and value is not None:
            self._add(name, value)
        elif kind not in _SILENT:
            self._free.add(name)  # typed, or a label the browser writes

    def submit_button(self, name: str, value: str | None) -> None:
        """A submit ``<button>``: it posts its value ("" without one)."""
        self._add(name, value or "")

    @property
    def checked_names(self) -> frozenset[str]:
        """The names this form checks."""
        return frozenset(self._checked - self._free)

    def others(self, names: frozenset[str]) -> None:
        """Names the page's other forms check: checked here too, with no value, unless a
        control of this form posts that name (its own rules apply then). So another form's
        tokens, which do not list a select, cannot carry a value for it past the check."""
        for name in names:
            if name not in self._values and name not in self._free:
                self._checked.add(name)
                self._values[name] = {}

    def _add(self, name: str, value: str) -> None:
        self._values.setdefault(name, {})[value] = None
