"""Configuration: the options, their defaults and checks, and the ini text they come from.

Every option has one name, in Python (a keyword argument of ``PostbackMiddleware``) and in an
ini file (``[filter:postback]``, ``use = egg:postback-middleware``). The ini file gives text; it
is converted and checked here when the file loads, so a typo fails at start-up, not on the first
request. Handlers come in blocks of ``NAME = package.module:function`` lines::

    [filter:postback]
    use = egg:postback-middleware
    secret_keys = env:POSTBACK_SECRET_KEYS
    callbacks =
        CallServer = myapp.handlers:call_server

A secret key is never shipped: ``env:NAME`` reads keys from an environment variable, and start-up
fails on a missing key, or one without 256 bits of randomness (a phrase, a pattern, a published
sample). The PasteDeploy filter that reads the ini file is in ``paste``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import pkgutil
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from .csrf import parse_origin
from .errors import ConfigurationError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

MIN_KEY_BYTES = 32  # 256 bits of randomness
# SHA-256 of keys that appear in public documents (ours and others'), so a copied one is refused.
_SAMPLE_KEY_DIGESTS = frozenset(
    hashlib.sha256(sample.encode()).hexdigest()
    for sample in (
        "this-sample-key-is-public-so-it-is-refused-at-start-up",
        "change-me-to-a-long-random-string-of-at-least-32-bytes",
        "0123456789abcdef0123456789abcdef",
        "00000000000000000000000000000000",
    )
)
KEY_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
_BASE64URL = re.compile(rb"[A-Za-z0-9_-]+")
_BASE64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_HEX = re.compile(rb"[0-9a-fA-F]+")

UserKey = Callable[["WSGIEnvironment"], "str | None"]


def _random_bytes_of(key: str | bytes) -> bytes | None:
    """The random bytes a key spells, or None if it does not look generated.

    A key given as ``bytes`` is taken as raw bytes (``os.urandom(32)``); a text key must be
    the base64url (``secrets.token_urlsafe``), base64 or hex spelling of its bytes. A
    generated text mixes character classes as chance does: base64 has upper- and lower-case
    letters (a 43-character one lacks either with a chance under 10**-9), hex has digits and
    letters. Words and patterns ("my-app-secret-key-for-production!", "0123...") fail that,
    and what they decode to would not carry 256 bits anyway.
    """
    if isinstance(key, bytes):
        return key
    raw = key.encode("utf-8")
    if _HEX.fullmatch(raw) and len(raw) % 2 == 0:
        has_letter = any(c in b"abcdefABCDEF" for c in raw)
        has_digit = any(c in b"0123456789" for c in raw)
        return binascii.unhexlify(raw) if has_letter and has_digit else None
    if not (re.search(rb"[a-z]", raw) and re.search(rb"[A-Z]", raw)):
        return None
    try:
        if _BASE64URL.fullmatch(raw):
            return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
        if _BASE64.fullmatch(raw):
            return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return None


def _looks_random(data: bytes) -> bool:
    """Random bytes have few repeats and do not compress; patterns and repeats do."""
    return len(set(data)) >= min(len(data), 256) // 2 and len(zlib.compress(data, 9)) >= len(data)


def check_secret_keys(keys: str | bytes | Sequence[str | bytes] | None) -> tuple[bytes, ...]:
    """The key list as bytes, or ConfigurationError saying what is wrong with it.

    Each key must carry at least 256 bits of real randomness (see :func:`_random_bytes_of`).
    """
    if isinstance(keys, str | bytes):
        keys = [keys]
    if not keys:
        raise ConfigurationError(f"secret_keys is required; {KEY_HINT}")
    checked = []
    for number, key in enumerate(keys, start=1):
        if not isinstance(key, str | bytes):
            raise ConfigurationError(
                f"secret key #{number} is a {type(key).__name__}, not str or bytes; {KEY_HINT}"
            )
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(raw) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"secret key #{number} has {len(raw)} bytes; at least {MIN_KEY_BYTES} random "
                f"bytes are required; {KEY_HINT}"
            )
        if hashlib.sha256(raw).hexdigest() in _SAMPLE_KEY_DIGESTS:
            raise ConfigurationError(f"secret key #{number} is a published sample; {KEY_HINT}")
        random_bytes = _random_bytes_of(key)
        if random_bytes is None or len(random_bytes) < MIN_KEY_BYTES or not _looks_random(
            random_bytes
        ):
            raise ConfigurationError(
                f"secret key #{number} is not random: a key must be {MIN_KEY_BYTES} or more "
                f"random bytes, spelled in base64url, base64 or hex; {KEY_HINT}"
            )
        checked.append(raw)
    return tuple(checked)


@dataclass(frozen=True, kw_only=True)
class Options:
    """Every option of the middleware, checked once at start-up."""

    # Tokens older than this are refused: long enough for a form left open over lunch, short
    # enough to bound how long a leaked token can be replayed.
    max_age: int = 4 * 3600
    # Called with the WSGI environ; its value (e.g. a session id) binds tokens to one user.
    user_key: UserKey | None = None
    # Where the client script is served; the middleware owns every path below it.
    script_prefix: str = "/_postback/"
    # Largest form POST body read at all (413 beyond); uploads are spooled, not held in memory.
    max_body_size: int = 100 * 1024 * 1024
    # Largest token or reserved field; view state beyond this is refused (413).
    max_state_size: int = 128 * 1024
    # Bodies up to this size stay in memory; larger ones go to a temporary file.
    spool_threshold: int = 1024 * 1024
    # Add __SCROLLPOSITIONX/Y and __LASTFOCUS so the page comes back where the user left it.
    maintain_scroll_position: bool = False
    # Refuse every form POST that carries no valid token (CSRF protection for the whole app).
    require_token: bool = False
    # Called as on_reject(environ, reason) for every refused request, e.g. to count them.
    on_reject: Callable[[WSGIEnvironment, str], None] | None = None
    # Origins (scheme://host[:port]) whose pages may send postbacks and callbacks here besides
    # this site's own; none by default: any other site's is refused (see ``csrf``).
    trusted_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_age", "max_body_size", "max_state_size", "spool_threshold"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive integer, not {value!r}")
        prefix = self.script_prefix
        if not (isinstance(prefix, str) and prefix.startswith("/") and prefix.endswith("/")):
            raise ConfigurationError(f"script_prefix must start and end with '/': {prefix!r}")
        for name in ("user_key", "on_reject"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise ConfigurationError(f"{name} must be callable")
        if not isinstance(self.trusted_origins, tuple) or not all(
            isinstance(origin, str) for origin in self.trusted_origins
        ):
            raise ConfigurationError("trusted_origins must be a list of origins (strings)")
        for origin in self.trusted_origins:
            try:
                parse_origin(origin)
            except ValueError as exc:
                raise ConfigurationError(f"trusted_origins: {exc}") from None


OPTION_NAMES = frozenset(option.name for option in fields(Options))


# -- ini file --------------------------------------------------------------------------------


def _as_bool(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {text!r}")


def _as_int(name: str, text: str) -> int:
    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {text!r}") from None


def _resolve(name: str, reference: str) -> Any:
    try:
        return pkgutil.resolve_name(reference.strip())
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"{name}: cannot import {reference.strip()!r}: {exc}") from None


def _keys_from_text(text: str, environ: Mapping[str, str]) -> list[str]:
    keys = []
    for word in text.split():
        if word.startswith("env:"):
            variable = word[4:]
            if variable not in environ:
                raise ConfigurationError(f"secret_keys: environment variable {variable} is unset")
            keys.extend(environ[variable].split())
        else:
            keys.append(word)
    return keys


def parse_handler_block(name: str, text: str) -> dict[str, Any]:
    """``NAME = package.module:function`` lines, as in the ini file's callbacks/postbacks."""
    handlers: dict[str, Any] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        handler_name, equals, reference = line.partition("=")
        handler_name = handler_name.strip()
        if not equals or not handler_name or not reference.strip():
            raise ConfigurationError(f"{name}: expected 'NAME = package.module:function': {line!r}")
        if handler_name in handlers:
            raise ConfigurationError(f"{name}: {handler_name!r} appears twice")
        handlers[handler_name] = _resolve(f"{name} {handler_name}", reference)
    return handlers


def options_from_ini(
    settings: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Convert the text of an ini section to ``PostbackMiddleware`` keyword arguments."""
    environ = os.environ if environ is None else environ
    kwargs: dict[str, Any] = {}
    for name, text in settings.items():
        if name == "secret_keys":
            kwargs[name] = _keys_from_text(text, environ)
        elif name in ("callbacks", "postbacks"):
            kwargs[name] = parse_handler_block(name, text)
        elif name in ("user_key", "on_reject"):
            kwargs[name] = _resolve(name, text)
        elif name in ("maintain_scroll_position", "require_token"):
            kwargs[name] = _as_bool(name, text)
        elif name in ("max_age", "max_body_size", "max_state_size", "spool_threshold"):
            kwargs[name] = _as_int(name, text)
        elif name == "script_prefix":
            kwargs[name] = text.strip()
        elif name == "trusted_origins":
            kwargs[name] = tuple(text.split())
        else:
            known = ", ".join(sorted(OPTION_NAMES | {"secret_keys", "callbacks", "postbacks"}))
            raise ConfigurationError(f"unknown option {name!r}; known options: {known}")
    return kwargs
