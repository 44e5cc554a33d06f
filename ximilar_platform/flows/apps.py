from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "ximilar_platform.flows"
    label = "flows"
