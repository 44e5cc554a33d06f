"""Data in and out in a real browser: a task exported as class folders, the zip imported as a new task,
a version's model downloaded, and the account page's notifications card (issue 17's buttons)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.factories import colour_image_base64
from tests.ximilar_platform.flows.conftest import colour_model, register  # noqa: F401 - a fixture
from tests.ximilar_platform.web.browser import choose, ready, sign_in
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import Task

pytestmark = [pytest.mark.browser]


def fruit_task(alice) -> dict:
    api = alice.client
    task = api.post("/recognition/v2/task", {"name": "fruit"}, format="json").json()
    for colour in ("red", "blue"):
        label = api.post("/recognition/v2/label", {"name": colour}, format="json").json()
        api.post(f"/recognition/v2/task/{task['id']}/add-label", {"label_id": label["id"]}, format="json")
        for index in range(3):
            image = {"base64": colour_image_base64(index, colour), "labels": [label["id"]]}
            assert api.post("/recognition/v2/training-image", image, format="json").status_code == 201
    return task


def test_a_person_exports_a_task_imports_the_zip_and_downloads_a_model(
    page,
    live_server,
    alice,
    settings,
    shots: Path,
    tmp_path: Path,
    colour_model,  # noqa: F811 - the fixture
) -> None:
    settings.URL_FETCH_ALLOW_LOOPBACK = True  # the webhook receiver below is on this machine
    task = fruit_task(alice)
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/app/recognition/{task['id']}/")
    page.click("text=Export as Class folders")
    page.wait_for_selector("text=Download the zip")
    assert "6 images written." in page.inner_text("#dataset-job")
    page.screenshot(path=str(shots / "dataset-export.png"), full_page=True)
    with page.expect_download() as download:
        page.click("text=Download the zip")
    archive = tmp_path / "fruit.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as opened:
        folders = {Path(name).parts[-2] for name in opened.namelist() if name.endswith((".png", ".jpg", ".jpeg"))}
    assert folders == {"red", "blue"}, folders

    page.goto(f"{live_server.url}/app/")
    ready(page)
    page.click("text=Import dataset")
    choose(page, "#import-dataset #dataset-file", str(archive))
    page.select_option("#dataset-format", "class_folders")
    page.click("#import-dataset button[type=submit]")
    page.wait_for_selector("text=6 images imported.")
    page.screenshot(path=str(shots / "dataset-import.png"), full_page=True)
    imported = Task.objects.exclude(id=task["id"]).get()
    assert sorted(imported.labels.values_list("name", flat=True)) == ["blue", "red"]
    assert TrainingImage.objects.filter(labels__in=imported.labels.all()).distinct().count() == 6

    register(imported, "recognition", colour_model, tmp_path)
    page.click("text=Open the task")
    page.goto(f"{live_server.url}/app/recognition/{imported.id}/models/")
    with page.expect_download() as model:
        page.click("text=Download model")
    model_zip = tmp_path / "model.zip"
    model.value.save_as(model_zip)
    with zipfile.ZipFile(model_zip) as opened:
        assert {"model.onnx", "manifest.json", "predict.py", "README.md"} <= set(opened.namelist())
    page.screenshot(path=str(shots / "versions.png"), full_page=True)

    page.goto(f"{live_server.url}/app/account/")
    page.fill("#webhook-url", "http://127.0.0.1:9/vision-hooks")
    page.click("text=Add webhook")
    page.wait_for_selector("#new-webhook-secret")
    assert page.locator("td:has-text('127.0.0.1:9/vision-hooks')").count() == 1
    page.screenshot(path=str(shots / "notifications.png"), full_page=True)


def test_a_person_cancels_an_import_no_worker_took_yet(page, live_server, alice, shots: Path) -> None:
    from ximilar_platform.datasets.models import DatasetJob

    job = DatasetJob.objects.create(workspace=alice.workspace, direction="import", format="coco", name="street.zip")
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/app/datasets/jobs/{job.id}/")
    ready(page)
    assert "Waiting for a worker" in page.inner_text("#dataset-job")
    page.screenshot(path=str(shots / "dataset-waiting.png"), full_page=True)
    page.click("text=Cancel import")  # the confirmation is accepted
    page.wait_for_selector("text=Import cancelled; nothing was kept.")
    assert "Cancelled by alice." in page.inner_text("#dataset-job")
    assert page.locator("text=Cancel import").count() == 0
    page.screenshot(path=str(shots / "dataset-cancelled.png"), full_page=True)
    job.refresh_from_db()
    assert job.state == "cancelled"
