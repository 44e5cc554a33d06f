"""Similarity types, tasks and groups: the training data of metric-learning embedders (seed 003)."""

from __future__ import annotations

from django.db import models

from ximilar_platform.core.models import TaskKind, TrainableTask, WorkspaceOwned
from ximilar_platform.detection.models import DetectionObject
from ximilar_platform.images.models import TrainingImage


class SimilarityType(WorkspaceOwned):
    """A kind of similarity (e.g. "same product"); groups belong to one type, tasks train on types."""

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.name


class SimilarityTask(TrainableTask):
    task_kind = TaskKind.SIMILARITY

    types = models.ManyToManyField(SimilarityType, related_name="tasks", blank=True)


class SimilarityGroup(WorkspaceOwned):
    """One item seen in several images (a leaf group), or a group of groups; never both."""

    type = models.ForeignKey(SimilarityType, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=255, blank=True, default="")
    description = models.TextField(blank=True, default="")
    meta_data = models.JSONField(default=dict, blank=True)
    test_group = models.BooleanField(default=False)
    images = models.ManyToManyField(TrainingImage, related_name="similarity_groups", blank=True)
    groups = models.ManyToManyField("self", symmetrical=False, related_name="parents", blank=True)
    detection_objects = models.ManyToManyField(DetectionObject, related_name="similarity_groups", blank=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.name or str(self.id)
