"""Users' workspaces (the tenants) and their API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class WorkspaceQuerySet(models.QuerySet["Workspace"]):
    def for_user(self, user: models.Model) -> WorkspaceQuerySet:
        return self.filter(members=user)


class Workspace(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_workspaces")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="workspaces")
    is_default = models.BooleanField(default=False, help_text="The owner's default workspace.")
    meta_data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=models.Q(is_default=True), name="one_default_workspace_per_owner"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """Only a SHA-256 of the key is stored; the key itself is shown once, when issued."""

    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters of the key, to tell tokens apart.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(null=True, blank=True, help_text="After this the token is refused; null: never.")

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user: models.Model, name: str = "", expires: datetime | None = None) -> tuple[ApiToken, str]:
        """Create a token; 40 hex characters stay under the client's 70-character JWT switch."""
        key = secrets.token_hex(20)
        token = cls.objects.create(user=user, key_hash=hash_token_key(key), prefix=key[:8], name=name, expires=expires)
        return token, key

    @property
    def expired(self) -> bool:
        return self.expires is not None and self.expires <= timezone.now()


class DailyUsage(models.Model):
    """Records a workspace sent to one service on one day (UTC): Ximilar bills credits per record."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    service = models.CharField(max_length=32)
    records = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "service"]
        constraints = [models.UniqueConstraint(fields=["workspace", "day", "service"], name="one_usage_row_a_day")]

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.day} {self.service}: {self.records}"
