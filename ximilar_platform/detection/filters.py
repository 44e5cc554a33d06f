"""Query-string filters of detection labels and objects."""

from __future__ import annotations

import django_filters

from ximilar_platform.core.api.filters import NameSearchFilterSet, UUIDFilter


class DetectionLabelFilterSet(NameSearchFilterSet):
    task = UUIDFilter(field_name="tasks__id")


class DetectionObjectFilterSet(django_filters.FilterSet):
    image = UUIDFilter(field_name="image_id")
    detection_label = UUIDFilter(field_name="detection_label_id")
    object_detection_label = UUIDFilter(field_name="detection_label_id")
    task = UUIDFilter(field_name="detection_label__tasks__id", distinct=True)
    object_labels = UUIDFilter(field_name="object_labels__label_id", distinct=True)
