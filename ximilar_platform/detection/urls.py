from django.urls import re_path

from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.core.models import TaskKind
from ximilar_platform.detection import detect, views
from ximilar_platform.training_jobs.views import register_kind_routes

router = ApiRouter()
router.register("detection/v2/task", views.DetectionTaskViewSet, basename="detection-task")
router.register("detection/v2/label", views.DetectionLabelViewSet, basename="detection-label")
router.register("detection/v2/object", views.DetectionObjectViewSet, basename="detection-object")
register_kind_routes(router, "detection/v2", TaskKind.DETECTION, "detection")
urlpatterns = [re_path(r"^detection/v2/detect/?$", detect.DetectView.as_view(), name="detection-detect"), *router.urls]
