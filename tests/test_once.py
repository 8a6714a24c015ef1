"""Saying a thing once: the memo is bounded, forgets the oldest first, and holds under threads."""

from __future__ import annotations

import threading

import pytest

from postback_middleware.once import Once


def test_a_key_is_new_once() -> None:
    once = Once()
    assert once.first(("nonce", "/orders"))
    assert not once.first(("nonce", "/orders"))
    assert once.first(("connect", "/orders"))  # (another kind of the same path)
    assert ("nonce", "/orders") in once


@pytest.mark.parametrize("size", [1, 3, 1024], ids=lambda size: f"size-{size}")
def test_the_oldest_key_is_forgotten_first(size: int) -> None:
    """A crawler's made-up paths cannot grow the memo: past its size the oldest goes (and
    would be said once more), the latest stay said."""
    once = Once(size)
    keys = [f"/page/{n}" for n in range(size + 5)]
    assert all(once.first(key) for key in keys)
    assert len(once) == size
    assert list(once) == keys[-size:]
    assert not any(once.first(key) for key in keys[-size:])
    assert once.first(keys[0])


def test_the_default_size_is_documented_on_the_class() -> None:
    once = Once()
    for n in range(Once.size + 1):
        once.first(n)
    assert len(once) == Once.size == 1024


def test_threads_racing_for_one_key_say_it_once() -> None:
    once = Once()
    start = threading.Barrier(8)
    said: list[bool] = []

    def race() -> None:
        start.wait()
        said.extend(once.first(("warning", f"/path/{n}")) for n in range(500))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert said.count(True) == 500  # (each path said by one thread only)
