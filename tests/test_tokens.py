"""Tokens: round trip, rotation, and every way a token can be wrong."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import pickle
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postback_middleware import page_tokens, tokens
from postback_middleware.errors import TokenError, TooLarge
from postback_middleware.tokens import Purpose, TokenSigner, decode_canonical_json, encode_json

from .helpers import token_signed, unavailable

KEY = b"k" * 16 + b"0123456789abcdefghij"
OLD_KEY = b"o" * 16 + b"ABCDEFGHIJKLMNOPQRST"
NOW = 1_800_000_000.0
VS = Purpose.VIEWSTATE
EV = Purpose.EVENT_VALIDATION


def signer(
    *keys: bytes, now: float = NOW, max_age: int = 3600, max_size: int = 4096
) -> TokenSigner:
    return TokenSigner(keys or (KEY,), max_age=max_age, max_size=max_size, clock=lambda: now)


def issue(data: object = None, *, purpose: Purpose = VS, user: str | None = None,
          path: str = "/orders", keys: tuple[bytes, ...] = (KEY,), now: float = NOW) -> str:
    return signer(*keys, now=now).sign(
        purpose, {"n": 1} if data is None else data, path=path, user=user, form_id="F1"
    )


def forge(claims: dict[str, object], *, raw: bytes | None = None, purpose: Purpose = VS) -> str:
    """A token signed with the real key whose payload this module did not write."""
    return token_signed(KEY, purpose, raw if raw is not None else json.dumps(claims).encode())


def claims(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "v": 1, "t": int(NOW), "p": "/orders", "u": None, "f": "F", "n": "N", "d": {}
    }
    base.update(changes)
    return base


def test_round_trip_keeps_data_and_form_id() -> None:
    token = issue({"clicks": 3, "names": ["é", "ß"]})
    result = signer().verify(VS, token, path="/orders", user=None)
    assert result.data == {"clicks": 3, "names": ["é", "ß"]}
    assert result.form_id == "F1"


def test_every_token_is_spelled_differently() -> None:
    """BREACH: the same state, form and second never give the same string twice."""
    s = signer()
    tokens = {s.sign(VS, {"a": 1}, path="/", user=None, form_id="same") for _ in range(50)}
    assert len(tokens) == 50


def test_signed_with_first_key_verified_with_any() -> None:
    token = issue(keys=(KEY, OLD_KEY))
    assert signer(OLD_KEY, KEY).verify(VS, token, path="/orders", user=None).data == {"n": 1}


def test_token_signed_by_retired_key_is_refused() -> None:
    token = issue(keys=(OLD_KEY,))
    with pytest.raises(TokenError, match="signature"):
        signer(KEY).verify(VS, token, path="/orders", user=None)


def test_user_binding() -> None:
    token = issue(user="session-A")
    assert signer().verify(VS, token, path="/orders", user="session-A")
    for other in ("session-B", None, ""):
        with pytest.raises(TokenError, match="another user"):
            signer().verify(VS, token, path="/orders", user=other)
    assert "session-A" not in base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()


def _flip(token: str, index: int) -> str:
    char = token[index]
    replacement = "B" if char != "B" else "C"
    return token[:index] + replacement + token[index + 1 :]


TOKEN = issue()
# A token whose spelling differs between base64url and standard base64.
URLSAFE_TOKEN = next(t for t in iter(issue, None) if "-" in t or "_" in t)
TAMPERED = [
    pytest.param(_flip(TOKEN, 0), "signature", id="payload-first-char"),
    pytest.param(_flip(TOKEN, len(TOKEN) // 3), "signature", id="payload-middle"),
    pytest.param(_flip(TOKEN, -1), "signature", id="signature-last-char"),
    pytest.param(_flip(TOKEN, TOKEN.index(".") + 1), "signature", id="signature-first-char"),
    pytest.param(TOKEN[:-1], "signature", id="truncated-by-one"),
    pytest.param(TOKEN[: TOKEN.index(".")], "no signature", id="signature-dropped"),
    pytest.param(TOKEN + "A", "signature", id="appended-char"),
    pytest.param(TOKEN + "=", "signature", id="padding-added"),
    pytest.param(TOKEN + "==", "signature", id="double-padding-added"),
    pytest.param(" " + TOKEN, "signature", id="leading-space"),
    pytest.param(TOKEN[:10] + " " + TOKEN[10:], "signature", id="space-inside"),
    pytest.param(TOKEN[:10] + "\n" + TOKEN[10:], "signature", id="newline-inside"),
    pytest.param(TOKEN.swapcase(), "signature", id="case-swapped"),
    pytest.param(URLSAFE_TOKEN.replace("-", "+").replace("_", "/"), "signature",
                 id="standard-base64"),
    pytest.param(TOKEN + "é", "non-ASCII", id="non-ascii"),
    pytest.param("", "missing", id="empty"),
    pytest.param(".", "signature", id="just-a-dot"),
    pytest.param(issue(purpose=EV), "signature", id="event-validation-as-viewstate"),
    pytest.param(
        TOKEN.split(".")[0] + "." + issue({"other": 1}).split(".")[1], "signature",
        id="payload-of-one-signature-of-another",
    ),
]


@pytest.mark.parametrize(("token", "reason"), TAMPERED)
def test_tampered_tokens_are_refused(token: str, reason: str) -> None:
    with pytest.raises(TokenError, match=reason):
        signer().verify(VS, token, path="/orders", user=None)


def test_non_canonical_signature_spelling_is_refused() -> None:
    """Same MAC bytes, different base64 spelling (unused low bits of the last character)."""
    payload, signature = TOKEN.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    variant = signature[:-1] + alphabet[last ^ 1]  # 43 chars encode 256 bits: 2 spare bits
    decode = lambda s: base64.urlsafe_b64decode(s + "=")  # noqa: E731
    assert decode(variant) == decode(signature)
    with pytest.raises(TokenError, match="signature"):
        signer().verify(VS, f"{payload}.{variant}", path="/orders", user=None)


@pytest.mark.parametrize(
    ("path", "now", "reason"),
    [
        pytest.param("/other", NOW, "another path", id="other-path"),
        pytest.param("/orders/", NOW, "another path", id="trailing-slash"),
        pytest.param("/Orders", NOW, "another path", id="path-case"),
        pytest.param("/orders", NOW + 3601, "expired", id="expired"),
        pytest.param("/orders", NOW - 3600, "future", id="issued-in-the-future"),
    ],
)
def test_binding_and_age(path: str, now: float, reason: str) -> None:
    with pytest.raises(TokenError, match=reason):
        signer(now=now).verify(VS, TOKEN, path=path, user=None)


def test_token_at_max_age_still_verifies() -> None:
    assert signer(now=NOW + 3600).verify(VS, TOKEN, path="/orders", user=None)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(forge({}, raw=pickle.dumps({"d": 1})), id="pickle"),
        pytest.param(forge({}, raw=b"\xff\x01/wEPDwUKMTk0MTQ1MTcxMWRk"), id="objectstateformatter"),
        pytest.param(forge({}, raw=b'{"v":1,"t":NaN}'), id="nan"),
        pytest.param(forge({}, raw=b"[" * 50_000 + b"]" * 50_000), id="deep-nesting"),
        pytest.param(forge({}, raw=b'{"v":1,"t":1' + b"0" * 5000 + b"}"), id="huge-integer"),
        pytest.param(forge({}, raw=b'{"v":1,"v":1,"t":1,"p":"/orders","u":null,"f":"F","d":{}}'),
                     id="duplicate-keys"),
        pytest.param(forge({}, raw=b'{"v":1,"t":1,"p":"/orders","u":null,"f":"F","d":"\\ud800"}'),
                     id="lone-surrogate"),
        pytest.param(forge(claims(), raw=json.dumps(claims(), indent=1).encode()),
                     id="non-compact-json"),
        pytest.param(forge(claims(v=2)), id="unknown-version"),
        pytest.param(forge({"v": 1}), id="missing-fields"),
    ],
)
def test_authentic_but_malformed_payloads_are_refused(token: str) -> None:
    with pytest.raises(TokenError):
        signer(max_size=10**6).verify(VS, token, path="/orders", user=None)


def test_forge_helper_makes_tokens_that_verify() -> None:
    """Guards the table above: a well-formed forged payload passes, so refusals are real."""
    compact = json.dumps(claims(), separators=(",", ":")).encode()
    token = forge(claims(), raw=compact)
    assert signer().verify(VS, token, path="/orders", user=None).form_id == "F"


def test_oversized_token_is_refused_before_any_work() -> None:
    with pytest.raises(TooLarge):
        signer().verify(VS, "A" * 5000, path="/orders", user=None)


def test_oversized_state_is_refused_at_signing() -> None:
    with pytest.raises(ValueError, match="max_state_size"):
        issue({"blob": "x" * 5000})


@pytest.mark.parametrize(
    "value",
    [pytest.param(float("nan"), id="nan"), pytest.param({1, 2}, id="set"),
     pytest.param("\ud800", id="lone-surrogate"), pytest.param(object(), id="object")],
)
def test_state_that_is_not_json_cannot_be_signed(value: object) -> None:
    with pytest.raises(ValueError):
        encode_json({"x": value})


def test_canonical_json_round_trip() -> None:
    value = {"a": [1, 2.5, -0.0, None, True], "é": "ü\u2028"}
    assert decode_canonical_json(encode_json(value)) == value


_PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@given(_PLAIN)
def test_fast_encoder_writes_the_canonical_spelling(value: object) -> None:
    """Event validation is written by orjson (``plain=True``): byte for byte the json module's
    canonical spelling, which verification re-encodes and compares."""
    try:
        canonical = encode_json(value)
    except ValueError:  # lone surrogates: neither encoder writes them
        with pytest.raises(ValueError):
            encode_json(value, plain=True)
        return
    assert encode_json(value, plain=True) == canonical
    assert decode_canonical_json(canonical) == value


def _json_reading(raw: bytes, *, plain: bool) -> tuple[str, object]:
    try:
        return "read", decode_canonical_json(raw, plain=plain)
    except (ValueError, TypeError, RecursionError):
        return "refused", None


def _json_module_reading(raw: bytes) -> tuple[str, object]:
    """The canonical reading with the json module alone (no orjson): the reference."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=lambda name: 1 / 0)
        if encode_json(value) != raw:
            return "refused", None
        return "read", value
    except (ValueError, TypeError, RecursionError, ZeroDivisionError):
        return "refused", None


