from django.apps import AppConfig


class SimilarityConfig(AppConfig):
    name = "ximilar_platform.similarity"
    label = "similarity"
