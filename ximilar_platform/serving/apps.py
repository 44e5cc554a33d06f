from django.apps import AppConfig


class ServingConfig(AppConfig):
    name = "ximilar_platform.serving"
    label = "serving"
