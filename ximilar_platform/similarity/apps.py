from django.apps import AppConfig


class SimilarityConfig(AppConfig):
    name = "ximilar_platform.similarity"
    label = "similarity"

    def ready(self) -> None:
        from ximilar_platform.core.models import TaskKind
        from ximilar_platform.similarity.training import ADAPTER
        from ximilar_platform.training_jobs.adapters import register_adapter

        register_adapter(TaskKind.SIMILARITY, ADAPTER)
