"""The account page's Notifications card: the email switch, and the workspace's webhooks."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ximilar_platform.notifications import events, preferences
from ximilar_platform.notifications.models import Delivery, Webhook
from ximilar_platform.notifications.serializers import WebhookSerializer
from ximilar_platform.web.access import owned, page
from ximilar_platform.web.feedback import reported
from ximilar_platform.web.writes import save

RECENT_DELIVERIES = 10


def card_context(request: HttpRequest) -> dict[str, Any]:
    """What the card shows; a new webhook's secret once, through the session."""
    deliveries = Delivery.objects.filter(webhook__workspace=request.workspace).select_related("event", "webhook")
    return {
        "email_trainings": preferences.emails_trainings(request.user),
        "webhooks": Webhook.objects.filter(workspace=request.workspace).order_by("created", "id"),
        "deliveries": deliveries.order_by("-created", "-attempt")[:RECENT_DELIVERIES],
        "event_names": events.EVENTS,
        "new_webhook_secret": request.session.pop("new_webhook_secret", None),
    }


@page
@require_POST
def set_email(request: HttpRequest) -> HttpResponse:
    enabled = request.POST.get("email_trainings") == "on"
    preferences.set_email_trainings(user=request.user, enabled=enabled)
    messages.success(request, "Training emails on." if enabled else "Training emails off.")
    return redirect("web:account")


@page
@require_POST
def create_webhook(request: HttpRequest) -> HttpResponse:
    data = {"url": request.POST.get("url", "").strip(), "events": request.POST.getlist("events")}
    with reported(request, "Webhook added: copy its secret now, it is shown only once."):
        webhook = save(WebhookSerializer, data, request, workspace=request.workspace)
        request.session["new_webhook_secret"] = webhook.secret
    return redirect("web:account")


@page
@require_POST
def delete_webhook(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = owned(Webhook, webhook_id, request)
    webhook.delete()
    messages.success(request, f"Webhook {webhook.url} deleted.")
    return redirect("web:account")
