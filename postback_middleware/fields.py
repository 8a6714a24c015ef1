"""The reserved form fields and the rule that tells a reserved name from a disguised one.

WebForms pages post these names; the middleware owns them. A name that only *looks* like one
(another case, a percent-encoded or Unicode look-alike spelling) is refused rather than passed
on, because the inner app's form parser might read it as the real thing.
"""

from __future__ import annotations

import unicodedata

EVENTTARGET = "__EVENTTARGET"
EVENTARGUMENT = "__EVENTARGUMENT"
VIEWSTATE = "__VIEWSTATE"
EVENTVALIDATION = "__EVENTVALIDATION"
CALLBACKID = "__CALLBACKID"
CALLBACKPARAM = "__CALLBACKPARAM"
LASTFOCUS = "__LASTFOCUS"
SCROLLPOSITIONX = "__SCROLLPOSITIONX"
SCROLLPOSITIONY = "__SCROLLPOSITIONY"
VIEWSTATEGENERATOR = "__VIEWSTATEGENERATOR"

RESERVED = frozenset(
    {
        EVENTTARGET,
        EVENTARGUMENT,
        VIEWSTATE,
        EVENTVALIDATION,
        CALLBACKID,
        CALLBACKPARAM,
        LASTFOCUS,
        SCROLLPOSITIONX,
        SCROLLPOSITIONY,
        VIEWSTATEGENERATOR,
    }
)
RESERVED_BYTES = frozenset(name.encode("ascii") for name in RESERVED)
_FOLDED = frozenset(name.casefold() for name in RESERVED)


def looks_reserved(name: str) -> bool:
    """True if ``name`` reads as a reserved name once case and Unicode look-alikes are folded."""
    return unicodedata.normalize("NFKC", name).casefold().strip() in _FOLDED
