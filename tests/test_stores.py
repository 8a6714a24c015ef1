"""Stores: the contract every store honours, held for each implementation (see ``stores``), then
what is the Redis store's own: atomic across processes, exact expiry, key prefixes, failing
closed and fast, no password in a message, the eviction-policy check at start-up.

``MemoryStore`` runs on a clock the test moves; ``RedisStore`` on a real ``redis-server``
(``tests.redis_server``, the ``redis_server`` fixture) and the real clock, so its expiry tests
wait a fraction of a second. Each test has keys of its own (a fresh key prefix).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import pytest

from postback_middleware import ConfigurationError
from postback_middleware.errors import InvalidType, Reason, StoreUnavailable
from postback_middleware.stores import MemoryStore, RedisStore, Store, open_store
from postback_middleware.stores.redis import INSTALL_HINT, milliseconds

from .redis_server import RedisServer, free_port, require_redis, running_redis


class Clock(Protocol):
    @property
    def now(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class MovedClock:
    """A clock the test moves on (for MemoryStore)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RealClock:
    """The real clock, which Redis keeps too: moving it on is waiting."""

    @property
    def now(self) -> float:
        return time.time()

    def advance(self, seconds: float) -> None:
        time.sleep(seconds + 0.005)  # (Redis: a key lives through its last millisecond)


def unique_prefix() -> str:
    return f"test-{uuid.uuid4().hex}:"


def memory_store(request: pytest.FixtureRequest) -> tuple[Clock, Store]:
    clock = MovedClock()
    return clock, MemoryStore(clock=clock)


def redis_store(request: pytest.FixtureRequest) -> tuple[Clock, Store]:
    server: RedisServer = request.getfixturevalue("redis_server")
    store = RedisStore.from_url(server.url, key_prefix=unique_prefix())
    request.addfinalizer(store.close)
    return RealClock(), store


STORES = [
    pytest.param(memory_store, id="memory"),
    pytest.param(redis_store, id="redis"),
]


@pytest.fixture(params=STORES)
def clock_and_store(request: pytest.FixtureRequest) -> tuple[Clock, Store]:
    make: Callable[[pytest.FixtureRequest], tuple[Clock, Store]] = request.param
    return make(request)


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
def store(redis_server: RedisServer, prefix: str) -> Iterator[RedisStore]:
    """A Redis store with keys of its own (``prefix``) on the shared server."""
    made = RedisStore.from_url(redis_server.url, key_prefix=prefix)
    yield made
    made.close()


# -- the contract -----------------------------------------------------------------------------


def test_add_stores_a_key_once(clock_and_store: tuple[Clock, Store]) -> None:
    clock, store = clock_and_store
    assert store.add("nonce", b"first", expires_at=clock.now + 60)
    assert not store.add("nonce", b"second", expires_at=clock.now + 60)  # spent
    assert store.get("nonce") == b"first"


def test_put_replaces_and_delete_forgets(clock_and_store: tuple[Clock, Store]) -> None:
    clock, store = clock_and_store
    store.put("state", b"1", expires_at=clock.now + 60)
    store.put("state", b"2", expires_at=clock.now + 60)
    assert store.get("state") == b"2"
    store.delete("state")
    store.delete("state")  # (nothing held: nothing happens)
    assert store.get("state") is None
    assert store.add("state", b"3", expires_at=clock.now + 60)


def test_a_value_lives_until_it_expires_then_is_gone(
        clock_and_store: tuple[Clock, Store]) -> None:
    clock, store = clock_and_store
    store.put("short", b"x", expires_at=clock.now + 0.3)
    store.add("also-short", b"x", expires_at=clock.now + 0.3)
    store.put("long", b"y", expires_at=clock.now + 60)
    assert store.get("short") == b"x" and store.get("also-short") == b"x"  # not before its time
    clock.advance(0.3)
    assert store.get("short") is None and store.get("also-short") is None
    assert store.get("long") == b"y"
    assert store.add("short", b"again", expires_at=clock.now + 10)  # free to spend anew


