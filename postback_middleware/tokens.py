"""Signed, JSON-only tokens for ``__VIEWSTATE`` and ``__EVENTVALIDATION``.

A token is ``<payload>.<signature>``: the payload is base64url (no padding) of canonical JSON,
the signature is HMAC-SHA256 over the payload text, base64url too. The JSON holds::

    {"v": 1, "t": issued_at, "p": path, "u": user_digest | null, "f": form_id, "n": nonce,
     "d": data}

Why each part is there:

* ``t``: tokens expire after ``max_age`` seconds; timestamps from the future are refused.
* ``p``: a token only works for the path its form posts to (query ignored).
* ``u``: an HMAC of the token's *binding*: the operator's user key (like ASP.NET's
  ViewStateUserKey) or, by default, the browser's own secret cookie (see ``csrf``), so a token
  issued to one browser or session fails in another, and neither value appears in the page.
* ``f``: a fresh random id per form and response. It ties a form's two tokens together (a view
  state cannot be mixed with another form's event validation).
* ``n``: a fresh random nonce per signature, so no token string is ever repeated, not even the
  event validation a callback refreshes, and a compressed response never repeats a secret
  (BREACH).

Verification order is the security argument: size, then the MAC (constant-time, over the exact
bytes received, against every key in the list), and only then base64 and JSON. The signature must
be spelled exactly as this module writes it, and the JSON must re-encode to the same bytes, so a
token that decodes to the same value but is spelled differently is refused. Each purpose has its
own salt, so a view-state token never passes as event validation or the other way round.

A **page token** (``page_tokens``: the token the plain post forms of a page share) has the
same parts but ``p``: its forms' paths are in its description of them, ``F``, and ``f`` is the
page's id; ``"i": 2`` says its forms' indices carry tags (:meth:`TokenSigner.index_tags`;
``"i": 1``, tags of the first kind, :meth:`TokenSigner.index_tag`, are still read);
``"s": "cp1252"`` names the encoding its forms are submitted in, when not UTF-8 (see
``charset.form_encoding``: a form's own token holds it in its data, see ``validation``). It
has a purpose of its own, so it never passes as a form's token, nor one of those as it.

Signing uses HMAC from itsdangerous with keys derived once per purpose at start-up; the first key
of the list signs, all of them verify (rotation).
"""

from __future__ import annotations

import binascii
import enum
import functools
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

from itsdangerous import Signer

try:
    import orjson
except ImportError:  # no wheel for this platform: the json module writes the same, slower
    orjson = None  # type: ignore[assignment]

from .errors import (
    InvalidArgument,
    Reason,
    StateTooLarge,
    TokenError,
    TokenExpired,
    TooLarge,
    WrongBinding,
)
from .http import is_form_encoding

try:  # the compiled twin of _seal (optional: see setup.py)
    from . import _cseal
except ImportError:  # pragma: no cover - built wherever a C compiler is
    _cseal = None  # type: ignore[assignment]

FORMAT_VERSION = 1
# Clocks of several hosts behind one load balancer disagree a little.
CLOCK_SKEW = 60


class Purpose(enum.Enum):
    """What a token is for; each purpose signs with its own derived key."""

    VIEWSTATE = "postback-middleware.viewstate"
    EVENT_VALIDATION = "postback-middleware.eventvalidation"
    # A partial postback's answer that must reach the browser as a real navigation (``partial``).
    REPLAY = "postback-middleware.replay"
    # The token the plain post forms of a page share (``page_tokens``), and its forms'
    # index tags where its indices are keyed.
    PAGE = "postback-middleware.page"
    PAGE_INDEX = "postback-middleware.page-index"

    # Members are singletons, equal only to themselves: identity hashes them as well, in C
    # (Enum's own __hash__ is Python code, run for every key lookup of every signature).
    __hash__ = object.__hash__


_USER_SALT = "postback-middleware.user"
_EVENT_DIGEST_SALT = "postback-middleware.event-digest"


class Claims(NamedTuple):
    """What a verified token says. (A named tuple: made twice for every request with tokens,
    at half a frozen dataclass's cost.)"""

    form_id: str
    issued_at: int
    data: Any
    key_index: int  # which key of the list signed it (event digests use the same key)
    first_issued: int  # when the form's first tokens were issued (renewals keep it)
    path: str | list[str] = ""  # the path it is bound to, or the paths (a form's several)
    # An event validation's claims JSON as it came, when it is as sign writes it (one path;
    # no "o"): what TokenSigner.sign_again signs anew without writing the data again. Else b"".
    json: bytes = b""


