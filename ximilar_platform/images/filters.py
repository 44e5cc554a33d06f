"""Query-string filters of the training-image list; unknown parameters are ignored."""

from __future__ import annotations

import re

from django.db.models import QuerySet
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from ximilar_platform.core.api.lookups import parse_uuid, parse_uuid_list
from ximilar_platform.images.models import TrainingImage

VALUE_FILTER = re.compile(r"^label_value_(?P<label>[0-9a-fA-F-]{32,36})__(?P<op>gte|lte|gt|lt|exact)$")
MAX_FILTER_IDS = 100


def parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise ValidationError({name: [f"'{value}' is not a boolean."]})


def _ids(params: QueryDict, *names: str) -> list:
    raw = [part for name in names for value in params.getlist(name) for part in value.split(",") if part]
    return parse_uuid_list(raw, names[0], limit=MAX_FILTER_IDS)


def filter_training_images(queryset: QuerySet[TrainingImage], params: QueryDict) -> QuerySet[TrainingImage]:
    for label_id in _ids(params, "labels", "label"):
        queryset = queryset.filter(image_labels__label_id=label_id)
    not_labels = _ids(params, "not_labels")
    if not_labels:
        queryset = queryset.exclude(image_labels__label_id__in=not_labels)
    if params.get("task"):
        queryset = queryset.filter(image_labels__label__tasks__id=parse_uuid(params["task"], "task")).distinct()
    detection_labels = _ids(params, "detection_labels", "detection_label")
    if detection_labels:  # images with objects of these detection labels
        queryset = queryset.filter(detection_objects__detection_label_id__in=detection_labels).distinct()
    for name, field in (("test", "test_image"), ("real", "real")):
        if params.get(name):
            queryset = queryset.filter(**{field: parse_bool(params[name], name)})
    if params.get("verified"):
        try:
            queryset = queryset.filter(verify_count__gte=int(params["verified"]))
        except ValueError as error:
            raise ValidationError({"verified": ["Expected an integer."]}) from error
    for name, value in params.items():
        match = VALUE_FILTER.match(name)
        if match:
            queryset = queryset.filter(
                image_labels__label_id=parse_uuid(match["label"], name),
                **{f"image_labels__value__{match['op']}": _number(value, name)},
            )
    return queryset


def _number(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError as error:
        raise ValidationError({name: [f"'{value}' is not a number."]}) from error
