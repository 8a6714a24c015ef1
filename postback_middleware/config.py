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
import difflib
import hashlib
import inspect
import itertools
import math
import os
import pkgutil
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, cast

from .body import MAX_FORM_FIELDS
from .csrf import parse_origin
from .errors import ConfigurationError, Reason, UnknownOption, UsageError
from .stores import RedisStore, Store, open_store

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .refusal import RenderRefusal

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
_PRINTABLE = re.compile(rb"[\x20-\x7e]+")

UserKey = Callable[["WSGIEnvironment"], "str | None"]


def _random_bytes_of(key: str | bytes) -> bytes | None:
    """The random bytes a key spells, or None if it does not look generated.

    A key given as ``bytes`` is taken as raw bytes (``os.urandom(32)``), unless all of them are
    printable ASCII (32 random bytes are, with a chance under 10**-13): that is text, judged as
    text. A text key must be the base64url (``secrets.token_urlsafe``), base64 or hex spelling
    of its bytes. A generated text mixes character classes as chance does: base64 has upper-
    and lower-case letters (a 43-character one lacks either with a chance under 10**-9), hex
    has digits and letters. Words and patterns ("my-app-secret-key-for-production!",
    "0123...") fail that; and as letters spell base64 whatever they say, a text that counts up
    or down, or reads as words, is refused before it is decoded.
    """
    if isinstance(key, bytes):
        if not _PRINTABLE.fullmatch(key):
            return key
        key = key.decode("ascii")
    raw = key.encode("utf-8")
    if _counts_up_or_down(key):
        return None
    if _HEX.fullmatch(raw) and len(raw) % 2 == 0:
        has_letter = any(c in b"abcdefABCDEF" for c in raw)
        has_digit = any(c in b"0123456789" for c in raw)
        return binascii.unhexlify(raw) if has_letter and has_digit else None
    if not (re.search(rb"[a-z]", raw) and re.search(rb"[A-Z]", raw)):
        return None
    if _reads_as_words(key):
        return None
    try:
        if _BASE64URL.fullmatch(raw):
            return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
        if _BASE64.fullmatch(raw):
            return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return None


def _counts_up_or_down(text: str) -> bool:
    """Whether over half of the text's neighbours are one apart ("AbcdefGHIJ", "0123456789"):
    in a generated key about one in 32 are (one in 8 in hex)."""
    steps = sum(abs(ord(a) - ord(b)) == 1 for a, b in itertools.pairwise(text))
    return steps * 2 > len(text) - 1


# How often each letter comes in English text (per mille): a key spelled as words spends its
# letters as English does, a generated one evenly (see _reads_as_words).
_ENGLISH = dict(zip("etaoinshrdlcumwfgypbvkjxqz",
                    (127, 91, 82, 75, 70, 67, 63, 61, 60, 43, 40, 28, 28, 24, 24, 22, 20, 20,
                     19, 15, 10, 8, 1.5, 1.5, 1, 0.7), strict=True))
_ENGLISH_WEIGHT = {letter: math.log(share / sum(_ENGLISH.values()) * 26)
                   for letter, share in _ENGLISH.items()}
_WORD_LIKE = re.compile(r"[a-z]{4,}|[A-Z]{4,}")


def _reads_as_words(text: str) -> bool:
    """Whether a text reads as words ("ThisIsMyVerySecretPasswordForProduction"): its letters
    are far likelier under English letter frequencies than under even ones (by a factor over
    e**10), and runs of four or more letters of one case make over 30 % of it. Of three million
    generated 43-character keys (base64url and base64), none does (seven would at e**8); a
    phrase of English words does, however spelled (CamelCase, dashes: e**12 to e**20)."""
    weight = sum(_ENGLISH_WEIGHT.get(char, 0.0) for char in text.lower())
    in_runs = sum(len(run) for run in _WORD_LIKE.findall(text))
    return weight > 10 and in_runs > 0.3 * len(text)


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
    if not isinstance(keys, Sequence):  # (a set: which key signs would change from run to run)
        raise ConfigurationError(
            f"secret_keys must be a list (the first key signs, the others still verify), not "
            f"a {type(keys).__name__}")
    checked = []
    for number, key in enumerate(keys, start=1):
        if not isinstance(key, str | bytes):
            raise ConfigurationError(
                f"secret key #{number} is a {type(key).__name__}, not str or bytes; {KEY_HINT}"
            )
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        words = raw.split()  # (text with white space in it; random bytes hold some, too)
        if words != [raw] and _PRINTABLE.fullmatch(b"".join(words) or b"-"):
            raise ConfigurationError(
                f"secret key #{number} holds white space (a newline read from a file, or "
                f"several keys in one string?): give each key alone, e.g. "
                f"os.environ['POSTBACK_SECRET_KEYS'].split()")
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



