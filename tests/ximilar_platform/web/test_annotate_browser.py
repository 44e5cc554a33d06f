"""Annotation in a real browser, with the mouse and the keyboard as a person uses them: boxes drawn,
relabelled, moved, resized, deleted and restored; a model's suggestions accepted above a threshold;
20 images categorized with number keys alone. The result is read back through the API."""

from __future__ import annotations

import base64
import io
import uuid

import numpy as np
import pytest

from tests.detection_shapes import LABELS, shapes_image
from tests.factories import colour_image_base64
from tests.ximilar_platform.flows.conftest import register
from tests.ximilar_platform.web.browser import all_saved, click_at, drag, showing, sign_in, to_screen
from ximilar_platform.annotate.models import ImageReview, Suggestion, Verification
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.recognition.models import ImageLabel, Label, Task

pytestmark = [pytest.mark.browser]
IMAGES = "/recognition/v2/training-image"
NEAR = 3  # pixels of the stored image: how close a box must land to where the mouse drew it


def upload_shapes_with_boxes(alice, count: int, size=(320, 240), seed: int = 5) -> list[tuple[str, list]]:
    """Uploaded images with their true boxes: [(image id, [(label, [x1, y1, x2, y2]), ...]), ...]."""
    rng = np.random.default_rng(seed)
    uploaded = []
    for _ in range(count):
        image, boxes = shapes_image(rng, *size, objects=2)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        body = {"base64": base64.b64encode(buffer.getvalue()).decode()}
        truth = [(box.label, [box.xmin, box.ymin, box.xmax, box.ymax]) for box in boxes]
        uploaded.append((alice.client.post(IMAGES, body, format="json").json()["id"], truth))
    return uploaded


def upload_shapes(alice, count: int, size: tuple[int, int] = (320, 240), seed: int = 5) -> list[str]:
    return [image_id for image_id, _ in upload_shapes_with_boxes(alice, count, size, seed)]


def free_spot(boxes: list[list[int]], size=(320, 240), side: int = 40) -> tuple[int, int]:
    """A corner from which a side x side box touches none of ``boxes``: where a drag draws, not moves."""
    for y in range(5, size[1] - side, 10):
        for x in range(5, size[0] - side, 10):
            if all(x + side < b[0] or b[2] < x or y + side < b[1] or b[3] < y for b in boxes):
                return x, y
    raise AssertionError("no free spot")


def shapes_task(alice) -> tuple[DetectionTask, dict[str, DetectionLabel]]:
    task = DetectionTask.objects.create(workspace=alice.workspace, name="Shapes")
    colours = {"rect": "#e5484d", "circle": "#12a594"}
    labels = {
        name: DetectionLabel.objects.create(workspace=alice.workspace, name=name, color=colours[name])
        for name in LABELS
    }
    task.labels.add(*labels.values())
    return task, labels


def boxes_of(image_id: str) -> list[tuple[str, list[int]]]:
    return sorted(
        (obj.detection_label.name, obj.data)
        for obj in DetectionObject.objects.filter(image_id=image_id).select_related("detection_label")
    )


def close(found: list[int], wanted: list[int]) -> bool:
    return all(abs(a - b) <= NEAR for a, b in zip(found, wanted, strict=True))


