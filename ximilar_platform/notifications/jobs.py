"""Notifications' jobs, on the default queue: one webhook delivery attempt, one email."""

from __future__ import annotations

from celery import shared_task

from ximilar_platform.notifications import emails, webhooks


@shared_task(acks_late=True)
def deliver_webhook(webhook_id: str, event_id: str, attempt: int = 1) -> None:
    """A failed attempt sends the next one after its back-off (``WEBHOOK_RETRY_DELAYS``)."""
    delay = webhooks.deliver(webhook_id=webhook_id, event_id=event_id, attempt=attempt)
    if delay is not None:
        deliver_webhook.apply_async((webhook_id, event_id, attempt + 1), countdown=delay)


@shared_task(acks_late=True)
def email_event(event_id: str) -> None:
    emails.send_event_email(event_id=event_id)
