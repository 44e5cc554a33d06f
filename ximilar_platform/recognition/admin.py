from django.contrib import admin

from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import ImageLabel, Label, Task
from ximilar_platform.training_jobs.admin import TrainableTaskAdmin


@admin.register(Task)
class TaskAdmin(TrainableTaskAdmin):
    list_display = ["name", "type", "workspace", "production_version", "last_train_status", "created"]
    list_filter = ["type"]
    filter_horizontal = ["labels"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "output_name", "workspace", "created"]
    list_filter = ["type"]
    search_fields = ["name", "id"]


class ImageLabelInline(admin.TabularInline):
    model = ImageLabel
    extra = 0
    raw_id_fields = ["label"]


@admin.register(TrainingImage)
class TrainingImageAdmin(admin.ModelAdmin):
    list_display = ["id", "workspace", "width", "height", "test_image", "created"]
    list_filter = ["test_image", "real"]
    readonly_fields = ["checksum", "width", "height", "created", "updated"]
    inlines = [ImageLabelInline]
