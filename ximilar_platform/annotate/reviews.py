"""Where each image stands in a task's annotation, and the changes people make to it.

An image is *to do* until it has the task's annotations (objects of its labels, a negative mark,
an image label of the task) or is marked done; *rejected* when a reviewer sent it back with a
comment; *verified* once annotated and checked by the task's ``required_verifications`` people;
*annotated* otherwise. Only marks and verifications are stored, so the status never disagrees
with the data.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from rest_framework.exceptions import ValidationError

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.annotate.models import ImageReview, Verification
from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.detection.models import DetectionObject, DetectionTask
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import ImageLabel

STATUSES = ("todo", "rejected", "annotated", "verified")
RANK = {status: rank for rank, status in enumerate(STATUSES)}


def has_annotations(task: TrainableTask) -> Q | Exists:
    """Whether an image (the outer row) already carries this task's annotations."""
    if task.task_kind == TaskKind.DETECTION:
        boxes = DetectionObject.objects.filter(image=OuterRef("pk"), detection_label__tasks=task)
        negative = DetectionTask.negative_images.through.objects.filter(
            trainingimage_id=OuterRef("pk"), detectiontask_id=task.id
        )
        return Exists(boxes) | Exists(negative)
    return Exists(ImageLabel.objects.filter(image=OuterRef("pk"), label__tasks=task))


def status_conditions(task: TrainableTask) -> dict[str, Q]:
    """When an image (annotated by ``annotate_review``) is in each status but to do, in the order they are tried."""
    done = Q(review_state=ImageReview.State.ANNOTATED) | Q(review_state__isnull=True, annotated_now=True)
    return {
        "rejected": Q(review_state=ImageReview.State.REJECTED),
        "verified": done & Q(verify_count__gte=task.required_verifications),
        "annotated": done,
    }


def ranked(task: TrainableTask, ranks: dict[str, int]) -> Case:
    """One integer per image from its status (``ranks`` by status name), computed in SQL."""
    whens = [When(condition, then=Value(ranks[name])) for name, condition in status_conditions(task).items()]
    return Case(*whens, default=Value(ranks["todo"]), output_field=IntegerField())


def with_status(images: QuerySet[TrainingImage], task: TrainableTask) -> QuerySet[TrainingImage]:
    """``images`` with ``status_rank`` (the index of its status in STATUSES) and the review's comment.

    The rank, not the name, is what SQL computes: each status condition repeats the review
    subqueries, so one CASE is the cheapest way to have the status of every row to sort by.
    """
    review = ImageReview.objects.filter(task_id=task.id, image=OuterRef("pk"))
    images = images.annotate(
        review_state=Subquery(review.values("state")[:1]),
        review_comment=Subquery(review.values("comment")[:1]),
        annotated_now=has_annotations(task),
    )
    return images.annotate(status_rank=ranked(task, RANK))


def status_name(rank: int) -> str:
    return STATUSES[rank]


def status_of(task: TrainableTask, image: TrainingImage) -> dict[str, object]:
    row = with_status(TrainingImage.objects.filter(pk=image.pk), task).values("status_rank", "review_comment").get()
    return {"status": status_name(row["status_rank"]), "comment": row["review_comment"] or ""}


@transaction.atomic
def mark_annotated(
    *, task: TrainableTask, image: TrainingImage, by: AbstractBaseUser, negative: bool | None = None
) -> ImageReview:
    """The annotator is done with the image; ``negative`` marks (or unmarks) it as showing nothing to detect."""
    if negative is not None:
        set_negative(task, image, negative)
    return set_review(task, image, state=ImageReview.State.ANNOTATED, comment="", annotated_by=by)


def set_review(task: TrainableTask, image: TrainingImage, **fields: object) -> ImageReview:
    """The image's one review in the task, created or changed."""
    defaults = {"workspace_id": image.workspace_id, "task_kind": task.task_kind, **fields}
    review, _ = ImageReview.objects.update_or_create(task_id=task.id, image=image, defaults=defaults)
    return review


def set_negative(task: TrainableTask, image: TrainingImage, negative: bool) -> None:
    if not isinstance(task, DetectionTask):
        raise ValidationError({"negative": ["Only detection tasks have negative images."]})
    if not negative:
        task.negative_images.remove(image)
        return
    if DetectionObject.objects.filter(image=image, detection_label__tasks=task).exists():
        raise Conflict("This image has boxes of the task; delete them before marking it as showing nothing.")
    task.negative_images.add(image)


@transaction.atomic
def reject(*, task: TrainableTask, image: TrainingImage, by: AbstractBaseUser, comment: str) -> ImageReview:
    """Send the image back to its annotator; its verifications go, since the fix needs checking again."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": ["Say what is wrong, so the annotator can fix it."]})
    review = set_review(task, image, state=ImageReview.State.REJECTED, comment=comment[:2000], reviewed_by=by)
    Verification.objects.filter(image=image).delete()
    recount(image)
    return review


@transaction.atomic
def verify(*, image: TrainingImage, user: AbstractBaseUser) -> tuple[Verification, bool]:
    """One person's check of an image (once per person); True when it is new."""
    if not Workspace.objects.filter(pk=image.workspace_id, members=user).exists():
        raise ValidationError({"user": ["This user is not a member of the image's workspace."]})
    TrainingImage.objects.select_for_update().filter(pk=image.pk).first()
    verification, created = Verification.objects.get_or_create(image=image, user=user)
    recount(image)
    return verification, created


@transaction.atomic
def unverify(verification: Verification) -> None:
    TrainingImage.objects.select_for_update().filter(pk=verification.image_id).first()
    verification.delete()
    recount(verification.image)


def recount(image: TrainingImage) -> None:
    """``verify_count`` (the image JSON's ``verifyCount``) is the number of its verifications."""
    count = Verification.objects.filter(image_id=image.pk).count()
    TrainingImage.objects.filter(pk=image.pk).update(verify_count=count)
    image.verify_count = count
