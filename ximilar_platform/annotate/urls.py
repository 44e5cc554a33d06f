from django.urls import re_path

from ximilar_platform.annotate import views
from ximilar_platform.core.api.routers import ApiRouter

router = ApiRouter()
router.register("annotate/v2/verification", views.VerificationViewSet, basename="annotate-verification")
router.register(
    "annotate/v2/similarity-verification", views.GroupVerificationViewSet, basename="annotate-similarity-verification"
)
router.register("annotate/v2/suggestion-run", views.SuggestionRunViewSet, basename="annotate-suggestion-run")
router.register("annotate/v2/suggestion", views.SuggestionViewSet, basename="annotate-suggestion")
router.register("annotate/v2/review", views.ReviewViewSet, basename="annotate-review")
router.register("annotate/v2/job", views.AnnotationJobViewSet, basename="annotate-job")
urlpatterns = [re_path(r"^annotate/v2/queue/?$", views.QueueView.as_view(), name="annotate-queue"), *router.urls]
