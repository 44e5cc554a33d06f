"""The subset of Mongo query syntax search collections accept in ``filter`` (contract §4).

Equality (``{"field": value}``), ``$in``, ``$gt``, ``$gte``, ``$lt``, ``$lte``, ``$and``, ``$or``.
A malformed filter raises ValidationError, so a typo answers 400 instead of matching nothing.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

COMPARISONS = {
    "$gt": lambda value, bound: value > bound,
    "$gte": lambda value, bound: value >= bound,
    "$lt": lambda value, bound: value < bound,
    "$lte": lambda value, bound: value <= bound,
}


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
                    if value not in operand:
                        return False
                elif value is None or not _comparable(value, operand) or not COMPARISONS[operator](value, operand):
                    return False
        elif fields.get(field) != condition:
            return False
    return True


def _comparable(value: Any, operand: Any) -> bool:
    numbers = (int, float)
    return (isinstance(value, numbers) and isinstance(operand, numbers)) or (
        isinstance(value, str) and isinstance(operand, str)
    )
