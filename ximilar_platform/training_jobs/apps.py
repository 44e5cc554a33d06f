from django.apps import AppConfig


class TrainingJobsConfig(AppConfig):
    name = "ximilar_platform.training_jobs"
    label = "training_jobs"