def test_a_person_draws_relabels_moves_resizes_deletes_and_undoes_boxes(page, live_server, alice, shots) -> None:
    task, labels = shapes_task(alice)
    uploaded = upload_shapes_with_boxes(alice, 3)
    images = [image_id for image_id, _ in uploaded]
    (first_label, first), (second_label, second) = uploaded[0][1]  # the true boxes of the first image
    keys = {"circle": "1", "rect": "2"}  # the editor numbers labels by name
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/app/detection/{task.id}/annotate/")
    assert page.inner_text("[data-status=todo] .v") == "3"
    page.click("#start-annotating")
    page.wait_for_function("document.documentElement.dataset.editorReady")
    showing(page, images[0])
    assert page.inner_text("#position") == "1 / 3"
    assert page.inner_text(".label-pick[aria-pressed=true]").split() == ["1", "circle"], (
        "the first label (by name) is active"
    )

    x1, y1, x2, y2 = first
    drag(page, (x1 - 12, y1 - 8), (x2 - 12, y2 - 8))  # the first box, 12 px left and 8 up of its shape
    page.keyboard.press(keys[first_label])  # labelled with its number key
    x1, y1, x2, y2 = second
    drag(page, (x1, y1), (x2 - 20, y2 - 15))  # the second box, too small
    page.keyboard.press(keys[first_label])  # a wrong label ...
    page.keyboard.press(keys[second_label])  # ... changed with another key
    cx, cy = (first[0] + first[2]) / 2 - 12, (first[1] + first[3]) / 2 - 8
    drag(page, (cx, cy), (cx + 12, cy + 8))  # move the first box onto its shape
    click_at(page, ((x1 + x2 - 20) / 2, (y1 + y2 - 15) / 2))  # select the second box, pull its corner out
    drag(page, (x2 - 20, y2 - 15), (x2, y2))
    fx, fy = free_spot([first, second])
    drag(page, (fx, fy), (fx + 30, fy + 30))  # a third box ...
    page.keyboard.press("Delete")  # ... deleted
    click_at(page, ((first[0] + first[2]) / 2, (first[1] + first[3]) / 2))
    page.keyboard.press("Delete")  # the first box deleted ...
    page.keyboard.press("Control+z")  # ... and restored
    all_saved(page)
    assert page.locator("#boxes g.object").count() == 2
    page.screenshot(path=str(shots / "annotate-boxes.png"))

    found = dict(boxes_of(images[0]))
    assert len(found) == 2 and close(found[first_label], first) and close(found[second_label], second), found
    assert {obj.created_by.username for obj in DetectionObject.objects.filter(image_id=images[0])} == {"alice"}

    page.keyboard.press("n")
    showing(page, images[1])
    assert page.inner_text("#position") == "2 / 3" and f"image={images[1]}" in page.url
    page.keyboard.press("r")  # the previous image's boxes, repeated
    page.keyboard.press("Enter")  # done, and on to the third
    showing(page, images[2])
    page.keyboard.press("x")  # nothing to detect here
    all_saved(page)
    assert sorted(name for name, _ in boxes_of(images[1])) == sorted([first_label, second_label])
    assert ImageReview.objects.get(image_id=images[1]).state == "annotated"
    assert task.negative_images.filter(pk=images[2]).exists()

    page.keyboard.press("?")
    assert page.is_visible("#help >> text=Repeat the previous image's boxes")
    page.screenshot(path=str(shots / "annotate-keys.png"))
    page.keyboard.press("Escape")
    page.goto(f"{live_server.url}/app/detection/{task.id}/annotate/")
    assert page.inner_text("[data-status=annotated] .v") == "3"


def test_a_person_lets_a_trained_detector_suggest_and_accepts_above_a_threshold(
    page, live_server, alice, start_worker, shots, tmp_path, shapes_detector
) -> None:
    start_worker(TORCH_THREADS="1")
    task, labels = shapes_task(alice)
    register(task, "detection", shapes_detector[0], tmp_path, labels=[str(labels[name].id) for name in LABELS])
    images = upload_shapes(alice, 6, size=(160, 160), seed=9)
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/app/detection/{task.id}/annotate/")
    page.click("#suggest-button")
    page.wait_for_selector("[data-run-finished]", timeout=120_000)
    open_count = Suggestion.objects.filter(task_id=task.id, state="open").count()
    assert open_count >= 6 and page.inner_text("[data-open-suggestions]") == str(open_count)
    assert DetectionObject.objects.count() == 0, "suggestions are not objects until accepted"

    page.click("#start-annotating")
    showing(page, images[0])
    suggested = Suggestion.objects.filter(image_id=images[0], state="open").count()
    assert page.locator("#boxes g.suggestion").count() == suggested > 0
    assert page.locator("#suggestion-list li").count() == suggested
    page.screenshot(path=str(shots / "annotate-suggestions.png"))
    page.fill("#threshold", "0.5")
    page.keyboard.press("Enter")  # leave the field: keys are shortcuts again
    strong = Suggestion.objects.filter(image_id=images[0], state="open", score__gte=0.5).count()
    page.keyboard.press("Shift+A")  # this image: accept every suggestion of at least 50 %
    all_saved(page)
    assert DetectionObject.objects.filter(image_id=images[0]).count() == strong
    assert page.locator("#boxes g.object").count() == strong
    page.screenshot(path=str(shots / "annotate-accepted.png"))

    # the whole set from the Annotate tab
    page.goto(f"{live_server.url}/app/detection/{task.id}/annotate/")
    page.fill("#accept-threshold", "0.5")
    page.click("#accept-all")
    page.wait_for_selector("text=suggestions of at least 50%")
    expected = Suggestion.objects.filter(task_id=task.id, state="accepted").count()
    assert DetectionObject.objects.count() == expected >= strong
    for obj in DetectionObject.objects.all():
        x1, y1, x2, y2 = obj.data
        assert 0 <= x1 < x2 <= 160 and 0 <= y1 < y2 <= 160
    assert not Suggestion.objects.filter(task_id=task.id, state="open", score__gte=0.5).exists()

    # a job for a teammate: the next to-do images (new uploads), with its progress on the tab
    upload_shapes(alice, 4, size=(160, 160), seed=21)
    page.reload()
    page.fill("#job-name", "Batch 1")
    page.select_option("#job-assignee", "alice")
    page.fill("#job-count", "3")
    page.click("text=Create job")
    page.wait_for_selector("text=Job created.")
    row = page.locator("tr[data-job='Batch 1']")
    assert row.locator("td").nth(1).inner_text() == "alice"
    page.screenshot(path=str(shots / "annotate-tab.png"), full_page=True)


