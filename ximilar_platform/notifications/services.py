"""Notifying a workspace of an event: its webhooks, and an email for trainings."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.notifications import events, jobs
from ximilar_platform.notifications.models import Event, Webhook


def notify(*, workspace: Workspace, event: str, payload: dict[str, Any], user: AbstractBaseUser | None = None) -> Event:
    """Record ``event`` now and send it once the transaction commits, from a worker on the default queue:
    to each active webhook of the workspace that subscribes to it and, for the trainings' events
    (`events.EMAILED`), by email to ``user`` (default: the workspace's owner).

    Call it inside the transaction that makes the change, so a rollback records and sends nothing;
    a broker that refuses the messages is logged and never fails that change.
    """
    if event not in events.EVENTS:
        raise ValueError(f"Unknown event {event!r}; known: {', '.join(events.EVENTS)}")
    recorded = Event.objects.create(workspace=workspace, name=event, payload=payload, user=user or workspace.owner)
    for webhook in Webhook.objects.filter(workspace=workspace, active=True).order_by("created", "id"):
        if event in webhook.events:  # a JSON list: SQLite has no `contains` lookup for it
            transaction.on_commit(partial(jobs.deliver_webhook.delay, str(webhook.pk), str(recorded.pk)), robust=True)
    if event in events.EMAILED:
        transaction.on_commit(partial(jobs.email_event.delay, str(recorded.pk)), robust=True)
    return recorded