# -- reading ini text (one converter per kind of option) -------------------------------------


def _ini_bool(name: str, text: str, environ: Mapping[str, str]) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {text!r}")


def _ini_int(name: str, text: str, environ: Mapping[str, str]) -> int:
    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {text!r}") from None


def _ini_text(name: str, text: str, environ: Mapping[str, str]) -> str:
    return text.strip()


def _ini_words(name: str, text: str, environ: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(text.split())


def _ini_function(name: str, text: str, environ: Mapping[str, str]) -> Any:
    return _resolve(name, text)


def _ini_keys(name: str, text: str, environ: Mapping[str, str]) -> list[str]:
    """Whitespace-separated keys; ``env:NAME`` stands for the keys in that variable."""
    keys = []
    for word in text.split():
        if word.startswith("env:"):
            variable = word[4:]
            if variable not in environ:
                raise ConfigurationError(f"{name}: environment variable {variable} is unset")
            keys.extend(environ[variable].split())
        else:
            keys.append(word)
    return keys


def _ini_handlers(name: str, text: str, environ: Mapping[str, str]) -> dict[str, Any]:
    return parse_handler_block(name, text)


def _resolve(name: str, reference: str) -> Any:
    try:
        return pkgutil.resolve_name(reference.strip())
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"{name}: cannot import {reference.strip()!r}: {exc}") from None


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


# -- checking values (one check per kind of option; each returns the value to keep) ----------


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive integer, not {value!r}")
    return value


def _token_size(name: str, value: Any) -> int:
    # (a size the compiled sealer reads as a C size: past it, every page's tokens would fail)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= sys.maxsize:
        raise ConfigurationError(
            f"{name} must be a positive integer of at most {sys.maxsize} (bytes; "
            f"{128 * 1024} by default), not {value!r}")
    return value


def _field_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(
            f"{name} must be a positive integer (how many fields a form POST may have; "
            f"{MAX_FORM_FIELDS} by default, raise it for a form with more, such as a large "
            f"formset), not {value!r}")
    return value


def _whole_seconds(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{name} must be a whole number of seconds (0 or more), "
                                 f"not {value!r}")
    return value


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False, not {value!r}")
    return value


def _prefix(name: str, value: Any) -> str:
    if not (isinstance(value, str) and value.startswith("/") and value.endswith("/")):
        raise ConfigurationError(f"{name} must start and end with '/': {value!r}")
    if value == "/" or not _PATH_PREFIX.fullmatch(value):  # (every path; one never requested)
        raise ConfigurationError(
            f"{name} must be a path of its own below '/', of letters, digits and '-._~/' (the "
            f"middleware owns every path below it, and serves its script there): {value!r}")
    return value


_PATH_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)+/")


def check_call(what: str, function: Any, called_as: str, *,
               error: type[UsageError] = ConfigurationError) -> None:
    """Refuse at start-up a callable that cannot be called as the middleware will call it
    (``called_as``, e.g. ``"user_key(environ)"``: as many positional arguments as it names),
    rather than on every request; one whose signature Python cannot read is let be."""
    arguments = called_as[called_as.index("(") + 1:-1]
    try:
        inspect.signature(function).bind(*arguments.split(",") if arguments else ())
    except TypeError:
        raise error(f"{what} is called as {called_as}, which {function!r} cannot take") from None
    except ValueError:  # (a builtin without a signature)
        return


def _function_or_none(name: str, value: Any) -> Any:
    """A function, or (as in an ini file) its ``"package.module:function"`` name, or None,
    that takes the arguments the middleware calls it with (``_CALLED_AS``)."""
    if isinstance(value, str):
        value = _resolve(name, value)
    if value is not None and not callable(value):
        raise ConfigurationError(f"{name} must be callable (or None), not {type(value).__name__}")
    if value is not None:
        check_call(name, value, _CALLED_AS[name])
    return value


_CALLED_AS = {"user_key": "user_key(environ)", "on_reject": "on_reject(environ, reason)",
              "render_refusal": "render_refusal(environ, refusal)"}


