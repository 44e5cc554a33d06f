from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "ximilar_platform.recognition"
    label = "recognition"

    def ready(self) -> None:
        from ximilar_platform.core.models import TaskKind
        from ximilar_platform.recognition.training import ADAPTER
        from ximilar_platform.training_jobs.adapters import register_adapter

        register_adapter(TaskKind.RECOGNITION, ADAPTER)
