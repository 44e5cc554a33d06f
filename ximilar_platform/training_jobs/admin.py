from django.contrib import admin

from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob


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
