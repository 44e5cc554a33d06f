from __future__ import annotations

from rest_framework import serializers

from ximilar_platform.notifications import events, webhooks
from ximilar_platform.notifications.models import Delivery, Webhook


class WebhookSerializer(serializers.ModelSerializer):
    """A webhook as listed: never its secret, which only the create answers (`views.WebhookViewSet.create`)."""

    url = serializers.URLField(max_length=2000, help_text="http(s); private and loopback addresses are refused.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=events.EVENTS), allow_empty=False)

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "active", "workspace", "created"]
        read_only_fields = ["workspace", "created"]

    def validate_url(self, value: str) -> str:
        if reason := webhooks.refusal(value):
            raise serializers.ValidationError(reason)
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        return [name for name in events.EVENTS if name in value]


class DeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event.name", read_only=True)
    event_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "event", "event_id", "attempt", "response_code", "error", "duration", "created"]
        read_only_fields = fields


class NotificationSettingsSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True, help_text="Where the emails go; empty: none is sent.")
    email_trainings = serializers.BooleanField(help_text="Email when my trainings start, end or fail.")
