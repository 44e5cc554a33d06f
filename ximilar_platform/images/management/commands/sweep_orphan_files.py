"""``manage.py sweep_orphan_files [--older-than SECONDS]``: what every worker's file sweep does, now."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from ximilar_platform.images.orphans import sweep_orphan_files


class Command(BaseCommand):
    help = "Delete training-image files that no training image names (left by a crash or a lost deletion job)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=settings.ORPHAN_FILE_MIN_AGE,
            help="only files older than this many seconds (default ORPHAN_FILE_MIN_AGE); younger ones may "
            "belong to an upload still in progress",
        )

    def handle(self, *args, older_than: float, **options) -> None:
        removed = sweep_orphan_files(older_than=older_than)
        self.stdout.write(f"Deleted {len(removed)} orphan files.")