_JSON_BITS = st.sampled_from([
    b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u", b"d800", b"00e9", b"1", b"-0",
    b"1.0", b"1e5", b"NaN", b"Infinity", b"true", b"null", b" ", b"\n", b'"e"', b'"a"',
    "\u00e9".encode(), b"\xff", b"\xed\xa0\x80", b"99999999999999999999",
])


_STATE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e16, -1e-7, 1.5e300, 2.5, 1e22]),  # (spelled otherwise by orjson)
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


def _spelled(value: object) -> bytes:
    try:
        return encode_json(value)
    except ValueError:  # (lone surrogates)
        return b'"x"'


@given(st.one_of(
    _PLAIN.map(lambda value: encode_json(value, plain=True)),
    _STATE.map(_spelled),
    _STATE.map(lambda value: orjson.dumps(value, default=str) if _fits_orjson(value) else b"1"),
    st.lists(_JSON_BITS, max_size=12).map(b"".join),
    st.tuples(_STATE, st.integers(0, 40), _JSON_BITS).map(
        lambda t: (lambda raw: raw[:t[1]] + t[2] + raw[t[1]:])(_spelled(t[0]))),
), st.booleans())
def test_reading_is_the_json_modules_canonical_reading(raw: bytes, plain: bool) -> None:
    """Tokens are read by orjson first (see decode_canonical_json): whatever the reading
    accepts, the json module's canonical reading accepts too, as the same value, so the faster
    reading lets no other spelling in (orjson's ``1e16`` for ``1e+16``, say); and a view state
    the json module reads (floats, big ints) is not refused."""
    verdict, value = _json_reading(raw, plain=plain)
    reference = _json_module_reading(raw)
    if verdict == "read":
        assert reference == (verdict, value)
    elif not plain:
        assert reference == ("refused", None)


