"""``manage.py export_dataset`` and ``import_dataset``: large local datasets without an upload."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from tests.ximilar_platform.datasets.conftest import task_content
from ximilar_platform.datasets import progress
from ximilar_platform.detection.models import DetectionTask


def test_a_task_is_exported_and_imported_from_a_zip_and_from_a_folder(boxes, bob, tmp_path) -> None:
    archive = tmp_path / "street.zip"
    call_command("export_dataset", str(boxes.id), format="coco", output=str(archive), stdout=io.StringIO())
    shown = io.StringIO()
    call_command("import_dataset", str(archive), format="coco", workspace=str(bob.workspace.id), stderr=shown)
    assert "5/5" in shown.getvalue()  # the progress bar's last count
    copy = DetectionTask.objects.get(workspace=bob.workspace)
    assert copy.name == "street"
    folder = tmp_path / "unpacked"
    zipfile.ZipFile(archive).extractall(folder)
    call_command("import_dataset", str(folder), format="coco", task=str(copy.id), stderr=io.StringIO())
    content = task_content(copy)
    assert len(content["images"]) == 5 and content["images"].keys() == task_content(boxes)["images"].keys()


def test_a_refused_import_says_why_per_file(bob, tmp_path) -> None:
    folder = tmp_path / "pets"
    (folder / "cat").mkdir(parents=True)
    (folder / "cat" / "a.png").write_bytes(b"broken")
    shown = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import_dataset", str(folder), format="class_folders", workspace=str(bob.workspace.id), stderr=shown
        )
    assert "cat/a.png: unreadable image" in shown.getvalue()


def test_without_tqdm_the_progress_is_a_plain_counter(monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)
    shown = io.StringIO()
    update, close = progress.progress_bar("Images", shown)
    assert update(10, 20) and update(20, 20)
    close()
    assert shown.getvalue() == "Images: 10/20\nImages: 20/20\n"
