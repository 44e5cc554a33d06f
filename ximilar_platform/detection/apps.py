from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "ximilar_platform.detection"
    label = "detection"
