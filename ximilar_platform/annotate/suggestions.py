"""Model suggestions: a worker predicts images with a task's version; people accept or reject each.

Suggestions stay apart from objects and labels, so they never leak into training data: accepting a
box makes a detection object, accepting a label puts it on the image (for a categorization task in
place of the task's other categories), and both record who decided.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, QuerySet
from rest_framework.exceptions import ValidationError

from ximilar_platform.annotate.models import Suggestion, SuggestionRun
from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.core.jobs import Heartbeat, failure_of, worker_name
from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.detection.models import DetectionObject, DetectionTask
from ximilar_platform.detection.predictions import detect
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.images.storage import open_stored
from ximilar_platform.recognition import image_labels
from ximilar_platform.recognition.models import ImageLabel, Task
from ximilar_platform.recognition.predictions import classify
from ximilar_platform.serving.requests import version_of

logger = logging.getLogger(__name__)
BATCH = 16


@transaction.atomic
def start_suggestions(
    *, task: TrainableTask, images: list[TrainingImage], by: AbstractBaseUser, version: int | None = None
) -> SuggestionRun:
    """Queue a worker job that predicts ``images`` with the task's production version (or ``version``)."""
    if task.task_kind == TaskKind.SIMILARITY or getattr(task, "type", "") == Task.Type.REGRESSION:
        raise ValidationError("Only categorization, tagging and detection tasks suggest annotations.")
    chosen = version_of(task, version)
    if not images:
        raise ValidationError({"images": ["Give the images to suggest annotations for."]})
    if len(images) > settings.SUGGESTION_MAX_IMAGES:
        raise ValidationError({"images": [f"At most {settings.SUGGESTION_MAX_IMAGES} images per run."]})
    if SuggestionRun.objects.filter(task_id=task.id, state__in=SuggestionRun.ACTIVE).exists():
        raise Conflict("Suggestions for this task are already being made; wait until they finish.")
    run = SuggestionRun.objects.create(
        workspace_id=task.workspace_id,
        task_kind=task.task_kind,
        task_id=task.id,
        version=chosen,
        images=[str(image.id) for image in images],
        total=len(images),
        created_by=by,
    )
    run.enqueue()
    return run


def run_suggestions(*, job_id: str) -> None:
    """In a worker: predict the run's images in batches; each image's open suggestions are replaced."""
    run = SuggestionRun.objects.select_related("version").filter(pk=job_id).first()
    if run is None or not run.start(worker=worker_name()):
        return
    run.report(done=0)  # a retried run starts over
    model = Task if run.task_kind == TaskKind.RECOGNITION else DetectionTask
    try:
        task = model.objects.get(id=run.task_id)
        with Heartbeat(run):
            for start in range(0, len(run.images), BATCH):
                found = list(
                    TrainingImage.objects.filter(
                        id__in=run.images[start : start + BATCH], workspace_id=run.workspace_id
                    )
                )
                store(run, task, found, predicted(run, task, found))
                if not run.report(done=F("done") + len(found)):
                    return  # cancelled
        run.succeed()
    except Exception as error:
        logger.exception("Suggestion run %s failed", run.id)
        run.fail(failure_of(error))


def predicted(run: SuggestionRun, task: Any, images: list[TrainingImage]) -> list[list[dict[str, Any]]]:
    """Per image, the suggestions to store: ``{label id, score, box or None}``."""
    pictures = [open_stored(image.file.name) for image in images]
    if run.task_kind == TaskKind.DETECTION:
        found = detect(run.version, pictures, settings.SUGGESTION_MIN_SCORE)
        return [
            [{"label": obj["id"], "score": obj["prob"], "box": [round(v) for v in obj["bound_box"]]} for obj in objects]
            for objects in found
        ]
    answers = classify(task, run.version, pictures)
    return [
        [
            {"label": label["id"], "score": label.get("prob", 1.0), "box": None}
            for label in answer["labels"]
            if label.get("prob", 1.0) >= settings.SUGGESTION_MIN_SCORE
        ]
        for answer in answers
    ]


@transaction.atomic
def store(run: SuggestionRun, task: Any, images: list[TrainingImage], results: list[list[dict[str, Any]]]) -> None:
    open_ones = Suggestion.objects.filter(task_id=task.id, image__in=images, state=Suggestion.State.OPEN)
    open_ones.delete()
    label_field = "detection_label_id" if run.task_kind == TaskKind.DETECTION else "label_id"
    Suggestion.objects.bulk_create(
        [
            Suggestion(
                workspace_id=run.workspace_id,
                image=image,
                task_kind=run.task_kind,
                task_id=task.id,
                version=run.version,
                data=item["box"],
                score=round(float(item["score"]), 4),
                **{label_field: item["label"]},
            )
            for image, items in zip(images, results, strict=True)
            for item in items
        ]
    )


@transaction.atomic
def accept(*, suggestion: Suggestion, by: AbstractBaseUser) -> Suggestion:
    """Turn a suggestion into annotation: an object for a box, an image label for a label."""
    suggestion = Suggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.state != Suggestion.State.OPEN:
        raise Conflict(f"This suggestion was already {suggestion.state}.")
    if suggestion.detection_label_id:
        suggestion.accepted_object = DetectionObject.objects.create(
            workspace_id=suggestion.workspace_id,
            image_id=suggestion.image_id,
            detection_label_id=suggestion.detection_label_id,
            data=suggestion.data,
            created_by=by,
            updated_by=by,
        )
    else:
        task = Task.objects.get(id=suggestion.task_id)
        if task.type == Task.Type.MULTI_CLASS:  # one category per image: the accepted one replaces the others
            ImageLabel.objects.filter(image_id=suggestion.image_id, label__in=task.labels.all()).exclude(
                label_id=suggestion.label_id
            ).delete()
            Suggestion.objects.filter(
                task_id=task.id, image_id=suggestion.image_id, state=Suggestion.State.OPEN
            ).exclude(pk=suggestion.pk).update(state=Suggestion.State.REJECTED, decided_by=by)
        image_labels.add_label_to_image(image=suggestion.image, label=suggestion.label)
    suggestion.state, suggestion.decided_by = Suggestion.State.ACCEPTED, by
    suggestion.save(update_fields=["state", "decided_by", "accepted_object"])
    return suggestion


def reject(*, suggestion: Suggestion, by: AbstractBaseUser) -> Suggestion:
    updated = Suggestion.objects.filter(pk=suggestion.pk, state=Suggestion.State.OPEN).update(
        state=Suggestion.State.REJECTED, decided_by=by
    )
    if not updated:
        raise Conflict("This suggestion was already decided.")
    suggestion.refresh_from_db()
    return suggestion


def parse_threshold(value: Any) -> float:
    try:
        threshold = float(value)
    except (TypeError, ValueError) as error:
        raise ValidationError({"threshold": ["Give a threshold between 0 and 1."]}) from error
    if not 0 <= threshold <= 1:
        raise ValidationError({"threshold": ["Give a threshold between 0 and 1."]})
    return threshold


def accept_above(*, suggestions: QuerySet[Suggestion], threshold: float, by: AbstractBaseUser) -> int:
    """Accept every open suggestion scoring at least ``threshold`` (best first); the number accepted."""
    accepted = 0
    for suggestion in suggestions.filter(state=Suggestion.State.OPEN, score__gte=threshold).order_by("-score"):
        try:
            accept(suggestion=suggestion, by=by)
            accepted += 1
        except Conflict:  # rejected meanwhile by accepting a better category of the same image
            continue
    return accepted
