"""The email about a training event: to its user, if they want it and have an address.

Sent by a worker after the change committed; a mail server that fails is logged, and nothing
else (the training, the event's webhooks) depends on it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from ximilar_platform.notifications import events
from ximilar_platform.notifications.models import Event
from ximilar_platform.notifications.preferences import emails_trainings

logger = logging.getLogger(__name__)


def send_event_email(*, event_id: str) -> bool:
    """Whether an email was sent."""
    event = Event.objects.select_related("user", "workspace").filter(pk=event_id, name__in=events.EMAILED).first()
    user = event.user if event else None
    if user is None or not user.is_active or not user.email or not emails_trainings(user):
        return False
    subject, text = message_of(event)
    try:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
    except OSError:  # smtplib's errors are OSErrors too, as are refused connections and timeouts
        logger.exception("The email about event %s to user %s could not be sent", event.pk, user.pk)
        return False
    return True


def message_of(event: Event) -> tuple[str, str]:
    """Subject and plain-text body, from the event's payload (`events` describes it)."""
    data = event.payload
    task = data.get("task") or {}
    name = task.get("name") or task.get("id", "?")
    what = f'The training of your {task.get("kind", "")} task "{name}"'
    if event.name == events.TRAINING_STARTED:
        subject, lines = f"Training started: {name}", [f"{what} started (run {data.get('attempt', 1)})."]
    elif event.name == events.TRAINING_SUCCEEDED:
        version = data.get("version") or {}
        subject = f"Training finished: {name}, version {version.get('number', '?')}"
        lines = [f"{what} finished: version {version.get('number', '?')} is trained."]
        metrics = sorted((version.get("metrics") or {}).items())
        lines += [f"  {metric}: {round(value, 4) if isinstance(value, float) else value}" for metric, value in metrics]
    else:
        subject, lines = f"Training failed: {name}", [f"{what} failed:", f"  {data.get('error', '')}"]
    lines += [
        "",
        f"Workspace: {event.workspace.name}",
        f"Task: {task.get('id', '?')}",
        f"Job: {data.get('job', '?')}",
        f"Time: {event.created:%Y-%m-%d %H:%M} UTC",
        "",
        "Turn these emails off on your account page, or with PATCH account/v2/notifications "
        '{"email_trainings": false}.',
    ]
    return subject, "\n".join(lines) + "\n"
