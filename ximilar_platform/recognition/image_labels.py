"""Recognition labels on training images: one at a time (with regression values), in bulk, and wiping."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model
from rest_framework.exceptions import ValidationError

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.api.lookups import parse_value
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.images.services import delete_training_images
from ximilar_platform.recognition.models import ImageLabel, Label

L = TypeVar("L", bound=Model)


@transaction.atomic
def wipe_label(*, label: Label) -> int:
    """Delete a label together with every image that carries it."""
    deleted = delete_training_images(TrainingImage.objects.filter(labels=label))
    label.delete()
    return deleted


def add_label_to_image(*, image: TrainingImage, label: Label, value: Any = None) -> ImageLabel:
    return save_label_link(ImageLabel, label, value, image=image)


def save_label_link(model: type[L], label: Label, value: Any, **owner: Any) -> L:
    """Attach ``label`` (to an image or an object); attaching it again only updates its value.

    Only ``value`` labels take a value: the regression target of that image or object.
    """
    if value is not None and label.type != Label.Type.VALUE:
        raise ValidationError({"value": [f"Only value labels take a value; '{label.name}' is a {label.type} label."]})
    number = None if value is None else parse_value(value)
    link, created = model._default_manager.get_or_create(label=label, defaults={"value": number}, **owner)
    if not created and number is not None and link.value != number:
        link.value = number
        link.save(update_fields=["value"])
    return link


def update_label_value(*, image: TrainingImage, label: Label, value: Any) -> ImageLabel:
    if label.type != Label.Type.VALUE:
        raise ValidationError({"label_id": [f"'{label.name}' is a {label.type} label; only value labels have values."]})
    if value is None:
        raise ValidationError({"value": ["This field is required."]})
    return add_label_to_image(image=image, label=label, value=value)


def remove_label_from_image(*, image: TrainingImage, label: Label) -> None:
    ImageLabel.objects.filter(image=image, label=label).delete()


def select_images(
    *, workspace: Workspace, image_ids: list[uuid.UUID], label_ids: list[uuid.UUID], limit: int
) -> list[TrainingImage]:
    """The images named by id, narrowed to those carrying every one of ``label_ids`` (or chosen by them)."""
    if not image_ids and not label_ids:
        raise ValidationError({"images": ["Give images, or labels to select images by."]})
    images = TrainingImage.objects.filter(workspace=workspace)
    if image_ids:
        images = images.filter(id__in=image_ids)
    for label_id in label_ids:
        images = images.filter(image_labels__label_id=label_id)
    selected = list(images.distinct()[: limit + 1])
    if len(selected) > limit:
        raise ValidationError({"images": [f"At most {limit} images per request; narrow the selection."]})
    if len(selected) != len(image_ids) and image_ids and not label_ids:
        raise ValidationError({"images": ["Some images were not found in this workspace."]})
    return selected


def labels_in(*, workspace: Workspace, ids: list[uuid.UUID], field: str) -> list[Label]:
    found = list(Label.objects.filter(workspace=workspace, id__in=ids))
    if len(found) != len(set(ids)):
        raise ValidationError({field: ["Some labels were not found in this workspace."]})
    return found


@dataclass(frozen=True)
class BulkChange:
    add_labels: list[Label]
    remove_labels: list[Label]
    test_image: bool | None = None
    real: bool | None = None


@transaction.atomic
def bulk_update_images(*, images: list[TrainingImage], change: BulkChange) -> int:
    """Apply label and flag changes to many images at once (``training-image/update``)."""
    ids = [image.id for image in images]
    for label in change.add_labels:
        if label.type == Label.Type.VALUE:
            raise ValidationError({"labels-add": [f"'{label.name}' is a value label; set values one image at a time."]})
        have = set(ImageLabel.objects.filter(label=label, image_id__in=ids).values_list("image_id", flat=True))
        ImageLabel.objects.bulk_create([ImageLabel(image_id=i, label=label) for i in ids if i not in have])
    if change.remove_labels:
        ImageLabel.objects.filter(image_id__in=ids, label__in=change.remove_labels).delete()
    flags = {
        name: value for name, value in (("test_image", change.test_image), ("real", change.real)) if value is not None
    }
    if flags:
        TrainingImage.objects.filter(id__in=ids).update(**flags)
    return len(ids)
