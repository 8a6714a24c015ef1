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
read whole: a streamed page's forms know only the forms before them). The page counts those
names once (:class:`PageChoices`, kept as controls are read), so a page of n forms costs n,
not n**3; each form's token still lists them all, so a form whose list would pass
:data:`MAX_OTHERS_SIZE` gets no tokens (its postbacks are refused, with a warning: give the
rows' selects one name, or leave the option off) rather than tokens that leave those names
unchecked. Other controls of the form with the same name add what they post (a hidden input,
a checkbox, a submit ``<button>`` with its value), or, when a person types it or the browser
makes it up (a text input, a textarea, an ``<input type=submit>`` without ``value`` posts its
localised label), leave the name unchecked:
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
from collections.abc import Iterator

MAX_OTHERS_SIZE = 4096
"""The most bytes (about: each name's UTF-8 and 8 for the JSON around it) of the names other
forms check that one form's token lists: past it, the form gets no tokens. A page of n forms
with a select each would otherwise write n names in each form, n**2 in all."""

# Input types that post a fixed value the page wrote (checkbox and radio: "on" without one).
_FIXED = frozenset({"hidden", "checkbox", "radio"})
# Input types that post nothing, or under other names (image: name.x and name.y).
_SILENT = frozenset({"reset", "button", "image", "file"})
_WHITESPACE = re.compile(r"[\t\n\f\r ]+")


def _size(name: str) -> int:
    """About what a name costs in a token, listed with no value (``n`` and ``v``)."""
    return len(name.encode("utf-8", "surrogatepass")) + 8


class PageChoices:
    """The names a page's post forms check, each counted once a form that checks it (its
    :attr:`Choices.checked_names`), kept up to date as their controls are read: what a form
    checks of the others' (:meth:`Choices.others`) is read here, not gathered anew from every
    other form for each form."""

    def __init__(self) -> None:
        self._forms: dict[str, int] = {}  # name -> how many forms check it
        self.size = 0  # the _size of those names

    def __contains__(self, name: object) -> bool:
        return name in self._forms

    def __iter__(self) -> Iterator[str]:
        return iter(self._forms)

    def add(self, name: str) -> None:
        """One more form checks ``name``."""
        count = self._forms.get(name, 0)
        if not count:
            self.size += _size(name)
        self._forms[name] = count + 1

    def remove(self, name: str) -> None:
        """A form that checked ``name`` no longer does (a control of it posts anything)."""
        count = self._forms[name] - 1
        if count:
            self._forms[name] = count
        else:
            del self._forms[name]
            self.size -= _size(name)


class Choices:
    """What one post form's controls can post, by name (``page``: its page's, which counts
    the names each form checks)."""

    def __init__(self, page: PageChoices | None = None) -> None:
        self._values: dict[str, dict[str, None]] = {}  # name -> values in page order, each once
        self._checked: set[str] = set()  # names with a select or a radio group
        self._free: set[str] = set()  # names a control posts anything for
        self._page = page
        self._others: list[str] = []  # the names other forms check, unless posted here

    @property
    def pairs(self) -> dict[str, list[str]]:
        """The checked names and their values: ``{name: [value, ...]}`` (another form's
        names with none)."""
        pairs = {name: list(values) for name, values in self._values.items()
                 if name in self._checked and name not in self._free}
        pairs.update((name, []) for name in self._others)
        return pairs

    def option(self, select: str, value: str) -> None:
        """An option of the select named ``select``."""
        self._check(select)
        self._add(select, value)

    def option_none(self, select: str) -> None:
        """A select, or an option of it the browser never posts (disabled): the name is
        checked, with no value added."""
        self._check(select)
        self._values.setdefault(select, {})

    def disabled(self, name: str, kind: str) -> None:
        """A disabled input: it posts nothing (a radio's group is checked all the same)."""
        if kind == "radio":
            self._check(name)
            self._values.setdefault(name, {})

    def option_text(self, select: str, raw: str) -> None:
        """An option without a value attribute: its text (character references not yet
        decoded) is its value."""
        self.option(select, _WHITESPACE.sub(" ", html.unescape(raw)).strip("\t\n\f\r "))

    def unknown(self, name: str) -> None:
        """A control of ``name`` whose value is not known here: the name is not checked."""
        self._unchecked(name)

    def input(self, name: str, kind: str, value: str | None) -> None:
        """An ``<input>`` (``kind``: its type attribute, ASCII-lowercased)."""
        if kind == "radio":
            self._check(name)
        if kind in _FIXED:
            self._add(name, "on" if value is None and kind != "hidden" else value or "")
        elif kind == "submit" and value is not None:
            self._add(name, value)
        elif kind not in _SILENT:
            self._unchecked(name)  # typed, or a label the browser writes

    def submit_button(self, name: str, value: str | None) -> None:
        """A submit ``<button>``: it posts its value ("" without one)."""
        self._add(name, value or "")

    @property
    def checked_names(self) -> frozenset[str]:
        """The names this form's own controls check."""
        return frozenset(self._checked - self._free)

    def others(self) -> bool:
        """Take the names the page's other forms check (its :class:`PageChoices`, as they
        are now): checked here too, with no value, unless a control of this form posts that
        name (its own rules apply then). So another form's tokens, which do not list a
        select, cannot carry a value for it past the check. False when they are more than a
        token holds (:data:`MAX_OTHERS_SIZE`): the form must then get no tokens."""
        page = self._page
        if page is None:
            return True
        # (the page's size less this form's own names: a look at each of them, not the page's)
        own = self._values.keys() | self._free
        size = page.size - sum(_size(name) for name in own if name in page)
        if size > MAX_OTHERS_SIZE:
            self._others = []
            return False
        self._others = [name for name in page
                        if name not in self._values and name not in self._free]
        return True

    def _check(self, name: str) -> None:
        if name not in self._checked:
            self._checked.add(name)
            if self._page is not None and name not in self._free:
                self._page.add(name)

    def _unchecked(self, name: str) -> None:
        if name not in self._free:
            self._free.add(name)
            if self._page is not None and name in self._checked:
                self._page.remove(name)

    def _add(self, name: str, value: str) -> None:
        self._values.setdefault(name, {})[value] = None
