from django.urls import re_path

from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.detection import detect, views

router = ApiRouter()
router.register("detection/v2/task", views.DetectionTaskViewSet, basename="detection-task")
router.register("detection/v2/label", views.DetectionLabelViewSet, basename="detection-label")
router.register("detection/v2/object", views.DetectionObjectViewSet, basename="detection-object")
router.register("detection/v2/model", views.ModelVersionViewSet, basename="detection-model")
router.register("detection/v2/training-job", views.TrainingJobViewSet, basename="detection-training-job")
urlpatterns = [
    re_path(r"^detection/v2/detect/?$", detect.DetectView.as_view(), name="detection-detect"),
    *router.urls,
]