@pytest.mark.parametrize(("raw", "verdict"), [
    pytest.param(b'{"a":1e+16}', "read", id="json-spelling-of-a-big-float"),
    pytest.param(b'{"a":1e16}', "refused", id="orjson-spelling-of-a-big-float"),
    pytest.param(b'{"a":1e-07}', "read", id="json-spelling-of-a-small-float"),
    pytest.param(b'{"a":1e-7}', "refused", id="orjson-spelling-of-a-small-float"),
    pytest.param(b'{"a":123456789012345678901}', "read", id="int-over-64-bits"),
    pytest.param(b'{"a":1,"a":1}', "refused", id="duplicate-key"),
    pytest.param(b'{"a":NaN}', "refused", id="nan"),
])
def test_view_state_reading_keeps_one_spelling(raw: bytes, verdict: str) -> None:
    assert _json_reading(raw, plain=False)[0] == verdict


def _fits_orjson(value: object) -> bool:
    try:
        orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return True


@given(st.binary(max_size=80))
def test_token_base64_is_itsdangerous_spelling(data: bytes) -> None:
    from itsdangerous.encoding import base64_decode, base64_encode

    from postback_middleware.tokens import _b64, _unb64

    assert _b64(data) == base64_encode(data)
    assert _unb64(_b64(data)) == base64_decode(_b64(data)) == data


@pytest.mark.parametrize("text", [b"ab!c", b"abcde", b"ab=c", b"a", b"ab\nc"],
                         ids=["bang", "length-5", "inner-padding", "length-1", "newline"])
def test_token_base64_outside_the_alphabet_is_an_error(text: bytes) -> None:
    """(Read after the MAC only; strict all the same, as itsdangerous's reading is.)"""
    from itsdangerous.encoding import base64_decode
    from itsdangerous.exc import BadData

    from postback_middleware.tokens import _unb64

    with pytest.raises(ValueError):
        _unb64(text)
    with pytest.raises(BadData):
        base64_decode(text)


def test_event_validation_tokens_verify() -> None:
    pairs = {"delete": ["1", "a\"b", "\x00\n", "\u2028é"], "sort": [""]}
    token = signer().sign(EV, pairs, path="/orders", user=None, form_id="F")
    assert signer().verify(EV, token, path="/orders", user=None).data == pairs


# -- no oracle: nothing is decoded before the MAC matches -----------------------------------


