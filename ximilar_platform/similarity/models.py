"""Similarity types, tasks and groups: the training data of metric-learning embedders (seed 003)."""

from __future__ import annotations

import uuid

from django.db import models

from ximilar_platform.core.models import WorkspaceOwned
from ximilar_platform.detection.models import DetectionObject
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.training_jobs.models import TrainStatus


class SimilarityType(WorkspaceOwned):
    """A kind of similarity (e.g. "same product"); groups belong to one type, tasks train on types."""

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.name


class SimilarityTask(WorkspaceOwned):
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    types = models.ManyToManyField(SimilarityType, related_name="tasks", blank=True)
    production_version = models.IntegerField(default=-1)
    last_train_status = models.CharField(max_length=16, choices=TrainStatus.choices, default=TrainStatus.NOT_TRAINED)
    arch = models.CharField(max_length=64, blank=True, default="", help_text="Backbone; empty: TRAINING_ARCH.")

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.name


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


class Collection(WorkspaceOwned):
    """A search collection, named by the ``collection-id`` header (contract §4).

    Vectors come from one version of the bound similarity task (its production version at the
    first record, and each one it deploys later while ``follow_production``), or, with no task,
    from the generic pretrained descriptor (`inference.descriptors`).
    """

    key = models.CharField(max_length=255, help_text="The collection-id header value.")
    name = models.CharField(max_length=255, blank=True, default="")
    task = models.ForeignKey(SimilarityTask, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="collections")
    version = models.PositiveIntegerField(null=True, blank=True, help_text="The embedder version its vectors are from.")
    follow_production = models.BooleanField(
        default=True, help_text="Move to every version the task deploys (else stay on `version`).")
    dimension = models.PositiveIntegerField(null=True, blank=True, help_text="Fixed by the first record.")
    revision = models.PositiveBigIntegerField(default=0, help_text="Grows with every change of its records.")

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="unique_collection_key")]

    def __str__(self) -> str:
        return self.name or self.key


class CollectionRecord(models.Model):
    """One searchable record: its ``_id``, its L2-normalised float32 vector, and its other fields."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="records")
    key = models.CharField(max_length=255)
    vector = models.BinaryField()
    fields = models.JSONField(default=dict, blank=True)
    image = models.CharField(max_length=500, blank=True, default="",
                             help_text="A copy of the inserted image, to embed again; empty for a _descriptor.")
    pending_vector = models.BinaryField(null=True, blank=True,
                                        help_text="Its vector by the embedder a re-embedding moves to.")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        # no default ordering: lookups by key must use the unique index, not walk the primary key
        constraints = [models.UniqueConstraint(fields=["collection", "key"], name="unique_record_key")]

    def __str__(self) -> str:
        return self.key


class Reembedding(models.Model):
    """Moving a collection to another embedder: a worker embeds its records' kept images again.

    The collection keeps answering with its current vectors until every record has one from the
    target embedder; then all of them switch in one transaction.
    """

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    ACTIVE = (State.PENDING, State.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="reembeddings")
    task = models.ForeignKey(SimilarityTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(null=True, blank=True,
                                          help_text="Target version; null: the generic descriptor.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.collection} -> {self.version or 'generic'} ({self.state})"
