from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.images import views

router = ApiRouter()
router.register("recognition/v2/training-image", views.TrainingImageViewSet, basename="training-image")
urlpatterns = router.urls