def test_mac_is_checked_before_any_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    import postback_middleware.tokens as tokens

    def explode(*args: object) -> object:
        raise AssertionError("decoded before the signature was checked")

    monkeypatch.setattr(tokens, "_unb64", explode)
    monkeypatch.setattr(tokens, "decode_canonical_json", explode)
    bomb = base64.urlsafe_b64encode(b"[" * 100_000).decode().rstrip("=")
    for token in (bomb + ".AAAA", flip_signature(TOKEN), "!!!not-base64!!!.x"):
        with pytest.raises(TokenError, match="signature"):
            signer(max_size=10**6).verify(VS, token, path="/orders", user=None)


def flip_signature(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


# -- properties ------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), JSON_VALUES, max_size=6), st.text(max_size=30),
       st.none() | st.text(max_size=20))
def test_any_json_state_round_trips(state: dict[str, object], path: str, user: str | None) -> None:
    s = signer(max_size=10**6)
    token = s.sign(VS, state, path=path, user=user, form_id="F")
    assert s.verify(VS, token, path=path, user=user).data == state


@given(st.lists(st.binary(min_size=32, max_size=40), min_size=1, max_size=4, unique=True),
       st.data())
def test_first_key_signs_any_listed_key_verifies(keys: list[bytes], data: st.DataObject) -> None:
    token = signer(*keys).sign(VS, {"a": 1}, path="/p", user=None, form_id="F")
    # Any list that still holds the signing key verifies, in any order.
    others = data.draw(st.permutations(keys))
    assert signer(*others).verify(VS, token, path="/p", user=None).data == {"a": 1}
    if len(keys) > 1:
        with pytest.raises(TokenError, match="signature"):
            signer(*keys[1:]).verify(VS, token, path="/p", user=None)


def test_a_token_of_several_paths_verifies_at_each_and_nowhere_else() -> None:
    token = signer().sign(VS, {"n": 1}, path=("/orders", "/orders/preview"), user=None,
                          form_id="F")
    for path in ("/orders", "/orders/preview"):
        assert signer().verify(VS, token, path=path, user=None).path == [
            "/orders", "/orders/preview"]
    with pytest.raises(TokenError, match="another path"):
        signer().verify(VS, token, path="/orders/other", user=None)


@given(st.binary(min_size=32, max_size=64), st.text(max_size=20),
       st.lists(st.binary(max_size=300), max_size=3))
def test_the_keyed_hmac_is_the_hmac_modules(secret: bytes, salt: str,
                                            messages: list[bytes]) -> None:
    """Signatures are made with OpenSSL's HMAC object where the hmac module holds one: the
    same bytes as ``hmac.new`` gives, copied for each message and fed in parts."""
    import hashlib
    import hmac

    from postback_middleware.tokens import _derive, _keyed

    keyed = _keyed(secret, salt)
    for _ in range(2):  # (the keyed object itself is never changed by a message)
        mac = keyed.copy()
        for message in messages:
            mac.update(message)
        assert mac.digest() == hmac.new(_derive(secret, salt), b"".join(messages),
                                        hashlib.sha256).digest()


# -- the compiled seal ------------------------------------------------------------------------

def compiled_seal() -> Any:
    """``tokens._cseal``; a test of it is skipped where it is not built (failed under CI)."""
    from postback_middleware import tokens

    if tokens._cseal is None:
        unavailable("the compiled seal (_cseal.c) is not built: no C compiler at install?")
    return tokens._cseal


def _keyed_kinds(secret: bytes) -> list[Any]:
    """The keyed HMAC objects a seal may be given: OpenSSL's (what ``_keyed`` returns where
    the hmac module holds one) and the hmac module's own."""
    import hashlib
    import hmac

    from postback_middleware.tokens import _derive, _keyed

    return [_keyed(secret, "s"), hmac.new(_derive(secret, "s"), digestmod=hashlib.sha256)]


@given(st.binary(max_size=700), st.binary(min_size=32, max_size=40))
def test_the_compiled_seal_writes_the_token_seal_writes(claims: bytes, secret: bytes) -> None:
    """Byte for byte: base64url of the claims (every length modulo 3), a dot, the HMAC's."""
    from postback_middleware.tokens import _b64, _seal

    seal = compiled_seal().seal
    for keyed in _keyed_kinds(secret):
        assert seal(claims, keyed, 10_000) == _seal(VS, _b64(claims), keyed, 10_000)


