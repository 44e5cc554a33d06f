"""The images of a task in the order that helps the model most, for annotating and reviewing.

``todo`` puts never-annotated images first (then rejected ones to fix); ``uncertain`` puts first
the images whose open suggestions are least certain (a score near 0.5; images without suggestions
last), as active learning does; ``review`` puts annotated, not yet verified images first.
"""

from __future__ import annotations

import uuid

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Abs
from rest_framework.exceptions import ValidationError

from ximilar_platform.annotate.models import AnnotationJob, Suggestion
from ximilar_platform.annotate.reviews import RANK, STATUSES, ranked, with_status
from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.images.models import TrainingImage

ORDERS = ("todo", "uncertain", "review", "oldest")
REVIEW_FIRST = {"annotated": 0, "rejected": 1, "todo": 2, "verified": 3}


def task_queue(
    task: TrainableTask,
    *,
    order: str = "todo",
    status: str | None = None,
    label: uuid.UUID | None = None,
    job: AnnotationJob | None = None,
) -> QuerySet[TrainingImage]:
    """The workspace's images as the task's queue: annotated with ``status`` and ``certainty``."""
    if order not in ORDERS:
        raise ValidationError({"order": [f"Choose one of {', '.join(ORDERS)}."]})
    if status and status not in STATUSES:
        raise ValidationError({"status": [f"Choose one of {', '.join(STATUSES)}."]})
    images = TrainingImage.objects.filter(workspace_id=task.workspace_id)
    if job is not None:
        images = images.filter(annotation_jobs=job)
    if label is not None:
        images = images.filter(pk__in=with_label(task, label))
    images = with_status(images, task).annotate(certainty=Subquery(least_certain(task)))
    if status:
        images = images.filter(status_rank=RANK[status])
    if order == "uncertain":
        return images.order_by(F("certainty").asc(nulls_last=True), "status_rank", "created", "id")
    if order == "review":
        return images.order_by(ranked(task, REVIEW_FIRST), "created", "id")
    if order == "oldest":
        return images.order_by("created", "id")
    return images.order_by("status_rank", "created", "id")


def least_certain(task: TrainableTask) -> QuerySet[Suggestion]:
    """The image's open suggestion nearest to a coin flip: |2 * score - 1|, 0 is the least certain."""
    distance = Abs(F("score") * 2 - 1)
    suggested = Suggestion.objects.filter(task_id=task.id, image=OuterRef("pk"), state=Suggestion.State.OPEN)
    return suggested.annotate(certainty=distance).order_by("certainty").values("certainty")[:1]


def with_label(task: TrainableTask, label: uuid.UUID) -> QuerySet[TrainingImage]:
    """Images that show the label: objects or image labels of it, or open suggestions of it."""
    suggested = Q(suggestions__task_id=task.id, suggestions__state=Suggestion.State.OPEN)
    if task.task_kind == TaskKind.DETECTION:
        found = Q(detection_objects__detection_label_id=label) | (suggested & Q(suggestions__detection_label_id=label))
    else:
        found = Q(image_labels__label_id=label) | (suggested & Q(suggestions__label_id=label))
    return TrainingImage.objects.filter(found).values("pk")
