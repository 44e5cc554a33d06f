"""Query-string filters for ``FilterSet``s (django-filter), with the API's own messages for bad values.

A bad value answers 400 naming the parameter (``task: 'x' is not a valid UUID.``) instead of
silently matching nothing; an empty value is no filter, and unknown parameters are ignored.
"""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django import forms


class UUIDFormField(forms.Field):
    def to_python(self, value: Any) -> uuid.UUID | None:
        if value in self.empty_values:
            return None
        try:
            return uuid.UUID(str(value))
        except ValueError as error:
            raise forms.ValidationError(
                "'%(value)s' is not a valid UUID.", code="invalid", params={"value": value}
            ) from error


TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def parse_bool(value: str) -> bool | None:
    """``true``/``1``/``yes`` or ``false``/``0``/``no`` in any case; None for anything else."""
    lowered = value.strip().lower()
    return True if lowered in TRUE else False if lowered in FALSE else None


class BooleanFormField(forms.Field):
    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        parsed = parse_bool(str(value))
        if parsed is None:
            raise forms.ValidationError("'%(value)s' is not a boolean.", code="invalid", params={"value": value})
        return parsed


INTEGER_LIMIT = 2**63  # the databases' 64-bit integers: a larger value overflows SQLite's driver (a 500)


class IntegerFormField(forms.Field):
    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            number = int(value)
        except ValueError as error:
            raise forms.ValidationError("Expected an integer.", code="invalid") from error
        if not -INTEGER_LIMIT <= number < INTEGER_LIMIT:
            raise forms.ValidationError("Expected a 64-bit integer.", code="invalid")
        return number


class UUIDFilter(django_filters.Filter):
    field_class = UUIDFormField


class BooleanFilter(django_filters.Filter):
    field_class = BooleanFormField


class IntegerFilter(django_filters.Filter):
    field_class = IntegerFormField


class NameSearchFilterSet(django_filters.FilterSet):
    """``?search=`` finds rows whose name contains the text, ignoring case."""

    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
