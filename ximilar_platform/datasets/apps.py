from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "ximilar_platform.datasets"
    label = "datasets"

    def ready(self) -> None:
        from ximilar_platform.core.jobs import register_runner
        from ximilar_platform.datasets.models import DatasetJob
        from ximilar_platform.datasets.services import run_dataset_job

        register_runner(DatasetJob.runner, run_dataset_job)
