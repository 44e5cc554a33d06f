from django.urls import re_path

from ximilar_platform.core.api.routers import ApiRouter
from ximilar_platform.flows import views

router = ApiRouter()
router.register("flows/v2/flow", views.FlowViewSet, basename="flow")
urlpatterns = [re_path(r"^flows/v2/process/?$", views.ProcessView.as_view(), name="flow-process"), *router.urls]
