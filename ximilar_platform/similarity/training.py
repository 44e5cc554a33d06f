"""Similarity's `TrainingAdapter`: data rules and the row snapshot (``training_jobs.runner`` calls it).

Hierarchy: a leaf group (one holding images and detection objects) is one item, and its images
and object crops are views of it; a group of groups only organises leaf groups (e.g. a product
line) and is not trained on. Test groups (``test_group``) are evaluated apart, never trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from rest_framework.exceptions import ValidationError

from ximilar_platform.similarity.models import SimilarityGroup, SimilarityTask
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.adapters import TrainingAdapter, run_settings

if TYPE_CHECKING:
    from training.spec import TrainingResult


def leaf_groups(task: SimilarityTask) -> QuerySet[SimilarityGroup]:
    """The task's items: groups of its types that hold images or objects (and no groups)."""
    return (
        SimilarityGroup.objects.filter(type__in=task.types.all())
        .annotate(
            children=Count("groups", distinct=True),
            views=Count("images", distinct=True) + Count("detection_objects", distinct=True),
        )
        .filter(children=0)
    )


def check_training_data(task: SimilarityTask) -> None:
    """A type, and SIMILARITY_MIN_GROUPS training groups with at least two views (images or objects) each."""
    if not task.types.exists():
        raise ValidationError("The task has no similarity type; add one with add-type.")
    minimum = settings.SIMILARITY_MIN_GROUPS
    usable = leaf_groups(task).filter(~Q(test_group=True), views__gte=2).count()
    if usable < minimum:
        raise ValidationError(
            f"Training needs at least {minimum} groups with 2 or more images or objects each (not test groups); "
            f"the task's types have {usable}."
        )


def snapshot(task: SimilarityTask, work_dir: Path):
    """Rows to plain dataclasses: every image and object crop of every leaf group, labelled by group."""
    from training.spec import EmbeddingSample, EmbeddingSpec

    samples = []
    groups = list(leaf_groups(task).prefetch_related("images", "detection_objects__image"))
    names = [image.file.name for group in groups for image in group.images.all()]
    names += [obj.image.file.name for group in groups for obj in group.detection_objects.all()]
    paths = artifacts.local_copies(names, work_dir)
    for group in groups:
        for image in group.images.all():
            samples.append(
                EmbeddingSample(
                    image_id=str(image.id), path=paths[image.file.name], group=str(group.id), test=group.test_group
                )
            )
        for obj in group.detection_objects.all():
            samples.append(
                EmbeddingSample(
                    image_id=f"{obj.image_id}:{obj.id}",
                    path=paths[obj.image.file.name],
                    group=str(group.id),
                    test=group.test_group,
                    box=tuple(float(v) for v in obj.data),
                )
            )
    spec = EmbeddingSpec(
        arch=task.arch or settings.TRAINING_ARCH,
        dimension=settings.SIMILARITY_DIMENSION,
        image_size=settings.TRAINING_IMAGE_SIZE,
        epochs=settings.TRAINING_EPOCHS,
        **run_settings(),
    )
    return spec, samples


def embedder() -> Callable[..., TrainingResult]:
    from training.similarity import train_embedder

    return train_embedder


# a retrained embedder replaces production when its held-out precision@1 is not lower
ADAPTER = TrainingAdapter(SimilarityTask, check_training_data, snapshot, embedder, lambda task: ("precision_at_1", 1))
