"""Training images, shared by recognition, detection and similarity (their labels live in those apps)."""

from __future__ import annotations

from django.db import models

from ximilar_platform.core.models import WorkspaceOwned


class TrainingImage(WorkspaceOwned):
    file = models.FileField(max_length=255)
    thumbnail = models.FileField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the uploaded bytes; one copy per workspace.")
    meta_data = models.JSONField(default=dict, blank=True)
    test_image = models.BooleanField(default=False)
    real = models.BooleanField(default=False)
    verify_count = models.PositiveIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "checksum"], name="unique_image_per_workspace")]

    def __str__(self) -> str:
        return str(self.id)