class PageClaims(NamedTuple):
    """What a verified page token says, of itself and of the form a request named (see
    ``page_tokens``)."""

    page_id: str  # its random id: with a form's index, the form's id (single_use spends it)
    issued_at: int
    path: str  # the path the form posts to (the request's)
    data: Any  # what the form offers (``validation``'s format)
    state: Any  # the view state (or the key it is kept under: see ``server_state``)
    key_index: int
    first_issued: int
    signature: str  # its signature's text: each form's __EVENTVALIDATION names it
    # The encoding its forms are submitted in (a Python codec, "s"), None for UTF-8.
    encoding: str | None = None


def _derive(secret: bytes, salt: str) -> bytes:
    signer = Signer(secret, salt=salt, key_derivation="hmac", digest_method=hashlib.sha256)
    return signer.derive_key(secret)


class Keyed(Protocol):
    """An HMAC with its key hashed in, copied for each message (see :func:`_keyed`)."""

    def copy(self) -> Keyed: ...
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


def _keyed(secret: bytes, salt: str) -> Keyed:
    """HMAC-SHA256 under the key derived for ``salt``, to be copied for each message.

    The HMAC object of OpenSSL that the ``hmac`` module holds, where it holds one (its
    ``_hmac``, on CPython with OpenSSL: its copy, update and digest are C calls), else the
    module's own object: the module's methods wrap the same calls in three Python calls a
    message, some 0.6 µs a signature, and a page signs two a form. The same bytes either way
    (``test_tokens`` holds them equal to ``hmac.new``'s)."""
    wrapper = hmac.new(_derive(secret, salt), digestmod=hashlib.sha256)
    inner: Keyed | None = getattr(wrapper, "_hmac", None)
    return inner if inner is not None else wrapper


def _b64(data: bytes) -> bytes:
    """base64url without padding, as itsdangerous's ``base64_encode`` writes it (that is
    ``base64.urlsafe_b64encode`` stripped, whose own two steps are these)."""
    text = binascii.b2a_base64(data, newline=False)
    if len(data) < 128:  # (a nonce, a signature: one call costs less than two)
        return text.translate(_URLSAFE).rstrip(b"=")
    # (a payload: two replaces cost a fifth less than one translate, which maps every byte)
    return text.replace(b"+", b"-").replace(b"/", b"_").rstrip(b"=")


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _unb64(text: bytes) -> bytes:
    """The bytes :func:`_b64` spelled (itsdangerous's ``base64_decode``, in one call of C:
    its own goes through four Python functions, paid twice by every request with tokens).
    Strict: a character outside the alphabet is an error, not skipped."""
    return binascii.a2b_base64(text.translate(_FROM_URLSAFE) + b"=" * (-len(text) % 4),
                               strict_mode=True)


class _RandomText:
    """Random base64url text from ``os.urandom``, read a few KB at a time.

    A page with 150 forms needs 450 nonces and form ids; one system call each cost more than
    signing. Reading ahead changes nothing an attacker can see: every character still comes
    from ``os.urandom`` and none is handed out twice. Each thread has its own buffer, and a
    forked worker (gunicorn ``--preload``) drops what its parent had read, so two processes
    never hand out the same text.
    """

    BATCH = 3 * 1024  # bytes a read: 4 KB of text (a multiple of 3: no padding inside)

    def __init__(self) -> None:
        self._local = threading.local()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._local = threading.local()

    def take(self, size: int) -> str:
        """The base64url text of ``size`` fresh random bytes (``size`` a multiple of 3), as
        ``secrets.token_urlsafe(size)`` spells it."""
        chars = size // 3 * 4
        local = self._local
        text: str = getattr(local, "text", "")
        at: int = getattr(local, "at", 0)
        if at + chars > len(text):
            text, at = _b64(os.urandom(self.BATCH)).decode("ascii"), 0
            local.text = text
        local.at = at + chars
        return text[at:at + chars]


_RANDOM = _RandomText()


def random_text(size: int) -> str:
    """``secrets.token_urlsafe(size)`` (``size`` a multiple of 3) from the read-ahead buffer:
    tokens' nonces and form ids, and the other secrets a response may make (the browser's
    cookie, see ``csrf``). An ``os.urandom`` call a request would cost more than the call:
    under a threaded server it lets go of the GIL, and the thread waits to get it back behind
    the others."""
    return _RANDOM.take(size)


