"""Training images, shared by recognition, detection and similarity, and their labels."""

from __future__ import annotations

from django.db import models

from ximilar_platform.core.models import WorkspaceOwned
from ximilar_platform.recognition.models import Label


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
    labels = models.ManyToManyField(Label, through="ImageLabel", related_name="images", blank=True)

    class Meta:
        ordering = ["-created", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "checksum"], name="unique_image_per_workspace")]

    def __str__(self) -> str:
        return str(self.id)


class ImageLabel(models.Model):
    """A label on an image; ``value`` is the regression target of a ``value`` label."""

    image = models.ForeignKey(TrainingImage, on_delete=models.CASCADE, related_name="image_labels")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="image_labels")
    value = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "label"], name="unique_label_per_image")]
