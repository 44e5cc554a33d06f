from django.urls import re_path

from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.similarity import descriptor, search_views, views

PREFIX = "similarity/training/v2"
router = ApiRouter()
router.register(f"{PREFIX}/type", views.SimilarityTypeViewSet, basename="similarity-type")
router.register(f"{PREFIX}/task", views.SimilarityTaskViewSet, basename="similarity-task")
router.register(f"{PREFIX}/group", views.SimilarityGroupViewSet, basename="similarity-group")
router.register(f"{PREFIX}/collection", views.CollectionViewSet, basename="similarity-collection")
router.register(f"{PREFIX}/model", views.ModelVersionViewSet, basename="similarity-model")
router.register(f"{PREFIX}/training-job", views.TrainingJobViewSet, basename="similarity-training-job")
urlpatterns = [
    re_path(rf"^{PREFIX}/descriptor/?$", descriptor.DescriptorView.as_view(), name="similarity-descriptor"),
    re_path(r"^similarity/custom/v2/(?P<operation>[A-Za-z]+)/?$", search_views.SearchView.as_view(),
            name="similarity-search"),
    *router.urls,
]
