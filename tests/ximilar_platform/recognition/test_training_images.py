from __future__ import annotations

import base64
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from rest_framework.test import APIClient

from tests.factories import image_base64, image_bytes
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import ImageLabel

IMAGES = "/recognition/v2/training-image"
LABELS = "/recognition/v2/label"


def upload(api, **data) -> dict:
    data.setdefault("base64", image_base64())
    response = api.post(IMAGES, data, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def stored_files(media_root: Path) -> list[Path]:
    return sorted(path for path in media_root.rglob("*") if path.is_file())


@pytest.fixture
def image_server():
    """A throwaway HTTP server on loopback that serves the bytes put into ``files``."""
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", files
    server.shutdown()


def test_upload_base64_stores_file_thumbnail_and_row(api, alice, media_root) -> None:
    image = upload(api, meta_data={"sku": "1"}, test_image=True)
    row = TrainingImage.objects.get(id=image["id"])
    assert row.workspace == alice.workspace and row.meta_data == {"sku": "1"} and row.test_image
    assert (image["img_width"], image["img_height"]) == (40, 30)
    assert image["img_path"].startswith("http://testserver/media/images/")
    assert image["thumb_img_path"].startswith("http://testserver/media/thumbs/")
    assert len(stored_files(media_root)) == 2 and image["created"] and image["labels"] == []


@pytest.mark.parametrize("field", ["base64", "_base64"])
def test_upload_accepts_both_base64_fields_and_data_uri(api, field: str) -> None:
    upload(api, **{field: "data:image/png;base64," + image_base64(color=(1, 2, 3))})
    assert TrainingImage.objects.count() == 1


def test_upload_multipart_file_like_the_seed_curl(api) -> None:
    file = io.BytesIO(image_bytes(fmt="JPEG"))
    file.name = "photo.jpg"
    response = api.post(IMAGES, {"img_path": file, "meta_data": '{"a": 1}'}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["meta_data"] == {"a": 1}


def test_upload_by_url_from_an_allowed_loopback_server(api, settings, image_server) -> None:
    settings.URL_FETCH_ALLOW_LOOPBACK = True
    base, files = image_server
    files["/cat.png"] = image_bytes(size=(64, 48))
    image = upload(api, base64=None, _url=f"{base}/cat.png")
    assert (image["img_width"], image["img_height"]) == (64, 48)


def test_upload_by_url_refuses_loopback_by_default(api, image_server) -> None:
    base, files = image_server
    files["/cat.png"] = image_bytes()
    response = api.post(IMAGES, {"_url": f"{base}/cat.png"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "url_forbidden"
    assert TrainingImage.objects.count() == 0


def test_large_images_are_downscaled_unless_noresize(api, settings) -> None:
    settings.TRAINING_IMAGE_MAX_SIDE = 100
    small = upload(api, base64=image_base64(size=(400, 200), color=(9, 9, 9)))
    assert (small["img_width"], small["img_height"]) == (100, 50)
    kept = upload(api, base64=image_base64(size=(400, 200), color=(8, 8, 8)), noresize=True)
    assert (kept["img_width"], kept["img_height"]) == (400, 200)
    tiny = upload(api, base64=image_base64(size=(20, 10), color=(7, 7, 7)))
    assert (tiny["img_width"], tiny["img_height"]) == (20, 10)


def test_same_bytes_twice_answer_already_exists_with_the_id(api) -> None:
    first = upload(api)
    response = api.post(IMAGES, {"base64": image_base64()}, format="json")
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"] and first["id"] in response.json()["detail"]
    assert TrainingImage.objects.count() == 1


def test_same_bytes_in_another_workspace_are_a_new_image(alice, bob) -> None:
    upload(alice.client)
    upload(bob.client)
    assert TrainingImage.objects.count() == 2


def test_image_files_are_served_without_the_token(api, client) -> None:
    image = upload(api)
    path = image["img_path"].removeprefix("http://testserver")
    response = client.get(path)
    assert response.status_code == 200
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (40, 30)
    assert client.get(image["thumb_img_path"].removeprefix("http://testserver")).status_code == 200
    assert client.get("/media/images/does-not-exist.png").status_code == 404


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"base64": "!!!not base64!!!"}, 400, "invalid_base64"),
        ({"base64": base64.b64encode(b"\xff\xd8\xff\xe0 truncated jpeg").decode()}, 400, "invalid_image"),
        ({"base64": base64.b64encode(b"%PDF-1.4 hello").decode()}, 400, "unsupported_format"),
        (
            {"base64": base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode()},
            400,
            "unsupported_format",
        ),
        ({"_url": "ftp://example.com/a.jpg"}, 400, "invalid_url"),
        ({"_url": "http://169.254.169.254/latest/meta-data"}, 400, "url_forbidden"),
        ({"_url": "http://10.1.2.3/a.jpg"}, 400, "url_forbidden"),
        ({}, 400, "invalid"),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(api, media_root, payload, status, code) -> None:
    upload(api, base64=image_base64(color=(5, 5, 5)))
    before = stored_files(media_root)
    response = api.post(IMAGES, payload, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code and response.json()["status"]["code"] == status
    assert TrainingImage.objects.count() == 1 and stored_files(media_root) == before


def test_huge_uploads_and_pixel_bombs_answer_413(api, settings) -> None:
    settings.IMAGE_MAX_BYTES = 1000
    big = api.post(IMAGES, {"base64": image_base64(size=(300, 300), fmt="BMP")}, format="json")
    assert big.status_code == 413
    settings.IMAGE_MAX_BYTES = 10_000_000
    settings.IMAGE_MAX_PIXELS = 100
    bomb = api.post(IMAGES, {"base64": image_base64(size=(20, 20))}, format="json")
    assert bomb.status_code == 413 and bomb.json()["code"] == "image_too_large"
    assert TrainingImage.objects.count() == 0


def test_list_pages_and_filters(api) -> None:
    cat = api.post(LABELS, {"name": "cat"}, format="json").json()
    ids = [upload(api, base64=image_base64(color=(i, 0, 0)), test_image=i % 2 == 0)["id"] for i in range(5)]
    for image_id in ids[:3]:
        api.post(f"{IMAGES}/{image_id}/add-label", {"label_id": cat["id"]}, format="json")
    page = api.get(f"{IMAGES}/?page=1&page_size=2").json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    assert {x["id"] for x in api.get(f"{IMAGES}/?labels={cat['id']}").json()["results"]} == set(ids[:3])
    assert {x["id"] for x in api.get(f"{IMAGES}/?label={cat['id']}").json()["results"]} == set(ids[:3])
    assert {x["id"] for x in api.get(f"{IMAGES}/?not_labels={cat['id']}").json()["results"]} == set(ids[3:])
    assert api.get(f"{IMAGES}/?test=true").json()["count"] == 3
    assert api.get(f"{IMAGES}/?test=False").json()["count"] == 2
    assert api.get(f"{IMAGES}/?unknown_filter=1").json()["count"] == 5
    assert api.get(f"{IMAGES}/?labels=not-a-uuid").status_code == 400


def test_regression_values_can_be_set_updated_and_filtered(api) -> None:
    age = api.post(LABELS, {"name": "age", "type": "value"}, format="json").json()
    young, old = upload(api, base64=image_base64(color=(1, 1, 1))), upload(api, base64=image_base64(color=(2, 2, 2)))
    api.post(f"{IMAGES}/{young['id']}/add-label", {"label_id": age["id"], "value": 3}, format="json")
    api.post(f"{IMAGES}/{old['id']}/add-label", {"label_id": age["id"], "value": 30}, format="json")
    detail = api.post(f"{IMAGES}/{old['id']}/update-label", {"label_id": age["id"], "value": 70.5}, format="json")
    assert detail.json()["labels"][0]["value"] == 70.5
    api.post(f"{IMAGES}/{young['id']}/update-value", {"label_id": age["id"], "value": "4"})
    assert ImageLabel.objects.get(image_id=young["id"]).value == 4.0
    found = api.get(f"{IMAGES}/?label_value_{age['id']}__gte=50").json()["results"]
    assert [x["id"] for x in found] == [old["id"]]


def test_wrong_label_types_and_values_are_refused(api) -> None:
    cat = api.post(LABELS, {"name": "cat"}, format="json").json()
    age = api.post(LABELS, {"name": "age", "type": "value"}, format="json").json()
    image = upload(api)
    url = f"{IMAGES}/{image['id']}"
    assert api.post(f"{url}/add-label", {"label_id": cat["id"], "value": 3}, format="json").status_code == 400
    assert api.post(f"{url}/update-label", {"label_id": cat["id"], "value": 3}, format="json").status_code == 400
    assert api.post(f"{url}/add-label", {"label_id": age["id"], "value": "abc"}, format="json").status_code == 400
    assert api.post(f"{url}/add-label", {"label_id": age["id"], "value": "nan"}, format="json").status_code == 400
    assert not ImageLabel.objects.exists()


def test_detail_shows_labels_and_remove_label_detaches(api) -> None:
    cat = api.post(LABELS, {"name": "cat", "output_name": "Cat"}, format="json").json()
    image = upload(api)
    api.post(f"{IMAGES}/{image['id']}/add-label", {"label_id": cat["id"]}, format="json")
    labels = api.get(f"{IMAGES}/{image['id']}").json()["labels"]
    assert labels == [
        {
            "id": cat["id"],
            "name": "cat",
            "type": "category",
            "output_name": "Cat",
            "negative_for_task": None,
            "value": None,
        }
    ]
    assert api.get(f"{LABELS}/{cat['id']}").json()["images_count"] == 1
    assert api.post(f"{IMAGES}/{image['id']}/remove-label", {"label_id": cat["id"]}).json()["labels"] == []


def test_routes_naming_their_image_ignore_the_lists_filters(api) -> None:
    cat, dog = (api.post(LABELS, {"name": name}, format="json").json() for name in ("cat", "dog"))
    image = upload(api)
    added = api.post(f"{IMAGES}/{image['id']}/add-label?labels={dog['id']}", {"label_id": cat["id"]}, format="json")
    assert added.status_code == 200 and [label["id"] for label in added.json()["labels"]] == [cat["id"]]
    assert api.get(f"{IMAGES}/{image['id']}?test_image=true").json()["id"] == image["id"]
    assert api.get(f"{IMAGES}?labels={dog['id']}").json()["count"] == 0  # the list still filters


def test_training_images_are_counted_under_their_own_rate(api, settings) -> None:
    """The official client sends two requests an image: a bulk upload must not spend the CRUD rate."""
    settings.THROTTLE_RATES = {"api": "2/minute", "upload": "3/minute"}
    assert [api.get(LABELS).status_code for _ in range(3)] == [200, 200, 429]
    for blue in range(3):
        upload(api, base64=image_base64(color=(1, 2, blue)))
    response = api.post(IMAGES, {"base64": image_base64(color=(1, 2, 3))}, format="json")
    assert response.status_code == 429 and TrainingImage.objects.count() == 3


def test_meta_data_can_be_replaced_with_put_and_patch(api) -> None:
    image = upload(api, meta_data={"a": 1})
    assert api.put(f"{IMAGES}/{image['id']}", {"meta_data": {"b": 2}}, format="json").json()["meta_data"] == {"b": 2}
    assert api.patch(f"{IMAGES}/{image['id']}", {"meta_data": {}}, format="json").json()["meta_data"] == {}
    assert api.patch(f"{IMAGES}/{image['id']}", {"meta_data": [1]}, format="json").status_code == 400
    assert TrainingImage.objects.get(id=image["id"]).meta_data == {}


def test_delete_removes_row_and_stored_files(api, media_root, django_capture_on_commit_callbacks) -> None:
    image = upload(api)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{IMAGES}/{image['id']}").status_code == 204
    assert not TrainingImage.objects.exists() and stored_files(media_root) == []


def test_wipe_deletes_label_and_its_images(api, media_root, django_capture_on_commit_callbacks) -> None:
    cat = api.post(LABELS, {"name": "cat"}, format="json").json()
    tagged, kept = upload(api, base64=image_base64(color=(1, 1, 1))), upload(api, base64=image_base64(color=(2, 2, 2)))
    api.post(f"{IMAGES}/{tagged['id']}/add-label", {"label_id": cat["id"]}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{LABELS}/{cat['id']}/wipe").status_code == 204
    assert list(TrainingImage.objects.values_list("id", flat=True)) == [TrainingImage.objects.get(id=kept["id"]).id]
    assert len(stored_files(media_root)) == 2


def test_bulk_update_adds_removes_labels_and_marks_test(api) -> None:
    cat, dog = (api.post(LABELS, {"name": n}, format="json").json() for n in ("cat", "dog"))
    ids = [upload(api, base64=image_base64(color=(i, 9, 9)))["id"] for i in range(3)]
    body = {
        "images": ids[:2],
        "labels": [],
        "labels-add": [cat["id"], dog["id"]],
        "labels-remove": [],
        "mark-test": True,
        "workspace": "Default",
    }
    assert api.post(f"{IMAGES}/update", body, format="json").json() == {"status": "OK", "updated": 2}
    assert set(TrainingImage.objects.filter(test_image=True).values_list("id", flat=True)) == {
        TrainingImage.objects.get(id=i).id for i in ids[:2]
    }
    by_label = {"images": [], "labels": [cat["id"]], "labels-remove": [dog["id"]], "unmark-test": True}
    assert api.post(f"{IMAGES}/update/", by_label, format="json").json()["updated"] == 2
    assert not ImageLabel.objects.filter(label_id=dog["id"]).exists()
    assert ImageLabel.objects.filter(label_id=cat["id"]).count() == 2
    assert not TrainingImage.objects.filter(test_image=True).exists()


def test_bulk_update_refuses_unknown_ids_and_too_many(api, settings) -> None:
    ids = [upload(api, base64=image_base64(color=(i, 9, 9)))["id"] for i in range(3)]
    missing = api.post(
        f"{IMAGES}/update", {"images": ["7f9d4f62-8d6e-4b8e-a3a5-1f2a3b4c5d6e"], "mark-test": True}, format="json"
    )
    assert missing.status_code == 400
    settings.MAX_BULK_IMAGES = 2
    assert api.post(f"{IMAGES}/update", {"images": ids, "mark-test": True}, format="json").status_code == 400
    assert not TrainingImage.objects.filter(test_image=True).exists()


def test_other_workspace_images_are_404_and_untouched(alice, bob, media_root) -> None:
    image = upload(bob.client)
    for method, suffix, data in [
        ("get", "", None),
        ("put", "", {"meta_data": {"x": 1}}),
        ("delete", "", None),
        ("post", "/add-label", {"label_id": "7f9d4f62-8d6e-4b8e-a3a5-1f2a3b4c5d6e"}),
    ]:
        response = getattr(alice.client, method)(f"{IMAGES}/{image['id']}{suffix}", data, format="json")
        assert response.status_code == 404
    bulk = alice.client.post(f"{IMAGES}/update", {"images": [image["id"]], "mark-test": True}, format="json")
    assert bulk.status_code == 400
    row = TrainingImage.objects.get(id=image["id"])
    assert row.meta_data == {} and not row.test_image and len(stored_files(media_root)) == 2
    assert alice.client.get(IMAGES).json()["count"] == 0


def test_labels_of_another_workspace_cannot_be_attached(alice, bob) -> None:
    label = bob.client.post(LABELS, {"name": "bob"}, format="json").json()
    image = upload(alice.client)
    response = alice.client.post(f"{IMAGES}/{image['id']}/add-label", {"label_id": label["id"]}, format="json")
    assert response.status_code == 404 and not ImageLabel.objects.exists()


def test_unauthenticated_upload_is_refused(db) -> None:
    response = APIClient().post(IMAGES, {"base64": image_base64()}, format="json")
    assert response.status_code == 401 and TrainingImage.objects.count() == 0
