"""Rate limits per token and endpoint class: 429 in the error shape with Retry-After, nothing stored."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import ApiUser
from ximilar_platform.accounts.models import ApiToken
from ximilar_platform.recognition.models import Task

TASKS = "/recognition/v2/task"


@pytest.fixture
def low_rates(settings) -> None:
    settings.THROTTLE_RATES = {"api": "3/minute", "predict": "2/minute", "train": "1/hour"}


def test_over_the_rate_answers_429_with_retry_after_and_stores_nothing(low_rates, api: APIClient) -> None:
    for _ in range(3):
        assert api.get(TASKS).status_code == 200
    response = api.post(TASKS, {"name": "one too many"}, format="json")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled" and body["status"]["code"] == 429
    assert "Expected available in" in body["detail"]
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not Task.objects.exists()


def test_tokens_and_endpoint_classes_are_counted_apart(low_rates, alice: ApiUser, bob: ApiUser) -> None:
    for _ in range(3):
        assert alice.client.get(TASKS).status_code == 200
    assert alice.client.get(TASKS).status_code == 429
    assert bob.client.get(TASKS).status_code == 200
    _, key = ApiToken.issue(alice.user, name="second")
    second = APIClient()
    second.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert second.get(TASKS).status_code == 200
    # prediction has its own budget: the answer is the request's own 400, not the listing's 429
    classify = alice.client.post("/recognition/v2/classify", {"records": []}, format="json")
    assert classify.status_code == 400


def test_starting_trainings_has_its_own_slow_rate(low_rates, api: APIClient) -> None:
    task = api.post(TASKS, {"name": "t"}, format="json").json()
    first = api.post(f"{TASKS}/{task['id']}/train")
    assert first.status_code == 400  # no data yet, but the attempt counts
    second = api.post(f"{TASKS}/{task['id']}/train")
    assert second.status_code == 429
    assert int(second["Retry-After"]) > 60  # an hourly window


def test_an_empty_rate_means_no_limit(settings, api: APIClient) -> None:
    settings.THROTTLE_RATES = {"api": "", "predict": "", "train": ""}
    assert all(api.get(TASKS).status_code == 200 for _ in range(20))


def test_an_unreachable_cache_lets_requests_through(low_rates, settings, api: APIClient) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert all(api.get(TASKS).status_code == 200 for _ in range(5))


def test_a_malformed_rate_setting_is_refused_at_startup(monkeypatch) -> None:
    from ximilar_platform.env import env_rate

    monkeypatch.setenv("THROTTLE_RATE_API", "lots")
    with pytest.raises(ValueError, match="THROTTLE_RATE_API"):
        env_rate("THROTTLE_RATE_API", "3000/minute")
    monkeypatch.setenv("THROTTLE_RATE_API", "")
    assert env_rate("THROTTLE_RATE_API", "3000/minute") == ""


def test_a_process_counts_in_memory_far_below_the_limit_and_exactly_near_it(settings) -> None:
    from django.core.cache import cache

    from ximilar_platform.core.api.throttles import counted

    settings.THROTTLE_SYNC_SECONDS = 3600
    key = "throttle:test:near-the-limit:0"
    cache.delete(key)
    assert [counted(key, 100, 60) for _ in range(50)] == list(range(1, 51))
    assert cache.get(key) == 1  # only the first request reached the shared counter
    cache.incr(key, 40)  # another API process's requests
    counts = [counted(key, 100, 60) for _ in range(45)]
    assert counts[:39] == list(range(51, 90))  # still in memory: 1 + 89 pending < 90 % of the limit
    assert counts[39] == 130  # at 90 %: its 89 requests added, the other process's 40 learnt
    assert counts[40:] == list(range(131, 136)) and cache.get(key) == 135  # each one added at once
