"""Abstract bases shared by every domain model."""

from __future__ import annotations

import uuid

from django.db import models


class UUIDModel(models.Model):
    """Public ids are random UUID4s: the official client parses them with a UUID4 regex."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class WorkspaceOwned(UUIDModel):
    """Every entity belongs to exactly one workspace, the tenant boundary."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True
