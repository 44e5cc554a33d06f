from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "ximilar_platform.images"
    label = "images"
