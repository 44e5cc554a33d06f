"""The Annotate tab and the editor's JSON through Django's test client: what each page shows, its forms'
refusals, and that another workspace's tasks and images stay out of reach."""

from __future__ import annotations

import json

from tests.factories import image_base64
from ximilar_platform.annotate.models import AnnotationJob
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.recognition.models import Task
from ximilar_platform.similarity.models import SimilarityTask

IMAGES = "/recognition/v2/training-image"


def scene(alice) -> tuple[DetectionTask, DetectionLabel, list[str]]:
    task = DetectionTask.objects.create(workspace=alice.workspace, name="cars")
    label = DetectionLabel.objects.create(workspace=alice.workspace, name="car", color="#FF0000")
    task.labels.add(label)
    images = [
        alice.client.post(IMAGES, {"base64": image_base64((30 * i, 60, 90), (200, 100))}, format="json").json()["id"]
        for i in range(3)
    ]
    return task, label, images


def test_the_tab_counts_images_by_status_and_the_editor_embeds_its_queue(web, alice) -> None:
    task, label, images = scene(alice)
    DetectionObject.objects.create(
        workspace=alice.workspace, image_id=images[0], detection_label=label, data=[1, 2, 50, 60]
    )
    tab = web.get(f"/app/detection/{task.id}/annotate/").content.decode()
    assert "Start annotating" in tab and "Train the task once" in tab
    assert '<a class="stat"' in tab and 'data-status="annotated"' in tab
    editor = web.get(f"/app/detection/{task.id}/annotate/work/?order=todo").content.decode()
    queue = json.loads(editor.split('<script id="annotate-queue" type="application/json">')[1].split("</script>")[0])
    assert [item["id"] for item in queue] == images[1:] + images[:1], "to do first, the annotated image last"
    config = json.loads(editor.split('<script id="annotate-config" type="application/json">')[1].split("</script>")[0])
    assert config["labels"] == [{"id": str(label.id), "name": "car", "color": "#FF0000"}]
    data = web.get(f"/app/detection/{task.id}/annotate/images/{images[0]}/").json()
    assert data["status"] == "annotated" and data["width"] == 200 and data["height"] == 100
    assert data["objects"] == [
        {"id": str(DetectionObject.objects.get().id), "label": str(label.id), "data": [1, 2, 50, 60], "labels": []}
    ]
    bad = web.get(f"/app/detection/{task.id}/annotate/work/?order=random").content.decode()
    assert "Choose one of todo, uncertain, review, oldest" in bad


def test_forms_refuse_bad_values_and_say_why(web, alice) -> None:
    task, _, _ = scene(alice)
    base = f"/app/detection/{task.id}/annotate"
    answer = web.post(f"{base}/settings/", {"required_verifications": "0"}, follow=True).content.decode()
    assert "Give a number of verifications from 1 to 10." in answer
    web.post(f"{base}/settings/", {"required_verifications": "3"})
    assert DetectionTask.objects.get(pk=task.pk).required_verifications == 3
    answer = web.post(f"{base}/jobs/", {"name": "", "count": "2"}, follow=True).content.decode()
    assert "Give the job a name." in answer and not AnnotationJob.objects.exists()
    answer = web.post(f"{base}/jobs/", {"name": "b", "count": "2", "assignee": "mallory"}, follow=True)
    assert "No member of this workspace" in answer.content.decode()
    answer = web.post(f"{base}/suggest/", {"status": "todo"}, follow=True).content.decode()
    assert "not trained" in answer.lower()
    answer = web.post(f"{base}/accept/", {"threshold": "much"}, follow=True).content.decode()
    assert "Give a threshold between 0 and 1." in answer
    web.post(f"{base}/jobs/", {"name": "first", "count": "2"})
    job = AnnotationJob.objects.get()
    assert job.images.count() == 2
    web.post(f"{base}/jobs/{job.id}/delete/")
    assert not AnnotationJob.objects.exists()


def test_other_kinds_and_other_workspaces_answer_404(web, bob_web, alice) -> None:
    task, _, images = scene(alice)
    similarity = SimilarityTask.objects.create(workspace=alice.workspace, name="items")
    regression = Task.objects.create(workspace=alice.workspace, name="price", type="regression")
    assert web.get(f"/app/similarity/{similarity.id}/annotate/").status_code == 404
    assert web.get(f"/app/recognition/{regression.id}/annotate/").status_code == 404
    assert "Annotate</a>" not in web.get(f"/app/recognition/{regression.id}/").content.decode()
    assert bob_web.get(f"/app/detection/{task.id}/annotate/").status_code == 404
    assert bob_web.get(f"/app/detection/{task.id}/annotate/images/{images[0]}/").status_code == 404
    assert web.get(f"/app/detection/{task.id}/annotate/images/not-an-id/").status_code == 404
