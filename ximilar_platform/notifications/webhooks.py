"""Delivering an event to a webhook: the signed body, one attempt, and the back-off of the next.

The receiver checks ``X-Signature: sha256=<hex>``, the HMAC-SHA256 keyed by the webhook's
secret (its text as UTF-8) of ``<X-Webhook-Timestamp>.<body>``, and refuses old timestamps, so a
recorded request cannot be replayed. Destinations follow the image URLs' rules
(`inference.urls`), checked when the webhook is saved and again at every attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings

from inference.errors import InvalidImage
from inference.urls import UrlPolicy, check_url, post_json
from ximilar_platform.notifications.models import Delivery, Event, Webhook

PERMANENT = frozenset({"invalid_url", "url_forbidden"})  # trying again cannot help


def url_policy() -> UrlPolicy:
    return UrlPolicy(
        timeout=settings.WEBHOOK_TIMEOUT,
        allow_loopback=settings.URL_FETCH_ALLOW_LOOPBACK,
        allow_private=settings.URL_FETCH_ALLOW_PRIVATE,
        max_redirects=0,
    )


def refusal(url: str) -> str | None:
    """Why a webhook may not have this URL, or None."""
    try:
        check_url(url, url_policy())
    except InvalidImage as refused:
        return refused.message
    return None


def body_of(event: Event) -> bytes:
    """The same bytes at every attempt: compact JSON, keys sorted."""
    envelope = {
        "id": str(event.pk),
        "event": event.name,
        "created": event.created.isoformat(),
        "workspace": str(event.workspace_id),
        "data": event.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def deliver(*, webhook_id: str, event_id: str, attempt: int) -> float | None:
    """Make attempt ``attempt`` and log it; the seconds to wait before the next one, or None when done.

    Done: delivered (2xx), the webhook deleted or switched off, its URL refused, or the last of
    ``len(WEBHOOK_RETRY_DELAYS) + 1`` attempts made.
    """
    webhook = Webhook.objects.filter(pk=webhook_id, active=True).first()
    event = Event.objects.filter(pk=event_id).first()
    if webhook is None or event is None:
        return None
    body, timestamp, started = body_of(event), int(time.time()), time.monotonic()
    headers = {
        "User-Agent": "trainable-vision-webhooks",
        "X-Webhook-Event": event.name,
        "X-Webhook-Id": str(event.pk),
        "X-Webhook-Attempt": str(attempt),
        "X-Webhook-Timestamp": str(timestamp),
        "X-Signature": signature(webhook.secret, timestamp, body),
    }
    code, error, final = None, "", False
    try:
        code = post_json(webhook.url, body, headers, url_policy())
    except InvalidImage as failed:
        error, final = failed.message, failed.code in PERMANENT
    delivery = Delivery.objects.create(
        webhook=webhook,
        event=event,
        attempt=attempt,
        response_code=code,
        error=error,
        duration=time.monotonic() - started,
    )
    delays = settings.WEBHOOK_RETRY_DELAYS
    if delivery.ok or final or attempt > len(delays):
        return None
    return delays[attempt - 1]
