"""The postback references ASP.NET renders into markup, read back into the pairs they post.

An ASP.NET WebForms page never lists its events: each control writes a piece of JavaScript
into an attribute (``ClientScriptManager.GetPostBackEventReference`` and friends), and the
server registers the same (target, argument) pair for event validation as it renders. A page
ported to a WSGI app keeps that markup; :func:`event_references` reads one tag's attributes,
as the HTML parser gives them (character references already decoded), and returns the
pairs they post back as ``__EVENTTARGET`` / ``__EVENTARGUMENT``, so the injector can register
them like ``data-postback`` pairs. Each pair is exactly what the browser would send: the
JavaScript string escapes are undone, and in ``href`` the URL's percent-encoding too.

Recognised forms
----------------
Only these forms, *anchored*: the call is the whole ``href``, or the last statement of the
handler; never a call found somewhere in free script text.

``href`` of ``<a>`` and ``<area>`` (LinkButton, HtmlAnchor, GridView/DetailsView/FormView
command and pager links, Calendar, TreeView, Menu, BulletedList, ImageMap): ``javascript:``
followed by exactly one call and an optional ``;``::

    href="javascript:__doPostBack('ctl00$MainContent$GridView1','Sort$Name')"
        -> ("ctl00$MainContent$GridView1", "Sort$Name")
    href="javascript:WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions(
          "ctl00$LinkButton1", "", true, "", "", false, true))"      (one line in a page)
        -> ("ctl00$LinkButton1", "")
    href="javascript:__doPostBack('Calendar1','V4475%25')"        (GetPostBackClientHyperlink)
        -> ("Calendar1", "V4475%")

The ``href`` is read as a browser's URL parser reads it: leading and trailing C0 controls
and spaces dropped, every tab, CR and LF removed, the scheme matched without regard to
case, then the script part percent-decoded as UTF-8 (``%27`` is a quote: ASP.NET escapes
``%`` only in ``GetPostBackClientHyperlink``, so a ``%41`` in a LinkButton's argument
reaches the server as ``A``, and that is what is returned).

``onclick`` and ``onchange`` (any element: Button with ``UseSubmitBehavior=False``,
ImageButton, the buttons and image buttons of data controls, HtmlButton/HtmlInputButton
with ``OnServerClick``, Menu, and the ``AutoPostBack`` CheckBox, RadioButton, DropDownList,
ListBox, CheckBoxList, RadioButtonList and TextBox)::

    onclick="javascript:__doPostBack('Button1','')"                 -> ("Button1", "")
    onclick="javascript:__doPostBack('GridView1','Select$0');return false;"
        -> ("GridView1", "Select$0")                                  (data control ImageButton)
    onchange="javascript:setTimeout('__doPostBack(\\'ctl00$DropDownList1\\',\\'\\')', 0)"
        -> ("ctl00$DropDownList1", "")                                (AutoPostBack)
    onclick="javascript:setTimeout('WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions(
          "CheckBox1", "", true, "", "", false, true))', 0)"      -> ("CheckBox1", "")
    onclick="if (!confirm('Delete?')) return false;__doPostBack('Button1','')"
        -> ("Button1", "")                                            (OnClientClick first)
    onclick="if (typeof(Page_ClientValidate) == 'function') Page_ClientValidate('');
             __doPostBack('Button1','')"           (HtmlInputButton, one line in a page)
        -> ("Button1", "")

The ``setTimeout`` string (AutoPostBack) is decoded, then read again as exactly one call:
its reference was escaped twice by ASP.NET (``\\\\\\'`` in the markup is a quote in the
argument).

A handler's call may carry a ``javascript:`` label, may be followed by ``;`` and by
``return false;`` (ImageButton), and may be preceded by the control's own statements (the
page's ``OnClientClick``, its own ``onclick``/``onchange``, the validation call ASP.NET
puts before an HtmlButton's postback), which end with ``;``. Those statements are not
parsed, only tokenized, to prove that the call is a statement of its own at the top level
of the handler: not inside a string, a comment, a block, a function or an ``if``.

What yields nothing
-------------------
Anything not understood, never a guess: a call whose argument is not a string literal
(``__doPostBack('T', this.value)``), a call on another object (``x.__doPostBack``), two
calls, a call in a string or after an unconditional ``return``/``throw``, a string escape
that ASP.NET never writes (only ``\\'``, ``\\"``, ``\\\\``, ``\\r``, ``\\n`` and ``\\t``
are read in a value), an unterminated string, a line break in a string, a prefix with a
``/`` (a comment, a regular expression or a division: not tokenized), a backquote, an HTML
comment marker, a mention of ``eval``, ``Function``, ``setInterval`` or of the postback
functions themselves; a ``WebForm_PostBackOptions`` whose ``clientSubmit`` is ``false``
(the button submits natively: no event fields are sent) and whose ``actionUrl`` is empty;
an empty target; an ``href`` whose percent
escapes do not decode as UTF-8; an attribute value longer than :data:`MAX_VALUE_LENGTH`.
Other handler attributes are not read: the ones ASP.NET renders besides ``onclick`` and
``onchange`` call ``WebForm_TextBoxKeyHandler`` or ``WebForm_FireDefaultButton``, which
raise a change or click rather than a postback.

Cross-page postbacks
--------------------
A ``WebForm_PostBackOptions`` with an ``actionUrl`` (a control's ``PostBackUrl``) posts the
form to that URL instead of its action: :func:`references` returns it with the URL as
written, and with ``posts_event`` false when ``clientSubmit`` is (the button submits
natively, with no event fields); :func:`event_references` returns the pairs that are posted.
The injector binds the form's tokens to that path too, or withholds them when it leaves the
origin.

Speed
-----
The values ASP.NET writes for its own controls (the forms above with no statement of the
page's before the call, and strings with no escape, percent-escape, quote or control
character) are matched whole by a regular expression each, about ten times faster than
tokenizing; only the other values are tokenized. The comments at "the fast path" say why
both read a value alike, and the tests compare them.

Why no library
--------------
A JavaScript parser (esprima ports, ``pyjsparser``, ``slimit``) accepts the whole language
and leaves the question open: it says what an expression *is*, not which of the few shapes
ASP.NET writes it is, and it would be a large dependency on the security path whose grammar
may not be the browser's. The standard library reads other string grammars: ``json`` has no
single quotes and no ``\\'``; ``ast.literal_eval`` reads Python's (other escapes, prefixes,
implicit concatenation of adjacent literals). ``urllib.parse.unquote`` turns bad UTF-8 into
U+FFFD where this module wants to refuse. What is needed is small: a tokenizer for
identifiers, numbers, punctuation and the two string literals, and a matcher for three call
shapes. Nothing is ever evaluated.

Sources (microsoft/referencesource, ``System.Web``): ``UI/ClientScriptManager.cs``
(``GetPostBackEventReference``, ``GetPostBackClientHyperlink``), ``UI/Util.cs``
(``QuoteJScriptString``, ``MergeScript``, ``WriteOnClickAttribute``), the controls in
``UI/WebControls`` and ``UI/HtmlControls``, and ``WebForms.js``
(``WebForm_DoPostBackWithOptions``). ``/work/notes/aspnet_markup.md`` has the line numbers.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Final, Literal, NamedTuple, TypeAlias

__all__ = ["MAX_PAIRS_PER_TAG", "MAX_VALUE_LENGTH", "Reference", "event_references",
           "references"]

MAX_VALUE_LENGTH: Final = 4096
"""Attribute values longer than this (in characters, as given) are not read."""

MAX_PAIRS_PER_TAG: Final = 3
"""At most this many pairs are returned for one tag (one per ``href``/``onclick``/``onchange``)."""

_HREF_TAGS: Final = frozenset({"a", "area"})
_HANDLERS: Final = frozenset({"onclick", "onchange"})
_READ: Final = _HANDLERS | {"href"}

Pair = tuple[str, str]
_Token = tuple[str, str]  # (kind: "id" | "num" | "str" | "punct", text as written)


class Reference(NamedTuple):
    """One postback reference: the pair it posts, and where."""

    target: str
    argument: str
    # WebForm_PostBackOptions' actionUrl (PostBackUrl, a cross-page postback: the form is
    # posted there instead of its action), as written (relative to the document); "" if none.
    action_url: str = ""
    # False for clientSubmit false: the button submits the form natively, with no event fields
    # (only its actionUrl matters then).
    posts_event: bool = True

# --- the tokenizer ---------------------------------------------------------------------------

_SPACE = re.compile(r"[ \t\n\r\f\v]*")
# One token. A string literal is a JavaScript one: any character but its quote, a backslash
# or a line break, or a backslash and any character but a line break (a line continuation is
# refused). The punctuation excludes "/" (comment, regular expression or division: which one
# depends on grammar this module does not follow), "`" (template literals), "#", "@" and "\".
_TOKEN = re.compile(
    r"""(?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
      |(?P<num>[0-9][0-9A-Za-z_.]*)
      |(?P<str>'(?:[^'\\\n\r]|\\[^\n\r\u2028\u2029])*'
               |"(?:[^"\\\n\r]|\\[^\n\r\u2028\u2029])*")
      |(?P<punct>[()\[\]{};,.:?!=+\-*%&|^~<>])""",
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
_UNICODE_ESCAPE = re.compile(r"[0-9A-Fa-f]{4}|\{([0-9A-Fa-f]{1,8})\}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_TOKENS: Final = 1024

# What Util.QuoteJScriptString writes (and a browser reads back): the only escapes of a value.
_ASPNET_ESCAPES: Final = {"'": "'", '"': '"', "\\": "\\", "r": "\r", "n": "\n", "t": "\t"}


def _escapes_valid(literal: str) -> bool:
    """Whether a string token's escapes are valid JavaScript (sloppy mode, as in handlers)."""
    for match in _ESCAPE.finditer(literal, 1, len(literal) - 1):
        char = match.group(1)
        if char == "x" and not _HEX2.match(literal, match.end()):
            return False
        if char == "u":
            code = _UNICODE_ESCAPE.match(literal, match.end())
            if code is None or (code.group(1) is not None and int(code.group(1), 16) > 0x10FFFF):
                return False
    return True


