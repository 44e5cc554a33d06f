from django.contrib import admin

from ximilar_platform.images.models import ImageLabel, TrainingImage


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
