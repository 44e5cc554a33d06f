"""Similarity rules: a group holds items (images, detection objects) or other groups, never both (seed 003)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from ximilar_platform.detection.models import DetectionObject
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.similarity.models import SimilarityGroup

BOTH = "A group holds images (and objects) or groups, not both; this one already holds {}."


def add_images(*, group: SimilarityGroup, images: Iterable[TrainingImage]) -> None:
    if group.groups.exists():
        raise ValidationError({"images": [BOTH.format("groups")]})
    group.images.add(*images)


def add_objects(*, group: SimilarityGroup, objects: Iterable[DetectionObject]) -> None:
    if group.groups.exists():
        raise ValidationError({"objects": [BOTH.format("groups")]})
    group.detection_objects.add(*objects)


def add_groups(*, group: SimilarityGroup, children: Iterable[SimilarityGroup]) -> None:
    """Nest groups; a group cannot contain itself, directly or through its children."""
    if group.images.exists() or group.detection_objects.exists():
        raise ValidationError({"groups": [BOTH.format("images or objects")]})
    children = list(children)
    ancestors = ancestors_of(group) | {group.id}
    if any(child.id in ancestors for child in children):
        raise ValidationError({"groups": ["A group cannot contain itself or one of its parents."]})
    group.groups.add(*children)


def ancestors_of(group: SimilarityGroup) -> set:
    found: set = set()
    frontier = {group.id}
    while frontier:
        parents = (
            set(
                SimilarityGroup.groups.through.objects.filter(to_similaritygroup_id__in=frontier).values_list(
                    "from_similaritygroup_id", flat=True
                )
            )
            - found
        )
        found |= parents
        frontier = parents
    return found


def mark_test_groups(*, groups: QuerySet[SimilarityGroup], test: bool) -> int:
    """(Un)mark groups as test groups: evaluated apart, never trained on."""
    return groups.update(test_group=test)
