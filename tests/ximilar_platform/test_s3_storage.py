"""Every file on a real S3 server (SeaweedFS, checking signatures): the official client uploads, a worker
trains, the API classifies, detects and searches, and the local media folder stays empty.

The API runs in this process (live_server) with S3 settings; the worker is a separate process given
the same bucket by its environment, so the two share nothing on disk.
"""

from __future__ import annotations

import base64
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import requests
from ximilar.client import DetectionClient, RecognitionClient, SimilarityCustomClient

from tests.detection_shapes import shapes_image
from tests.factories import colour_image_base64, item_view_base64
from tests.ximilar_platform.flows.conftest import colour_model, register  # noqa: F401 - a fixture
from tests.ximilar_platform.recognition.test_client_training import QUICK, colour_task, wait_for
from tests.ximilar_platform.s3server import S3Server, seaweedfs
from ximilar_platform.detection.models import DetectionLabel, DetectionTask
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import Task
from ximilar_platform.training_jobs.models import ModelVersion


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def on_s3(s3: S3Server, settings, tmp_path: Path) -> S3Server:
    """This process's storage is the bucket (the AWS settings first: the storage reads them when rebuilt)."""
    s3.empty()
    settings.AWS_STORAGE_BUCKET_NAME = s3.bucket
    settings.AWS_S3_ENDPOINT_URL = s3.endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_ACCESS_KEY_ID = s3.access_key
    settings.AWS_SECRET_ACCESS_KEY = s3.secret_key
    settings.AWS_QUERYSTRING_AUTH = True
    settings.ARTIFACT_CACHE_DIR = tmp_path / "artifact-cache"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    return s3


def local_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def test_upload_train_classify_detect_and_search_keep_every_file_in_the_bucket(
    on_s3: S3Server, live_server, alice, settings, start_worker, media_root: Path, shapes_detector, tmp_path
) -> None:
    settings.TRAINING_MIN_IMAGES_PER_LABEL = 4
    worker = start_worker(**QUICK, **on_s3.env())
    client = RecognitionClient(token=alice.token, endpoint=live_server.url + "/")
    task = colour_task(client, per_label=6)
    images = TrainingImage.objects.all()
    assert images.count() == 12
    keys = set(on_s3.keys())
    assert {image.file.name for image in images} <= keys and {image.thumbnail.name for image in images} <= keys

    # a stored image's URL is signed for the bucket: it works without the API token, and only signed
    listed = client.get("recognition/v2/training-image/?page_size=1")["results"][0]
    assert listed["img_path"].startswith(on_s3.endpoint) and "Signature" in listed["img_path"]
    assert requests.get(listed["img_path"], timeout=10).status_code == 200
    assert requests.get(listed["img_path"].split("?")[0], timeout=10).status_code == 403

    task.train()  # the worker reads the images from the bucket and publishes the model there
    wait_for(lambda: client.get_task(task.id)[0].production_version >= 1, worker)
    artifacts = [key for key in on_s3.keys() if key.startswith("artifacts/")]
    assert any(key.endswith("manifest.json") for key in artifacts) and any(key.endswith(".onnx") for key in artifacts)
    classified = client.get_task(task.id)[0].classify([{"_base64": colour_image_base64(500, "red")}])
    assert classified["records"][0]["best_label"]["name"] == "red"
    assert local_files(settings.ARTIFACT_CACHE_DIR), "the API downloaded the model once into its cache"

    shapes = DetectionTask.objects.create(workspace=alice.workspace, name="shapes")
    labels = [DetectionLabel.objects.create(workspace=alice.workspace, name=name) for name in ("rect", "circle")]
    shapes.labels.add(*labels)
    register(shapes, "detection", shapes_detector[0], tmp_path, labels=[str(label.id) for label in labels])
    picture, boxes = shapes_image(np.random.default_rng(3))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    detector = DetectionClient(token=alice.token, endpoint=live_server.url + "/")
    detected = detector.detect_on_task([{"_base64": base64.b64encode(buffer.getvalue()).decode()}], str(shapes.id))
    assert detected["records"][0]["_objects"], detected

    collection = SimilarityCustomClient(
        token=alice.token, collection_id="shop", endpoint=live_server.url + "/similarity/custom/v2/"
    )
    inserted = collection.insert([{"_id": f"item-{i}", "_base64": item_view_base64(i, 0)} for i in range(4)])
    assert len(inserted["records"]) == 4
    found = collection.search({"_base64": item_view_base64(2, 0)}, k=1)
    assert found["answer_records"][0]["_id"] == "item-2"
    assert len([key for key in on_s3.keys() if key.startswith("collections/")]) == 4, "kept copies, to re-embed"

    assert local_files(media_root) == [], "nothing of the service may land in the local media folder"
    assert worker.poll() is None


def test_a_wrong_secret_is_refused_by_the_server(on_s3: S3Server) -> None:
    """The server really checks signatures, so the passing test above shows the service signs right."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        on_s3.client(secret="0" * 40).list_objects_v2(Bucket=on_s3.bucket)


def test_the_artifact_cache_keeps_its_size_evicting_the_least_recently_used(
    on_s3: S3Server, settings, tmp_path
) -> None:
    from ximilar_platform.training_jobs import artifacts

    settings.ARTIFACT_CACHE_MAX_BYTES = 2500  # two artifacts of 1000 bytes fit, a third does not
    published = {}
    for name in ("a", "b", "c"):
        source = tmp_path / name
        source.mkdir()
        (source / "model.onnx").write_bytes(bytes(1000))
        published[name] = (f"artifacts/w/{name}", artifacts.publish(source, f"artifacts/w/{name}"))
    a, b = (artifacts.local_dir(*published[name]) for name in ("a", "b"))
    os.utime(a, (1, 1))  # a was used long ago, b just now
    os.utime(b, (2, 2))
    artifacts.local_dir(*published["b"])  # a hit marks b used now
    c = artifacts.local_dir(*published["c"])
    assert not a.exists() and b.exists() and c.exists()
    assert (b / "model.onnx").read_bytes() == bytes(1000)
    again = artifacts.local_dir(*published["a"])  # evicted: downloaded again, and b (older than c) goes
    assert again.exists() and (again / "model.onnx").stat().st_size == 1000 and not b.exists() and c.exists()


def test_a_version_in_the_bucket_downloads_as_a_zip_read_from_it(
    on_s3: S3Server,
    alice,
    settings,
    colour_model,  # noqa: F811 - the fixture
    media_root: Path,
    tmp_path,
) -> None:
    task = Task.objects.create(workspace=alice.workspace, name="colours")
    register(task, "recognition", colour_model, tmp_path)
    response = alice.client.get(f"/recognition/v2/model/{ModelVersion.objects.get(task_id=task.id).id}/download")
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert archive.read("model.onnx") == (Path(colour_model.artifact_dir) / "model.onnx").read_bytes()
    assert local_files(media_root) == [] and local_files(settings.ARTIFACT_CACHE_DIR) == []
