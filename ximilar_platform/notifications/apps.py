from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "ximilar_platform.notifications"
    label = "notifications"