BINDING_DIGEST_BYTES = 16
INDEX_TAG_BYTES = 12  # a keyed index's tag: 96 bits (see TokenSigner.index_tags)
INDEX_TAG_CHARS = INDEX_TAG_BYTES // 3 * 4  # in base64url: 16 characters
TAGS_A_BLOCK = 32  # a page's index tags are read from its streams this many at a time
_HMAC_TAGS, _STREAM_TAGS = 1, 2  # a page token's "i": the kind of tags its indices carry
MAC_CHARS = 43  # an HMAC-SHA256 in base64url: a token's signature


def _mac(keyed: Keyed, message: bytes) -> bytes:
    """The signature of ``message``: a copy of the keyed HMAC (its key already hashed in)."""
    mac = keyed.copy()
    mac.update(message)
    return _b64(mac.digest())


# The one canonical JSON spelling, built once (json.dumps with options builds one per call).
_CANONICAL = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def encode_json(value: Any, *, plain: bool = False) -> bytes:
    """The one canonical JSON spelling: compact, UTF-8, no NaN. Raises ValueError otherwise.

    ``plain``: the caller vouches that ``value`` holds only dicts with str keys, lists, str,
    64-bit ints, booleans and None (event validation data). orjson then writes it, about ten
    times faster and byte for byte in the same spelling (a property test holds them equal).
    """
    if plain and orjson is not None:
        try:
            return orjson.dumps(value)
        except orjson.JSONEncodeError as exc:
            raise InvalidArgument(f"not JSON-serialisable: {exc}") from exc
    try:
        return _CANONICAL.encode(value).encode("utf-8")
    except (TypeError, UnicodeEncodeError, RecursionError) as exc:
        raise InvalidArgument(f"not JSON-serialisable: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise InvalidArgument(f"non-standard JSON constant {name}")


def decode_canonical_json(raw: bytes, *, plain: bool = False) -> Any:
    """Parse JSON that must be exactly what :func:`encode_json` writes.

    That one rule refuses duplicate keys, NaN, lone surrogates and any other spelling.
    orjson reads and re-writes it first, several times faster: where the value holds no float
    (``plain``: it can hold none, see :func:`encode_json`) the two modules spell it alike, so
    orjson's verdict stands (a property test holds that it accepts nothing the json module's
    reading refuses, and reads it the same). A view state with a float (orjson spells
    ``1e+16`` as ``1e16``), or one orjson cannot read, is read by the json module.
    """
    if orjson is not None:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            if plain:
                raise
        else:  # (no float in the value: the two modules spell it alike)
            if orjson.dumps(value) == raw and (
                not _may_hold_a_float(raw) or _holds_no_float(value)
            ):
                return value
            if plain:  # (plain data has no float: a float is refused, like any other spelling)
                raise InvalidArgument("JSON is not in canonical form")
        # (a view state with a float or a 65-bit int: the json module decides)
    value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    if encode_json(value) != raw:
        raise InvalidArgument("JSON is not in canonical form")
    return value


# Where a float may be: a digit, ".", "e" or "E", then a digit or a sign, as every spelling of
# a float has it ("1.0", "1e16", "1e-7", "1e+16"; in a string too: then the value is walked).
# Found as "0.0" in the bytes mapped digits and signs to "0", those three to "." and the rest
# to " ": re.search(rb"[0-9+-][.eE][0-9+-]") (a little wider: never a float missed) in two C
# loops, several times faster. (Base64 ids in the claims rarely hold it, where a digit then
# "e" alone is common.)
_FLOAT_MAP = bytes(48 if c in b"0123456789+-" else 46 if c in b".eE" else 32 for c in range(256))


def _may_hold_a_float(raw: bytes) -> bool:
    return b"0.0" in raw.translate(_FLOAT_MAP)


def _holds_no_float(value: Any) -> bool:
    """Whether a decoded JSON value holds no float, at any depth."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is float:
            return False
        if kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
    return True


def _plain(purpose: Purpose, data: Any) -> bool:
    """Whether a token's claims are plain JSON (see :func:`encode_json`), which the fast
    encoder may write: event validation data is always {target: [argument, ...]} (the
    injector's pairs, or those of a verified token again), and so is an empty view state."""
    return purpose is Purpose.EVENT_VALIDATION or (type(data) is dict and not data)


def claims_head(issued: int, path: str | Sequence[str], between: bytes, form_id: str) -> bytes:
    """The canonical JSON of a token's claims up to its nonce's text: ``{"v":1,"t":...,
    "p":...,"u":...,"f":"...","n":"``. ``between``: the ``u`` claim as :func:`user_claim`
    writes it; ``form_id``: base64url text (:meth:`TokenSigner.new_form_id`'s alphabet, which
    JSON writes as it is). Followed by the nonce (base64url too), :data:`NONCE_TO_DATA`, the
    data's JSON and ``}``, it spells the claims dict of :meth:`TokenSigner.sign` byte for byte
    (JSON writes a dict as its keys and values, each as it writes it alone; ``test_tokens``
    holds them equal). Raises ValueError where sign's encoding would (a path JSON cannot
    write, a time past 64 bits)."""
    return b"".join((_CLAIMS_START, encode_json(issued, plain=True), b',"p":',
                     encode_json(path if isinstance(path, str) else list(path), plain=True),
                     between, form_id.encode("ascii"), b'","n":"'))


_CLAIMS_START = b'{"v":' + str(FORMAT_VERSION).encode("ascii") + b',"t":'


def user_claim(digest: str | None) -> bytes:
    """The claims' ``u`` (a binding digest, or null) between the ``p`` claim and the form id's
    text: ``,"u":...,"f":"``."""
    return b',"u":' + encode_json(digest, plain=True) + b',"f":"'


NONCE_TO_DATA = b'","d":'
# The claims' keys in the order sign writes them, without "o" (see _claims).
_SIGNED_KEYS = ("v", "t", "p", "u", "f", "n", "d")
# A page token's claims' keys, but "i", "o" and "s" (see TokenSigner.sign_page).
_PAGE_KEYS = frozenset({"v", "t", "u", "f", "n", "F", "d"})
_PAGE_OPTIONAL_KEYS = frozenset({"o", "i", "s"})


def _claims(issued: int, path: str | Sequence[str], user: str | None, form_id: str,
            nonce: str, data: Any) -> dict[str, Any]:
    """A token's claims, in their one order (see the module's docstring): ``user`` is the
    binding's digest, ``path`` one path or those of a form."""
    return {"v": FORMAT_VERSION, "t": issued, "p": path if isinstance(path, str) else list(path),
            "u": user, "f": form_id, "n": nonce, "d": data}


def _seal(purpose: Purpose, payload: bytes, keyed: Keyed, max_size: int) -> str:
    """The token of ``payload`` (the base64url of the claims' canonical JSON, :func:`_b64`'s):
    it, a dot, its signature under ``keyed``; InvalidArgument (a ValueError) when it is over
    ``max_size``."""
    token = (payload + b"." + _mac(keyed, payload)).decode("ascii")
    if len(token) > max_size:
        raise StateTooLarge(f"{purpose.name} token of {len(token)} bytes exceeds max_state_size")
    return token


def _seal_claims(purpose: Purpose, claims: bytes, keyed: Keyed, max_size: int) -> str:
    """:func:`_seal` of the base64url of ``claims`` (their canonical JSON): in one call of C
    where ``_cseal`` is built, the same token (``test_tokens`` holds the two equal)."""
    if _cseal is not None:
        token = _cseal.seal(claims, keyed, max_size)
        if token is not None:
            return token
    return _seal(purpose, _b64(claims), keyed, max_size)  # (over max_size: it says so)


class PageSigning:
    """Signs the forms of one response for one browser or user, byte for byte as
    :meth:`TokenSigner.sign` signs them: what all of them share (the binding's digest, the
    keys) is looked up once, not twice a form (a page may have 150 forms)."""

    __slots__ = ("between", "keys", "max_size", "signer", "user")

    def __init__(self, signer: TokenSigner, user: str | None) -> None:
        self.signer = signer
        self.user = user
        # (the first key signs what is issued)
        self.between = user_claim(signer.binding_digest(0, user))
        self.keys = {purpose: keys[0] for purpose, keys in signer._keys.items()}
        self.max_size = signer.max_size

    def form(self, path: str | Sequence[str]) -> FormSigning:
        """The signer of one form's tokens, bound to ``path`` (its one path, or its several)."""
        return FormSigning(self, path)


class FormSigning:
    """Signs the tokens of one form (its event validation and view state, and any fallback),
    with a fresh form id: issued at the same second, the form id and the two nonces read in
    one go, and the claims written out up to the nonce once (see :func:`claims_head`)."""

    __slots__ = ("_head", "_issued", "_nonces", "_page", "_path", "form_id")

    def __init__(self, page: PageSigning, path: str | Sequence[str]) -> None:
        # A form id and two nonces (12 + 9 + 9 bytes: each whole groups of four characters)
        # from one read of os.urandom's text, none ever handed out again.
        text = random_text(30)
        self.form_id = text[:16]
        self._nonces = [text[28:], text[16:28]]
        self._page, self._path = page, path
        self._issued = issued = int(page.signer.now())
        self._head: bytes | None
        try:
            self._head = claims_head(issued, path, page.between, self.form_id)
        except ValueError:  # (JSON cannot write it: each token fails as sign's would)
            self._head = None

    def sign(self, purpose: Purpose, data: Any) -> str:
        """A token for ``data``, as ``TokenSigner.sign(purpose, data, path=..., user=...,
        form_id=self.form_id)`` makes it; raises ValueError if the data is not plain JSON or
        the token does not fit max_state_size."""
        nonces = self._nonces
        nonce = nonces.pop() if nonces else random_text(9)  # (a fallback's: a fresh one)
        head, page = self._head, self._page
        empty = type(data) is dict and not data
        if head is not None and (empty or purpose is Purpose.EVENT_VALIDATION):
            claims = b"".join((head, nonce.encode("ascii"), NONCE_TO_DATA,
                               b"{}" if empty else encode_json(data, plain=True), b"}"))
        else:  # (a view state the app filled: the claims written as a whole, as sign does)
            claims = encode_json(
                _claims(self._issued, self._path, page.signer.binding_digest(0, page.user),
                        self.form_id, nonce, data),
                plain=_plain(purpose, data))
        return _seal_claims(purpose, claims, page.keys[purpose], page.max_size)


class TokenSigner:
    """Issues and verifies tokens for one key list."""

    def __init__(
        self,
        secret_keys: Sequence[bytes],
        *,
        max_age: int,
        max_size: int,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not secret_keys:
            raise InvalidArgument("at least one secret key is required")
        # Derive every (key, purpose) pair once; a request then costs one HMAC per token.
        self._keys = {
            purpose: [_keyed(key, purpose.value) for key in secret_keys] for purpose in Purpose
        }
        self._user_keys = [_keyed(key, _USER_SALT) for key in secret_keys]
        self._event_keys = [_keyed(key, _EVENT_DIGEST_SALT) for key in secret_keys]
        # A response signs two tokens a form for one binding: its digest is made once.
        self._binding_digest = functools.lru_cache(maxsize=256)(self._binding_digest_uncached)
        self.max_age = max_age
        self.max_size = max_size
        # None: read time.time() on every call (so tests can move the clock).
        self._clock = clock

    def now(self) -> float:
        """The time tokens are issued and judged by (seconds since the epoch)."""
        return time.time() if self._clock is None else self._clock()

    @staticmethod
    def new_form_id() -> str:
        return random_text(12)

    def binding_digest(self, key_index: int, user: str | None) -> str | None:
        """What a token's claims carry (``u``) for the browser or user it is bound to (None:
        bound to no one), under key ``key_index``: a keyed digest, so the binding itself
        (a cookie, a session id) never travels in the page."""
        if user is None:
            return None
        return self._binding_digest(key_index, user)

    def _binding_digest_uncached(self, key_index: int, binding: str) -> str:
        encoded = binding.encode("utf-8", "surrogatepass")
        mac = self._user_keys[key_index].copy()
        mac.update(encoded)
        # 128 bits tell bindings apart as surely as 256 (no one can sign a token without the
        # key anyway), and every token carries it: a partial answer carries two per form.
        return _b64(mac.digest()[:BINDING_DIGEST_BYTES]).decode("ascii")

    def sign(
        self, purpose: Purpose, data: Any, *, path: str | Sequence[str], user: str | None,
        form_id: str,
        key_index: int = 0, first_issued: int | None = None,
    ) -> str:
        """Return a token for ``data``; raises ValueError if the data is not plain JSON.

        The first key signs, unless ``key_index`` says which: a token signed anew (renewed,
        refreshed) keeps the key of the one it replaces, so removing a key still ends all it
        signed, and event digests (keyed likewise) still match. ``first_issued``: when the
        token it replaces was first issued (kept through renewals, see ``form_tokens``).
        """
        claims = _claims(int(self.now()), path, self.binding_digest(key_index, user), form_id,
                         random_text(9), data)
        if first_issued is not None:
            claims["o"] = first_issued
        return _seal_claims(purpose, encode_json(claims, plain=_plain(purpose, data)),
                            self._keys[purpose][key_index], self.max_size)

    def sign_again(self, purpose: Purpose, claims: Claims) -> str | None:
        """A verified token's claims signed anew, at this second with a fresh nonce: byte for
        byte what :meth:`sign` makes of ``claims.data`` for its path, binding, form id and key
        (a callback's refreshed event validation), without writing the data's JSON again.

        The token's own JSON is spliced: its time and nonce replaced, the rest kept (the data
        that follows is as sign writes it: the JSON was canonical), then sealed as sign seals
        (one call of C where ``_cseal`` is built). None when the claims were not kept for
        this (see :class:`Claims`): sign them so.
        """
        raw, start = claims.json, len(_CLAIMS_START)
        old_time = str(claims.issued_at).encode("ascii")
        if not (raw.startswith(_CLAIMS_START) and raw.startswith(old_time + b',"p":', start)):
            return None
        # Its nonce's text: after the first ',"n":"' (p, u and f before it are strings, null:
        # none holds an unescaped quote), to the first '","d":' (the nonce is a string too).
        nonce_at = raw.find(b',"n":"', start) + 6
        nonce_end = raw.find(b'","d":', nonce_at)
        if nonce_at < 6 or nonce_end < 0:
            return None
        issued = str(int(self.now())).encode("ascii")
        nonce = random_text(9).encode("ascii")
        text = b"".join((raw[:start], issued, raw[start + len(old_time):nonce_at], nonce,
                         raw[nonce_end:]))
        return _seal_claims(purpose, text, self._keys[purpose][claims.key_index], self.max_size)

    def page(self, user: str | None) -> PageSigning:
        """What signs the forms of one response, for the browser or user ``user``."""
        return PageSigning(self, user)

    def verify(self, purpose: Purpose, token: str, *, path: str, user: str | None,
               max_age: int | None = None) -> Claims:
        """Return the claims of a valid token, or raise TokenError / TooLarge with the reason.

        The age is checked last, so :class:`TokenExpired` means an authentic token of this path
        and binding that is older than ``max_age`` (the signer's unless given): a form left
        open, whose tokens may be renewed (see ``form_tokens``).
        """
        claims, key_index, raw_claims = self._open(purpose, token)
        form_id, issued = self._judge(purpose, claims)
        try:
            token_path, data = claims["p"], claims["d"]
        except KeyError as exc:
            raise TokenError(f"{purpose.name} payload is malformed: {exc}") from None
        if token_path != path and not (isinstance(token_path, list) and path in token_path):
            raise TokenError(f"{purpose.name} token was issued for another path")
        first = self._finish(purpose, claims, key_index, issued, user, max_age)
        # (positional: a named tuple made with keywords costs twice as much, twice a request)
        if (purpose is Purpose.EVENT_VALIDATION and tuple(claims) == _SIGNED_KEYS
                and type(token_path) is str and type(claims["n"]) is str):
            return Claims(form_id, issued, data, key_index, first, token_path,
                          raw_claims)  # (as sign writes them: sign_again may sign them anew)
        return Claims(form_id, issued, data, key_index, first, token_path)

    def sign_page(self, forms: Any, state: Any, *, user: str | None, page_id: str,
                  keyed: bool = False, key_index: int = 0, first_issued: int | None = None,
                  encoding: str | None = None) -> str:
        """A page token (see ``page_tokens``): ``forms`` (``page_tokens.describe``'s) and the
        view state ``state`` for the browser or user ``user``; raises ValueError as
        :meth:`sign` does. ``keyed``: its forms' indices carry tags (:meth:`index_tags`).
        ``key_index`` and ``first_issued``: as :meth:`sign`'s (a renewal). ``encoding``: the
        one its forms are submitted in, when not UTF-8 (``charset.form_encoding``)."""
        claims: dict[str, Any] = {"v": FORMAT_VERSION, "t": int(self.now()),
                                  "u": self.binding_digest(key_index, user), "f": page_id,
                                  "n": random_text(9), "F": forms, "d": state}
        if keyed:
            claims["i"] = _STREAM_TAGS
        if first_issued is not None:
            claims["o"] = first_issued
        if encoding is not None:
            claims["s"] = encoding
        return _seal_claims(Purpose.PAGE, encode_json(claims, plain=_plain(Purpose.PAGE, state)),
                            self._keys[Purpose.PAGE][key_index], self.max_size)

    def verify_page(self, token: str, *, index: int, tag: str | None,
                    form: Callable[[Any], tuple[str, Any] | None], path: str,
                    user: str | None, max_age: int | None = None) -> PageClaims:
        """The claims of a valid page token and of its form ``index`` (with its ``tag``, None
        if it came without one), which must post to ``path``: checked in :meth:`verify`'s
        order (the age last), the index's tag with the signature, the form's path where a
        form token's is. ``form(forms)``: that form's path and data, read from the token's
        description of its forms (``page_tokens.form_at``), None if it describes no such
        form."""
        claims, key_index, _ = self._open(Purpose.PAGE, token)
        keyed, signature = claims.get("i"), token.rpartition(".")[2]
        encoding = claims.get("s")
        if claims.keys() - _PAGE_OPTIONAL_KEYS != _PAGE_KEYS or ("i" in claims and not (
                type(keyed) is int and keyed in (_HMAC_TAGS, _STREAM_TAGS))) or (
                "s" in claims and not is_form_encoding(encoding)):
            raise TokenError("PAGE payload has an unknown format")
        if (keyed is None) != (tag is None):
            raise TokenError("PAGE token's form index is not one it was issued with")
        page_id, issued = self._judge(Purpose.PAGE, claims)
        found = form(claims["F"])
        if found is None:
            raise TokenError("PAGE token describes no such form")
        # (its indices keyed: each form's own tag, which only the key makes; the index is
        # one of the token's forms by now, so its tag's block is one the page had)
        if tag is not None and not hmac.compare_digest(tag, (
                self.index_tags(key_index, signature, index, 1)[0] if keyed == _STREAM_TAGS
                else self.index_tag(key_index, index, signature))):
            raise TokenError("PAGE token's form index is not one it was issued with")
        form_path, data = found
        if form_path != path:
            raise TokenError("PAGE token's form was issued for another path")
        first = self._finish(Purpose.PAGE, claims, key_index, issued, user, max_age)
        return PageClaims(page_id, issued, form_path, data, claims["d"], key_index, first,
                          signature, encoding)

    def index_tags(self, key_index: int, signature: str, first: int, count: int) -> list[str]:
        """The tags of forms ``first`` ... ``first + count - 1`` of the page token whose
        signature is ``signature`` (where its indices are keyed: see ``page_tokens``), under
        key ``key_index``: 12 bytes each, in base64url, read from the page's streams.

        The page's seed is the HMAC, under a key of its own, of ``tags.<signature>`` (in
        base64url, as a token's claims are signed: never an index's text, which is digits);
        its block ``b`` of tags is the SHAKE-256 of the seed and ``b`` (four bytes), whose
        12 bytes from ``12 * (i % TAGS_A_BLOCK)`` are the tag of index ``i`` of that block.
        One HMAC a page and one SHAKE a block of 32 forms, where an HMAC a form took 1.1 µs;
        a tag checked alone reads at most its block (384 bytes: 3 µs, one HMAC and one SHAKE,
        where the HMAC of the first kind took 1.2). The blocks keep both small. The tags are a
        keyed function's outputs at distinct places: one form's, seen, tells nothing of
        another's."""
        text = self.joined_index_tags(key_index, signature, first, count).decode("ascii")
        return [text[place:place + INDEX_TAG_CHARS]
                for place in range(0, len(text), INDEX_TAG_CHARS)]

    def joined_index_tags(self, key_index: int, signature: str, first: int, count: int
                          ) -> bytes:
        """:meth:`index_tags`, one after the other (``INDEX_TAG_CHARS`` ASCII bytes each):
        what a piece's bulk-written forms take, made without a Python step a form (a tag is
        12 bytes, a whole number of base64 groups: the stream's base64url is the tags'). A
        hundred and fifty forms: about 10 µs, where a tag a string took 45."""
        seed = _mac(self._keys[Purpose.PAGE_INDEX][key_index],
                    _b64(b"tags." + signature.encode("ascii")))
        streams: list[bytes] = []
        at, stop = first, first + count
        while at < stop:
            block, start = divmod(at, TAGS_A_BLOCK)
            end = min(TAGS_A_BLOCK, start + stop - at)
            stream = hashlib.shake_256(seed + block.to_bytes(4, "big")).digest(
                INDEX_TAG_BYTES * end)
            streams.append(stream[INDEX_TAG_BYTES * start:] if start else stream)
            at += end - start
        return _b64(b"".join(streams))

    def index_tag(self, key_index: int, index: int, signature: str) -> str:
        """A tag of the first kind (a page token whose ``"i"`` is 1, issued before
        :meth:`index_tags`): the first 12 bytes of the signature a token of the text
        ``<index>.<signature>`` would have (:func:`_seal`: the HMAC of its base64url), with a
        key of its own. Still read, so that forms left open keep working."""
        keyed = self._keys[Purpose.PAGE_INDEX][key_index]
        return _mac(keyed, _b64(f"{index}.{signature}".encode("ascii")))[
            :INDEX_TAG_CHARS].decode("ascii")

    def _open(self, purpose: Purpose, token: str) -> tuple[dict[str, Any], int, bytes]:
        """A token's claims (a dict), the index of the key that signed it and their JSON:
        checked for size, then the signature, and only then decoded (TokenError /
        TooLarge else)."""
        if not token:
            raise TokenError(f"{purpose.name} token is missing", kind=Reason.MISSING_TOKEN)
        if len(token) > self.max_size:
            raise TooLarge(f"{purpose.name} token of {len(token)} bytes exceeds max_state_size")
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            raise TokenError(f"{purpose.name} token has non-ASCII characters") from None
        payload, dot, signature = raw.rpartition(b".")
        if not dot:
            raise TokenError(f"{purpose.name} token has no signature")
        key_index = self._matching_key(purpose, payload, signature)
        if key_index is None:
            raise TokenError(f"{purpose.name} signature does not match any key")
        # Authentic from here on: only now is anything decoded.
        try:
            raw_claims = _unb64(payload)
            claims = decode_canonical_json(raw_claims, plain=purpose is Purpose.EVENT_VALIDATION)
        except (ValueError, TypeError, RecursionError) as exc:  # (binascii.Error too)
            raise TokenError(f"{purpose.name} payload is malformed: {exc}") from None
        if type(claims) is not dict:
            raise TokenError(f"{purpose.name} payload is malformed: not an object")
        return claims, key_index, raw_claims

    @staticmethod
    def _judge(purpose: Purpose, claims: dict[str, Any]) -> tuple[str, int]:
        """The form id and time of an authentic token's claims, once its version and time
        are checked."""
        try:
            version, issued, form_id, _ = claims["v"], claims["t"], claims["f"], claims["u"]
        except KeyError as exc:
            raise TokenError(f"{purpose.name} payload is malformed: {exc}") from None
        if version != FORMAT_VERSION or not isinstance(issued, int) or not isinstance(form_id, str):
            raise TokenError(f"{purpose.name} payload has an unknown format")
        return form_id, issued

    def _finish(self, purpose: Purpose, claims: dict[str, Any], key_index: int, issued: int,
                user: str | None, max_age: int | None) -> int:
        """When the form's first tokens were issued, once an authentic token's time, binding
        and age are checked (the age last: see :meth:`verify`)."""
        now = self.now()
        if issued > now + CLOCK_SKEW:
            raise TokenError(f"{purpose.name} token was issued in the future")
        if claims["u"] != self.binding_digest(key_index, user):
            raise WrongBinding(f"{purpose.name} token was issued to another user or browser")
        limit = self.max_age if max_age is None else max_age
        if now - issued > limit:
            raise TokenExpired(f"{purpose.name} token expired {int(now - issued - limit)}s ago")
        first = claims.get("o", issued)
        if not isinstance(first, int) or first > issued:
            raise TokenError(f"{purpose.name} payload has an unknown format")
        return first

    def event_digest(self, key_index: int, target: str, argument: str) -> bytes:
        """A keyed digest of an event pair (``validation`` keeps the first bytes of it)."""
        mac = self._event_keys[key_index].copy()
        encoded = target.encode("utf-8", "surrogatepass")
        mac.update(len(encoded).to_bytes(4, "big") + encoded)
        mac.update(argument.encode("utf-8", "surrogatepass"))
        return mac.digest()

    def _matching_key(self, purpose: Purpose, payload: bytes, signature: bytes) -> int | None:
        """Index of the key whose signature matches, compared in constant time per key."""
        match = None
        for index, key in enumerate(self._keys[purpose]):
            if hmac.compare_digest(_mac(key, payload), signature) and match is None:
                match = index
        return match
