from django.contrib import admin

from ximilar_platform.collections.models import Collection, Reembedding


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "task", "version", "dimension", "workspace", "created"]
    search_fields = ["key", "name", "id"]


@admin.register(Reembedding)
class ReembeddingAdmin(admin.ModelAdmin):
    list_display = ["collection", "version", "state", "done", "total", "created", "finished"]
    list_filter = ["state"]
