from django.urls import re_path

from ximilar_platform.collections import views
from ximilar_platform.core.api.routers import ApiRouter

router = ApiRouter()
router.register("similarity/training/v2/collection", views.CollectionViewSet, basename="similarity-collection")
urlpatterns = [
    re_path(r"^similarity/training/v2/descriptor/?$", views.DescriptorView.as_view(), name="similarity-descriptor"),
    re_path(r"^similarity/custom/v2/(?P<operation>[A-Za-z]+)/?$", views.SearchView.as_view(), name="similarity-search"),
    *router.urls,
]
