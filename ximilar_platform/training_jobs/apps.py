from django.apps import AppConfig


class TrainingJobsConfig(AppConfig):
    name = "ximilar_platform.training_jobs"
    label = "training_jobs"

    def ready(self) -> None:
        from ximilar_platform.core.jobs import register_runner
        from ximilar_platform.training_jobs.models import TrainingJob
        from ximilar_platform.training_jobs.runner import run_training_job

        register_runner(TrainingJob.runner, run_training_job)
