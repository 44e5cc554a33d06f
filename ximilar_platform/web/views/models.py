"""A task's trained versions: the list, one version's metrics per kind, two side by side, deploy, delete, download."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ximilar_platform.images.models import TrainingImage
from ximilar_platform.training_jobs import export
from ximilar_platform.training_jobs.models import ModelVersion
from ximilar_platform.training_jobs.services import delete_version, deploy_version
from ximilar_platform.web.access import maybe, owned, page, uuids
from ximilar_platform.web.drawing import heat, scatter
from ximilar_platform.web.feedback import reported
from ximilar_platform.web.queries import TASK_MODELS, headline, versions_of
from ximilar_platform.web.views.tasks import task_context, task_of

FAILED_SHOWN = 48  # misclassified images shown on a version page


@page
def versions(request: HttpRequest, kind: str, task_id: str) -> HttpResponse:
    task = task_of(request, kind, task_id)
    rows = [(version, headline(version, task)) for version in versions_of(task)]
    return render(request, "web/models/versions.html", task_context(request, task, "models") | {"rows": rows})


def version_of(request: HttpRequest, version_id: str) -> tuple[ModelVersion, Any]:
    version = owned(ModelVersion, version_id, request)
    task = TASK_MODELS[version.task_kind].objects.filter(id=version.task_id).first()
    if task is None:
        raise Http404("The task of this version was deleted.")
    return version, task


def report(version: ModelVersion, task: Any) -> dict[str, Any]:
    """What a version page shows of a version: its metrics arranged for its kind."""
    metrics = version.metrics
    found: dict[str, Any] = {
        "version": version,
        "metrics": metrics,
        "headline": headline(version, task),
        "image_size": version.manifest.get("preprocessing", {}).get("image_size"),
    }
    matrix = metrics.get("confusion_matrix")
    if matrix:
        names = label_names(task, matrix["labels"])
        found["heat"] = heat(matrix["matrix"], [names.get(label, label) for label in matrix["labels"]])
        found["heat_labels"] = [names.get(label, label) for label in matrix["labels"]]
    if "per_label" in metrics:
        names = label_names(task, list(metrics["per_label"]))
        found["per_label"] = [(names.get(label, label), values) for label, values in metrics["per_label"].items()]
    failed = metrics.get("failed_images") or []
    if failed:
        names = label_names(task, [f["true_label"] for f in failed] + [f["predicted_label"] for f in failed])
        thumbs = TrainingImage.objects.in_bulk(uuids([f["image_id"] for f in failed[:FAILED_SHOWN]]))
        found["failed"] = [
            {
                "image": next((thumbs[i] for i in uuids([f["image_id"]]) if i in thumbs), None),
                "true": names.get(f["true_label"], f["true_label"]),
                "predicted": names.get(f["predicted_label"], f["predicted_label"]),
                "prob": f["prob"],
            }
            for f in failed[:FAILED_SHOWN]
        ]
        found["failed_total"] = len(failed)
    found["scatter"] = scatter(metrics.get("points") or [])
    return found


def label_names(task: Any, ids: list[str]) -> dict[str, str]:
    """Label ids of a manifest to the names people gave them (detection labels too)."""
    label_model = task.labels.model if hasattr(task, "labels") else None
    if label_model is None:
        return {}
    return {str(label.id): label.name for label in label_model.objects.filter(id__in=uuids(ids))}


@page
def version(request: HttpRequest, version_id: str) -> HttpResponse:
    version, task = version_of(request, version_id)
    context = task_context(request, task, "models") | {"one": report(version, task)}
    other = maybe(ModelVersion, request.GET.get("compare"), request)
    if other is not None and other.task_id == task.id and other.id != version.id:
        context["two"] = report(other, task)
    context["siblings"] = [v for v in versions_of(task) if v.id != version.id]
    return render(request, "web/models/version.html", context)


@page
@require_POST
def deploy(request: HttpRequest, version_id: str) -> HttpResponse:
    version, task = version_of(request, version_id)
    with reported(request, f"Version {version.version} is in production now."):
        deploy_version(task=task, number=version.version)
    return redirect("web:task-models", kind=version.task_kind, task_id=task.id)


@page
@require_POST
def delete(request: HttpRequest, version_id: str) -> HttpResponse:
    version, task = version_of(request, version_id)
    number = version.version
    with reported(request, f"Version {number} deleted."):
        delete_version(version=version)
    return redirect("web:task-models", kind=version.task_kind, task_id=task.id)


@page
def download(request: HttpRequest, version_id: str) -> StreamingHttpResponse:
    """The zip the API's ``<kind>/v2/model/<id>/download`` answers."""
    version, _ = version_of(request, version_id)
    return export.zip_response(version)
