"""The model cache: bounded, least recently used out first, one load per key even under concurrency."""

from __future__ import annotations

import threading
import time

import pytest

from inference.cache import ModelCache


def test_the_least_recently_used_value_is_evicted_first() -> None:
    loads: list[str] = []
    cache = ModelCache(2, lambda key: loads.append(key) or key.upper())
    assert (cache.get("a"), cache.get("b")) == ("A", "B")
    cache.get("a")  # now b is the least recently used
    cache.get("c")
    assert len(cache) == 2
    cache.get("a")
    cache.get("b")  # b was evicted: loaded again, which evicts c
    cache.get("a")
    assert loads == ["a", "b", "c", "b"]


def test_eight_concurrent_requests_for_one_key_load_it_once() -> None:
    loads: list[str] = []
    start = threading.Barrier(8)

    def slow_load(key: str) -> object:
        loads.append(key)
        time.sleep(0.1)
        return object()

    cache: ModelCache[object] = ModelCache(4, slow_load)
    results: list[object] = []

    def ask() -> None:
        start.wait()
        results.append(cache.get("model"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == ["model"]
    assert len(results) == 8 and all(result is results[0] for result in results)


def test_different_keys_load_in_parallel() -> None:
    cache = ModelCache(4, lambda key: time.sleep(0.2) or key)
    threads = [threading.Thread(target=cache.get, args=(key,)) for key in "abcd"]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 0.6 and len(cache) == 4


def test_a_failed_load_is_not_cached_and_is_tried_again() -> None:
    attempts: list[str] = []

    def flaky(key: str) -> str:
        attempts.append(key)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return key

    cache = ModelCache(2, flaky)
    with pytest.raises(OSError):
        cache.get("m")
    assert len(cache) == 0
    assert cache.get("m") == "m" and attempts == ["m", "m"]


def test_clear_forgets_every_value() -> None:
    loads: list[str] = []
    cache = ModelCache(3, lambda key: loads.append(key) or key)
    cache.get("a")
    cache.clear()
    assert len(cache) == 0
    cache.get("a")
    assert loads == ["a", "a"]


def test_a_cache_must_hold_at_least_one_value() -> None:
    with pytest.raises(ValueError):
        ModelCache(0, str)
