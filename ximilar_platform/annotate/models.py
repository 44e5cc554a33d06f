"""Annotation work: model suggestions kept apart from objects, each image's review state per task,
verifications (the official client's ``Image.verify``), and jobs that assign images to people."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ximilar_platform.core.jobs import Job
from ximilar_platform.core.models import TaskKind, UUIDModel, WorkspaceOwned
from ximilar_platform.detection.models import DetectionLabel, DetectionObject
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import Label
from ximilar_platform.similarity.models import SimilarityGroup
from ximilar_platform.training_jobs.models import ModelVersion

USER = settings.AUTH_USER_MODEL


class Suggestion(WorkspaceOwned):
    """A box (detection) or a label (recognition) a model version predicted on an image.

    Never training data: it becomes an object or an image label only when a person accepts it.
    """

    class State(models.TextChoices):
        OPEN = "open"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    image = models.ForeignKey(TrainingImage, on_delete=models.CASCADE, related_name="suggestions")
    task_kind = models.CharField(max_length=16, choices=TaskKind.choices)
    task_id = models.UUIDField(db_index=True)
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    detection_label = models.ForeignKey(
        DetectionLabel, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(null=True, blank=True, help_text="[xmin, ymin, xmax, ymax] in stored-image pixels.")
    score = models.FloatField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    accepted_object = models.ForeignKey(
        DetectionObject, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-score", "id"]
        indexes = [models.Index(fields=["task_id", "image", "state"])]

    def __str__(self) -> str:
        return f"{self.detection_label or self.label} {self.score:.2f} ({self.state})"


class SuggestionRun(WorkspaceOwned, Job):
    """A worker job predicting a set of images with a version and storing the results as suggestions."""

    runner = "suggestions"
    noun = "suggestion run"
    lost_worker = "The worker predicting these images stopped responding; start the suggestions again."

    task_kind = models.CharField(max_length=16, choices=TaskKind.choices)
    task_id = models.UUIDField(db_index=True)
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    images = models.JSONField(default=list, help_text="Ids of the images to predict.")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created", "id"]

    def __str__(self) -> str:
        return f"suggestions of {self.task_id} ({self.state})"


class ImageReview(WorkspaceOwned):
    """An image marked done in a task's annotation, or rejected by a reviewer with a comment.

    Without a review an image is still to do; an annotated one counts as verified once it has the
    task's ``required_verifications`` (``annotate.reviews.status``), so the two never disagree.
    """

    class State(models.TextChoices):
        ANNOTATED = "annotated"
        REJECTED = "rejected"

    image = models.ForeignKey(TrainingImage, on_delete=models.CASCADE, related_name="reviews")
    task_kind = models.CharField(max_length=16, choices=TaskKind.choices)
    task_id = models.UUIDField(db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ANNOTATED)
    comment = models.TextField(blank=True, default="")
    annotated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated", "id"]
        constraints = [models.UniqueConstraint(fields=["task_id", "image"], name="one_review_per_task_image")]

    def __str__(self) -> str:
        return f"{self.image_id} {self.state}"


class Verification(UUIDModel):
    """A person checked an image (``annotate/v2/verification``); a task may require several."""

    image = models.ForeignKey(TrainingImage, on_delete=models.CASCADE, related_name="verifications")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["image", "user"], name="one_verification_per_user")]

    def __str__(self) -> str:
        return f"{self.image_id} by {self.user_id}"


class GroupVerification(UUIDModel):
    """A person checked a similarity group (``annotate/v2/similarity-verification``)."""

    group = models.ForeignKey(SimilarityGroup, on_delete=models.CASCADE, related_name="verifications")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="one_group_verification_per_user")]

    def __str__(self) -> str:
        return f"{self.group_id} by {self.user_id}"


class AnnotationJob(WorkspaceOwned):
    """A set of a task's images assigned to one member; its progress is its images' reviews."""

    name = models.CharField(max_length=255)
    task_kind = models.CharField(max_length=16, choices=TaskKind.choices)
    task_id = models.UUIDField(db_index=True)
    assignee = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    images = models.ManyToManyField(TrainingImage, related_name="annotation_jobs", blank=True)

    class Meta:
        ordering = ["-created", "id"]

    def __str__(self) -> str:
        return self.name
