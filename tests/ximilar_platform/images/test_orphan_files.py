"""Training-image files no row names (issue 12): a failed insert leaves none, and the sweep deletes old ones."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError

from inference.images import decode_bytes
from tests.factories import image_base64, image_bytes
from tests.ximilar_platform.conftest import worker_log
from ximilar_platform.images import services, storage
from ximilar_platform.images.models import TrainingImage


def files_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def age(root: Path, name: str, seconds: float) -> None:
    """Backdate a stored file, as if it had been written ``seconds`` ago."""
    then = time.time() - seconds
    os.utime(root / name, (then, then))


def test_an_insert_that_fails_leaves_no_files(alice, media_root, monkeypatch) -> None:
    def locked(*args, **kwargs) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(TrainingImage, "save", locked)
    with pytest.raises(OperationalError):
        services.ingest_training_image(
            workspace=alice.workspace,
            decoded=decode_bytes(image_bytes(), storage.image_limits()),
            options=services.ImageOptions(meta_data={}),
        )
    assert files_under(media_root) == set()


def test_the_sweep_deletes_old_files_no_row_names_and_keeps_the_rest(alice, media_root) -> None:
    kept = alice.client.post("/recognition/v2/training-image", {"base64": image_base64()}, format="json").json()
    upload = {"base64": image_base64(color=(1, 2, 3))}
    deleted = alice.client.post("/recognition/v2/training-image", upload, format="json").json()
    row = TrainingImage.objects.get(id=deleted["id"])
    deleted_files = {row.file.name, row.thumbnail.name}
    row.delete()  # its files stay, as after a lost deletion job
    crashed = storage.save_file("images", alice.workspace.id, storage.new_stem(), "png", image_bytes())  # no row ever
    in_flight = storage.save_file("thumbs", alice.workspace.id, storage.new_stem(), "jpg", image_bytes())
    before = files_under(media_root)
    for name in before - {in_flight}:
        age(media_root, name, 120)  # the row of an upload still in flight is younger than this

    output = io.StringIO()
    call_command("sweep_orphan_files", "--older-than", "60", stdout=output)

    assert output.getvalue().strip() == "Deleted 3 orphan files."
    assert files_under(media_root) == before - deleted_files - {crashed}
    assert in_flight in files_under(media_root)
    assert alice.client.get(f"/recognition/v2/training-image/{kept['id']}").status_code == 200


def test_every_worker_sweeps_orphan_files(start_worker, alice, media_root) -> None:
    image = alice.client.post("/recognition/v2/training-image", {"base64": image_base64()}, format="json").json()
    kept = files_under(media_root)
    orphan = storage.save_file("images", alice.workspace.id, storage.new_stem(), "png", image_bytes(color=(9, 9, 9)))
    worker = start_worker(ORPHAN_FILE_SWEEP_SECONDS="0.5", ORPHAN_FILE_MIN_AGE="0")
    deadline = time.monotonic() + 60
    while (media_root / orphan).exists() and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.2)
    assert not (media_root / orphan).exists(), "the worker did not sweep the orphan:\n" + worker_log(worker)
    assert files_under(media_root) == kept and TrainingImage.objects.filter(id=image["id"]).exists()
