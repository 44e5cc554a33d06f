"""A flow: a tree of actions (nodes) over trained tasks, run on every record of one request."""

from __future__ import annotations

from django.db import models

from ximilar_platform.core.models import WorkspaceOwned


class Flow(WorkspaceOwned):
    """The definition only; whether it can run (``valid``) is computed when read, because tasks change."""

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    top_node = models.JSONField(help_text="The root node; see flows/definition.py for the format.")
    image_size = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.name