def test_a_person_categorizes_twenty_images_with_the_keyboard_only(page, live_server, alice, shots) -> None:
    task = Task.objects.create(workspace=alice.workspace, name="Colours", type="multi_class")
    for name in ("blue", "red"):
        task.labels.add(Label.objects.create(workspace=alice.workspace, name=name))
    colours = ["red" if i % 3 else "blue" for i in range(20)]
    images = [
        alice.client.post(IMAGES, {"base64": colour_image_base64(i, colour, size=64)}, format="json").json()["id"]
        for i, colour in enumerate(colours)
    ]
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/app/recognition/{task.id}/annotate/work/?order=oldest")
    showing(page, images[0])
    page.screenshot(path=str(shots / "annotate-categorize.png"))
    for image_id, colour in zip(images, colours, strict=True):
        showing(page, image_id)
        page.keyboard.press("1" if colour == "blue" else "2")  # blue is label 1, red label 2 (by name)
    all_saved(page)
    labelled = dict(ImageLabel.objects.filter(image_id__in=images).values_list("image_id", "label__name"))
    assert [labelled.get(uuid.UUID(image_id)) for image_id in images] == colours
    assert ImageReview.objects.filter(task_id=task.id, state="annotated").count() == 20


def test_a_change_made_while_the_network_is_down_is_retried_and_saved_once(page, live_server, alice) -> None:
    task, labels = shapes_task(alice)
    images = upload_shapes(alice, 1)
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/app/detection/{task.id}/annotate/work/")
    showing(page, images[0])
    dropped: list[str] = []

    def offline(route) -> None:
        dropped.append(route.request.method)
        route.abort("internetdisconnected")

    page.route("**/detection/v2/object/**", offline)
    drag(page, (40, 40), (120, 110))
    page.wait_for_selector("#save-state[data-state=unsaved]")
    assert "Unsaved" in page.inner_text("#save-state") and DetectionObject.objects.count() == 0
    page.wait_for_timeout(1500)  # the first retry fails as well
    page.unroute("**/detection/v2/object/**", offline)
    all_saved(page)
    assert len(dropped) >= 1 and boxes_of(images[0])[0][0] == "circle"
    assert DetectionObject.objects.count() == 1, "the retried change is stored once"


