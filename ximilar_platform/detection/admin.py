from django.contrib import admin

from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask


@admin.register(DetectionTask)
class DetectionTaskAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "production_version", "last_train_status", "created"]
    list_filter = ["last_train_status"]
    search_fields = ["name", "id"]


@admin.register(DetectionLabel)
class DetectionLabelAdmin(admin.ModelAdmin):
    list_display = ["name", "color", "output_name", "workspace", "created"]
    search_fields = ["name", "id"]


@admin.register(DetectionObject)
class DetectionObjectAdmin(admin.ModelAdmin):
    list_display = ["id", "detection_label", "image", "workspace", "created"]
    search_fields = ["id"]
    raw_id_fields = ["image", "detection_label"]