def _lex(text: str, max_tokens: int = _MAX_TOKENS) -> list[_Token] | None:
    """The tokens of ``text``, or ``None`` if it holds anything the tokenizer does not know
    (or more than ``max_tokens`` tokens)."""
    tokens: list[_Token] = []
    pos, end = 0, len(text)
    while True:
        space = _SPACE.match(text, pos)
        pos = space.end() if space else pos
        if pos == end:
            return tokens
        if text.startswith("<!--", pos) or text.startswith("-->", pos):
            return None  # JavaScript's HTML-like comments
        match = _TOKEN.match(text, pos)
        if match is None or len(tokens) == max_tokens:
            return None
        kind, token = match.lastgroup or "", match.group()
        if kind == "str" and not _escapes_valid(token):
            return None
        tokens.append((kind, token))
        pos = match.end()


def _value(token: _Token) -> str | None:
    """A string token's value, if it is a string written with ASP.NET's escapes only."""
    kind, literal = token
    if kind != "str":
        return None
    body = literal[1:-1]
    if "\\" in body:
        parts: list[str] = []
        last = 0
        for match in _ESCAPE.finditer(body):
            replacement = _ASPNET_ESCAPES.get(match.group(1))
            if replacement is None:
                return None
            parts += (body[last:match.start()], replacement)
            last = match.end()
        parts.append(body[last:])
        body = "".join(parts)
    return None if _SURROGATE.search(body) else body


