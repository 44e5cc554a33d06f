"""``add-…``/``remove-…`` actions: change one relation of an object and answer the object's JSON.

The related object (or list of objects, ``many``) is named by one body field and must live in
the object's workspace. A change with rules is a service call (`relation_action`); a plain
many-to-many link without rules is declared by its field name (`link_action`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db.models import Model
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ximilar_platform.core.api.lookups import get_in_workspace, get_many_in_workspace


def relation_action(
    url_path: str,
    model: type[Model],
    field: str,
    change: Callable[..., object],
    *,
    names: tuple[str, str],
    many: bool = False,
    with_value: bool = False,
) -> Any:
    """``POST <object>/<url_path>`` calling ``change(<names[0]>=object, <names[1]>=related[, value=…])``."""

    def handler(self: Any, request: Request, pk: str) -> Response:
        obj = self.get_object()
        data = request.data if isinstance(request.data, Mapping) else {}
        value = data.get(field)
        if many:
            related: Any = get_many_in_workspace(
                model, value, workspace_id=obj.workspace_id, field=field, limit=settings.MAX_BULK_IMAGES
            )
        else:
            related = get_in_workspace(model, value, workspace_id=obj.workspace_id, field=field)
        extra = {"value": data.get("value")} if with_value else {}
        change(**{names[0]: obj, names[1]: related}, **extra)
        return Response(self.get_serializer(self.get_object()).data)

    handler.__name__ = handler.__qualname__ = url_path.replace("-", "_")
    handler.__doc__ = f"{url_path}: {field} names the {model._meta.verbose_name}."
    routed = action(detail=True, methods=["post"], url_path=url_path)(handler)
    return extend_schema(request=body_schema(field, many=many, with_value=with_value))(routed)


def body_schema(field: str, *, many: bool, with_value: bool) -> serializers.Serializer:
    """The body such an action reads, for /api/schema/ (the handler reads ``request.data`` itself)."""
    ids: serializers.Field = (
        serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=settings.MAX_BULK_IMAGES)
        if many
        else serializers.UUIDField()
    )
    fields: dict[str, serializers.Field] = {field: ids}
    if with_value:  # the regression value of a value label
        fields["value"] = serializers.FloatField(required=False, allow_null=True)
    name = "".join(part.title() for part in field.split("_")) + ("Value" if with_value else "") + "Body"
    return inline_serializer(name, fields)


def link_action(
    url_path: str, model: type[Model], field: str, relation: str, *, remove: bool = False, many: bool = False
) -> Any:
    """``POST <object>/<url_path>`` adding (or removing) the named objects to the ``relation`` many-to-many field."""

    def change(obj: Model, related: Any) -> None:
        manager = getattr(obj, relation)
        (manager.remove if remove else manager.add)(*(related if many else [related]))

    return relation_action(url_path, model, field, change, names=("obj", "related"), many=many)
