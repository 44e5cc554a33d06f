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

# A from-scratch YOLO needs 15-30 epochs before its mAP leaves 0 (ML_STACK.md); 120 images of 160 px for
# 30 epochs on one thread (steadier than two on a shared 2-core machine) take about 100 s and reach ~0.9 mAP50.
QUICK = {
    "DETECTION_MIN_IMAGES_PER_LABEL": "4",
    "DETECTION_IMAGE_SIZE": "160",
    "DETECTION_EPOCHS": "30",
    "DETECTION_PATIENCE": "30",
    "TORCH_THREADS": "1",
    "TRAINING_HEARTBEAT_SECONDS": "1",
}


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
    images, _ = client.upload_images(
        [
            {
                "_base64": png(image).encode(),
                "noresize": True,
                "objects": [{"detection_label": label.id, "data": box, "meta_data": {}}],
            }
        ]
    )
    objects, _ = client.get_objects_of_image(images[0].id)
    assert [o.data for o in objects] == [box] and objects[0].detection_label["name"] == "rect"
    objects[0].change_label(other.id)
    fresh = client.get_object(objects[0].id)[0]  # the client keeps the old label locally
    assert fresh.detection_label["id"] == other.id
    fresh.add_meta_data({"source": "test"})
    assert client.get_object(objects[0].id)[0].get_meta_data() == {"source": "test"}
    assert [i.id for i in other.get_images()[0]] == [images[0].id]
    page, next_page, _ = client.get_objects(detection_label=other.id)
    assert [o.id for o in page] == [objects[0].id] and next_page is None
    assert client.get_objects(detection_label=label.id)[0] == []
    negative, _ = client.upload_images(
        [{"_base64": png(shapes_image(np.random.default_rng(2), objects=0)[0]).encode(), "noresize": True}]
    )
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
    for index in range(120):
        image, boxes = shapes_image(rng, objects=0 if index % 20 == 0 else int(rng.integers(1, 3)))
        objects = [
            {"detection_label": label_ids[b.label], "data": [b.xmin, b.ymin, b.xmax, b.ymax], "meta_data": {}}
            for b in boxes
        ]
        records.append({"_base64": png(image).encode(), "noresize": True, "objects": objects})
    images, _ = client.upload_images(records)
    for image, record in zip(images, records, strict=True):
        if not record["objects"]:
            task.add_negative_image(image.id)
    assert task.train()["status"] == "WAITING"
    wait_for(lambda: client.get(f"detection/v2/task/{task.id}")["production_version"] >= 1, worker, timeout=600)

    held_out = [shapes_image(np.random.default_rng(1000 + i), objects=1) for i in range(12)]
    result = client.detect_on_task(
        [{"_base64": png(image), "noresize": True} for image, _ in held_out[:10]], task.id, keep_prob=0.3
    )
    assert result["version"] == 1 and len(result["records"]) == 10
    found = 0
    for record, (_, boxes) in zip(result["records"], held_out, strict=False):
        truth = boxes[0]
        assert (record["_width"], record["_height"]) == (160, 160)
        found += any(
            o["id"] == label_ids[truth.label]
            and o["prob"] > 0.3
            and iou(o["bound_box"], [truth.xmin, truth.ymin, truth.xmax, truth.ymax]) >= 0.5
            for o in record["_objects"]
        )
    assert found >= 6, result["records"]  # recall at IoU 0.5 on unseen images, far above a random box's
    model = client.get(f"detection/v2/model?task={task.id}")["results"][0]
    assert model["metrics"]["map50"] > 0.3 and set(model["metrics"]["per_label"]) == set(label_ids.values())
    too_many = client.post("detection/v2/detect", data={"task_id": task.id, "records": [{"_url": "x"}] * 11})
    assert too_many["status"]["code"] == 400
    extra = client.post(
        "detection/v2/detect",
        data={
            "task_id": task.id,
            "descriptor": 1,
            "store_images": True,
            "records": [{"_base64": png(held_out[10][0])}, {"_base64": "broken"}, {"_base64": png(held_out[11][0])}],
        },
    )
    good, bad, other = extra["records"]
    assert bad["_status"]["code"] == 400 and "_objects" not in bad
    assert len(good["_descriptor"]) == 1280 and abs(np.linalg.norm(good["_descriptor"]) - 1) < 1e-3
    assert good["_descriptor"] != other["_descriptor"]
    assert client.get(f"recognition/v2/training-image/{good['_stored_image_id']}")["id"] == good["_stored_image_id"]
