"""The subset of Mongo query syntax search collections accept in ``filter`` (contract §4).

Equality (``{"field": value}``), ``$in``, ``$gt``, ``$gte``, ``$lt``, ``$lte``, ``$and``, ``$or``.
A malformed filter raises ValidationError, so a typo answers 400 instead of matching nothing.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform
from rest_framework.exceptions import ValidationError

from ximilar_platform.collections.models import Collection, CollectionRecord

COMPARISONS = {
    "$gt": lambda value, bound: value > bound,
    "$gte": lambda value, bound: value >= bound,
    "$lt": lambda value, bound: value < bound,
    "$lte": lambda value, bound: value <= bound,
}


def checked(query: Any) -> dict[str, Any] | None:
    """A request's ``filter`` once well-formed (ValidationError otherwise); None when there is none."""
    if not query:
        return None
    check(query)
    return query


def allowed_keys(collection: Collection, query: Any) -> set[str] | None:
    """The keys of the records a ``filter`` selects, read from the database; None when there is no filter.

    The pgvector backend's way for the filters it cannot compile to SQL; the faiss backend holds a
    `field_index` instead, which answers the same without reading every candidate's JSON.
    """
    query = checked(query)
    if query is None:
        return None
    candidates = narrow(CollectionRecord.objects.filter(collection=collection), query)
    return {key for key, fields in candidates.values_list("key", "fields") if matches(fields, query)}


def check(query: Any) -> None:
    """Raise ValidationError unless ``query`` is a well-formed filter."""
    if not isinstance(query, dict):
        raise ValidationError({"filter": ["A filter is a JSON object."]})
    for field, condition in query.items():
        if field in ("$and", "$or"):
            if not isinstance(condition, list) or not condition:
                raise ValidationError({"filter": [f"{field} takes a non-empty list of filters."]})
            for part in condition:
                check(part)
        elif field.startswith("$"):
            raise ValidationError({"filter": [f"Unknown operator {field}."]})
        elif isinstance(condition, dict) and any(key.startswith("$") for key in condition):
            for operator, operand in condition.items():
                if operator == "$in":
                    if not isinstance(operand, list):
                        raise ValidationError({"filter": [f"$in on '{field}' takes a list."]})
                elif operator in COMPARISONS:
                    if not isinstance(operand, int | float | str) or isinstance(operand, bool):
                        raise ValidationError({"filter": [f"{operator} on '{field}' takes a number or a string."]})
                else:
                    raise ValidationError({"filter": [f"Unknown operator {operator} on '{field}'."]})


def matches(fields: dict[str, Any], query: dict[str, Any]) -> bool:
    """Whether a record's fields satisfy a checked filter."""
    for field, condition in query.items():
        if field == "$and":
            if not all(matches(fields, part) for part in condition):
                return False
        elif field == "$or":
            if not any(matches(fields, part) for part in condition):
                return False
        elif isinstance(condition, dict) and any(key.startswith("$") for key in condition):
            value = fields.get(field)
            for operator, operand in condition.items():
                if operator == "$in":
                    if not any(equal(value, item) for item in operand):
                        return False
                elif value is None or not comparable(value, operand) or not COMPARISONS[operator](value, operand):
                    return False
        elif not equal(fields.get(field), condition):
            return False
    return True


def narrow(records: QuerySet, query: dict[str, Any]) -> QuerySet:
    """Records that may match a checked filter: a superset the database selects.

    Conditions every matching record must meet (top level or under ``$and``) become JSON key
    lookups: equality and ``$in`` of strings or numbers, and number bounds (string bounds are
    left out: the database's collation orders strings differently from code points). The
    database then returns the candidates instead of every record; ``matches`` still decides,
    so narrowing never changes a result, only its cost.
    """
    for field, lookup, wanted in _required(query):
        alias = f"narrow_{len(records.query.annotations)}"
        records = records.alias(**{alias: KeyTransform(field, "fields")})
        records = records.filter(**{f"{alias}__{lookup}": wanted})
    return records


def _required(query: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The (field, lookup, operand) conditions every record matching ``query`` meets."""
    found = []
    for field, wanted in query.items():
        if field == "$and":
            found += [condition for part in wanted for condition in _required(part)]
        elif field.startswith("$"):
            continue
        elif isinstance(wanted, dict):
            for operator, operand in wanted.items():
                if operator == "$in" and operand and all(_scalar(item) for item in operand):
                    found.append((field, "in", operand))
                elif operator in COMPARISONS and _scalar(operand) and not isinstance(operand, str):
                    found.append((field, operator[1:], operand))
        elif _scalar(wanted):
            found.append((field, "exact", wanted))
    return found


def _scalar(value: Any) -> bool:
    """A string or a finite number a database takes as a parameter.

    JSON has no infinity: a bound of 1e400 reads as one, and Postgres refuses it, as it refuses a
    NUL character in a string; SQLite refuses integers beyond 64 bits.
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and "\x00" not in value or isinstance(value, float) and math.isfinite(value)


def equal(value: Any, wanted: Any) -> bool:
    """Equality as in JSON (and Mongo): true is not 1, 1 is 1.0."""
    if isinstance(value, bool) or isinstance(wanted, bool):
        return type(value) is type(wanted) and value == wanted
    return value == wanted


def comparable(value: Any, operand: Any) -> bool:
    """Numbers compare with numbers (true and false are not numbers), strings with strings."""
    if isinstance(value, bool) or isinstance(operand, bool):
        return False
    numbers = (int, float)
    return (isinstance(value, numbers) and isinstance(operand, numbers)) or (
        isinstance(value, str) and isinstance(operand, str)
    )
