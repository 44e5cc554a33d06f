"""Values a request names: ids (and the object they name, inside one workspace; 404 otherwise), numbers."""

from __future__ import annotations

import math
import uuid
from typing import Any, TypeVar

from django.db.models import Model
from rest_framework.exceptions import NotFound, ValidationError

M = TypeVar("M", bound=Model)


def parse_uuid(value: Any, field: str) -> uuid.UUID:
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    if value in (None, ""):
        raise ValidationError({field: ["This field is required."]})
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise ValidationError({field: [f"'{value}' is not a valid UUID."]}) from error


def parse_uuid_list(values: Any, field: str, *, limit: int) -> list[uuid.UUID]:
    if values in (None, ""):
        return []
    if isinstance(values, str):
        values = [part for part in values.split(",") if part.strip()]
    if not isinstance(values, list):
        raise ValidationError({field: ["Expected a list of ids."]})
    if len(values) > limit:
        raise ValidationError({field: [f"At most {limit} ids per request."]})
    return [parse_uuid(value, field) for value in values]


def get_in_workspace(model: type[M], value: Any, *, workspace_id: uuid.UUID, field: str) -> M:
    object_id = parse_uuid(value, field)
    found = model._default_manager.filter(id=object_id, workspace_id=workspace_id).first()
    if found is None:
        raise NotFound(f"{model._meta.verbose_name.capitalize()} not found.")
    return found


def parse_value(value: Any, field: str = "value") -> float:
    """A finite number (a regression value) from JSON or a form."""
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise ValidationError({field: [f"'{value}' is not a number."]}) from error
    if not math.isfinite(number):
        raise ValidationError({field: ["The value must be a finite number."]})
    return number


def get_many_in_workspace(model: type[M], values: Any, *, workspace_id: uuid.UUID, field: str, limit: int) -> list[M]:
    """Every object a non-empty list of ids names, all in one workspace; 400 naming the ids not found."""
    ids = parse_uuid_list(values, field, limit=limit)
    if not ids:
        raise ValidationError({field: ["Give a non-empty list of ids."]})
    found = list(model._default_manager.filter(id__in=ids, workspace_id=workspace_id))
    if len(found) != len(set(ids)):
        missing = sorted({str(i) for i in ids} - {str(o.pk) for o in found})
        raise ValidationError({field: [f"Not found in this workspace: {', '.join(missing)}."]})
    return found
