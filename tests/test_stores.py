"""Stores: the contract every store honours, held for each implementation (see ``stores``).

The Redis store joins the ``STORES`` table when it lands (it will run against a real
``redis-server``); the contract does not change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from postback_middleware.stores import MemoryStore, Store


class Clock:
    """A clock the test moves on."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


STORES: list[Callable[[Clock], Store]] = [
    pytest.param(lambda clock: MemoryStore(clock=clock), id="memory"),  # type: ignore[list-item]
]


@pytest.fixture(params=STORES)
def clock_and_store(request: pytest.FixtureRequest) -> tuple[Clock, Store]:
    clock = Clock()
    return clock, request.param(clock)


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


def test_a_value_is_gone_once_it_expires(clock_and_store: tuple[Clock, Store]) -> None:
    clock, store = clock_and_store
    store.put("short", b"x", expires_at=clock.now + 10)
    store.put("long", b"y", expires_at=clock.now + 100)
    clock.now += 10
    assert store.get("short") is None and store.get("long") == b"y"
    assert store.add("short", b"again", expires_at=clock.now + 10)  # free to spend anew


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
    clock = Clock()
    store = MemoryStore(clock=clock)
    for number in range(10_000):
        store.add(f"nonce-{number}", b"1", expires_at=clock.now + 5)
        store.put("replaced", b"x", expires_at=clock.now + 5)
        clock.now += 1
    assert len(store) <= 7
