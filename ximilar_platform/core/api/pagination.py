"""DRF's page-number pagination: the official client's ``get_all_*`` follows ``next`` until null."""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = settings.PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = settings.MAX_PAGE_SIZE
