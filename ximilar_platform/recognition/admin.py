from django.contrib import admin

from ximilar_platform.recognition.models import Label, Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "workspace", "production_version", "last_train_status", "created"]
    list_filter = ["type", "last_train_status"]
    search_fields = ["name", "id"]
    filter_horizontal = ["labels"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "output_name", "workspace", "created"]
    list_filter = ["type"]
    search_fields = ["name", "id"]
