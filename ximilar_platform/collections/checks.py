"""System checks of SEARCH_BACKEND=pgvector: refused at start-up on a database that cannot hold it.

The database engine is checked by every management command; the extension (a database check)
by ``migrate`` and ``check --database default``. A server started without either check still
refuses at the first search or insert (`backends.current`, `pgvector_backend.rebuild`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import connections

from ximilar_platform.collections.pgvector_backend import NEEDS_EXTENSION, NEEDS_POSTGRES, extension_installed


@register()
def pgvector_database(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.SEARCH_BACKEND == "pgvector" and connections["default"].vendor != "postgresql":
        return [Error(NEEDS_POSTGRES, id="collections.E001")]
    return []


@register(Tags.database)
def pgvector_extension(app_configs: Any, databases: list[str] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.SEARCH_BACKEND != "pgvector" or "default" not in (databases or ()):
        return []
    if connections["default"].vendor == "postgresql" and not extension_installed():
        return [Error(NEEDS_EXTENSION, id="collections.E002")]
    return []
