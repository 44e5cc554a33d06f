"""``manage.py export_dataset TASK_ID --format coco --output task.zip``: a task as a dataset zip, locally."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ximilar_platform.datasets.archives import DatasetError
from ximilar_platform.datasets.catalog import FORMATS
from ximilar_platform.datasets.management.commands.import_dataset import find_task
from ximilar_platform.datasets.pipeline import export_archive
from ximilar_platform.datasets.progress import progress_bar
from ximilar_platform.datasets.services import format_named


class Command(BaseCommand):
    help = "Export a recognition, detection or similarity task as a dataset zip."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("task", type=uuid.UUID)
        parser.add_argument("--format", required=True, choices=list(FORMATS))
        parser.add_argument("--output", type=Path, required=True, help="The zip to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        task = find_task(options["task"])
        format_named(options["format"], task)
        update, close = progress_bar("Images", self.stderr)
        try:
            with tempfile.TemporaryDirectory(prefix="dataset-") as work:
                archive = export_archive(task=task, format=options["format"], work=Path(work), on_progress=update)
                shutil.move(archive, options["output"])
        except DatasetError as error:
            raise CommandError(str(error)) from None
        finally:
            close()
        self.stdout.write(f"Wrote {options['output']}.")
