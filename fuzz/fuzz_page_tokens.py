"""Coverage-guided fuzzing of page tokens' descriptions (``postback_middleware.page_tokens``).

Usage: .venv/bin/python fuzz/fuzz_page_tokens.py [--seconds N] [--check FILE ...] [-- flags]

Each input is one control byte followed by UTF-8 text (undecodable bytes replaced):

* bits 0-1 of the control byte, the mode:

  - 0, **describe**: the text is a page's plain forms, a line a form: its path, a tab, and
    its events as ``target=argument`` separated by ``;``. A line ``*N rest`` stands for N
    lines ``rest``, each with ``#`` replaced by a row number (from the control byte's bits
    2-7 on), which is how lists of rows come;
  - 1, **an __EVENTVALIDATION** as a request sends it: the text;
  - 2, **a description not written here**: the text read as JSON;

* bits 2-7: the first row number (mode 0), the form's index (mode 2).

Invariants checked on every input:

* describe: each form read back (``form_at``) is exactly the form described, path and
  events, and no form follows the last; the description within the size a page token may
  take is the whole description or None, and None only when the whole one is over it; only
  ``InvalidArgument`` escapes (events JSON cannot write);
* an ``__EVENTVALIDATION`` is read (``read_event_validation``) only when ``event_validation``
  spells it back exactly; otherwise ``TokenError``, never another exception;
* any JSON value, as a description, gives a form (a path and an object) or None, or
  ``TokenError``: never another exception.
"""

from __future__ import annotations

import json
from typing import Any

import atheris  # type: ignore[import-untyped]
from runner import run

with atheris.instrument_imports(include=["postback_middleware"]):
    from postback_middleware.errors import InvalidArgument, TokenError
    from postback_middleware.page_tokens import (
        MAX_DESCRIPTION_BYTES,
        describe,
        event_validation,
        form_at,
        read_event_validation,
    )
    from postback_middleware.tokens import encode_json

Form = tuple[str, dict[str, list[str]]]


def _forms(text: str, first: int) -> list[Form]:
    """The forms the text of mode 0 spells (see the module's docstring)."""
    forms: list[Form] = []
    for line in text.split("\n")[:64]:
        count, numbered = 1, False
        if line.startswith("*"):
            head, _, line = line[1:].partition(" ")
            count, numbered = (min(int(head), 40), True) if head.isdigit() else (1, False)
        for row in range(count):
            written = line.replace("#", str(first + row)) if numbered else line
            path, _, events = written.partition("\t")
            pairs: dict[str, list[str]] = {}
            for event in events.split(";") if events else ():
                target, _, argument = event.partition("=")
                arguments = pairs.setdefault(target, [])
                if argument not in arguments:
                    arguments.append(argument)
            forms.append((path, pairs))
    return forms


def _offered(pairs: dict[str, list[str]]) -> dict[str, Any]:
    return {"e": pairs} if pairs else {}


def _check_describe(text: str, first: int) -> None:
    forms = _forms(text, first)
    try:
        whole = describe(forms, max_bytes=1 << 62)
    except InvalidArgument:
        return  # (events JSON cannot write: such forms keep tokens of their own)
    assert whole is not None
    for index, (path, pairs) in enumerate(forms):
        assert form_at(whole, index) == (path, _offered(pairs)), (index, whole)
    assert form_at(whole, len(forms)) is None
    within = describe(forms)
    small = len(encode_json(whole, plain=True)) <= MAX_DESCRIPTION_BYTES
    assert within == (whole if small else None), (within, whole)


def _check_event_validation(text: str) -> None:
    try:
        index, signature, tag = read_event_validation(text)
    except TokenError:
        return
    assert event_validation(index, signature, tag) == text


def _check_foreign_description(text: str, index: int) -> None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return
    try:
        found = form_at(value, index)
    except TokenError:
        return
    assert found is None or (type(found[0]) is str and type(found[1]) is dict), found


def test_one_input(data: bytes) -> None:
    if not data:
        return
    control, text = data[0], data[1:].decode("utf-8", "replace")
    mode, number = control & 0b11, control >> 2
    if mode == 0:
        _check_describe(text, number)
    elif mode == 1:
        _check_event_validation(text)
    elif mode == 2:
        _check_foreign_description(text, number)


if __name__ == "__main__":
    run("page_tokens", test_one_input, __doc__.splitlines()[0])
