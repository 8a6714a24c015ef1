"""Fixtures shared by the unit and functional suites (the helpers they use are in ``helpers``)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import webtest

from postback_middleware import PostbackMiddleware, Registry
from postback_middleware.stores import MemoryStore, RedisStore, Store

from .helpers import PAGE, RecordingApp, new_key, require_engine
from .redis_server import RedisServer, running_redis


@pytest.fixture
def key() -> str:
    return new_key()


@pytest.fixture
def inner() -> RecordingApp:
    return RecordingApp(page=PAGE)


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def make_app(key: str, inner: RecordingApp, registry: Registry) -> Callable[..., webtest.TestApp]:
    def make(**options: Any) -> webtest.TestApp:
        options.setdefault("secret_keys", [key])
        options.setdefault("registry", registry)
        app = options.pop("inner_app", inner)
        return webtest.TestApp(PostbackMiddleware(app, **options))

    return make


@pytest.fixture
def app(make_app: Callable[..., webtest.TestApp]) -> webtest.TestApp:
    return make_app()


@pytest.fixture(scope="module", params=["python", "compiled"])
def scanner_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a module's tests once with each scanner engine (see ``html_scan.ENGINES``)."""
    from postback_middleware import html_scan

    engine = request.param
    require_engine(engine)
    saved = html_scan.use_engine(engine)
    try:
        yield engine
    finally:
        html_scan.use_engine(saved)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real ``redis-server`` on a unix socket for the whole run (see ``redis_server``); tests
    keep apart by key prefix, and undo any ``CONFIG SET`` they make."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Each store a middleware can be given: the in-process one, and a real redis-server's
    (keys of this test's own)."""
    if request.param == "memory":
        yield MemoryStore()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    made = RedisStore.from_url(server.url, key_prefix=f"test-{secrets.token_hex(6)}:")
    yield made
    made.close()
