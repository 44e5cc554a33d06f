from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "ximilar_platform.recognition"
    label = "recognition"