def _handlers(name: str, value: Any) -> Mapping[str, Any]:
    """Names mapped to handlers, each a function or class or (as in an ini file) its
    ``"package.module:function"`` name."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name} must map names to functions, not {type(value).__name__}")
    return {
        handler_name: _resolve(f"{name} {handler_name}", handler)
        if isinstance(handler, str) else handler
        for handler_name, handler in value.items()
    }


def _origins(name: str, value: Any) -> tuple[str, ...]:
    origins = (value,) if isinstance(value, str) else value  # one origin may be a plain string
    if not isinstance(origins, Iterable) or isinstance(origins, bytes | Mapping):
        raise ConfigurationError(f"{name} must be a list of origins (strings)")
    origins = tuple(origins)
    if not all(isinstance(origin, str) for origin in origins):
        raise ConfigurationError(f"{name} must be a list of origins (strings)")
    for origin in origins:
        try:
            parse_origin(origin)
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {exc}") from None
    return tuple(origins)


def _keys(name: str, value: Any) -> tuple[bytes, ...]:
    return check_secret_keys(value)


# -- the store (issue #20): a Store, or its URL, made and checked once at start-up ----------

_STORE_METHODS = ("add", "put", "get", "delete")


def _ini_store(name: str, text: str, environ: Mapping[str, str]) -> str:
    """One URL; ``env:NAME`` reads it from an environment variable (it may hold a password)."""
    words = _ini_keys(name, text, environ)
    if len(words) != 1:
        raise ConfigurationError(f"{name} must be one URL (or env:NAME), not {len(words)} words")
    return words[0]


def _store(name: str, value: Any) -> Store | None:
    """The store: as given, or made from its URL (see ``stores.open_store``); a Redis store's
    eviction policy is checked once, at start-up (``RedisStore.check``)."""
    if isinstance(value, str):
        value = open_store(value)
    if isinstance(value, RedisStore):
        if not value.checked:
            value.check()
    elif value is not None and not all(
            callable(getattr(value, method, None)) for method in _STORE_METHODS):
        raise ConfigurationError(
            f"{name} must be a Store ({', '.join(_STORE_METHODS)}) or its URL, not "
            f"{type(value).__name__}")
    return cast("Store | None", value)


# -- the options ----------------------------------------------------------------------------

_SPEC = "postback_middleware.option"


@dataclass(frozen=True)
class OptionSpec:
    """How one option is read from ini text and checked (the metadata of an ``Options`` field).

    ``from_ini(name, text, environ)`` converts the ini file's text; ``check(name, value)``
    refuses a value that cannot work (``ConfigurationError``) and returns the one to keep.
    """

    from_ini: Callable[[str, str, Mapping[str, str]], Any]
    check: Callable[[str, Any], Any]


def _spec(ini: Callable[[str, str, Mapping[str, str]], Any],
          check: Callable[[str, Any], Any]) -> dict[str, OptionSpec]:
    """An ``Options`` field's metadata: how its ini text is read, how its value is checked."""
    return {_SPEC: OptionSpec(ini, check)}


SecretKeys = str | bytes | Sequence[str | bytes]
Handlers = Mapping[str, Callable[..., Any]]


