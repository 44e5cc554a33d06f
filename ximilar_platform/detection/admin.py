from django.contrib import admin

from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.training_jobs.admin import TrainableTaskAdmin

admin.site.register(DetectionTask, TrainableTaskAdmin)
admin.site.register(
    DetectionLabel, list_display=["name", "color", "output_name", "workspace", "created"], search_fields=["name", "id"]
)
admin.site.register(
    DetectionObject,
    list_display=["id", "detection_label", "image", "workspace", "created"],
    search_fields=["id"],
    raw_id_fields=["image", "detection_label"],
)
