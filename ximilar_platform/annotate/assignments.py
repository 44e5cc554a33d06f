"""Annotation jobs: a task's images assigned to one workspace member, and progress per job and person."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Q
from rest_framework.exceptions import ValidationError

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.annotate.models import AnnotationJob, ImageReview, Verification
from ximilar_platform.annotate.queue import task_queue
from ximilar_platform.annotate.reviews import STATUSES, status_name, with_status
from ximilar_platform.core.models import TrainableTask
from ximilar_platform.images.models import TrainingImage


def member(workspace_id: Any, user_id: Any, field: str = "assignee") -> AbstractBaseUser | None:
    """The workspace member a request names (by id or username); None for no one."""
    if user_id in (None, ""):
        return None
    users = get_user_model().objects.filter(workspaces__id=workspace_id)
    text = str(user_id)
    found = users.filter(Q(username=text) | Q(pk=int(text)) if text.isdigit() else Q(username=text)).first()
    if found is None:
        raise ValidationError({field: ["No member of this workspace has that id or username."]})
    return found


@transaction.atomic
def create_job(
    *,
    task: TrainableTask,
    name: str,
    by: AbstractBaseUser,
    assignee: AbstractBaseUser | None = None,
    images: list[TrainingImage] | None = None,
    count: int | None = None,
) -> AnnotationJob:
    """A job of the given images, or of the next ``count`` to-do images no other job of the task holds."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the job a name."]})
    if images is None:
        if not count or count < 1:
            raise ValidationError({"count": ["Give the images or how many to-do images to take."]})
        if count > settings.MAX_BULK_IMAGES:
            raise ValidationError({"count": [f"At most {settings.MAX_BULK_IMAGES} images per job."]})
        taken = AnnotationJob.images.through.objects.filter(annotationjob__task_id=task.id).values("trainingimage_id")
        images = list(task_queue(task, status="todo").exclude(pk__in=taken)[:count])
        if not images:
            raise ValidationError({"count": ["Every to-do image of this task is already in a job."]})
    job = AnnotationJob.objects.create(
        workspace_id=task.workspace_id,
        name=name[:255],
        task_kind=task.task_kind,
        task_id=task.id,
        assignee=assignee,
        created_by=by,
    )
    job.images.set(images)
    return job


def job_progress(task: TrainableTask, job: AnnotationJob) -> dict[str, int]:
    """How many of the job's images are in each status, and the total."""
    counts = Counter(
        status_name(rank) for rank in with_status(job.images.all(), task).values_list("status_rank", flat=True)
    )
    return {**{status: counts.get(status, 0) for status in STATUSES}, "total": sum(counts.values())}


def people_progress(task: TrainableTask) -> list[dict[str, Any]]:
    """Per workspace member: images annotated (marked done), rejections received, verifications given."""
    reviews = ImageReview.objects.filter(task_id=task.id)
    annotated = dict(reviews.filter(annotated_by__isnull=False).values_list("annotated_by").annotate(n=Count("id")))
    rejected = dict(
        reviews.filter(state=ImageReview.State.REJECTED, annotated_by__isnull=False)
        .values_list("annotated_by")
        .annotate(n=Count("id"))
    )
    task_images = reviews.values("image_id")
    verified = dict(Verification.objects.filter(image_id__in=task_images).values_list("user").annotate(n=Count("id")))
    workspace = Workspace.objects.get(pk=task.workspace_id)
    return [
        {
            "user": user.pk,
            "username": user.get_username(),
            "annotated": annotated.get(user.pk, 0),
            "rejected": rejected.get(user.pk, 0),
            "verifications": verified.get(user.pk, 0),
        }
        for user in workspace.members.order_by("username")
    ]
