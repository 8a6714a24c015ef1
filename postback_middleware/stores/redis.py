"""A store on Redis (redis-py): shared by every worker and host that serves a site.

Installed with ``pip install 'postback-middleware[redis]'``; redis-py is imported only when a
``RedisStore`` is made, so the package itself never needs it. The URL is redis-py's own
(``redis://``, ``rediss://`` for TLS, ``unix://`` for a socket; a user and password in it,
ACL or ``requirepass``), plus ``key_prefix`` for sites that share one Redis.

Fail closed: every error of redis-py (unreachable, timed out, refused, out of memory, read-only
replica) becomes :class:`~postback_middleware.errors.StoreUnavailable`, a 503, with the reason
for the log and never the password. Timeouts are short by default (the class attributes), so
an unreachable Redis costs a request a second at most, not redis-py's five.

Expiry: ``SET ... PXAT``, the requested time rounded *up* to the millisecond (exactly, not by
float arithmetic): a key may outlive its time by under a millisecond, never fall short of it,
and a short-lived entry (a double click's few seconds) is not stretched by up to a second as
``EXAT``'s whole seconds would. Both need Redis 6.2 or later.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from fractions import Fraction
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode

from ..errors import ConfigurationError, InvalidArgument, StoreUnavailable
from .memory import check_entry

if TYPE_CHECKING:
    import redis

log = logging.getLogger("postback_middleware")

T = TypeVar("T")

INSTALL_HINT = "pip install 'postback-middleware[redis]'"
# A policy that never evicts; every other one may drop a key that has an expiry (allkeys-*,
# volatile-*), and a spent nonce dropped early is a replay accepted.
SAFE_POLICY = "noeviction"


def _redis() -> ModuleType:
    """redis-py, imported on first use; a clear error when it is not installed."""
    try:
        import redis
    except ImportError:
        raise ConfigurationError(
            f"the Redis store needs redis-py (redis>=5): {INSTALL_HINT}") from None
    return redis


def milliseconds(expires_at: float) -> int:
    """``expires_at`` (seconds since the epoch) in whole milliseconds, rounded up exactly.

    (``math.ceil(expires_at * 1000)`` can round down: the float product is itself rounded.)
    Never below 1, which is in the past too: PXAT refuses 0 and negative times.
    """
    if not math.isfinite(expires_at):
        raise InvalidArgument(f"expires_at must be a finite time, not {expires_at!r}")
    return max(1, math.ceil(Fraction(expires_at) * 1000))


class RedisStore:
    """A :class:`~postback_middleware.stores.Store` on Redis: atomic across processes and hosts.

    ``RedisStore(client)`` takes a ``redis.Redis`` you configured (``decode_responses`` off);
    :meth:`from_url` makes one with this class's timeouts. Keys are ``key_prefix`` + key.
    Call :meth:`check` once at start-up (the ``store`` option does for a store it makes from
    a URL).
    """

    #: Seconds to wait for a connection: an unreachable Redis fails the request this fast.
    socket_connect_timeout: float = 1.0
    #: Seconds to wait for an answer: a hung Redis fails the request this fast. A Redis
    #: answers in well under a millisecond; a second is an outage, not load.
    socket_timeout: float = 1.0
    #: Times a command is sent again, at once, when its connection broke (Redis restarted, or
    #: a proxy closed an idle connection), so that costs no request; redis-py's own default
    #: varies by version (none, or ten with backoff: seconds for a Redis that is down). Never
    #: after a timeout: the command may have been carried out, and an ``add`` sent twice
    #: would find its own nonce spent.
    retries: int = 1
    #: The prefix of every key, unless given: one site's keys apart from another's.
    default_key_prefix: str = "postback:"

    def __init__(self, client: redis.Redis, *, key_prefix: str | None = None) -> None:
        module = _redis()
        if key_prefix is None:
            key_prefix = self.default_key_prefix
        if not isinstance(key_prefix, str):
            raise ConfigurationError(f"key_prefix must be a str, not {type(key_prefix).__name__}")
        settings = client.get_connection_kwargs()
        if settings.get("decode_responses"):
            raise ConfigurationError(
                "the Redis client for a store must not decode responses (decode_responses=True):"
                " values are bytes")
        self._client = client
        self._prefix = key_prefix
        self._errors: type[Exception] = module.RedisError
        self._where = _where(client, module)
        self._password = settings.get("password") or None
        self.checked = False  # whether check() ran (the option checks a store once)

    @classmethod
    def from_url(cls, url: str, *, key_prefix: str | None = None) -> RedisStore:
        """A store on the Redis that ``url`` names, with this class's timeouts.

        ``redis://[user:password@]host:port/db``, ``rediss://`` (TLS), or
        ``unix://[user:password@]/path/to/socket?db=N``: redis-py's URL, whose query options
        (``socket_timeout=0.25``, ``ssl_ca_certs=...``) win over the class's defaults. The key
        prefix is the keyword, or the URL's ``key_prefix`` (an ini file has only the URL).
        """
        module = _redis()
        base, _, query_text = url.partition("?")
        query = parse_qsl(query_text, keep_blank_values=True)
        in_url = [value for name, value in query if name == "key_prefix"]
        if in_url and key_prefix is not None:
            raise ConfigurationError("key_prefix is given twice: in the store URL and as keyword")
        if in_url:  # (redis-py would hand an option it does not know to the connection)
            key_prefix = in_url[-1]
            rest = urlencode([(name, value) for name, value in query if name != "key_prefix"])
            url = f"{base}?{rest}" if rest else base
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        retry = Retry(NoBackoff(), cls.retries, supported_errors=(module.ConnectionError,))
        try:
            client = module.Redis.from_url(
                url, socket_connect_timeout=cls.socket_connect_timeout,
                socket_timeout=cls.socket_timeout, retry=retry)
        except ValueError as exc:  # (redis-py's messages name the option, not its value)
            raise ConfigurationError(f"store URL: {exc}") from None
        return cls(client, key_prefix=key_prefix)

    def add(self, key: str, value: bytes, *, expires_at: float) -> bool:
        check_entry(key, value)
        at = milliseconds(expires_at)
        return bool(self._run(self._client.set, self._prefix + key, value, nx=True, pxat=at))

    def put(self, key: str, value: bytes, *, expires_at: float) -> None:
        check_entry(key, value)
        at = milliseconds(expires_at)
        self._run(self._client.set, self._prefix + key, value, pxat=at)

    def get(self, key: str) -> bytes | None:
        # (bytes: a client that decodes responses is refused when the store is made)
        return cast("bytes | None", self._run(self._client.get, self._prefix + key))

    def delete(self, key: str) -> None:
        self._run(self._client.delete, self._prefix + key)

    def check(self) -> str | None:
        """Log a warning if this Redis may evict keys before their expiry; its policy.

        Redis short of memory evicts keys by its ``maxmemory-policy``: every policy but
        ``noeviction`` may drop a spent nonce, whose form could then be posted again. A
        managed Redis may refuse ``CONFIG`` (renamed, or denied by an ACL): then the warning
        says it could not check, and None is returned; so it is when Redis cannot be
        reached (requests then fail closed until it can).
        """
        module = _redis()
        self.checked = True
        try:
            reply = self._client.config_get("maxmemory-policy")
        except module.ResponseError as exc:
            log.warning("store: could not read the maxmemory-policy of Redis at %s (%s): "
                        "make sure it is %s", self._where, self._scrub(exc), SAFE_POLICY)
            return None
        except module.RedisError as exc:
            log.warning("store: could not reach Redis at %s to check its maxmemory-policy (%s)",
                        self._where, self._scrub(exc))
            return None
        policy = next((_text(v) for k, v in reply.items() if _text(k) == "maxmemory-policy"),
                      None)
        if policy is None:
            log.warning("store: Redis at %s did not tell its maxmemory-policy: make sure it is %s",
                        self._where, SAFE_POLICY)
        elif policy != SAFE_POLICY:
            log.warning("store: Redis at %s has maxmemory-policy %s, which evicts keys when "
                        "memory runs short: a spent nonce evicted before its expiry lets its "
                        "form be posted again (a replay accepted); set maxmemory-policy %s (a "
                        "full Redis then refuses new keys, and postbacks get a 503 instead)",
                        self._where, policy, SAFE_POLICY)
        return policy

    def close(self) -> None:
        """Close the client's connections (at shutdown)."""
        self._client.close()

    def __repr__(self) -> str:
        return f"RedisStore({self._where!r}, key_prefix={self._prefix!r})"

    def _run(self, command: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``command(*args, **kwargs)``; any error of redis-py as StoreUnavailable (fail closed)."""
        try:
            return command(*args, **kwargs)
        except self._errors as exc:
            raise StoreUnavailable(f"store unavailable: Redis at {self._where}: "
                                   f"{self._scrub(exc)}") from exc

    def _scrub(self, exc: Exception) -> str:
        """The error as text for a log line, the password (should it appear) masked."""
        text = f"{type(exc).__name__}: {exc}"
        return text.replace(self._password, "***") if self._password else text


def _where(client: redis.Redis, module: ModuleType) -> str:
    """Where the client connects, as a URL without credentials (for messages)."""
    settings = client.get_connection_kwargs()
    db = settings.get("db", 0)
    if settings.get("path"):
        return f"unix://{settings['path']}?db={db}"
    connection = getattr(client.connection_pool, "connection_class", None)
    tls = isinstance(connection, type) and issubclass(connection, module.SSLConnection)
    scheme = "rediss" if tls else "redis"
    return f"{scheme}://{settings.get('host', 'localhost')}:{settings.get('port', 6379)}/{db}"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
