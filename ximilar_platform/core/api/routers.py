"""Routes answer with and without a trailing slash and never redirect (API_CONTRACT.md §0.3)."""

from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"  # SimpleRouter only knows "/" or ""
