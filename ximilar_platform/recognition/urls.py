from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.recognition import views

router = ApiRouter()
router.register("recognition/v2/task", views.TaskViewSet, basename="recognition-task")
router.register("recognition/v2/label", views.LabelViewSet, basename="recognition-label")
urlpatterns = router.urls
