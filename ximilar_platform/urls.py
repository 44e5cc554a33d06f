"""Root URLconf. Every API route answers with and without a trailing slash, never redirects."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ximilar_platform.core import health, views
from ximilar_platform.core.metrics_view import metrics

urlpatterns = [
    path("", views.index, name="index"),
    # operations, without an API token (answered before the Host check: core.operations)
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    re_path(r"^metrics/?$", metrics, name="metrics"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    re_path(r"^media/(?P<path>.+)$", views.media, name="media"),
    path("", include("ximilar_platform.accounts.urls")),
    path("", include("ximilar_platform.notifications.urls")),
    path("", include("ximilar_platform.ready_services.urls")),
    path("", include("ximilar_platform.recognition.urls")),
    path("", include("ximilar_platform.detection.urls")),
    path("", include("ximilar_platform.similarity.urls")),
    path("", include("ximilar_platform.collections.urls")),
    path("", include("ximilar_platform.flows.urls")),
    path("", include("ximilar_platform.annotate.urls")),
    path("", include("ximilar_platform.datasets.urls")),
    path("app/", include("ximilar_platform.web.urls")),
    re_path(r"^(?!admin/|static/).*$", views.not_found, name="unmatched"),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.not_found
handler500 = views.server_error