def test_a_time_already_past_stores_nothing(clock_and_store: tuple[Clock, Store]) -> None:
    clock, store = clock_and_store
    store.put("late", b"x", expires_at=clock.now - 1)
    assert store.get("late") is None
    assert store.add("late", b"x", expires_at=clock.now + 60)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("nonce", b"", id="empty-value"),
        pytest.param("nonce", bytes(range(256)), id="every-byte"),
        pytest.param("nonce", b"\xc3\x28\xff\xfe\x00\x80", id="not-utf-8"),
        pytest.param("nonce", b"\r\n$3\r\nSET\r\n", id="looks-like-the-protocol"),
        pytest.param("nonce", bytes(range(256)) * 1024, id="256-KiB"),
        pytest.param("clé-ключ-鍵", b"v", id="non-ascii-key"),
        pytest.param("a b:*?[x]\\", b"v", id="glob-and-space-key"),
    ],
)
def test_keys_and_values_come_back_exactly(
        clock_and_store: tuple[Clock, Store], key: str, value: bytes) -> None:
    clock, store = clock_and_store
    assert store.add(key, value, expires_at=clock.now + 60)
    assert store.get(key) == value
    store.put(key + "-put", value, expires_at=clock.now + 60)
    assert store.get(key + "-put") == value


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param(b"nonce", b"v", id="bytes-key"),
        pytest.param("nonce", "v", id="str-value"),
        pytest.param("nonce", bytearray(b"v"), id="bytearray-value"),
    ],
)
def test_keys_are_text_and_values_bytes(
        clock_and_store: tuple[Clock, Store], key: Any, value: Any) -> None:
    clock, store = clock_and_store
    for write in (store.add, store.put):
        with pytest.raises(InvalidType):
            write(key, value, expires_at=clock.now + 60)


