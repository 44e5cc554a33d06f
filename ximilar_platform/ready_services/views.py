"""The ready-to-use services' endpoints: records in, Ximilar's fields per record out, classify's envelope."""

from __future__ import annotations

import time

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ximilar_platform.ready_services import services
from ximilar_platform.ready_services.colors import MAX_COLORS
from ximilar_platform.serving.openapi import prediction_body
from ximilar_platform.serving.responses import respond


class ReadyServiceView(APIView):
    """``service``: a key of `services.SERVICES`, set per route."""

    takes_images = True  # bodies of image records: API_MAX_IMAGE_BODY_BYTES
    throttle_scope = "predict"  # THROTTLE_RATES["predict"]
    service = ""

    def answer(self, request: Request) -> Response:
        started = time.perf_counter()
        batch, options = services.read_request(request, self.service)
        outputs = services.SERVICES[self.service].run(batch.images, **options)
        return respond(batch, outputs, started=started)


class TaggingView(ReadyServiceView):
    @extend_schema(request=prediction_body("TaggingRequest", settings.MAX_RECORDS))
    def post(self, request: Request) -> Response:
        return self.answer(request)


class DominantColorsView(ReadyServiceView):
    @extend_schema(
        request=prediction_body(
            "DominantColorsRequest",
            settings.MAX_RECORDS,
            colors=serializers.IntegerField(
                required=False,
                min_value=1,
                max_value=MAX_COLORS,
                help_text="The most colours per record (6, products 3).",
            ),
        )
    )
    def post(self, request: Request) -> Response:
        return self.answer(request)
