"""Webhooks of a workspace, the events sent to them and every delivery attempt; users' email choices."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from ximilar_platform.core.models import UUIDModel, WorkspaceOwned


def new_secret() -> str:
    return secrets.token_hex(32)


class Webhook(WorkspaceOwned):
    """A URL that receives the workspace's ``events``, signed with ``secret`` (kept: each delivery signs with it)."""

    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text="Names from notifications.events.EVENTS.")
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=64, default=new_secret, editable=False)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.url


class Event(WorkspaceOwned):
    """Something that happened in a workspace, as its webhooks receive it; ``user`` is whom an email goes to."""

    name = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Delivery(UUIDModel):
    """One attempt to deliver an event to a webhook: the receiver's status code, or why there is none."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveSmallIntegerField()
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    duration = models.FloatField(help_text="Seconds the attempt took.")

    class Meta:
        ordering = ["-created", "-attempt"]
        indexes = [models.Index(fields=["webhook", "-created"], name="delivery_log")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event_id} to {self.webhook_id}, attempt {self.attempt}"

    @property
    def ok(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300


class NotificationSettings(models.Model):
    """A user's choices; a user without a row has the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+")
    email_trainings = models.BooleanField(default=True, help_text="Email me when my trainings start, end or fail.")

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notifications of {self.user_id}"
