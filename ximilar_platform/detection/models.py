"""Detection tasks, their labels, and the objects (boxes) drawn on training images."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ximilar_platform.core.models import NamedLabel, TaskKind, TrainableTask, WorkspaceOwned
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import Label as RecognitionLabel
from ximilar_platform.recognition.models import Task as RecognitionTask

USER = settings.AUTH_USER_MODEL


class DetectionLabel(NamedLabel):
    color = models.CharField(max_length=32, default="#FFFFFF")
    recognition_tasks = models.ManyToManyField(RecognitionTask, related_name="detection_labels", blank=True)


class DetectionTask(TrainableTask):
    task_kind = TaskKind.DETECTION

    labels = models.ManyToManyField(DetectionLabel, related_name="tasks", blank=True)
    negative_images = models.ManyToManyField(
        TrainingImage,
        related_name="negative_for_detection_tasks",
        blank=True,
        help_text="Images with none of the task's objects, which teach it 'nothing here'.",
    )


class DetectionObject(WorkspaceOwned):
    """A box ``data = [xmin, ymin, xmax, ymax]`` in pixels of the stored image."""

    image = models.ForeignKey(TrainingImage, on_delete=models.CASCADE, related_name="detection_objects")
    detection_label = models.ForeignKey(DetectionLabel, on_delete=models.CASCADE, related_name="detection_objects")
    data = models.JSONField()
    meta_data = models.JSONField(default=dict, blank=True)
    recognition_labels = models.ManyToManyField(
        RecognitionLabel, through="ObjectLabel", related_name="detection_objects", blank=True
    )
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.detection_label_id} {self.data}"


class ObjectLabel(models.Model):
    """A recognition label on an object (e.g. the colour of a detected car); ``value`` for value labels."""

    object = models.ForeignKey(DetectionObject, on_delete=models.CASCADE, related_name="object_labels")
    label = models.ForeignKey(RecognitionLabel, on_delete=models.CASCADE, related_name="object_labels")
    value = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["object", "label"], name="unique_label_per_object")]

    def __str__(self) -> str:
        return f"{self.label_id} on {self.object_id}"
