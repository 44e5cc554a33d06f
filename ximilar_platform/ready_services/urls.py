from django.urls import re_path

from ximilar_platform.ready_services.views import DominantColorsView, TaggingView

# The paths the official client's GenericTaggingClient and DominantColor*Client post to.
urlpatterns = [
    re_path(r"^photo/tags/v2/tags/?$", TaggingView.as_view(service="generic_tagging"), name="ready-tagging"),
    re_path(
        r"^dom_colors/generic/v2/dominantcolor/?$",
        DominantColorsView.as_view(service="dominant_colors_generic"),
        name="ready-colors-generic",
    ),
    re_path(
        r"^dom_colors/product/v2/dominantcolor/?$",
        DominantColorsView.as_view(service="dominant_colors_product"),
        name="ready-colors-product",
    ),
]
