from django.contrib import admin

from ximilar_platform.similarity.models import SimilarityGroup, SimilarityTask, SimilarityType
from ximilar_platform.training_jobs.admin import TrainableTaskAdmin

admin.site.register(SimilarityTask, TrainableTaskAdmin)
admin.site.register(SimilarityType, list_display=["name", "workspace", "created"], search_fields=["name", "id"])
admin.site.register(
    SimilarityGroup,
    list_display=["name", "type", "test_group", "workspace", "created"],
    list_filter=["test_group"],
    search_fields=["name", "id"],
    raw_id_fields=["images", "groups", "detection_objects"],
)
