"""Recognition tasks and labels: creation rules and label attachment checks."""

from __future__ import annotations

from django.db import transaction
from rest_framework.exceptions import ValidationError

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.recognition.models import Label, Task


@transaction.atomic
def create_task(
    *,
    workspace: Workspace,
    name: str,
    type: str = Task.Type.MULTI_CLASS,
    description: str = "",
    arch: str = "",
    required_verifications: int = 1,
    quick_first_version: bool | None = None,
) -> Task:
    """Create a task; a tagging task also gets its negative label ("none of the tags")."""
    task = Task.objects.create(
        workspace=workspace,
        name=name,
        type=type,
        description=description,
        arch=arch,
        required_verifications=required_verifications,
        quick_first_version=quick_first_version,
    )
    if task.type == Task.Type.MULTI_LABEL:
        negative = Label.objects.create(
            workspace=workspace,
            name=f"{name} negative",
            type=Label.Type.TAG,
            negative_for_task=task,
            description="Images showing none of the task's tags.",
        )
        task.labels.add(negative)
    return task


def add_label_to_task(*, task: Task, label: Label) -> Task:
    if label.type != task.label_type:
        raise ValidationError(
            {
                "label_id": [
                    f"A {task.type} task takes {task.label_type} labels; '{label.name}' is a {label.type} label."
                ]
            }
        )
    task.labels.add(label)
    return task


def remove_label_from_task(*, task: Task, label: Label) -> Task:
    if label.negative_for_task_id == task.id:
        raise ValidationError({"label_id": ["The negative label of a tagging task cannot be removed from it."]})
    task.labels.remove(label)
    return task


def change_label_type(*, label: Label, new_type: str) -> None:
    """A label's type may change only while no task uses it, since tasks accept one type."""
    if new_type == label.type:
        return
    if label.negative_for_task_id:
        raise ValidationError({"type": ["The type of a negative label cannot change."]})
    if label.tasks.exists():
        raise ValidationError({"type": ["Remove the label from its tasks before changing its type."]})
    if new_type != Label.Type.VALUE and label.image_labels.filter(value__isnull=False).exists():
        raise ValidationError({"type": ["The label's images carry regression values; wipe them first."]})
