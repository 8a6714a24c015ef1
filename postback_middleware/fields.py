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
ASYNCPOST = "__ASYNCPOST"  # ASP.NET AJAX's async postback flag (see aspnet.ajax)

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
        ASYNCPOST,
    }
)
RESERVED_BYTES = frozenset(name.encode("ascii") for name in RESERVED)
_FOLDED = frozenset(name.casefold() for name in RESERVED)
_LONGEST = max(map(len, RESERVED))

# Every reserved name starts with "__". The only characters NFKC and case folding turn into "_"
# are "_" itself and six look-alikes, U+FE33, U+FE34, U+FE4D-U+FE4F and U+FF3F, whose UTF-8
# encodings all start with the byte EF (tests/test_body.py checks this against all of Unicode).
# A raw urlencoded name without any of these bytes, plain or percent-encoded, cannot decode to
# anything that looks reserved, so it needs no decoding at all.
_UNDERSCORE_BYTES = (b"_", b"\xef", b"%5f", b"%5F", b"%ef", b"%eF", b"%Ef", b"%EF")

CHARSET_FIELD = "_charset_"
"""HTML's charset field: browsers fill it in with the form's encoding, some parsers decode
the other fields with it. Only UTF-8 is accepted (see ``body``)."""


def looks_reserved(name: str) -> bool:
    """True if ``name`` reads as a reserved name once case and Unicode look-alikes are folded."""
    core = name.strip()
    # NFKC and case folding never shorten a string that ends up ASCII (no character maps to
    # nothing, and composing characters gives non-ASCII ones), and whitespace maps to
    # whitespace: a longer core cannot fold to a reserved name, so it is not normalised.
    if len(core) > _LONGEST:
        return False
    return unicodedata.normalize("NFKC", core).casefold().strip() in _FOLDED


def may_look_reserved(raw_name: bytes) -> bool:
    """False when a raw (percent-encoded UTF-8) name cannot decode to a reserved look-alike.

    A cheap test in C that spares decoding the names that do not matter (nearly all of them).
    The spellings of ``_UNDERSCORE_BYTES``, looked for as a few ``in`` (memchr, not a regex,
    nor a generator: every request's query string is judged so): the escapes only where
    there is a "%", in either case at once (``bytes.lower`` folds ASCII letters only).
    """
    if b"_" in raw_name or b"\xef" in raw_name:
        return True
    if b"%" not in raw_name:
        return False
    lowered = raw_name.lower()
    return b"%5f" in lowered or b"%ef" in lowered
