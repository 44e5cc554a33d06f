from django.apps import AppConfig


class ReadyServicesConfig(AppConfig):
    name = "ximilar_platform.ready_services"
    label = "ready_services"
