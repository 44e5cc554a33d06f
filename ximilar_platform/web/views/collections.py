"""Search collections: list and create, browse records, search by an image or a record, insert images."""

from __future__ import annotations

import base64
from typing import Any

from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from inference.images import InvalidImage
from ximilar_platform.collections import embedders, index, services
from ximilar_platform.collections.models import Collection, CollectionRecord
from ximilar_platform.collections.serializers import CollectionSerializer
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.web.access import owned, page
from ximilar_platform.web.feedback import reason, reported
from ximilar_platform.web.views.predict import read_image

RECORDS_PER_PAGE, HITS = 48, 12


@page
def collections(request: HttpRequest) -> HttpResponse:
    rows = Collection.objects.filter(workspace=request.workspace).select_related("task").order_by("created")
    context = {
        "section": "collections",
        "title": "Collections",
        "rows": rows,
        "tasks": SimilarityTask.objects.filter(workspace=request.workspace, production_version__gte=1),
    }
    return render(request, "web/collections/list.html", context)


@page
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    data = {"key": request.POST.get("key", "").strip(), "name": request.POST.get("name", "")}
    if request.POST.get("task"):
        data["task"] = request.POST["task"]
    with reported(request):
        serializer = CollectionSerializer(data=data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        found = services.create_collection(workspace=request.workspace, **serializer.validated_data)
        return redirect("web:collection", collection_id=found.id)
    return redirect("web:collections")


def shown(records: list[CollectionRecord]) -> list[dict[str, Any]]:
    return [
        {"key": r.key, "fields": r.fields, "image": default_storage.url(r.image) if r.image else None} for r in records
    ]


@page
def detail(request: HttpRequest, collection_id: str) -> HttpResponse:
    found = owned(Collection, collection_id, request)
    records = Paginator(CollectionRecord.objects.filter(collection=found).order_by("id"), RECORDS_PER_PAGE)
    current = records.get_page(request.GET.get("page"))
    context = {
        "section": "collections",
        "title": found.name or found.key,
        "collection": found,
        "page": current,
        "records": shown(list(current.object_list)),
        "query_key": request.GET.get("similar", ""),
    }
    if context["query_key"]:
        context |= hits_context(found, lambda: index.vector_of(found, context["query_key"]))
    return render(request, "web/collections/detail.html", context)


def hits_context(collection: Collection, vector_of: Any) -> dict[str, Any]:
    """The records nearest to a query vector, with their distances, or why there are none."""
    try:
        hits = index.nearest(collection, vector_of(), HITS)
    except (APIException, InvalidImage) as error:
        return {"search_error": reason(error)}
    rows = {r.key: r for r in CollectionRecord.objects.filter(collection=collection, key__in=[k for k, _ in hits])}
    return {"hits": [dict(shown([rows[key]])[0], distance=distance) for key, distance in hits if key in rows]}


@page
@require_POST
def search(request: HttpRequest, collection_id: str) -> HttpResponse:
    found = owned(Collection, collection_id, request)
    try:
        image = read_image(request).image
    except InvalidImage as error:
        return render(request, "web/collections/hits.html", {"search_error": error.message}, status=400)
    context = hits_context(found, lambda: embedders.normalised(embedders.embed(found, [image]))[0])
    return render(request, "web/collections/hits.html", context)


@page
@require_POST
def insert(request: HttpRequest, collection_id: str) -> JsonResponse:
    """Insert each posted file as a record whose ``_id`` is the file's name (a name inserted again is replaced)."""
    found = owned(Collection, collection_id, request)
    files = request.FILES.getlist("files")
    records = [
        {"_id": upload.name, "_base64": base64.b64encode(upload.read()).decode(), "filename": upload.name}
        for upload in files
    ]
    if not records:
        return JsonResponse({"error": "Choose images to insert."}, status=400)
    try:
        done = services.insert_records(found, records)
    except APIException as error:
        return JsonResponse({"error": reason(error)}, status=400)
    refused = [{"name": item.get("_id", "?"), "reason": item["_reason"]["status"]["text"]} for item in done.skipped]
    return JsonResponse({"stored": done.keys, "refused": refused})


@page
@require_POST
def delete(request: HttpRequest, collection_id: str) -> HttpResponse:
    found = owned(Collection, collection_id, request)
    services.delete_collection(found)
    return redirect("web:collections")
