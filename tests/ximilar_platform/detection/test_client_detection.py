"""The official DetectionClient against a live server and a real worker: data, training, detect."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from ximilar.client import DetectionClient
from ximilar.client.exceptions import XimilarClientException

from tests.detection_shapes import LABELS, shapes_image
from tests.ximilar_platform.recognition.test_client_training import wait_for
from ximilar_platform.detection.models import DetectionObject

# A from-scratch YOLO needs ~30 epochs before its mAP leaves 0 (ML_STACK.md); 60 tiny images, 50 epochs at
# 160 px is about two minutes on 2 cores.
QUICK = {"DETECTION_MIN_IMAGES_PER_LABEL": "4", "DETECTION_IMAGE_SIZE": "160", "DETECTION_EPOCHS": "50",
         "DETECTION_PATIENCE": "50", "TRAINING_HEARTBEAT_SECONDS": "1"}


def png(image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def client(live_server, alice, settings) -> DetectionClient:
    settings.DETECTION_MIN_IMAGES_PER_LABEL = 4
    return DetectionClient(token=alice.token, endpoint=live_server.url + "/")


def iou(a: list, b: list) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_client_manages_objects(client) -> None:
    task, _ = client.create_task("shapes")
    label, _ = client.create_label("rect", color="#00FF00")
    other, _ = client.create_label("circle")
    task.add_label(label.id)
    image, boxes = shapes_image(np.random.default_rng(1), objects=1)
    box = [boxes[0].xmin, boxes[0].ymin, boxes[0].xmax, boxes[0].ymax]
    images, _ = client.upload_images([{"_base64": png(image), "noresize": True,
                                       "objects": [{"detection_label": label.id, "data": box, "meta_data": {}}]}])
    objects, _ = client.get_objects_of_image(images[0].id)
    assert [o.data for o in objects] == [box] and objects[0].detection_label["name"] == "rect"
    objects[0].change_label(other.id)
    assert client.get_object(objects[0].id)[0].detection_label["id"] == other.id
    objects[0].add_meta_data({"source": "test"})
    assert client.get_object(objects[0].id)[0].get_meta_data() == {"source": "test"}
    assert [i.id for i in other.get_images()[0]] == [images[0].id]
    page, next_page = client.get_objects()
    assert len(page) == 1 and next_page is None
    negative, _ = client.upload_images([{"_base64": png(shapes_image(np.random.default_rng(2), objects=0)[0]),
                                         "noresize": True}])
    task.add_negative_image(negative[0].id)
    assert client.get(f"detection/v2/task/{task.id}")["negative_images_count"] == 1
    objects[0].remove()
    assert not DetectionObject.objects.exists()
    with pytest.raises(XimilarClientException):
        client.detect_on_task([{"_base64": png(image), "noresize": True}], task.id)


def test_a_detector_learns_and_detects_through_the_api(client, start_worker) -> None:
    worker = start_worker(**QUICK)
    task, _ = client.create_task("shapes")
    label_ids = {}
    for name in LABELS:
        label, _ = client.create_label(name)
        task.add_label(label.id)
        label_ids[name] = label.id
    rng = np.random.default_rng(0)
    records = []
    for index in range(60):
        image, boxes = shapes_image(rng, objects=0 if index % 15 == 0 else int(rng.integers(1, 3)))
        objects = [{"detection_label": label_ids[b.label], "data": [b.xmin, b.ymin, b.xmax, b.ymax], "meta_data": {}}
                   for b in boxes]
        records.append({"_base64": png(image), "noresize": True, "objects": objects})
    client.upload_images(records)
    assert task.train()["status"] == "WAITING"
    wait_for(lambda: client.get(f"detection/v2/task/{task.id}")["production_version"] >= 1, worker, timeout=600)

    held_out = [shapes_image(np.random.default_rng(1000 + i), objects=1) for i in range(12)]
    result = client.detect_on_task([{"_base64": png(image), "noresize": True} for image, _ in held_out[:10]],
                                   task.id, keep_prob=0.3)
    assert result["version"] == 1 and len(result["records"]) == 10
    found = 0
    for record, (_, boxes) in zip(result["records"], held_out, strict=False):
        truth = boxes[0]
        assert (record["_width"], record["_height"]) == (160, 160)
        found += any(o["id"] == label_ids[truth.label] and o["prob"] > 0.3
                     and iou(o["bound_box"], [truth.xmin, truth.ymin, truth.xmax, truth.ymax]) >= 0.5
                     for o in record["_objects"])
    assert found >= 5, result["records"]  # recall at IoU 0.5 on unseen images, far above a random box's
    model = client.get(f"detection/v2/model?task={task.id}")["results"][0]
    assert model["metrics"]["map50"] > 0.3 and set(model["metrics"]["per_label"]) == set(label_ids.values())
    too_many = client.post("detection/v2/detect", data={"task_id": task.id, "records": [{"_url": "x"}] * 11})
    assert too_many["status"]["code"] == 400
