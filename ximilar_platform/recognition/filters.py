"""Query-string filters of labels and of the training-image list; unknown parameters are ignored."""

from __future__ import annotations

import re

import django_filters
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from ximilar_platform.core.api.filters import BooleanFilter, IntegerFilter, NameSearchFilterSet, UUIDFilter
from ximilar_platform.core.api.lookups import parse_uuid, parse_uuid_list
from ximilar_platform.images.models import TrainingImage

VALUE_FILTER = re.compile(r"^label_value_(?P<label>[0-9a-fA-F-]{32,36})__(?P<op>gte|lte|gt|lt|exact)$")
MAX_FILTER_IDS = 100


class LabelFilterSet(NameSearchFilterSet):
    task = UUIDFilter(field_name="tasks__id")
    type = django_filters.CharFilter(field_name="type")


class TrainingImageFilterSet(django_filters.FilterSet):
    """Label lists take repeated or comma-separated ids; ``label_value_<label id>__gte=3`` bounds values."""

    labels = django_filters.CharFilter(method="with_labels")
    label = django_filters.CharFilter(method="with_labels")
    not_labels = django_filters.CharFilter(method="without_labels")
    task = UUIDFilter(field_name="image_labels__label__tasks__id", distinct=True)
    detection_labels = django_filters.CharFilter(method="with_objects_of")
    detection_label = django_filters.CharFilter(method="with_objects_of")
    test = BooleanFilter(field_name="test_image")
    real = BooleanFilter(field_name="real")
    verified = IntegerFilter(field_name="verify_count", lookup_expr="gte")

    def ids(self, *names: str) -> list:
        raw = [part for name in names for value in self.data.getlist(name) for part in value.split(",") if part]
        return parse_uuid_list(raw, names[0], limit=MAX_FILTER_IDS)

    def with_labels(self, queryset: QuerySet[TrainingImage], name: str, value: str) -> QuerySet[TrainingImage]:
        for label_id in self.ids(name):
            queryset = queryset.filter(image_labels__label_id=label_id)
        return queryset

    def without_labels(self, queryset: QuerySet[TrainingImage], name: str, value: str) -> QuerySet[TrainingImage]:
        return queryset.exclude(image_labels__label_id__in=self.ids(name))

    def with_objects_of(self, queryset: QuerySet[TrainingImage], name: str, value: str) -> QuerySet[TrainingImage]:
        """Images with objects of any of these detection labels (detection's relation to images)."""
        ids = self.ids("detection_labels", "detection_label")
        return queryset.filter(detection_objects__detection_label_id__in=ids).distinct()

    def filter_queryset(self, queryset: QuerySet[TrainingImage]) -> QuerySet[TrainingImage]:
        queryset = super().filter_queryset(queryset)
        for name, value in self.data.items():
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