# --- the call shapes -------------------------------------------------------------------------

_DO_POSTBACK: Final = "__doPostBack"
_WITH_OPTIONS: Final = "WebForm_DoPostBackWithOptions"
_SET_TIMEOUT: Final = "setTimeout"
_CALLS: Final = frozenset({_DO_POSTBACK, _WITH_OPTIONS, _SET_TIMEOUT})
# Names a handler's own statements may not mention: another postback, or code run from text.
_FORBIDDEN: Final = _CALLS | {"WebForm_PostBackOptions", "setInterval", "eval", "Function",
                              "execScript"}
_JUMPS: Final = frozenset({"return", "throw", "break", "continue"})
_CONTROL_HEADS: Final = frozenset({"if", "while", "for", "with"})


def _arguments(tokens: list[_Token], at: int, shape: str) -> tuple[list[_Token], int] | None:
    """``( a, b, ... )`` at ``at``: ``s`` a string, ``b`` a boolean, ``0`` the number 0."""
    if tokens[at:at + 1] != [("punct", "(")]:
        return None
    found: list[_Token] = []
    at += 1
    for index, kind in enumerate(shape):
        if index:
            if tokens[at:at + 1] != [("punct", ",")]:
                return None
            at += 1
        if at >= len(tokens):
            return None
        token = tokens[at]
        if not ((kind == "s" and token[0] == "str")
                or (kind == "b" and token in (("id", "true"), ("id", "false")))
                or (kind == "0" and token == ("num", "0"))):
            return None
        found.append(token)
        at += 1
    if tokens[at:at + 1] != [("punct", ")")]:
        return None
    return found, at + 1