def test_a_reviewer_sends_one_image_back_with_a_comment_and_verifies_another(page, live_server, alice, bob) -> None:
    task, labels = shapes_task(alice)
    images = upload_shapes(alice, 2)
    for image_id in images:
        DetectionObject.objects.create(
            workspace=alice.workspace,
            image_id=image_id,
            detection_label=labels["rect"],
            data=[10, 10, 90, 80],
            created_by=alice.user,
        )
        alice.client.post("/annotate/v2/review", {"task_id": str(task.id), "image_id": image_id}, format="json")
    alice.workspace.members.add(bob.user)
    sign_in(page, live_server, bob)
    with page.expect_navigation():
        page.select_option("#workspace-switch", str(alice.workspace.id))
    page.goto(f"{live_server.url}/app/detection/{task.id}/annotate/work/?order=review&status=annotated")
    showing(page, images[0])
    page.click("text=Send back to the annotator…")
    page.fill("#send-back-comment", "the box cuts the shape")
    page.keyboard.press("Enter")
    showing(page, images[1])
    page.keyboard.press("v")  # at once: the closed comment field no longer holds the keys
    page.wait_for_selector("#verify-count:has-text('verified by you')")
    all_saved(page)
    assert ImageReview.objects.get(image_id=images[0]).comment == "the box cuts the shape"
    assert ImageReview.objects.get(image_id=images[0]).reviewed_by == bob.user
    assert [v.user for v in Verification.objects.filter(image_id=images[1])] == [bob.user]

    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/app/detection/{task.id}/annotate/work/?status=rejected")
    showing(page, images[0])
    assert page.inner_text("#review-comment") == "Sent back: the box cuts the shape"
    assert page.inner_text("#image-status") == "sent back"


def test_boxes_drawn_zoomed_in_and_panned_land_on_the_same_image_pixels(page, live_server, alice) -> None:
    task, labels = shapes_task(alice)
    images = upload_shapes(alice, 1, size=(640, 480))
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/app/detection/{task.id}/annotate/work/")
    showing(page, images[0])
    before = page.get_attribute("#canvas", "viewBox")
    page.mouse.move(*to_screen(page, 100, 100))
    for _ in range(3):
        page.mouse.wheel(0, -120)  # zoom in around (100, 100)
    zoomed = [float(v) for v in page.get_attribute("#canvas", "viewBox").split()]
    assert zoomed[2] < float(before.split()[2]) / 1.5, "the wheel zoomed in"
    drag(page, (80, 80), (130, 140))
    page.keyboard.down(" ")  # space + drag pans
    page.mouse.move(*to_screen(page, 100, 100))
    page.mouse.down()
    page.mouse.move(*to_screen(page, 60, 60), steps=5)
    page.mouse.up()
    page.keyboard.up(" ")
    assert page.get_attribute("#canvas", "viewBox") != " ".join(str(v) for v in zoomed)
    drag(page, (150, 120), (190, 170))
    all_saved(page)
    found = [data for _, data in boxes_of(images[0])]
    assert len(found) == 2 and any(close(box, [80, 80, 130, 140]) for box in found), found
    assert any(close(box, [150, 120, 190, 170]) for box in found), found
    page.keyboard.press("0")
    assert page.get_attribute("#canvas", "viewBox") == before, "0 fits the image again"


def test_recognition_labels_of_a_box_and_of_the_image_are_set_beside_the_canvas(page, live_server, alice) -> None:
    task, labels = shapes_task(alice)
    colours = Task.objects.create(workspace=alice.workspace, name="Colours", type="multi_class")
    red, blue = (Label.objects.create(workspace=alice.workspace, name=name) for name in ("red", "blue"))
    colours.labels.add(red, blue)
    labels["rect"].recognition_tasks.add(colours)  # a rect's colour is labelled on the box
    images = upload_shapes(alice, 1)
    sign_in(page, live_server, alice)
    page.goto(f"{live_server.url}/app/detection/{task.id}/annotate/work/")
    showing(page, images[0])
    page.keyboard.press("2")  # rect
    drag(page, (20, 20), (80, 70))
    page.wait_for_selector("#object-labels .chip:has-text('red')")  # once the box is saved
    page.click("#object-labels .chip:has-text('red')")
    page.click("#image-labels .chip:has-text('blue')")
    all_saved(page)
    obj = DetectionObject.objects.get(image_id=images[0])
    assert [link.label.name for link in obj.object_labels.all()] == ["red"]
    assert list(ImageLabel.objects.filter(image_id=images[0]).values_list("label__name", flat=True)) == ["blue"]
    assert page.get_attribute("#object-labels .chip:has-text('red')", "aria-pressed") == "true"
