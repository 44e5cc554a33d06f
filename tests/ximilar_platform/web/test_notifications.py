"""The account page's Notifications card: the email switch, adding and deleting webhooks, recent deliveries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ximilar_platform.notifications.receiver import Receiver, running_receiver, training_job
from ximilar_platform.notifications.models import Webhook
from ximilar_platform.notifications.preferences import emails_trainings


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.URL_FETCH_ALLOW_LOOPBACK = True
    with running_receiver() as state:
        yield state


def test_the_card_switches_emails_adds_a_webhook_and_shows_its_deliveries(
    web, alice, receiver, django_capture_on_commit_callbacks
) -> None:
    task = alice.client.post("/recognition/v2/task", {"name": "dogs"}, format="json").json()
    page = web.get("/app/account/").content.decode()
    assert "Notifications" in page and 'id="email-trainings" type="checkbox" name="email_trainings" checked' in page
    assert "You have no email address" in page and "No webhook yet." in page and "Nothing delivered yet." in page

    web.post("/app/account/notifications/email/", {})  # an unticked box is not sent
    assert not emails_trainings(alice.user)
    assert 'name="email_trainings" >' in web.get("/app/account/").content.decode()
    web.post("/app/account/notifications/email/", {"email_trainings": "on"})
    assert emails_trainings(alice.user)

    added = web.post("/app/account/webhooks/", {"url": receiver.url, "events": ["training.started"]}, follow=True)
    webhook = Webhook.objects.get(workspace=alice.workspace)
    page = added.content.decode()
    assert f'id="new-webhook-secret" class="mono" style="word-break:break-all">{webhook.secret}<' in page
    assert receiver.url in page and webhook.secret not in web.get("/app/account/").content.decode()  # once

    with django_capture_on_commit_callbacks(execute=True):
        assert training_job(alice, task).start(worker="w")
    page = web.get("/app/account/").content.decode()
    deliveries = page.split("Recent deliveries")[1]
    assert "training.started" in deliveries and '<span class="badge ok">200</span>' in deliveries


def test_a_refused_url_is_said_on_the_page_and_another_workspaces_webhook_is_404(web, bob_web, alice) -> None:
    refused = web.post(
        "/app/account/webhooks/", {"url": "http://10.0.0.1/", "events": ["training.failed"]}, follow=True
    )
    assert "URL destination is not allowed (private address)" in refused.content.decode()
    assert not Webhook.objects.exists()
    webhook = Webhook.objects.create(workspace=alice.workspace, url="https://example.com/", events=["training.failed"])
    assert bob_web.post(f"/app/account/webhooks/{webhook.id}/delete/").status_code == 404
    assert web.post(f"/app/account/webhooks/{webhook.id}/delete/").status_code == 302
    assert not Webhook.objects.exists()
