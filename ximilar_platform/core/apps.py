from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ximilar_platform.core"
    label = "core"