def _call(tokens: list[_Token], at: int, *, timeout: bool) -> tuple[Reference, int] | None:
    """The reference of the call starting at ``at``, and the index after the call."""
    if at >= len(tokens):
        return None
    name = tokens[at]
    if name == ("id", _DO_POSTBACK):
        parsed = _arguments(tokens, at + 1, "ss")
        if parsed is None:
            return None
        (target, argument), after = parsed
        action: str = ""
        posts_event = True
    elif name == ("id", _WITH_OPTIONS):
        if tokens[at + 1:at + 4] != [("punct", "("), ("id", "new"),
                                     ("id", "WebForm_PostBackOptions")]:
            return None
        # WebForm_PostBackOptions(eventTarget, eventArgument, validation, validationGroup,
        #                         actionUrl, trackFocus, clientSubmit)
        parsed = _arguments(tokens, at + 4, "ssbssbb")
        if parsed is None or tokens[parsed[1]:parsed[1] + 1] != [("punct", ")")]:
            return None
        target, argument, _, _, action_url, _, client_submit = parsed[0]
        url, posts_event = _value(action_url), client_submit == ("id", "true")
        if url is None or not (posts_event or url):
            return None  # (a native submission to the form's own action: nothing to read)
        action, after = url, parsed[1] + 1
    elif name == ("id", _SET_TIMEOUT) and timeout:
        parsed = _arguments(tokens, at + 1, "s0")
        code = None if parsed is None else _value(parsed[0][0])
        inner = None if code is None else _lex(code)
        reference = None if inner is None else _whole_call(inner)
        if parsed is None or reference is None:
            return None
        return reference, parsed[1]
    else:
        return None
    target_value, argument_value = _value(target), _value(argument)
    if not target_value or argument_value is None:
        return None
    return Reference(target_value, argument_value, action, posts_event), after


def _whole_call(tokens: list[_Token]) -> Reference | None:
    """The reference of a script that is exactly one call, with an optional ``;``."""
    call = _call(tokens, 0, timeout=False)
    if call is None:
        return None
    reference, after = call
    if tokens[after:] not in ([], [("punct", ";")]):
        return None
    return reference


def _statements_before(tokens: list[_Token]) -> bool:
    """Whether a handler's tokens before its call end its own statements, at the top level,
    without making the call unreachable or mentioning what the call could be confused with."""
    if not tokens:
        return True
    if tokens[-1] != ("punct", ";"):
        return False
    openers: list[tuple[str, int]] = []
    head_closed = False  # the last ")" closed to the top level was if/while/for/with's
    previous: _Token = ("punct", ";")
    for index, (kind, text) in enumerate(tokens):
        if kind == "id" and text in _FORBIDDEN:
            return False
        if kind == "punct" and text in "([{":
            openers.append((text, index))
        elif kind == "punct" and text in ")]}":
            if not openers or "([{"[")]}".index(text)] != openers[-1][0]:
                return False
            _, opened = openers.pop()
            head_closed = (not openers and text == ")" and opened > 0
                           and tokens[opened - 1][1] in _CONTROL_HEADS)
        elif kind == "id" and text in _JUMPS and not openers and previous != ("punct", "."):
            conditional = (previous == ("punct", ")") and head_closed) or previous == ("id", "else")
            if not conditional:
                return False  # the call after it would never run
        previous = (kind, text)
    return not openers


def _handler_reference(script: str) -> Reference | None:
    """The reference of an ``onclick``/``onchange`` handler whose last statement is one."""
    if _DO_POSTBACK not in script and _WITH_OPTIONS not in script:
        return None
    tokens = _lex(script)
    if tokens is None:
        return None
    start = next((i for i, (kind, text) in enumerate(tokens)
                  if kind == "id" and text in _CALLS), None)
    if start is None:
        return None
    call = _call(tokens, start, timeout=True)
    if call is None:
        return None
    reference, after = call
    rest = tokens[after:]
    if rest not in ([], [("punct", ";")], [("punct", ";"), ("id", "return"), ("id", "false")],
                    [("punct", ";"), ("id", "return"), ("id", "false"), ("punct", ";")]):
        return None
    if tokens[max(start - 2, 0):start] == [("id", "javascript"), ("punct", ":")]:
        start -= 2  # the label MergeScript writes (Util.cs)
    return reference if _statements_before(tokens[:start]) else None


# --- href ------------------------------------------------------------------------------------

