"""Webhooks: signed deliveries to a receiver, retries in the delivery log, refused destinations, tenancy."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.ximilar_platform.notifications.receiver import Receiver, closed_port, training_job
from ximilar_platform.notifications import events, jobs
from ximilar_platform.notifications.models import Webhook
from ximilar_platform.notifications.services import notify
from ximilar_platform.training_jobs.models import ModelVersion


def create(client, url: str, subscribed: list[str]) -> dict:
    response = client.post("/notifications/v2/webhook", {"url": url, "events": subscribed}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_training_start_reaches_the_receiver_signed_with_the_secret_shown_once(
    alice, task, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    hook = create(alice.client, receiver.url, ["training.started", "training.started"])
    assert hook["events"] == ["training.started"] and hook["active"] is True and len(hook["secret"]) == 64
    assert "secret" not in alice.client.get(f"/notifications/v2/webhook/{hook['id']}").json()
    assert "secret" not in alice.client.get("/notifications/v2/webhook").json()["results"][0]
    create(alice.client, receiver.url.replace("/hook", "/failures-only"), ["training.failed"])

    job = training_job(alice, task)
    with django_capture_on_commit_callbacks(execute=True):
        assert job.start(worker="w")
    [request] = receiver.requests
    assert request.path == "/hook", "the hook subscribed to failures only got nothing"
    timestamp = request.headers["X-Webhook-Timestamp"]
    expected = hmac.new(hook["secret"].encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Signature"] == f"sha256={expected}"
    assert request.headers["Content-Type"] == "application/json" and request.headers["X-Webhook-Attempt"] == "1"
    body = json.loads(request.body)
    assert body["event"] == request.headers["X-Webhook-Event"] == "training.started"
    assert body["id"] == request.headers["X-Webhook-Id"] and body["workspace"] == str(alice.workspace.id)
    assert body["data"] == {
        "job": str(job.id),
        "task": {"id": task["id"], "kind": "recognition", "name": "dogs"},
        "state": "running",
        "attempt": 1,
    }
    [delivery] = alice.client.get(f"/notifications/v2/webhook/{hook['id']}/deliveries").json()["results"]
    assert delivery["event"] == "training.started" and delivery["attempt"] == 1 and delivery["response_code"] == 200
    assert delivery["error"] == "" and delivery["duration"] >= 0 and delivery["event_id"] == body["id"]


def test_a_receiver_answering_500_gets_the_event_again_after_the_back_off(
    alice, task, receiver: Receiver, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    receiver.codes = [500, 200]
    hook = create(alice.client, receiver.url, ["training.started"])
    waits: list[float] = []
    send = jobs.deliver_webhook.apply_async

    def spy(args: tuple, kwargs: dict | None = None, countdown: float | None = None) -> None:
        if countdown is not None:  # a retry; notify's first send has no wait
            waits.append(countdown)
        send(args, kwargs)

    monkeypatch.setattr(jobs.deliver_webhook, "apply_async", spy)
    with django_capture_on_commit_callbacks(execute=True):
        assert training_job(alice, task).start(worker="w")
    assert waits == [10.0], "the first wait of WEBHOOK_RETRY_DELAYS; eager jobs do not sleep it"
    assert [json.loads(r.body)["id"] for r in receiver.requests] == [receiver.requests[0].headers["X-Webhook-Id"]] * 2
    log = alice.client.get(f"/notifications/v2/webhook/{hook['id']}/deliveries").json()["results"]
    assert [(row["attempt"], row["response_code"]) for row in log] == [(2, 200), (1, 500)]


def test_a_receiver_that_keeps_failing_gets_one_attempt_more_than_the_waits(
    alice, task, receiver: Receiver, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WEBHOOK_RETRY_DELAYS = [0.0, 0.0]
    receiver.codes = [503]
    hook = create(alice.client, receiver.url, ["training.started"])
    with django_capture_on_commit_callbacks(execute=True):
        assert training_job(alice, task).start(worker="w")
    assert [r.headers["X-Webhook-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    log = alice.client.get(f"/notifications/v2/webhook/{hook['id']}/deliveries").json()
    assert log["count"] == 3 and {row["response_code"] for row in log["results"]} == {503}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10:8080/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("ftp://example.com/hook", "Only http and https"),
    ],
)
def test_a_private_or_loopback_url_is_refused_at_creation(alice, url: str, reason: str) -> None:
    response = alice.client.post(
        "/notifications/v2/webhook", {"url": url, "events": ["training.failed"]}, format="json"
    )
    assert response.status_code == 400 and reason in response.json()["fields"]["url"][0]["message"]
    assert not Webhook.objects.exists()


def test_events_must_be_known_and_at_least_one(alice) -> None:
    for chosen in ([], ["training.exploded"], "training.failed"):
        body = {"url": "http://10.0.0.1/", "events": chosen}
        response = alice.client.post("/notifications/v2/webhook", body, format="json")
        assert response.status_code == 400 and "events" in response.json()["fields"]


def test_a_destination_refused_at_delivery_is_logged_and_not_retried(
    alice, task, receiver: Receiver, settings, django_capture_on_commit_callbacks
) -> None:
    hook = create(alice.client, receiver.url, ["training.started"])
    settings.URL_FETCH_ALLOW_LOOPBACK = False  # since changed by the operator, or the name now resolves elsewhere
    with django_capture_on_commit_callbacks(execute=True):
        assert training_job(alice, task).start(worker="w")
    assert receiver.requests == []
    [row] = alice.client.get(f"/notifications/v2/webhook/{hook['id']}/deliveries").json()["results"]
    assert row["response_code"] is None and row["error"] == "URL destination is not allowed (loopback address)"


def test_an_unreachable_receiver_is_retried_and_says_why(
    alice, task, receiver: Receiver, settings, django_capture_on_commit_callbacks
) -> None:
    """``receiver`` only for its loopback setting: the webhook names a port nothing listens on."""
    settings.WEBHOOK_RETRY_DELAYS = [0.0]
    hook = create(alice.client, f"http://127.0.0.1:{closed_port()}/hook", ["training.started"])
    with django_capture_on_commit_callbacks(execute=True):
        assert training_job(alice, task).start(worker="w")
    log = alice.client.get(f"/notifications/v2/webhook/{hook['id']}/deliveries").json()["results"]
    assert [(row["attempt"], row["response_code"], row["error"]) for row in log] == [
        (2, None, "Cannot reach URL"),
        (1, None, "Cannot reach URL"),
    ]


def test_a_switched_off_webhook_gets_nothing(
    alice, task, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    hook = create(alice.client, receiver.url, ["training.started"])
    assert (
        alice.client.patch(f"/notifications/v2/webhook/{hook['id']}", {"active": False}, format="json").status_code
        == 200
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert training_job(alice, task).start(worker="w")
    assert receiver.requests == []


def test_a_deploy_and_a_dataset_job_reach_their_subscribers(
    alice, task, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    create(alice.client, receiver.url, ["version.deployed", "dataset.import.done"])
    for number in (1, 2):
        ModelVersion.objects.create(
            workspace=alice.workspace, task_id=task["id"], version=number, arch="a", artifact="x"
        )
    with django_capture_on_commit_callbacks(execute=True):
        alice.client.patch(f"/recognition/v2/task/{task['id']}", {"production_version": 1}, format="json")
        alice.client.patch(f"/recognition/v2/task/{task['id']}", {"production_version": 2}, format="json")
        notify(workspace=alice.workspace, event=events.DATASET_IMPORT_DONE, payload={"job": "j1", "images": 3})
        notify(workspace=alice.workspace, event=events.DATASET_EXPORT_DONE, payload={"job": "j2"})
    bodies = [json.loads(request.body) for request in receiver.requests]
    assert [(body["event"], body["data"].get("version"), body["data"].get("previous_version")) for body in bodies] == [
        ("version.deployed", 1, None),
        ("version.deployed", 2, 1),
        ("dataset.import.done", None, None),
    ]
    assert bodies[0]["data"]["task"] == {"id": task["id"], "kind": "recognition", "name": "dogs"}
    with pytest.raises(ValueError, match="Unknown event"):
        notify(workspace=alice.workspace, event="dataset.imported", payload={})


def test_another_workspaces_webhook_answers_404(alice, bob, receiver: Receiver) -> None:
    hook = create(alice.client, receiver.url, ["training.failed"])
    base = f"/notifications/v2/webhook/{hook['id']}"
    assert bob.client.get(base).status_code == 404
    assert bob.client.get(f"{base}/deliveries").status_code == 404
    assert bob.client.patch(base, {"url": "http://10.0.0.1/"}, format="json").status_code == 404
    assert bob.client.delete(base).status_code == 404
    assert bob.client.get("/notifications/v2/webhook").json()["count"] == 0
    assert Webhook.objects.get().url == receiver.url
    assert alice.client.delete(base).status_code == 204 and not Webhook.objects.exists()
