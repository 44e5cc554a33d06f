"""Recognition tasks (categorization, tagging, regression), their labels, and labels on training images."""

from __future__ import annotations

from django.db import models

from ximilar_platform.core.models import NamedLabel, TaskKind, TrainableTask
from ximilar_platform.images.models import TrainingImage


class Label(NamedLabel):
    class Type(models.TextChoices):
        CATEGORY = "category"
        TAG = "tag"
        VALUE = "value"

    type = models.CharField(max_length=16, choices=Type.choices, default=Type.CATEGORY)
    negative_for_task = models.ForeignKey(
        "recognition.Task", null=True, blank=True, on_delete=models.CASCADE, related_name="negative_labels"
    )
    images = models.ManyToManyField(TrainingImage, through="ImageLabel", related_name="labels", blank=True)


class Task(TrainableTask):
    class Type(models.TextChoices):
        MULTI_CLASS = "multi_class"
        MULTI_LABEL = "multi_label"
        REGRESSION = "regression"

    task_kind = TaskKind.RECOGNITION

    type = models.CharField(max_length=16, choices=Type.choices, default=Type.MULTI_CLASS)
    labels = models.ManyToManyField(Label, related_name="tasks", blank=True)
    quick_first_version = models.BooleanField(
        null=True,
        blank=True,
        default=None,
        help_text="Train a first version on frozen features before the fine-tune (categorization and "
        "tagging); null: TRAINING_QUICK_FIRST_VERSION.",
    )

    @property
    def label_type(self) -> str:
        return LABEL_TYPE_FOR_TASK[self.type]


LABEL_TYPE_FOR_TASK = {
    Task.Type.MULTI_CLASS: Label.Type.CATEGORY,
    Task.Type.MULTI_LABEL: Label.Type.TAG,
    Task.Type.REGRESSION: Label.Type.VALUE,
}


class ImageLabel(models.Model):
    """A label on an image; ``value`` is the regression target of a ``value`` label."""

    image = models.ForeignKey(TrainingImage, on_delete=models.CASCADE, related_name="image_labels")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="image_labels")
    value = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "label"], name="unique_label_per_image")]

    def __str__(self) -> str:
        return f"{self.label_id} on {self.image_id}"