_C0_AND_SPACE: Final = "".join(map(chr, range(0x21)))
_TAB_AND_NEWLINES: Final = str.maketrans("", "", "\t\n\r")
_PERCENT: Final = re.compile(rb"%([0-9A-Fa-f]{2})")


def _href_script(href: str) -> str | None:
    """The script a ``javascript:`` URL runs, as the URL parser and the HTML spec derive it."""
    url = href.strip(_C0_AND_SPACE).translate(_TAB_AND_NEWLINES)
    scheme = url[:11]
    if not scheme.isascii() or scheme.lower() != "javascript:" or _SURROGATE.search(url):
        return None
    data = _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), url[11:].encode("utf-8"))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _href_reference(href: str) -> Reference | None:
    script = _href_script(href)
    if script is None or (_DO_POSTBACK not in script and _WITH_OPTIONS not in script):
        return None
    tokens = _lex(script)
    return None if tokens is None else _whole_call(tokens)


# --- the fast path ---------------------------------------------------------------------------
#
# Tokenizing costs ~10 µs a value, and a GridView renders hundreds of links. The values ASP.NET
# writes for its own controls are a few fixed texts around the UniqueID and the argument, so
# each is matched whole (fullmatch: anchored at both ends) by one regular expression; any other
# value, or one of these whose strings hold a character the expressions leave out, is read by
# the lexer as before. _fast_match answers a reference, None, or _UNREAD (the lexer decides).
#
# Why a match can only be read as the lexer reads it (tests/test_aspnet_markup.py compares the
# two on every one-slot and one-character near miss of each shape, and on generated ones):
#   * the strings hold _PLAIN characters only: no quote of either kind (a literal ends at its
#     first quote, where the tokenizer ends it), no backslash (no escapes: _value gives the
#     text as written), no C0 control (no line break, which ends a JavaScript string; no tab,
#     CR or LF, which the URL parser removes from an href), no surrogate (which _value and
#     _href_script refuse) and no "%" (an href holds no percent-escape, so _href_script's
#     decoding gives the text back unchanged: UTF-8 there and back). U+2028 and U+2029 are
#     left out too, though the lexer reads them (they end a line in older grammars);
#   * an href match starts with "javascript:" in lowercase (the scheme _href_script wants)
#     and ends with ")" or ";": the URL parser has nothing to strip at either end;
#   * outside the strings all is fixed text, the tokens the lexer would find in the order
#     _call, _whole_call and _handler_reference accept them: each name is followed by "(",
#     " ", ",", ")", ":" or ";", so it is the whole identifier token; "0" is followed by ")",
#     so it is the number token "0"; the only spaces are single ones between tokens (which
#     the lexer skips), and there is no room for a comment, a "<!--" or "-->", or another
#     statement: a handler's only prefix is MergeScript's "javascript:" label, which
#     _handler_reference skips, and after its call it may have ";", ";return false" or
#     ";return false;", which _handler_reference allows;
#   * a setTimeout's string is the one reference ASP.NET escapes twice, with only \' escapes
#     (which _value undoes into the plain call), or the options one, with no escapes at all;
#   * a target has a character at least ("+"), as _call refuses an empty one; options whose
#     clientSubmit is false and actionUrl empty answer None, as _call does.

_PLAIN: Final = r"[^\x00-\x1f'\"\\%\u2028\u2029\ud800-\udfff]"
_CALL_FORMS: Final = {
    # __doPostBack('T','A'): GetPostBackEventReference (ClientScriptManager.cs)
    "call": rf"__doPostBack\('({_PLAIN}+)','({_PLAIN}*)'\)",
    # the same as the string of an AutoPostBack setTimeout: QuoteJScriptString'd again
    "quoted call": rf"__doPostBack\(\\'({_PLAIN}+)\\',\\'({_PLAIN}*)\\'\)",
    # WebForm_PostBackOptions(target, argument, validation, group, actionUrl, trackFocus,
    # clientSubmit), with ", " between them
    "options": (rf'WebForm_DoPostBackWithOptions\(new WebForm_PostBackOptions\("({_PLAIN}+)", '
                rf'"({_PLAIN}*)", (?:true|false), "{_PLAIN}*", "({_PLAIN}*)", (?:true|false), '
                r"(true|false)\)\)"),
}
# The href of a GridView's links (GetPostBackClientHyperlink), the commonest by far: the
# scanner's engines gather its pair themselves (html_scan.python_engine._href_call, and by
# hand in _cscan.c's href_call, which accepts exactly this language), so it is one constant.
_HREF_CALL: Final = re.compile(rf"javascript:{_CALL_FORMS['call']};?")
_FAST_HREFS: Final = (_HREF_CALL, re.compile(rf"javascript:{_CALL_FORMS['options']};?"))
# A handler: the optional label, the call (or setTimeout around it), ImageButton's ending.
_FAST_HANDLERS: Final = tuple(
    re.compile(rf"(?:javascript:)?{call}(?:;(?:return false;?)?)?")
    for call in (_CALL_FORMS["call"], _CALL_FORMS["options"],
                 rf"setTimeout\('{_CALL_FORMS['quoted call']}', 0\)",
                 rf"setTimeout\('{_CALL_FORMS['options']}', 0\)")
)


