"""``flows/v2/flow`` (CRUD, ``json``) and ``flows/v2/process``."""

from __future__ import annotations

import time
from collections.abc import Mapping

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ximilar_platform.accounts.usage import count_records
from ximilar_platform.core.api.lookups import parse_uuid
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.flows import services
from ximilar_platform.flows.models import Flow
from ximilar_platform.flows.serializers import FlowSerializer, definition_json
from ximilar_platform.serving.openapi import prediction_body, store_images
from ximilar_platform.serving.requests import find_owned, parse_records
from ximilar_platform.serving.responses import respond


class FlowViewSet(WorkspaceScopedViewSet):
    queryset = Flow.objects.order_by("created", "id")
    serializer_class = FlowSerializer

    @action(detail=True, methods=["get"], url_path="json")
    def definition(self, request: Request, pk: str) -> Response:
        return Response(definition_json(self.get_object()))


class ProcessView(APIView):
    takes_images = True  # bodies of image records: API_MAX_IMAGE_BODY_BYTES
    throttle_scope = "predict"  # THROTTLE_RATES["predict"]

    @extend_schema(
        request=prediction_body(
            "ProcessRequest", settings.FLOW_MAX_RECORDS, flow=serializers.UUIDField(), store_images=store_images()
        )
    )
    def post(self, request: Request) -> Response:
        started = time.perf_counter()
        if not isinstance(request.data, Mapping):
            raise ValidationError("The body must be a JSON object with flow and records.")
        flow = find_owned(request, Flow, parse_uuid(request.data.get("flow"), "flow"), "Flow not found.")
        records = parse_records(request.data, max_records=settings.FLOW_MAX_RECORDS)
        count_records(workspace_id=flow.workspace_id, service="flows", records=len(records))
        batch, outputs = services.process(flow=flow, records=records)
        store_in = flow.workspace if request.data.get("store_images") else None
        return respond(batch, outputs, started=started, store_in=store_in, flow=str(flow.id))
