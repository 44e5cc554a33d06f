"""``manage.py sync_search_vectors``: build every stale pgvector table now, not at its collection's next search.

Run it after switching an install with records to SEARCH_BACKEND=pgvector: a search that finds its
collection's table stale rebuilds it first, which takes minutes for millions of records (longer
than a request should wait).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ximilar_platform.collections import pgvector_backend
from ximilar_platform.collections.models import Collection


class Command(BaseCommand):
    help = "Rebuild the pgvector table of every collection whose table misses writes (SEARCH_BACKEND=pgvector)."

    def handle(self, *args: object, **options: object) -> None:
        if settings.SEARCH_BACKEND != "pgvector":
            raise CommandError("SEARCH_BACKEND is not pgvector: the faiss backend keeps no tables.")
        for collection in Collection.objects.order_by("created"):
            started = time.monotonic()
            if pgvector_backend.sync(collection):
                seconds = time.monotonic() - started
                self.stdout.write(f"{collection.key} ({collection.pk}): rebuilt in {seconds:.1f} s")
