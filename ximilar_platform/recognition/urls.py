from django.urls import re_path

from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.recognition import classify, views

router = ApiRouter()
router.register("recognition/v2/task", views.TaskViewSet, basename="recognition-task")
router.register("recognition/v2/label", views.LabelViewSet, basename="recognition-label")
router.register("recognition/v2/model", views.ModelVersionViewSet, basename="recognition-model")
router.register("recognition/v2/training-job", views.TrainingJobViewSet, basename="recognition-training-job")
urlpatterns = [
    re_path(r"^recognition/v2/classify/?$", classify.ClassifyView.as_view(), name="recognition-classify"),
    *router.urls,
]
