"""Query-string filters of similarity groups (the client's ``get_all_groups`` traps, contract §3)."""

from __future__ import annotations

import django_filters
from django.db.models import Count, QuerySet

from ximilar_platform.core.api.filters import BooleanFilter, IntegerFilter, NameSearchFilterSet, UUIDFilter
from ximilar_platform.similarity.models import SimilarityGroup


class SimilarityGroupFilterSet(NameSearchFilterSet):
    test = BooleanFilter(field_name="test_group")
    image = UUIDFilter(field_name="images__id")
    object = UUIDFilter(field_name="detection_objects__id")
    group = UUIDFilter(field_name="groups__id")
    type = UUIDFilter(field_name="type_id")
    type__name = django_filters.CharFilter(field_name="type__name")
    empty = BooleanFilter(method="holding_nothing")
    count = IntegerFilter(method="with_image_count")

    def holding_nothing(self, groups: QuerySet[SimilarityGroup], name: str, value: bool) -> QuerySet:
        if not value:
            return groups
        items = (
            Count("images", distinct=True) + Count("groups", distinct=True) + Count("detection_objects", distinct=True)
        )
        return groups.annotate(item_count=items).filter(item_count=0)

    def with_image_count(self, groups: QuerySet[SimilarityGroup], name: str, value: int) -> QuerySet:
        return groups.annotate(image_count=Count("images", distinct=True)).filter(image_count=value)

    def filter_queryset(self, queryset: QuerySet[SimilarityGroup]) -> QuerySet[SimilarityGroup]:
        return super().filter_queryset(queryset).distinct()
