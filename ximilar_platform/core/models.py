"""Abstract bases shared by every domain model."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
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


class TaskKind(models.TextChoices):
    """The three kinds of trainable task; each kind's app registers how it trains (``training_jobs.adapters``)."""

    RECOGNITION = "recognition"
    DETECTION = "detection"
    SIMILARITY = "similarity"


class TrainableTask(WorkspaceOwned):
    """What every kind of task has: a name, the version it serves and the architecture it trains.

    ``production_version`` is -1 until a version is deployed. The train status is not stored: it
    is read from the task's newest training job (``training_jobs.status``). ``traffic`` splits the
    predictions that name no version between versions (``training_jobs.traffic``).
    """

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    production_version = models.IntegerField(default=-1)
    arch = models.CharField(max_length=64, blank=True, default="", help_text="Architecture; empty: the default.")
    required_verifications = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="How many people check an annotated image before it counts as verified.",
    )
    traffic = models.JSONField(
        null=True, blank=True, default=None, help_text='Version shares, e.g. {"3": 0.9, "4": 0.1}; null: production.'
    )

    task_kind: str

    class Meta:
        abstract = True
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.name


class NamedLabel(WorkspaceOwned):
    """A class a model outputs; ``output_name``, when set, is the name predictions show."""

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    output_name = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        abstract = True
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def public_name(self) -> str:
        return self.output_name or self.name