def test_the_signer_writes_the_same_tokens_without_the_compiled_seal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no C compiler built ``_cseal``, ``tokens`` seals in Python: the same tokens."""
    from postback_middleware import tokens

    compiled_seal()
    monkeypatch.setattr(tokens._RANDOM, "take", lambda size: "N" * (size // 3 * 4))
    made: dict[bool, list[str]] = {}
    for built in (True, False):
        if not built:
            monkeypatch.setattr(tokens, "_cseal", None)
        one = signer().page("browser:b").form("/orders")
        made[built] = [one.sign(VS, {}), one.sign(EV, {"e": {"t": ["a"]}}),
                       one.sign(VS, {"clicks": 3}), issue({"é": [1.5, None]}),
                       issue(purpose=EV, user="u")]
    assert made[True] == made[False]
    with pytest.raises(ValueError, match="exceeds max_state_size"):
        signer(max_size=60).sign(VS, {"big": "x" * 100}, path="/", user=None, form_id="F")


@pytest.mark.parametrize("spare", [-1, 0, 1], ids=["one-over", "exactly", "one-under"])
def test_the_compiled_seal_keeps_max_state_size(spare: int) -> None:
    """A token longer than max_state_size is not made; the one of exactly that size is, and
    the signer says why it refused, as the Python seal does."""
    from postback_middleware.tokens import _b64, _seal, _seal_claims

    seal = compiled_seal().seal
    [keyed, _] = _keyed_kinds(KEY)
    claims = b'{"d":"' + b"x" * 300 + b'"}'
    size = len(_b64(claims)) + 1 + 43
    made = seal(claims, keyed, size + spare)
    assert (made is None) is (spare < 0)
    if made is not None:
        assert made == _seal(VS, _b64(claims), keyed, size + spare)
    else:
        with pytest.raises(ValueError, match=f"VIEWSTATE token of {size} bytes exceeds"):
            _seal_claims(VS, claims, keyed, size + spare)
    assert seal(claims, keyed, 0) is None and seal(claims, keyed, -5) is None


class _Truncated:
    """A keyed object whose digest is not SHA-256's size."""

    def copy(self) -> _Truncated:
        return self

    def update(self, data: bytes) -> None:
        pass

    def digest(self) -> bytes:
        return b"short"


@pytest.mark.parametrize(("args", "error"), [
    pytest.param(("claims", _keyed_kinds(KEY)[0], 100), TypeError, id="claims-not-bytes"),
    pytest.param((b"{}", object(), 100), AttributeError, id="keyed-without-copy"),
    pytest.param((b"{}", _Truncated(), 100), ValueError, id="digest-not-sha256"),
    pytest.param((b"{}", _keyed_kinds(KEY)[0], "100"), TypeError, id="size-not-int"),
    pytest.param((b"{}", _keyed_kinds(KEY)[0]), TypeError, id="two-arguments"),
])
def test_the_compiled_seal_refuses_what_it_cannot_seal(args: tuple[object, ...],
                                                        error: type[Exception]) -> None:
    seal = compiled_seal().seal
    with pytest.raises(error):
        seal(*args)


# -- a page's forms: the claims written out up to the nonce ----------------------------------

# Text JSON must escape or may get wrong: quotes, backslashes, control characters, non-ASCII
# (Latin-1, as WSGI paths are, and beyond), and now and then a lone surrogate (not JSON).
_TEXT = st.text(st.sampled_from('"\\/\x00\x08\t\n\x0c\r\x1f\x7f\x80\xa0é€\u2028\U0001f600')
                | st.characters(), max_size=12)
_PATHS = _TEXT | st.lists(_TEXT, min_size=1, max_size=4)
_B64URL = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                  min_size=1, max_size=16)


@given(st.integers(0, 2**63 - 1), _PATHS | _TEXT.map(lambda text: text + "\ud800"),
       st.none() | _TEXT, _B64URL, _B64URL,
       st.dictionaries(_TEXT, _PLAIN, max_size=4))
def test_the_claims_head_spells_the_claims_as_json_does(
    issued: int, path: str | list[str], binding: str | None, form_id: str, nonce: str,
    data: dict[str, object],
) -> None:
    """A form's tokens are written from a head made once (``claims_head``): with the nonce and
    the data's JSON it is byte for byte the claims dict as either encoder writes it, and it
    refuses what they refuse."""
    from postback_middleware.tokens import NONCE_TO_DATA, claims_head, user_claim

    digest = signer().binding_digest(0, binding)
    whole = {"v": 1, "t": issued, "p": path, "u": digest, "f": form_id, "n": nonce, "d": data}
    try:
        expected = encode_json(whole)
    except ValueError:  # (a lone surrogate: neither way writes it)
        with pytest.raises(ValueError):
            claims_head(issued, path, user_claim(digest), form_id)
            encode_json(data, plain=True)
        return
    head = claims_head(issued, tuple(path) if isinstance(path, list) else path,
                       user_claim(digest), form_id)
    assert head + nonce.encode() + NONCE_TO_DATA + encode_json(data, plain=True) + b"}" \
        == expected == encode_json(whole, plain=True)


@given(_PATHS | _TEXT.map(lambda text: text + "\ud800"), st.none() | _TEXT,
       st.dictionaries(_TEXT, _PLAIN, max_size=3),
       st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3) | st.just({}),
       st.integers(1, 4))
