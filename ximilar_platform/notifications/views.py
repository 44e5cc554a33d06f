"""``notifications/v2/webhook`` (CRUD, ``deliveries``) and ``account/v2/notifications``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.notifications import preferences
from ximilar_platform.notifications.models import Delivery, Webhook
from ximilar_platform.notifications.serializers import (
    DeliverySerializer,
    NotificationSettingsSerializer,
    WebhookSerializer,
)


class WebhookViewSet(WorkspaceScopedViewSet):
    queryset = Webhook.objects.order_by("created", "id")
    serializer_class = WebhookSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """201 with the webhook and its ``secret``, which no other answer shows."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response({**serializer.data, "secret": serializer.instance.secret}, status=status.HTTP_201_CREATED)

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        """Every attempt to deliver an event to this webhook, newest first."""
        rows = (
            Delivery.objects.filter(webhook=self.get_object()).select_related("event").order_by("-created", "-attempt")
        )
        return self.get_paginated_response(DeliverySerializer(self.paginate_queryset(rows), many=True).data)


class NotificationSettingsView(APIView):
    """The user's own choices (emails go to the user's address, ``account/v2/user``'s ``email``)."""

    http_method_names = ["get", "put", "patch", "head"]

    @extend_schema(responses=NotificationSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(self._answer(request))

    @extend_schema(request=NotificationSettingsSerializer, responses=NotificationSettingsSerializer)
    def patch(self, request: Request) -> Response:
        serializer = NotificationSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preferences.set_email_trainings(user=request.user, enabled=serializer.validated_data["email_trainings"])
        return Response(self._answer(request))

    put = patch

    def _answer(self, request: Request) -> dict[str, Any]:
        return {"email": request.user.email, "email_trainings": preferences.emails_trainings(request.user)}
