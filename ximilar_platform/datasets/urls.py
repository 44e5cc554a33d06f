from django.urls import re_path

from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.datasets import views

router = ApiRouter()
router.register("datasets/v2/job", views.DatasetJobViewSet, basename="datasets-job")
urlpatterns = [
    re_path(r"^datasets/v2/export/?$", views.ExportView.as_view(), name="datasets-export"),
    re_path(r"^datasets/v2/import/?$", views.ImportView.as_view(), name="datasets-import"),
    *router.urls,
]