def test_a_forms_tokens_are_those_sign_makes(
    path: str | list[str], binding: str | None, validation: dict[str, object],
    state: dict[str, object], signs: int,
) -> None:
    """What ``FormSigning`` signs is what ``TokenSigner.sign`` signs for the same inputs (its
    form id, nonce and second), byte for byte: event validation (written from the head) and
    view state (an empty one from the head, one the app filled as a whole), with the nonces
    read with the form id and, past them, fresh ones."""
    from unittest import mock

    from postback_middleware import tokens

    s = signer(max_size=10**6)
    one = s.page(binding).form(tuple(path) if isinstance(path, list) else path)
    for purpose, data in [(EV, validation), (VS, state)] * signs:
        nonce = one._nonces[-1] if one._nonces else "FRESHnonce12"
        with mock.patch.object(tokens, "random_text", lambda size, nonce=nonce: nonce):
            try:
                expected = s.sign(purpose, data, path=path, user=binding, form_id=one.form_id)
            except ValueError:  # (a lone surrogate: refused the same way)
                with pytest.raises(ValueError):
                    one.sign(purpose, data)
                continue
            assert one.sign(purpose, data) == expected


def test_a_forms_random_texts_are_fresh() -> None:
    """A form id and two nonces a form, read in one go: each of its size, never repeated."""
    page = signer().page(None)
    forms = [page.form("/p") for _ in range(300)]
    texts = [text for one in forms for text in (one.form_id, *one._nonces)]
    assert [len(text) for text in texts] == [16, 12, 12] * 300
    assert len(set(texts)) == len(texts)
    assert set("".join(texts)) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


# -- a callback's refreshed event validation: the token's claims signed anew -----------------

_TRICKY_PATHS = st.sampled_from(['/a,"n":"x', '/","d":{', "/\\", '/"', "/\u2028é"])


@settings(max_examples=500)
@given(_TEXT | _TRICKY_PATHS | st.lists(_TEXT, min_size=1, max_size=3),
       st.none() | _TEXT, _B64URL, st.dictionaries(_TEXT, _PLAIN, max_size=3),
       st.sampled_from([999_999_990, 1_799_999_999, 1_800_000_000]), st.integers(0, 30),
       _B64URL, _B64URL, st.none() | st.integers(0, 999_999_990), st.booleans())
def test_a_token_signed_again_is_the_one_sign_makes(
    path: str | list[str], binding: str | None, form_id: str, data: dict[str, object],
    issued: int, later: int, first_nonce: str, nonce: str, first_issued: int | None,
    retired_key: bool,
) -> None:
    """``sign_again`` (a callback's refresh) splices the token's own JSON where it can: the
    token it makes is, byte for byte, the one ``sign`` makes of the verified claims
    at that second with that nonce (the times of a different length and nonces of any
    length included), it verifies with the same claims; and a token ``sign`` wrote otherwise
    (renewed: with "o"; or bound to several paths) is left to ``sign`` (None)."""
    from unittest import mock

    from postback_middleware import tokens

    keys = (OLD_KEY, KEY) if retired_key else (KEY,)
    first = signer(*keys, now=issued, max_age=10**9, max_size=10**6)
    with mock.patch.object(tokens, "random_text", lambda size: first_nonce):
        try:
            token = first.sign(EV, data, path=path, user=binding, form_id=form_id,
                               key_index=len(keys) - 1, first_issued=first_issued)
        except ValueError:  # (a lone surrogate: not JSON)
            return
    at = path if isinstance(path, str) else path[-1]
    claims = first.verify(EV, token, path=at, user=binding)
    again = signer(*keys, now=issued + later, max_age=10**9, max_size=10**6)
    with mock.patch.object(tokens, "random_text", lambda size: nonce):
        spliced = again.sign_again(EV, claims)
        expected = again.sign(EV, claims.data, path=claims.path, user=binding,
                              form_id=claims.form_id, key_index=claims.key_index)
    if first_issued is not None or not isinstance(path, str):
        assert spliced is None
        return
    assert spliced == expected
    fresh = again.verify(EV, spliced, path=at, user=binding)
    assert (fresh.data, fresh.form_id, fresh.path, fresh.key_index, fresh.issued_at) == (
        data, form_id, path, len(keys) - 1, issued + later)


def test_claims_not_written_by_sign_are_not_signed_again() -> None:
    """Claims in another order, or a view state's, are re-signed by ``sign`` only."""
    s = signer()
    reordered = {"v": 1, "t": int(NOW), "p": "/orders", "u": None, "f": "F", "d": {},
                 "n": "N"}
    token = forge({}, raw=orjson.dumps(reordered), purpose=EV)
    assert s.sign_again(EV, s.verify(EV, token, path="/orders", user=None)) is None
    state = issue({"a": 1})
    assert s.sign_again(VS, s.verify(VS, state, path="/orders", user=None)) is None


# -- page tokens (see page_tokens) ------------------------------------------------------------

def form(index: int, tag: str | None = None) -> dict[str, Any]:
    """What names form ``index`` of a page token (as form_tokens asks), with ``tag``."""
    return {"index": index, "tag": tag, "form": functools.partial(page_tokens.form_at,
                                                                   index=index)}


ROWS = [{"n": 1, "c": 150, "r": [["/admin/users/", "/delete/", {}]]},
        ["/search", {"e": {"go": [""]}}]]