def test_of_concurrent_adds_exactly_one_wins(clock_and_store: tuple[Clock, Store]) -> None:
    """The point of ``add``: a nonce spent by two requests at once is spent by one."""
    clock, store = clock_and_store
    start = threading.Barrier(16)
    results: list[bool] = []

    def spend() -> None:
        start.wait()
        results.append(store.add("nonce", b"x", expires_at=clock.now + 60))

    threads = [threading.Thread(target=spend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]


def test_memory_store_drops_what_expired() -> None:
    """Memory stays bounded by what is live: a long run of short-lived nonces does not pile up."""
    clock = MovedClock()
    store = MemoryStore(clock=clock)
    for number in range(10_000):
        store.add(f"nonce-{number}", b"1", expires_at=clock.now + 5)
        store.put("replaced", b"x", expires_at=clock.now + 5)
        clock.advance(1)
    assert len(store) <= 7


# -- Redis: atomic across processes, exact expiry, key prefixes -------------------------------

KEYS_RACED = 300


def spend_every_key(url: str, prefix: str, start: Any, results: Any) -> None:
    """(In a process of its own.) Add every raced key; put which this process won."""
    store = RedisStore.from_url(url, key_prefix=prefix)
    start.wait()
    won = [n for n in range(KEYS_RACED)
           if store.add(f"nonce-{n}", str(os.getpid()).encode(), expires_at=time.time() + 60)]
    results.put(won)


def test_of_two_processes_adding_the_same_keys_each_key_is_won_once(
        redis_server: RedisServer, prefix: str) -> None:
    """Two workers spending the same nonces at once: each nonce is spent by exactly one."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=spend_every_key, args=(redis_server.url, prefix, start,
                                                             results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    won = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sorted(won[0] + won[1]) == list(range(KEYS_RACED))  # each once, none twice


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        pytest.param(1.0, 1000, id="whole-second"),
        pytest.param(1.0001, 1001, id="a-tenth-of-a-millisecond-rounds-up"),
        pytest.param(1_700_000_000.001, 1_700_000_000_001, id="float-just-above-a-millisecond"),
        pytest.param(1_700_000_000.3, 1_700_000_000_300, id="float-just-below-a-millisecond"),
        pytest.param(0.0, 1, id="the-epoch-is-past-too"),
        pytest.param(-5.0, 1, id="negative-is-past"),
    ],
)
def test_expiry_is_rounded_up_to_the_millisecond_exactly(expires_at: float, expected: int) -> None:
    assert milliseconds(expires_at) == expected
    assert Fraction(milliseconds(expires_at), 1000) >= Fraction(expires_at)  # never earlier


def test_redis_holds_a_key_until_the_time_asked_at_least(
        store: RedisStore, prefix: str, redis_server: RedisServer) -> None:
    expires_at = time.time() + 30.0004
    store.add("nonce", b"x", expires_at=expires_at)
    store.put("state", b"x", expires_at=expires_at)
    client = redis_server.client()
    for key in ("nonce", "state"):
        at = client.pexpiretime(prefix + key)
        assert at == milliseconds(expires_at) and Fraction(at, 1000) >= Fraction(expires_at)


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "infinity"])
def test_an_expiry_that_is_no_time_is_refused(store: RedisStore, value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        store.add("nonce", b"x", expires_at=value)


def test_sites_sharing_a_redis_keep_their_keys_apart(redis_server: RedisServer) -> None:
    one = RedisStore.from_url(redis_server.url, key_prefix="site-one:")
    two = RedisStore.from_url(f"{redis_server.url}?key_prefix=site-two:")  # (as an ini file)
    try:
        one.delete("nonce")
        two.delete("nonce")
        assert one.add("nonce", b"1", expires_at=time.time() + 60)
        assert two.add("nonce", b"2", expires_at=time.time() + 60)  # not spent by site one
        assert (one.get("nonce"), two.get("nonce")) == (b"1", b"2")
        client = redis_server.client()
        assert client.get("site-one:nonce") == b"1" and client.get("site-two:nonce") == b"2"
        assert "key_prefix='site-two:'" in repr(two)
    finally:
        one.delete("nonce")
        two.delete("nonce")


def test_the_default_key_prefix_is_documented_on_the_class(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url)
    store.put("default-prefix", b"x", expires_at=time.time() + 60)
    assert RedisStore.default_key_prefix == "postback:"
    assert redis_server.client().getdel("postback:default-prefix") == b"x"


def test_a_key_prefix_given_twice_is_refused(redis_server: RedisServer) -> None:
    with pytest.raises(ConfigurationError, match="given twice"):
        RedisStore.from_url(f"{redis_server.url}?key_prefix=a:", key_prefix="b:")


def test_a_client_that_decodes_responses_is_refused(redis_server: RedisServer) -> None:
    import redis

    client = redis.Redis(unix_socket_path=str(redis_server.socket_path), decode_responses=True)
    with pytest.raises(ConfigurationError, match="decode_responses"):
        RedisStore(client)


def test_a_configured_client_may_be_given(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.client(), key_prefix=unique_prefix())
    assert store.add("nonce", b"x", expires_at=time.time() + 60)
    assert repr(store).startswith(f"RedisStore('unix://{redis_server.socket_path}?db=0'")


# -- Redis: failing closed and fast, no password in a message ---------------------------------


def every_operation(store: Store) -> list[Callable[[], object]]:
    later = time.time() + 60
    return [lambda: store.add("k", b"v", expires_at=later),
            lambda: store.put("k", b"v", expires_at=later),
            lambda: store.get("k"),
            lambda: store.delete("k")]


@pytest.fixture
def stopped_server_url(tmp_path: Path) -> str:
    with running_redis(tmp_path) as server:
        url = server.url
    return url  # (the server is gone, its socket removed)


def test_a_stopped_redis_fails_every_operation_fast(stopped_server_url: str) -> None:
    store = RedisStore.from_url(stopped_server_url)
    for operation in every_operation(store):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as refused:
            operation()
        assert time.monotonic() - started < 0.5
        assert (refused.value.status, refused.value.kind) == (503, Reason.UNAVAILABLE)
        assert stopped_server_url in refused.value.reason  # where, for the log


def test_a_closed_port_fails_fast() -> None:
    require_redis()
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable,
                       match=r"Redis at redis://127\.0\.0\.1:\d+/0: ConnectionError"):
        store.get("k")
    assert time.monotonic() - started < 0.5


def test_a_hung_redis_fails_within_the_socket_timeout(tmp_path: Path) -> None:
    """A server that accepts and never answers (here: stopped by SIGSTOP) costs a request the
    class's socket_timeout, not redis-py's five seconds."""
    with running_redis(tmp_path) as server:
        store = RedisStore.from_url(server.url)
        server.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="Timeout"):
                store.get("k")
            elapsed = time.monotonic() - started
        finally:
            server.process.send_signal(signal.SIGCONT)
    assert RedisStore.socket_timeout <= elapsed < RedisStore.socket_timeout + 1.0


def test_a_restarted_redis_costs_no_request(tmp_path: Path) -> None:
    """A pooled connection that Redis closed (a restart) is opened anew, once, at once."""
    with running_redis(tmp_path) as server:
        store = RedisStore.from_url(server.url)
        store.put("k", b"v", expires_at=time.time() + 60)
    with running_redis(tmp_path):
        assert store.get("k") is None  # (nothing persisted) but answered


def test_redis_out_of_memory_fails_closed(store: RedisStore, redis_server: RedisServer) -> None:
    """With ``noeviction``, a full Redis refuses new keys: the request is refused (503)."""
    client = redis_server.client()
    client.config_set("maxmemory", "1")
    try:
        with pytest.raises(StoreUnavailable, match="OutOfMemoryError"):
            store.add("nonce", b"x", expires_at=time.time() + 60)
    finally:
        client.config_set("maxmemory", "0")


PASSWORD = "s3cret-pa55word"


@pytest.fixture
def acl_user(redis_server: RedisServer) -> Iterator[str]:
    """A Redis ACL user whose password is PASSWORD (for the tests of auth through the URL)."""
    user = f"site-{uuid.uuid4().hex[:8]}"
    client = redis_server.client()
    client.acl_setuser(user, enabled=True, passwords=[f"+{PASSWORD}"], keys=["*"],
                       commands=["+@all"])
    yield user
    client.acl_deluser(user)


def test_a_user_and_password_in_the_url_log_in(acl_user: str, redis_server: RedisServer) -> None:
    url = f"unix://{acl_user}:{PASSWORD}@{redis_server.socket_path}"
    store = RedisStore.from_url(url, key_prefix=unique_prefix())
    assert store.add("nonce", b"x", expires_at=time.time() + 60)
    assert PASSWORD not in repr(store)


@pytest.mark.parametrize(
    "where",
    [
        pytest.param("wrong-password", id="wrong-password"),
        pytest.param("closed-port", id="unreachable"),
    ],
)
def test_no_message_shows_the_password(where: str, acl_user: str, redis_server: RedisServer,
                                       caplog: pytest.LogCaptureFixture) -> None:
    if where == "closed-port":
        url = f"redis://{acl_user}:{PASSWORD}@127.0.0.1:{free_port()}/0"
    else:
        url = f"unix://{acl_user}:not-{PASSWORD}@{redis_server.socket_path}"
    store = RedisStore.from_url(url)
    with pytest.raises(StoreUnavailable) as refused:
        store.get("k")
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        assert store.check() is None
    assert "store unavailable" in refused.value.reason and "could not reach" in caplog.text
    shown = [str(refused.value), refused.value.reason, repr(store), caplog.text]
    assert all(PASSWORD not in text for text in shown), shown


def test_a_tls_url_is_understood(tmp_path: Path) -> None:
    require_redis()
    store = RedisStore.from_url(
        f"rediss://user:{PASSWORD}@cache.example:6380/2?ssl_ca_certs={tmp_path}/ca.pem")
    assert repr(store) == "RedisStore('rediss://cache.example:6380/2', key_prefix='postback:')"


def test_a_tls_redis_is_used_over_tls(tmp_path: Path) -> None:
    """End to end over TLS: a redis-server with a self-signed certificate that the URL trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"),
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    port = free_port()
    with running_redis(tmp_path, "--tls-port", str(port), "--tls-auth-clients", "no",
                       "--tls-cert-file", str(tmp_path / "cert.pem"),
                       "--tls-key-file", str(tmp_path / "key.pem")):
        store = RedisStore.from_url(
            f"rediss://localhost:{port}/0?ssl_ca_certs={tmp_path / 'cert.pem'}")
        assert store.add("nonce", b"x", expires_at=time.time() + 60)
        assert store.get("nonce") == b"x"
        plain = RedisStore.from_url(f"redis://localhost:{port}/0")  # TLS port, no TLS
        with pytest.raises(StoreUnavailable):
            plain.get("nonce")


# -- Redis: the eviction policy, checked at start-up ------------------------------------------


@pytest.mark.parametrize(
    ("policy", "warns"),
    [
        pytest.param("noeviction", False, id="noeviction-is-safe"),
        pytest.param("allkeys-lru", True, id="allkeys-lru"),
        pytest.param("allkeys-lfu", True, id="allkeys-lfu"),
        pytest.param("allkeys-random", True, id="allkeys-random"),
        pytest.param("volatile-lru", True, id="volatile-lru"),
        pytest.param("volatile-ttl", True, id="volatile-ttl"),
    ],
)
def test_a_policy_that_may_evict_a_spent_nonce_is_warned_of(
        policy: str, warns: bool, store: RedisStore, redis_server: RedisServer,
        caplog: pytest.LogCaptureFixture) -> None:
    client = redis_server.client()
    client.config_set("maxmemory-policy", policy)
    try:
        with caplog.at_level(logging.WARNING, logger="postback_middleware"):
            assert store.check() == policy
    finally:
        client.config_set("maxmemory-policy", "noeviction")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if warns:
        [message] = warnings
        assert policy in message and "replay" in message  # why it matters
        assert "set maxmemory-policy noeviction" in message  # what to do
    else:
        assert warnings == []


def test_a_redis_without_config_is_logged_as_unchecked(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Managed Redis often renames CONFIG away: the store works, the check says it could not."""
    with running_redis(tmp_path, "--rename-command", "CONFIG", "") as server:
        store = RedisStore.from_url(server.url)
        with caplog.at_level(logging.WARNING, logger="postback_middleware"):
            assert store.check() is None
        assert store.add("nonce", b"x", expires_at=time.time() + 60)
    [message] = [r.getMessage() for r in caplog.records]
    assert "could not read the maxmemory-policy" in message and "noeviction" in message


def test_an_unreachable_redis_is_logged_at_the_check_not_raised(
        stopped_server_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="postback_middleware"):
        assert RedisStore.from_url(stopped_server_url).check() is None
    assert "could not reach Redis" in caplog.text


# -- opening a store by URL, and redis-py only when it is used --------------------------------


def test_memory_urls_open_a_memory_store() -> None:
    assert isinstance(open_store("memory:"), MemoryStore)
    assert isinstance(open_store(" memory:// "), MemoryStore)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("redys://:hunter2@cache:6379", "scheme 'redys' names no store", id="typo"),
        pytest.param("REDIS://cache:6379", "scheme 'REDIS'", id="capitals"),
        pytest.param("memory:cache", "scheme 'memory'", id="memory-with-a-place"),
        pytest.param("redis:cache", "scheme 'redis'", id="no-slashes"),
        pytest.param("cache.internal", "no scheme", id="a-bare-host"),
        pytest.param("redis://cache:6379/0?socket_timeout=soon", "Invalid value for "
                     "'socket_timeout'", id="bad-redis-option"),
    ],
)
def test_a_url_of_no_store_says_what_is_accepted(url: str, message: str) -> None:
    if "Invalid" in message:
        require_redis()  # (redis-py reads its options)
    with pytest.raises(ConfigurationError, match=message) as refused:
        open_store(url)
    assert "hunter2" not in str(refused.value)
    if "Invalid" not in message:
        assert "redis://, rediss:// (TLS), unix:// (a socket) or memory:" in str(refused.value)


def test_the_package_does_not_import_redis() -> None:
    code = ("import sys, postback_middleware, postback_middleware.stores, "
            "postback_middleware.config; print('redis' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_without_redis_py_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # (import redis now raises ImportError)
    with pytest.raises(ConfigurationError, match=INSTALL_HINT.replace("[", r"\[")):
        open_store("redis://localhost:6379/0")
    assert isinstance(open_store("memory:"), MemoryStore)  # needs no redis-py
