"""``manage.py import_dataset PATH --format coco [--task ID | --workspace ID] [--name NAME]``.

For datasets too large to upload: a local zip or folder is imported in this process, with the rules
and limits of ``datasets/v2/import`` and a progress bar.
"""

from __future__ import annotations

import tempfile
import uuid
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.datasets.archives import DatasetError
from ximilar_platform.datasets.catalog import FORMATS
from ximilar_platform.datasets.pipeline import import_archive
from ximilar_platform.datasets.progress import progress_bar
from ximilar_platform.datasets.services import TASK_MODELS, format_named


class Command(BaseCommand):
    help = "Import a dataset (a zip or a folder) into a task, or into a new task of a workspace."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", required=True, choices=list(FORMATS))
        parser.add_argument("--task", type=uuid.UUID, help="The task to import into (any kind).")
        parser.add_argument("--workspace", type=uuid.UUID, help="Where a new task is created (without --task).")
        parser.add_argument("--name", default="", help="The new task's name (default: the archive's).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        task = find_task(options["task"]) if options["task"] else None
        if task is None and options["workspace"] is None:
            raise CommandError("Give --task, or --workspace for a new task.")
        workspace = task.workspace if task else Workspace.objects.filter(id=options["workspace"]).first()
        if workspace is None:
            raise CommandError("No such workspace.")
        format_named(options["format"], task)
        update, close = progress_bar("Images", self.stderr)
        try:
            with tempfile.TemporaryDirectory(prefix="dataset-") as work:
                task = import_archive(
                    archive=path,
                    work=Path(work),
                    format=options["format"],
                    workspace=workspace,
                    task=task,
                    name=options["name"] or path.stem,
                    by=None,
                    on_progress=update,
                )
        except DatasetError as error:
            for problem in error.errors:
                self.stderr.write(f"{problem.get('file', '')}: {problem.get('error', '')}")
            raise CommandError(str(error)) from None
        finally:
            close()
        self.stdout.write(f"Imported into {task.task_kind} task {task.id} ({task.name}).")


def find_task(task_id: uuid.UUID) -> Any:
    for model in TASK_MODELS.values():
        found = model._default_manager.filter(id=task_id).first()
        if found is not None:
            return found
    raise CommandError("No recognition, detection or similarity task has this id.")
