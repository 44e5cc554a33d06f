from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.core.models import TaskKind
from ximilar_platform.similarity import views
from ximilar_platform.training_jobs.views import register_kind_routes

PREFIX = "similarity/training/v2"
router = ApiRouter()
router.register(f"{PREFIX}/type", views.SimilarityTypeViewSet, basename="similarity-type")
router.register(f"{PREFIX}/task", views.SimilarityTaskViewSet, basename="similarity-task")
router.register(f"{PREFIX}/group", views.SimilarityGroupViewSet, basename="similarity-group")
register_kind_routes(router, PREFIX, TaskKind.SIMILARITY, "similarity")
# {PREFIX}/descriptor is mounted by the collections app, whose view adds descriptors by collection.
urlpatterns = router.urls
