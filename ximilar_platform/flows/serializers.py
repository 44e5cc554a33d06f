"""Flow JSON as the official client reads it (API_CONTRACT.md §5), plus our ``invalid_reason``."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ximilar_platform.flows import definition, validation
from ximilar_platform.flows.models import Flow


class FlowSerializer(serializers.ModelSerializer):
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")
    image_size = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=4096)

    class Meta:
        model = Flow
        fields = ["id", "name", "description", "workspace", "top_node", "image_size", "created"]
        read_only_fields = ["workspace", "created"]

    def validate_description(self, value: str | None) -> str:
        return value or ""

    def validate_top_node(self, value: Any) -> dict[str, Any]:
        try:
            return definition.parse_definition(value)
        except definition.DefinitionError as error:
            raise serializers.ValidationError(str(error)) from error

    def to_representation(self, flow: Flow) -> dict[str, Any]:
        data = super().to_representation(flow)
        if data["image_size"] is None:  # the client does int(flow_json["image_size"]) when the key exists
            del data["image_size"]
        lookups = self.context.setdefault("flow_lookups", validation.Lookups())  # shared by a list page's flows
        problems = validation.check(flow, lookups).problems
        return {**data, "valid": not problems, "invalid_reason": problems}


def definition_json(flow: Flow) -> dict[str, Any]:
    """``flows/v2/flow/<id>/json``: the whole definition, readable and versionable as one document."""
    return {
        "id": str(flow.id),
        "type": "flow",
        "name": flow.name,
        "description": flow.description,
        "top_node": flow.top_node,
    }