PAGE = Purpose.PAGE


def page_claims(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"v": 1, "t": int(NOW), "u": None, "f": "P", "n": "N",
                               "F": ROWS, "d": {}}
    base.update(changes)
    return base


def issue_page(state: object = None, *, user: str | None = None, now: float = NOW) -> str:
    return signer(now=now).sign_page(ROWS, {} if state is None else state, user=user,
                                     page_id="P1")


def test_a_page_token_names_each_of_its_forms_at_its_own_path() -> None:
    token = issue_page({"clicks": 2}, user="browser:B")
    row = signer().verify_page(token, **form(16), path="/admin/users/17/delete/",
                               user="browser:B")
    assert (row.page_id, row.path, row.data, row.state) == (
        "P1", "/admin/users/17/delete/", {}, {"clicks": 2})
    assert row.signature == token.rpartition(".")[2]
    search = signer().verify_page(token, **form(150), path="/search", user="browser:B")
    assert search.data == {"e": {"go": [""]}}


@pytest.mark.parametrize(
    ("index", "path", "user", "now", "reason"),
    [
        pytest.param(16, "/admin/users/18/delete/", "b", NOW, "another path", id="other-row"),
        pytest.param(150, "/admin/users/151/delete/", "b", NOW, "another path",
                     id="past-the-run"),
        pytest.param(151, "/search", "b", NOW, "no such form", id="past-the-last-form"),
        pytest.param(0, "/admin/users/1/delete/", "c", NOW, "another user",
                     id="another-browser"),
        pytest.param(0, "/admin/users/1/delete/", "b", NOW + 3601, "expired", id="expired"),
        pytest.param(0, "/admin/users/1/delete/", "b", NOW - 61, "future", id="future"),
    ],
)
def test_a_page_token_is_checked_as_a_forms_is(index: int, path: str, user: str, now: float,
                                               reason: str) -> None:
    token = issue_page(user="b")
    with pytest.raises(TokenError, match=reason):
        signer(now=now).verify_page(token, **form(index), path=path, user=user)


def test_page_tokens_and_form_tokens_never_pass_for_each_other() -> None:
    """Each purpose has its own key: a page token is no view state, and no form's token (or
    replay token) is a page token, whatever its claims."""
    page = issue_page()
    with pytest.raises(TokenError, match="signature"):
        signer().verify(VS, page, path="/search", user=None)
    for purpose in (VS, EV, Purpose.REPLAY):
        disguised = forge(page_claims(), purpose=purpose)
        with pytest.raises(TokenError, match="signature"):
            signer().verify_page(disguised, **form(0), path="/admin/users/1/delete/", user=None)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(page_claims(p="/search"), id="a-path-claim"),
        pytest.param({k: v for k, v in page_claims().items() if k != "F"}, id="no-forms"),
        pytest.param(page_claims(v=2), id="unknown-version"),
        pytest.param(page_claims(F={"0": ROWS[0]}), id="forms-not-a-list"),
        pytest.param(page_claims(o=int(NOW) + 5), id="first-issued-later"),
    ],
)
def test_authentic_but_malformed_page_tokens_are_refused(payload: dict[str, object]) -> None:
    token = forge(payload, raw=encode_json(payload), purpose=PAGE)
    with pytest.raises(TokenError):
        signer().verify_page(token, **form(0), path="/admin/users/1/delete/", user=None)


def test_a_renewed_page_token_keeps_its_first_time() -> None:
    token = signer(now=NOW + 100).sign_page(ROWS, {}, user=None, page_id="P2",
                                            first_issued=int(NOW))
    claims = signer(now=NOW + 100).verify_page(token, **form(0),
                                              path="/admin/users/1/delete/", user=None)
    assert (claims.issued_at, claims.first_issued) == (int(NOW) + 100, int(NOW))


def test_a_page_token_names_the_encoding_its_forms_are_submitted_in() -> None:
    """``"s"``, only where it is not UTF-8: a UTF-8 page's token is as it was."""
    row = "/admin/users/17/delete/"
    plain = signer().verify_page(issue_page(), **form(16), path=row, user=None)
    assert plain.encoding is None and "s" not in json.loads(base64.urlsafe_b64decode(
        issue_page().split(".")[0] + "==="))
    token = signer().sign_page(ROWS, {}, user=None, page_id="P", encoding="cp1252")
    assert signer().verify_page(token, **form(16), path=row, user=None).encoding == "cp1252"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-7", "hex", "iso2022_jp", "CP1252", 1252,
                                      None, ["cp1252"]])
def test_an_authentic_page_token_naming_no_encoding_forms_post_in_is_refused(
        encoding: object) -> None:
    """(signed by the key: only a bug writes one) UTF-8 is never named, and only encodings
    whose posts are read (as ``charset.form_encoding`` names them)."""
    payload = page_claims(s=encoding)
    with pytest.raises(TokenError, match="format"):
        signer().verify_page(forge(payload, raw=encode_json(payload), purpose=PAGE),
                             **form(0), path="/admin/users/1/delete/", user=None)


