"""Records per workspace and day, counted by the prediction services and shown by account/v2/usage."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import ApiUser
from ximilar_platform.accounts.models import DailyUsage
from ximilar_platform.collections.models import CollectionRecord

SEARCH = "/similarity/custom/v2"


def insert(api: APIClient, count: int, start: int = 0):
    records = [{"_id": f"r{i}", "_descriptor": [1.0, float(i), 0.5]} for i in range(start, start + count)]
    return api.post(f"{SEARCH}/insert", {"records": records}, format="json", HTTP_COLLECTION_ID="shop")


def test_records_are_counted_per_service_and_day(alice: ApiUser, bob: ApiUser) -> None:
    assert insert(alice.client, 3).status_code == 200
    knn = alice.client.post(
        f"{SEARCH}/visualKNN", {"query_record": {"_id": "r1"}, "k": 2}, format="json", HTTP_COLLECTION_ID="shop"
    )
    assert knn.status_code == 200
    untrained = alice.client.post("/recognition/v2/task", {"name": "t"}, format="json").json()
    refused = alice.client.post(
        "/recognition/v2/classify", {"task_id": untrained["id"], "records": [{"_url": "x"}]}, format="json"
    )
    assert refused.status_code == 400  # refused before any record was looked at: not counted
    yesterday = timezone.now().date() - timedelta(days=1)
    DailyUsage.objects.create(workspace=alice.workspace, day=yesterday, service="recognition", records=7)

    body = alice.client.get("/account/v2/usage", {"days": 7}).json()
    assert body["days"] == 7
    [workspace] = body["workspaces"]
    assert workspace["workspace"] == str(alice.workspace.id) and workspace["today"] == 4
    assert workspace["daily_limit"] is None
    today = timezone.now().date().isoformat()
    assert workspace["days"] == [
        {"day": today, "service": "search", "records": 4},
        {"day": yesterday.isoformat(), "service": "recognition", "records": 7},
    ]
    assert alice.client.get("/account/v2/usage", {"days": 1}).json()["workspaces"][0]["days"] == [
        {"day": today, "service": "search", "records": 4}
    ]
    assert bob.client.get("/account/v2/usage").json()["workspaces"][0]["today"] == 0


def test_over_the_daily_cap_answers_429_until_midnight_and_stores_nothing(settings, api: APIClient) -> None:
    settings.WORKSPACE_DAILY_RECORDS = 5
    assert insert(api, 3).status_code == 200
    over = insert(api, 3, start=3)
    assert over.status_code == 429
    assert "3 of its 5 records" in over.json()["detail"]
    assert 0 < int(over["Retry-After"]) <= 24 * 3600
    assert CollectionRecord.objects.count() == 3
    assert insert(api, 2, start=3).status_code == 200  # what is left of the day still fits
    assert api.get("/account/v2/usage").json()["workspaces"][0] == {
        **api.get("/account/v2/usage").json()["workspaces"][0],
        "today": 5,
        "daily_limit": 5,
    }


def test_bad_days_answer_400(api: APIClient) -> None:
    for days in ("0", "abc", "400"):
        response = api.get("/account/v2/usage", {"days": days})
        assert response.status_code == 400 and "days" in response.json()["fields"]
