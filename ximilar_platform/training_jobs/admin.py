from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ximilar_platform.core.models import TrainableTask
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob
from ximilar_platform.training_jobs.status import train_status, with_train_status


class TrainableTaskAdmin(admin.ModelAdmin):
    """Tasks of any kind, with the train status of their newest job."""

    list_display = ["name", "workspace", "production_version", "last_train_status", "created"]
    search_fields = ["name", "id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return with_train_status(super().get_queryset(request), self.model.task_kind)

    @admin.display(description="last train status")
    def last_train_status(self, task: TrainableTask) -> str:
        return train_status(task)


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["id", "task_kind", "task_id", "state", "worker", "created", "started", "finished"]
    list_filter = ["task_kind", "state"]
    search_fields = ["id", "task_id", "worker"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["task_kind", "task_id", "version", "arch", "training_seconds", "created"]
    list_filter = ["task_kind", "arch"]
    search_fields = ["id", "task_id"]
