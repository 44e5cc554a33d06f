from django.urls import re_path

from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.core.models import TaskKind
from ximilar_platform.recognition import classify, image_views, views
from ximilar_platform.training_jobs.views import register_kind_routes

router = ApiRouter()
router.register("recognition/v2/task", views.TaskViewSet, basename="recognition-task")
router.register("recognition/v2/label", views.LabelViewSet, basename="recognition-label")
router.register("recognition/v2/training-image", image_views.TrainingImageViewSet, basename="training-image")
register_kind_routes(router, "recognition/v2", TaskKind.RECOGNITION, "recognition")
urlpatterns = [
    re_path(r"^recognition/v2/classify/?$", classify.ClassifyView.as_view(), name="recognition-classify"),
    *router.urls,
]
