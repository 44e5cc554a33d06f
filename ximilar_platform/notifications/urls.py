from django.urls import re_path

from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.notifications import views

router = ApiRouter()
router.register("notifications/v2/webhook", views.WebhookViewSet, basename="webhook")
urlpatterns = [
    # a user's own choices sit with the account's other endpoints; accounts, below this app, cannot serve them
    re_path(r"^account/v2/notifications/?$", views.NotificationSettingsView.as_view(), name="account-notifications"),
    *router.urls,
]