class _Unread(enum.Enum):
    """The fast path's answer to a value it does not match: the lexer must read it."""

    UNREAD = 0


_UNREAD: Final = _Unread.UNREAD
_Fast: TypeAlias = Reference | Literal[_Unread.UNREAD] | None


def _fast_match(patterns: tuple[re.Pattern[str], ...], value: str) -> _Fast:
    """What the lexer would read in ``value`` if it is one of the ``patterns``, else _UNREAD."""
    for pattern in patterns:
        match = pattern.fullmatch(value)
        if match is not None:
            groups = match.groups()
            if len(groups) == 2:
                return Reference(groups[0], groups[1])
            target, argument, action_url, client_submit = groups
            if client_submit == "true":
                return Reference(target, argument, action_url)
            return Reference(target, argument, action_url, False) if action_url else None
    return _UNREAD


def _lexed_reference(tag: str, attribute: str, value: str) -> Reference | None:
    """The reference in one attribute as the lexer reads it: the slow path, in full."""
    if len(value) > MAX_VALUE_LENGTH:
        return None
    if attribute == "href":
        return _href_reference(value) if tag in _HREF_TAGS else None
    if attribute in _HANDLERS:
        return _handler_reference(value)
    return None


# --- the public function ---------------------------------------------------------------------


def _attribute_reference(tag: str, attribute: str, value: str) -> Reference | None:
    """The reference in one attribute of a tag, if any (``tag`` and ``attribute`` lowercase)."""
    if len(value) > MAX_VALUE_LENGTH:
        return None
    if attribute == "href":
        if tag not in _HREF_TAGS:
            return None
        fast = _fast_match(_FAST_HREFS, value)
    elif attribute in _HANDLERS:
        fast = _fast_match(_FAST_HANDLERS, value)
    else:
        return None
    return _lexed_reference(tag, attribute, value) if fast is _UNREAD else fast


def references(name: str, attrs: Mapping[str, str]) -> list[Reference]:
    """A tag's ASP.NET postback references.

    ``name`` is the tag name and ``attrs`` its attributes as the HTML parser gives them
    (names lowercase, the first of duplicated names kept, character references decoded).
    Reads ``href`` (of ``a`` and ``area``), ``onclick`` and ``onchange``; returns the
    distinct references in attribute order, at most :data:`MAX_PAIRS_PER_TAG`, each pair as
    the browser would send it in ``__EVENTTARGET`` / ``__EVENTARGUMENT``. Never raises:
    whatever is not understood yields nothing. Whether the tag is inside a post form, and
    where an ``action_url`` leads, is the caller's concern.
    """
    try:
        tag = name.lower()
        found: list[Reference] = []
        seen: set[str] = set()
        for key, value in attrs.items():
            attribute = key.lower()
            if attribute not in _READ or attribute in seen or not isinstance(value, str):
                continue  # (most attributes: not read, no call)
            seen.add(attribute)
            reference = _attribute_reference(tag, attribute, value)
            if reference is not None and reference not in found:
                found.append(reference)
                if len(found) == MAX_PAIRS_PER_TAG:
                    break
        return found
    except Exception:  # a broken mapping: nothing, never an error on the response path
        return []


def event_references(name: str, attrs: Mapping[str, str]) -> list[tuple[str, str]]:
    """The distinct (target, argument) pairs a tag's references post back (see
    :func:`references`): a cross-page one's too (it posts the pair to its ``action_url``), not
    a native submission's (``clientSubmit`` false)."""
    pairs: list[Pair] = []
    for reference in references(name, attrs):
        pair = (reference.target, reference.argument)
        if reference.posts_event and pair not in pairs:
            pairs.append(pair)
    return pairs
