from django.contrib import admin

from ximilar_platform.flows.models import Flow


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "created"]
    search_fields = ["name", "id"]