@dataclass(frozen=True, kw_only=True)
class Options:
    """Every option of the middleware: the one declaration, checked once at start-up.

    Each field is an option of the same name in Python (a keyword of ``PostbackMiddleware``)
    and in an ini file; its metadata (:class:`OptionSpec`) says how ini text becomes a value and
    how the value is checked, so the keyword check, the ini loader and the docs' option
    table (docs/reference/options.md) all follow from this class. The comment above each
    field is its documentation.
    """

    # Required. The first key signs, every key verifies (rotation): each at least 256 bits of
    # randomness. After the check: the keys as bytes. Never shown in a repr.
    secret_keys: SecretKeys | None = field(
        default=None, metadata=_spec(_ini_keys, _keys), repr=False)
    # Callback handlers by name: ``f(argument, request) -> str`` (see ``registry``).
    callbacks: Handlers | None = field(default=None, metadata=_spec(_ini_handlers, _handlers))
    # Postback handlers by event target: ``f(event, request)`` (see ``registry``).
    postbacks: Handlers | None = field(default=None, metadata=_spec(_ini_handlers, _handlers))
    # Tokens older than this are refused: long enough for a form left open over lunch, short
    # enough to bound how long a leaked token can be replayed.
    max_age: int = field(default=4 * 3600, metadata=_spec(_ini_int, _positive_int))
    # A form left open past max_age has its tokens renewed (by the client script, before it
    # sends; only for the browser or user they were issued to), up to this long after they
    # were issued: a form open over a long weekend loses nothing typed. 0: never renewed.
    renewal_window: int = field(default=7 * 24 * 3600, metadata=_spec(_ini_int, _whole_seconds))
    # Called with the WSGI environ; its value (e.g. a session id) binds tokens to one user (None
    # or "": no user, tokens bound to the browser's cookie).
    user_key: UserKey | None = field(
        default=None, metadata=_spec(_ini_function, _function_or_none))
    # Origins (scheme://host[:port]) whose pages may send postbacks and callbacks here besides
    # this site's own; none by default: any other site's is refused (see ``csrf``).
    trusted_origins: Sequence[str] = field(default=(), metadata=_spec(_ini_words, _origins))
    # Where the client script is served; the middleware owns every path below it.
    script_prefix: str = field(default="/_postback/", metadata=_spec(_ini_text, _prefix))
    # Largest form POST body read at all (413 beyond); uploads are spooled, not held in memory.
    max_body_size: int = field(default=100 * 1024 * 1024, metadata=_spec(_ini_int, _positive_int))
    # Largest token or reserved field; view state beyond this is refused (413).
    max_state_size: int = field(default=128 * 1024, metadata=_spec(_ini_int, _token_size))
    # Most fields a form POST may have (urlencoded fields, or multipart parts: files count);
    # 413 beyond. A limit against CPU attacks (a body of millions of empty fields, names that
    # collide in a parser's hash table): each field costs the scan a bounded few operations and
    # the app's parser as much again, so raise it only as far as your largest form needs (a
    # formset of 300 rows of 4 fields posts about 1,210).
    max_form_fields: int = field(default=MAX_FORM_FIELDS, metadata=_spec(_ini_int, _field_count))
    # Bodies up to this size stay in memory; larger ones go to a temporary file.
    spool_threshold: int = field(default=1024 * 1024, metadata=_spec(_ini_int, _positive_int))
    # Add __SCROLLPOSITIONX/Y and __LASTFOCUS so the page comes back where the user left it.
    maintain_scroll_position: bool = field(default=False, metadata=_spec(_ini_bool, _boolean))
    # Refuse every form POST that carries no valid token (CSRF protection for the whole app).
    require_token: bool = field(default=False, metadata=_spec(_ini_bool, _boolean))
    # Also hand the inner app the verified event as the form fields __EVENTTARGET and
    # __EVENTARGUMENT, for code ported from WebForms that reads Request.Form["__EVENTTARGET"]:
    # added to the clean body after verification (the fields the client sent are stripped as
    # always), only for a postback with an event: none for a postback without one (empty
    # target), a callback or a renewal.
    forward_event_fields: bool = field(default=False, metadata=_spec(_ini_bool, _boolean))
    # Refuse a postback (or callback) posting a value a post form's <select> or radio group
    # did not offer (ASP.NET's event validation of list values): the offered values travel in
    # __EVENTVALIDATION. Off by default: a page whose script adds options must leave it off.
    validate_choices: bool = field(default=False, metadata=_spec(_ini_bool, _boolean))
    # Answer Microsoft's ASP.NET AJAX client (a ScriptManager's UpdatePanels) in its delta
    # format. Off by default: that client needs eval (no strict CSP), and without it the
    # package's own partial postbacks and strict-CSP mode are all there is.
    aspnet_ajax: bool = field(default=False, metadata=_spec(_ini_bool, _boolean))
    # Called as on_reject(environ, reason) for every refused request, e.g. to count them; the
    # reason is an errors.Reason ("expired", "cross-site"...), the detail is in the log.
    on_reject: Callable[[WSGIEnvironment, Reason], None] | None = field(
        default=None, metadata=_spec(_ini_function, _function_or_none))
    # Called as render_refusal(environ, refusal) for a refused request other than a callback, a
    # partial postback or an aspnet_ajax async postback: a WSGI response to answer with (your
    # own error page, JSON for your fetch callers), or None for the default (see ``refusal``).
    render_refusal: RenderRefusal | None = field(
        default=None, metadata=_spec(_ini_function, _function_or_none))
    # Where state shared by every worker and host is kept (see ``stores``): a Store, or its
    # URL: redis://, rediss:// (TLS), unix:// (a socket), memory: (this process only). Made
    # once, at start-up. None: no store.
    store: Store | str | None = field(default=None, metadata=_spec(_ini_store, _store))

    # Accept each form's tokens once (see ``single_use``): a replayed or old page's postback
    # is refused (409) on every worker sharing ``store``, and a double click gets the first
    # answer. Needs ``store`` (shared by every process that serves the site).
    single_use: bool = field(default=False, metadata=_spec(_ini_bool, _boolean))
    # Accept each callback's event validation once (every answer brings the next), so a
    # callback request cannot be sent again; a page must then not send two at the same time.
    # Needs ``store``.
    single_use_callbacks: bool = field(default=False, metadata=_spec(_ini_bool, _boolean))
    # Keep view state in ``store``: ``__VIEWSTATE`` carries only a signed key (see
    # ``server_state``). Lighter pages; the state never reaches the browser. Needs ``store``.
    server_viewstate: bool = field(default=False, metadata=_spec(_ini_bool, _boolean))

    def __post_init__(self) -> None:
        for option in fields(self):
            checked = option.metadata[_SPEC].check(option.name, getattr(self, option.name))
            object.__setattr__(self, option.name, checked)  # (frozen: set once, here)
        needing = [name for name in _NEED_A_STORE if getattr(self, name)]
        if needing and self.store is None:
            raise ConfigurationError(
                f"{' and '.join(needing)} {'needs' if len(needing) == 1 else 'need'} a store "
                "shared by every process that serves the site: store='redis://HOST:6379/0' "
                "(or rediss:// for TLS), or store='memory:' for a single process "
                "(development, tests)")
        if 0 < self.renewal_window < self.max_age:
            raise ConfigurationError(
                f"renewal_window ({self.renewal_window}s) is shorter than max_age "
                f"({self.max_age}s): make it 0 (no renewal) or at least max_age")

    @classmethod
    def from_keywords(cls, keywords: Mapping[str, Any]) -> Options:
        """The options given as keyword arguments; a name that is none of them says which are."""
        check_names(keywords)
        return cls(**keywords)

    @property
    def shared_store(self) -> Store | None:
        """The store as checked: a ``Store`` (made from its URL at start-up), or None."""
        return cast("Store | None", self.store)

    @property
    def keys(self) -> tuple[bytes, ...]:
        """The secret keys as checked: bytes, the signing key first."""
        return cast("tuple[bytes, ...]", self.secret_keys)

    def protects_less_than(self, other: Options) -> list[str]:
        """The options in which these protect less than ``other``'s do: a check ``other`` makes
        and these do not, a larger limit, a wider trust. (A middleware met inside another steps
        aside only where the outer one protects as much: see ``middleware``.)"""
        weaker = [name for name in _CHECKS if getattr(other, name) and not getattr(self, name)]
        weaker += [name for name in _LIMITS if getattr(self, name) > getattr(other, name)]
        if self.forward_event_fields and not other.forward_event_fields:
            weaker.append("forward_event_fields")
        if not set(self.trusted_origins) <= set(other.trusted_origins):
            weaker.append("trusted_origins")
        if other.user_key is not None and self.user_key is not other.user_key:
            weaker.append("user_key")
        return weaker


_NEED_A_STORE = ("single_use", "single_use_callbacks", "server_viewstate")
# What protects more when on, or when lower (see Options.protects_less_than).
_CHECKS = ("require_token", "validate_choices", "single_use", "single_use_callbacks")
_LIMITS = ("max_age", "renewal_window", "max_body_size", "max_state_size", "max_form_fields")

OPTION_SPECS: Mapping[str, OptionSpec] = {
    option.name: option.metadata[_SPEC] for option in fields(Options)
}


def check_names(names: Iterable[str]) -> None:
    """Refuse a name that is no option, saying the close one and listing them all."""
    for name in names:
        if name not in OPTION_SPECS:
            close = difflib.get_close_matches(name, OPTION_SPECS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownOption(
                f"unknown option {name!r}{hint}; known options: {', '.join(sorted(OPTION_SPECS))}"
            )


def options_from_ini(
    settings: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Convert the text of an ini section to ``PostbackMiddleware`` keyword arguments."""
    environ = os.environ if environ is None else environ
    check_names(settings)
    return {name: OPTION_SPECS[name].from_ini(name, text, environ)
            for name, text in settings.items()}
