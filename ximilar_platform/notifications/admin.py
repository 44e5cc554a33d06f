from django.contrib import admin

from ximilar_platform.notifications.models import Delivery, Event, NotificationSettings, Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "workspace", "active", "created"]
    list_filter = ["active"]
    search_fields = ["url", "id"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "user", "created"]
    list_filter = ["name"]
    search_fields = ["id"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "webhook", "attempt", "response_code", "error", "duration", "created"]
    search_fields = ["id", "event__id", "webhook__url"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "email_trainings"]
