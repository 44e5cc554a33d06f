"""Recognition tasks (categorization, tagging, regression) and their labels."""

from __future__ import annotations

from django.db import models

from ximilar_platform.core.models import WorkspaceOwned
from ximilar_platform.training_jobs.models import TrainStatus


class Label(WorkspaceOwned):
    class Type(models.TextChoices):
        CATEGORY = "category"
        TAG = "tag"
        VALUE = "value"

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.CATEGORY)
    output_name = models.CharField(max_length=255, blank=True, default="")
    negative_for_task = models.ForeignKey(
        "recognition.Task", null=True, blank=True, on_delete=models.CASCADE, related_name="negative_labels"
    )

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def public_name(self) -> str:
        return self.output_name or self.name


class Task(WorkspaceOwned):
    class Type(models.TextChoices):
        MULTI_CLASS = "multi_class"
        MULTI_LABEL = "multi_label"
        REGRESSION = "regression"

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.MULTI_CLASS)
    production_version = models.IntegerField(default=-1)
    last_train_status = models.CharField(max_length=16, choices=TrainStatus.choices, default=TrainStatus.NOT_TRAINED)
    labels = models.ManyToManyField(Label, related_name="tasks", blank=True)
    arch = models.CharField(max_length=64, blank=True, default="", help_text="Backbone; empty: TRAINING_ARCH.")

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def label_type(self) -> str:
        return LABEL_TYPE_FOR_TASK[self.type]


LABEL_TYPE_FOR_TASK = {
    Task.Type.MULTI_CLASS: Label.Type.CATEGORY,
    Task.Type.MULTI_LABEL: Label.Type.TAG,
    Task.Type.REGRESSION: Label.Type.VALUE,
}
