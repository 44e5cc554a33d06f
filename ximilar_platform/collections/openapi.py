"""The search API (``similarity/custom/v2/<operation>``) as /api/schema/ describes it.

Its operations share one URL pattern and read ``request.data`` themselves, so one body lists the
fields any of them reads; each operation's docs (API_CONTRACT.md §4) say which it needs.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

# the operations of SearchView, each an ``op_<name>`` method
OPERATIONS = ("ping", "insert", "visualKNN", "visualRankRecords", "random", "get", "update", "delete", "allRecords")


def search_record(**kwargs: Any) -> serializers.Serializer:
    return inline_serializer(
        "SearchRecord",
        {
            "_id": serializers.CharField(required=False, help_text="The record's key in its collection."),
            "_url": serializers.CharField(required=False),
            "_base64": serializers.CharField(required=False),
            "_descriptor": serializers.ListField(child=serializers.FloatField(), required=False),
        },
        **kwargs,
    )


def search_body() -> serializers.Serializer:
    return inline_serializer(
        "SearchRequest",
        {
            "records": serializers.ListField(
                child=search_record(), required=False, min_length=1, max_length=settings.SEARCH_MAX_INSERT
            ),
            "query_record": search_record(required=False),
            "k": serializers.IntegerField(required=False, min_value=1, max_value=settings.SEARCH_MAX_K),
            "count": serializers.IntegerField(required=False, min_value=1, max_value=settings.SEARCH_MAX_K),
            "filter": serializers.DictField(required=False, help_text="Field values the records must have."),
            "fields_to_return": serializers.ListField(child=serializers.CharField(), required=False),
        },
        required=False,
    )


SEARCH_PARAMETERS = [
    OpenApiParameter("operation", OpenApiTypes.STR, OpenApiParameter.PATH, enum=OPERATIONS),
    OpenApiParameter("collection-id", OpenApiTypes.STR, OpenApiParameter.HEADER, description="The collection's key."),
    OpenApiParameter("size", OpenApiTypes.INT, description="allRecords: records per page (none: all)."),
    OpenApiParameter("page", OpenApiTypes.INT, description="allRecords: the page, from 1."),
]
