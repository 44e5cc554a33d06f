"""The image grid (filters, paging, bulk changes), uploads with per-file answers, and an image's page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from inference.images import InvalidImage, decode_bytes
from ximilar_platform.detection.models import DetectionObject
from ximilar_platform.images import services as images
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.images.storage import image_limits
from ximilar_platform.recognition import image_labels
from ximilar_platform.recognition.models import Label
from ximilar_platform.similarity import services as similarity
from ximilar_platform.similarity.models import SimilarityGroup
from ximilar_platform.web.access import maybe, owned, page, uuids
from ximilar_platform.web.drawing import box
from ximilar_platform.web.feedback import reason, reported
from ximilar_platform.web.images_query import read_filters, select_images, with_labels


@page
def grid(request: HttpRequest) -> HttpResponse:
    filters = read_filters(request.GET, request.workspace)
    paginator = Paginator(with_labels(select_images(request.workspace, filters)), settings.WEB_PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    context = {
        "section": "images",
        "title": "Images",
        "filters": filters,
        "page": current,
        "labels": Label.objects.filter(workspace=request.workspace).order_by("name"),
        "query": filters.query_string(),
        "query_without_task": filters.query_string(task=""),
        "upload_open": request.GET.get("upload") == "1",
    }
    if request.headers.get("HX-Request") and request.GET.get("page"):
        return render(request, "web/images/thumbs.html", context)  # the next page, appended by the grid
    return render(request, "web/images/grid.html", context)


@page
@require_POST
def upload(request: HttpRequest) -> JsonResponse:
    """Store each posted file (decoded under the API's limits); answer which were stored and why others were not."""
    label = maybe(Label, request.POST.get("label"), request)
    group = maybe(SimilarityGroup, request.POST.get("group"), request)
    if (request.POST.get("label") and label is None) or (request.POST.get("group") and group is None):
        return JsonResponse({"error": "That label or group is not in this workspace."}, status=400)
    test_image = request.POST.get("test_image") == "on"
    stored, refused = [], []
    for upload in request.FILES.getlist("files"):
        try:
            if upload.size > image_limits().max_bytes:
                raise InvalidImage(f"larger than {image_limits().max_bytes // (1024 * 1024)} MB", status=413)
            decoded = decode_bytes(upload.read(), image_limits())
            image = images.ingest_training_image(
                workspace=request.workspace,
                decoded=decoded,
                options=images.ImageOptions(meta_data={"filename": upload.name}, test_image=test_image),
            )
        except images.ImageAlreadyExists as exists:
            image = TrainingImage.objects.get(id=exists.image_id)
            refused.append(
                {
                    "name": upload.name,
                    "reason": "already in this workspace" + (f"; labelled {label.name}" if label else ""),
                }
            )
        except InvalidImage as error:
            refused.append({"name": upload.name, "reason": error.message})
            continue
        else:
            stored.append(str(image.id))
        if label is not None:
            image_labels.add_label_to_image(image=image, label=label)
        if group is not None:
            try:
                similarity.add_images(group=group, images=[image])
            except ValidationError as error:
                refused.append({"name": upload.name, "reason": reason(error)})
    return JsonResponse({"stored": stored, "refused": refused})


@page
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """One change to the selected images: a label added or removed, test flag, or deletion."""
    ids = uuids(request.POST.getlist("images")[: settings.MAX_BULK_IMAGES])
    chosen = list(TrainingImage.objects.filter(workspace=request.workspace, id__in=ids))
    action = request.POST.get("action", "")
    label = maybe(Label, request.POST.get("label"), request)
    if not chosen:
        messages.error(request, "Select images first.")
    elif action == "delete":
        count = images.delete_training_images(chosen)
        messages.success(request, f"{count} images deleted.")
    elif action in ("add-label", "remove-label") and label is None:
        messages.error(request, "Choose a label.")
    else:
        change = image_labels.BulkChange(
            add_labels=[label] if action == "add-label" and label else [],
            remove_labels=[label] if action == "remove-label" and label else [],
            test_image={"mark-test": True, "unmark-test": False}.get(action),
        )
        with reported(request, f"{len(chosen)} images updated."):
            image_labels.bulk_update_images(images=chosen, change=change)
    return redirect(request.POST.get("next") or "web:images")


@page
def detail(request: HttpRequest, image_id: str) -> HttpResponse:
    image = owned(TrainingImage, image_id, request)
    links = image.image_labels.select_related("label").order_by("label__created")
    objects = [
        box(obj.data, obj.detection_label.name, obj.detection_label.color)
        for obj in DetectionObject.objects.filter(image=image).select_related("detection_label").order_by("created")
    ]
    context = {
        "section": "images",
        "title": "Image",
        "image": image,
        "links": links,
        "objects": objects,
        "labels": Label.objects.filter(workspace=request.workspace).exclude(image_labels__image=image).order_by("name"),
        "groups": image.similarity_groups.select_related("type"),
        "back": request.GET.get("back", ""),
    }
    return render(request, "web/images/detail.html", context)


@page
@require_POST
def change_labels(request: HttpRequest, image_id: str) -> HttpResponse:
    image = owned(TrainingImage, image_id, request)
    label = owned(Label, request.POST.get("label"), request)
    if request.POST.get("remove"):
        image_labels.remove_label_from_image(image=image, label=label)
        messages.success(request, f"Label {label.name} removed.")
    else:
        value = request.POST.get("value") or None
        with reported(request, f"Label {label.name} set."):
            image_labels.add_label_to_image(image=image, label=label, value=value)
    return redirect("web:image", image_id=image.id)


@page
@require_POST
def delete_image(request: HttpRequest, image_id: str) -> HttpResponse:
    image = owned(TrainingImage, image_id, request)
    images.delete_training_images([image])
    messages.success(request, "Image deleted.")
    return redirect("web:images")
