from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "ximilar_platform.detection"
    label = "detection"

    def ready(self) -> None:
        from ximilar_platform.core.models import TaskKind
        from ximilar_platform.detection.training import ADAPTER
        from ximilar_platform.training_jobs.adapters import register_adapter

        register_adapter(TaskKind.DETECTION, ADAPTER)