def test_a_keyed_page_tokens_forms_are_named_by_their_own_tags_only() -> None:
    """Where a form's fields could leave (see page_tokens), its index carries a tag that only
    the key makes: fields that leave name their own form, never another."""
    keyed = signer().sign_page(ROWS, {}, user=None, page_id="P", keyed=True)
    plain = issue_page()
    row = "/admin/users/17/delete/"

    def tag(token: str, index: int) -> str:
        return signer().index_tags(0, token.rpartition(".")[2], index, 1)[0]

    assert signer().verify_page(keyed, **form(16, tag(keyed, 16)), path=row, user=None)
    assert len(tag(keyed, 16)) == 16 and tag(keyed, 16) != tag(keyed, 15)
    for token, named in [(keyed, form(16)), (keyed, form(16, tag(keyed, 15))),
                         (keyed, form(16, tag(plain, 16))), (plain, form(16, tag(plain, 16))),
                         (keyed, form(16, signer().index_tag(0, 16, keyed.rpartition(".")[2])))]:
        with pytest.raises(TokenError, match="index"):
            signer().verify_page(token, **named, path=row, user=None)
    rotated = signer(OLD_KEY, KEY).sign_page(ROWS, {}, user=None, page_id="P", keyed=True)
    # (signed by the first key, checked against the key that signed it)
    old_tag = signer(OLD_KEY).index_tags(0, rotated.rpartition(".")[2], 16, 1)[0]
    assert signer(KEY, OLD_KEY).verify_page(rotated, **form(16, old_tag), path=row, user=None)


def test_a_page_token_with_tags_of_the_first_kind_keeps_verifying() -> None:
    """Pages issued before the tags came from streams (``"i": 1``: an HMAC a form) keep
    working: a form left open over a deploy still posts."""
    payload = page_claims(i=1)
    token = forge(payload, raw=encode_json(payload), purpose=PAGE)
    first_kind = signer().index_tag(0, 16, token.rpartition(".")[2])
    row = "/admin/users/17/delete/"
    assert signer().verify_page(token, **form(16, first_kind), path=row, user=None)
    with pytest.raises(TokenError, match="index"):  # (a stream's tag is not its kind)
        signer().verify_page(token, **form(16, signer().index_tags(
            0, token.rpartition(".")[2], 16, 1)[0]), path=row, user=None)
    for kind in (0, 3, "2", True, None):
        odd = page_claims(i=kind)
        with pytest.raises(TokenError, match="format"):
            signer().verify_page(forge(odd, raw=encode_json(odd), purpose=PAGE),
                                 **form(16, first_kind), path=row, user=None)


def _reference_tags(secret: bytes, signature: str, count: int) -> list[str]:
    """The tags of a page's first ``count`` forms as ``TokenSigner.index_tags`` documents
    them, written again from the standard library alone."""
    key = tokens._derive(secret, Purpose.PAGE_INDEX.value)
    seed_text = base64.urlsafe_b64encode(b"tags." + signature.encode()).rstrip(b"=")
    seed = base64.urlsafe_b64encode(hmac.new(key, seed_text, hashlib.sha256).digest())
    seed = seed.rstrip(b"=")
    tags = []
    for index in range(count):
        block, place = divmod(index, 32)
        stream = hashlib.shake_256(seed + block.to_bytes(4, "big")).digest(12 * (place + 1))
        tags.append(base64.urlsafe_b64encode(stream[12 * place:]).decode())
    return tags


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 700), st.text("abcXYZ019-_", min_size=43, max_size=43),
       st.binary(min_size=32, max_size=64))
def test_index_tags_are_the_documented_stream(count: int, signature: str,
                                              secret: bytes) -> None:
    keyed = TokenSigner([secret], max_age=60, max_size=4096)
    together = keyed.index_tags(0, signature, 0, count)
    assert together == _reference_tags(secret, signature, count)
    # (as a piece's bulk-written forms take them: one after the other, from any form on)
    assert keyed.joined_index_tags(0, signature, 0, count) == "".join(together).encode()
    assert keyed.joined_index_tags(0, signature, count // 3, count - count // 3) == "".join(
        together[count // 3:]).encode()
    assert len(set(together)) == count  # (96 bits each: no two alike)
    for index in {0, 31, 32, 63, 64, 255, 256, count - 1} & set(range(count)):
        assert keyed.index_tags(0, signature, index, 1) == [together[index]]
    if count > 2:
        assert keyed.index_tags(0, signature, 1, count - 2) == together[1:-1]


def test_a_tag_of_the_first_kind_is_the_documented_hmac() -> None:
    signature = "S" * 43
    text = base64.urlsafe_b64encode(f"17.{signature}".encode()).rstrip(b"=")
    mac = hmac.new(tokens._derive(KEY, Purpose.PAGE_INDEX.value), text, hashlib.sha256).digest()
    assert signer().index_tag(0, 17, signature) == base64.urlsafe_b64encode(mac[:12]).decode()
