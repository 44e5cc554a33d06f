from django.contrib import admin

from ximilar_platform.similarity.models import Collection, Reembedding, SimilarityGroup, SimilarityTask, SimilarityType


@admin.register(SimilarityType)
class SimilarityTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "created"]
    search_fields = ["name", "id"]


@admin.register(SimilarityTask)
class SimilarityTaskAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "production_version", "last_train_status", "created"]
    list_filter = ["last_train_status"]
    search_fields = ["name", "id"]


@admin.register(SimilarityGroup)
class SimilarityGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "test_group", "workspace", "created"]
    list_filter = ["test_group"]
    search_fields = ["name", "id"]
    raw_id_fields = ["images", "groups", "detection_objects"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "task", "version", "dimension", "workspace", "created"]
    search_fields = ["key", "name", "id"]


@admin.register(Reembedding)
class ReembeddingAdmin(admin.ModelAdmin):
    list_display = ["collection", "version", "state", "done", "total", "created", "finished"]
    list_filter = ["state"]
