from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "ximilar_platform.web"
    label = "web"
