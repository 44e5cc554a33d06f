from django.contrib import admin

from ximilar_platform.accounts.models import ApiToken, Workspace


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "owner", "is_default", "created"]
    search_fields = ["name", "id", "owner__username"]
    filter_horizontal = ["members"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created", "last_used"]
    readonly_fields = ["key_hash", "prefix", "created", "last_used"]
