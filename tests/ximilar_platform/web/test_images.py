"""Uploads with an answer per file, the image grid (filters, pages), bulk changes, and an image's page."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import image_bytes
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import ImageLabel, Label, Task


def png(name: str, colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(colour, size), content_type="image/png")


def upload(web, *files, **fields) -> dict:
    answer = web.post("/app/images/upload/", {"files": list(files), **fields})
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_each_file_is_stored_or_refused_with_its_reason(web, alice) -> None:
    label = Label.objects.create(workspace=alice.workspace, name="red")
    first = upload(web, png("a.png", (200, 0, 0)), png("b.png", (0, 200, 0)), label=str(label.id))
    assert len(first["stored"]) == 2 and first["refused"] == []
    second = upload(
        web,
        png("again.png", (200, 0, 0)),
        SimpleUploadedFile("notes.txt", b"not an image", content_type="text/plain"),
        label=str(label.id),
    )
    reasons = {item["name"]: item["reason"] for item in second["refused"]}
    assert reasons["again.png"] == "already in this workspace; labelled red"
    assert reasons["notes.txt"] == "Unrecognised or corrupt image data"
    assert TrainingImage.objects.count() == 2
    assert ImageLabel.objects.filter(label=label).count() == 2
    assert set(TrainingImage.objects.values_list("meta_data__filename", flat=True)) == {"a.png", "b.png"}


def test_an_upload_into_another_workspace_label_is_refused_whole(web, bob) -> None:
    theirs = Label.objects.create(workspace=bob.workspace, name="theirs")
    answer = web.post("/app/images/upload/", {"files": [png("a.png", (1, 2, 3))], "label": str(theirs.id)})
    assert answer.status_code == 400 and not TrainingImage.objects.exists()


def test_the_grid_filters_and_pages(web, alice, settings) -> None:
    settings.WEB_PAGE_SIZE = 2
    red = Label.objects.create(workspace=alice.workspace, name="red")
    task = Task.objects.create(workspace=alice.workspace, name="colours")
    task.labels.add(red)
    upload(web, png("r1.png", (200, 0, 0)), png("r2.png", (210, 0, 0)), label=str(red.id))
    upload(web, png("plain.png", (0, 0, 200)), test_image="on")
    html = web.get("/app/images/").content.decode()
    assert "3 images." in html and html.count('class="thumb"') == 2 and 'hx-trigger="revealed"' in html
    more = web.get("/app/images/?page=2", HTTP_HX_REQUEST="true").content.decode()
    assert more.count('class="thumb"') == 1 and "<html" not in more
    assert "2 images" in web.get(f"/app/images/?label={red.id}").content.decode()
    assert "1 image." in web.get("/app/images/?unlabelled=1").content.decode()
    assert "1 image." in web.get("/app/images/?test=yes").content.decode()
    assert "2 images of colours" in web.get(f"/app/images/?task={task.id}").content.decode()
    assert "1 image." in web.get("/app/images/?search=plain").content.decode()
    assert "3 images." in web.get("/app/images/?label=not-a-uuid").content.decode()


def test_bulk_changes_label_flag_and_delete_the_selected_images(web, alice) -> None:
    red = Label.objects.create(workspace=alice.workspace, name="red")
    ids = upload(web, png("a.png", (9, 9, 9)), png("b.png", (19, 9, 9)), png("c.png", (29, 9, 9)))["stored"]
    web.post("/app/images/bulk/", {"images": ids[:2], "action": "add-label", "label": str(red.id)})
    assert ImageLabel.objects.filter(label=red).count() == 2
    web.post("/app/images/bulk/", {"images": ids[:1], "action": "remove-label", "label": str(red.id)})
    web.post("/app/images/bulk/", {"images": ids, "action": "mark-test"})
    assert ImageLabel.objects.filter(label=red).count() == 1
    assert TrainingImage.objects.filter(test_image=True).count() == 3
    refused = web.post("/app/images/bulk/", {"images": ids, "action": "add-label"}, follow=True)
    assert "Choose a label." in refused.content.decode()
    web.post("/app/images/bulk/", {"images": [ids[2], "junk"], "action": "delete"})
    assert TrainingImage.objects.count() == 2


def test_bulk_changes_never_touch_another_workspace(web, bob) -> None:
    image = TrainingImage.objects.create(
        workspace=bob.workspace, file="x.png", thumbnail="t.jpg", width=1, height=1, checksum="c"
    )
    answer = web.post("/app/images/bulk/", {"images": [str(image.id)], "action": "delete"}, follow=True)
    assert "Select images first." in answer.content.decode() and TrainingImage.objects.filter(id=image.id).exists()


def test_an_image_page_shows_labels_values_meta_data_and_boxes(web, alice) -> None:
    [image_id] = upload(web, png("shapes.png", (90, 90, 90), (120, 80)))["stored"]
    image = TrainingImage.objects.get(id=image_id)
    size = Label.objects.create(workspace=alice.workspace, name="size", type="value")
    web.post(f"/app/images/{image.id}/labels/", {"label": str(size.id), "value": "3.5"})
    refused = web.post(f"/app/images/{image.id}/labels/", {"label": str(size.id), "value": "lots"}, follow=True)
    assert "&#x27;lots&#x27; is not a number." in refused.content.decode()
    task = DetectionTask.objects.create(workspace=alice.workspace, name="boxes")
    car = DetectionLabel.objects.create(workspace=alice.workspace, name="car", color="#E5484D")
    task.labels.add(car)
    DetectionObject.objects.create(workspace=alice.workspace, image=image, detection_label=car, data=[10, 5, 60, 45])
    html = web.get(f"/app/images/{image.id}/").content.decode()
    assert "<strong>3.5</strong>" in html and "shapes.png" in html
    assert '<rect x="10.0" y="5.0" width="50.0" height="40.0" style="stroke:#E5484D">' in html
    assert 'viewBox="0 0 120 80"' in html
    web.post(f"/app/images/{image.id}/labels/", {"label": str(size.id), "remove": "1"})
    assert not ImageLabel.objects.exists()


def test_another_workspace_image_pages_answer_404(web, bob) -> None:
    image = TrainingImage.objects.create(
        workspace=bob.workspace, file="x.png", thumbnail="t.jpg", width=1, height=1, checksum="c"
    )
    assert web.get(f"/app/images/{image.id}/").status_code == 404
    assert web.post(f"/app/images/{image.id}/delete/").status_code == 404
    assert TrainingImage.objects.filter(id=image.id).exists()
