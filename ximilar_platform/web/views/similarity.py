"""Similarity groups: the items of a type, each holding images of one item, or groups of groups."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ximilar_platform.images.models import TrainingImage
from ximilar_platform.similarity import services
from ximilar_platform.similarity.models import SimilarityGroup, SimilarityType
from ximilar_platform.similarity.serializers import SimilarityGroupSerializer
from ximilar_platform.web.access import owned, page
from ximilar_platform.web.feedback import reported
from ximilar_platform.web.writes import save


@page
def groups(request: HttpRequest, type_id: str) -> HttpResponse:
    kind = owned(SimilarityType, type_id, request)
    rows = kind.groups.annotate(
        image_count=Count("images", distinct=True), child_count=Count("groups", distinct=True)
    ).order_by("created")
    return render(
        request,
        "web/similarity/groups.html",
        {"type": kind, "groups": rows, "section": "tasks", "title": kind.name, "tasks": kind.tasks.all()},
    )


@page
@require_POST
def create_group(request: HttpRequest, type_id: str) -> HttpResponse:
    kind = owned(SimilarityType, type_id, request)
    with reported(request):
        group = save(
            SimilarityGroupSerializer,
            {"name": request.POST.get("name", ""), "type": str(kind.id)},
            request,
            workspace=request.workspace,
        )
        return redirect("web:group", group_id=group.id)
    return redirect("web:groups", type_id=kind.id)


@page
def group(request: HttpRequest, group_id: str) -> HttpResponse:
    found = owned(SimilarityGroup, group_id, request)
    context = {
        "group": found,
        "section": "tasks",
        "title": found.name or "Group",
        "images": found.images.order_by("-created"),
        "children": found.groups.all(),
        "candidates": found.type.groups.exclude(id=found.id)
        .exclude(id__in=found.groups.all())
        .filter(groups__isnull=True)
        .order_by("name"),
    }
    return render(request, "web/similarity/group.html", context)


@page
@require_POST
def change_group(request: HttpRequest, group_id: str) -> HttpResponse:
    """Remove an image, add or remove a child group, mark or unmark a test group."""
    found = owned(SimilarityGroup, group_id, request)
    with reported(request, "Group saved."):
        if request.POST.get("remove_image"):
            found.images.remove(owned(TrainingImage, request.POST["remove_image"], request))
        elif request.POST.get("add_group"):
            services.add_groups(group=found, children=[owned(SimilarityGroup, request.POST["add_group"], request)])
        elif request.POST.get("remove_group"):
            found.groups.remove(owned(SimilarityGroup, request.POST["remove_group"], request))
        elif "test_group" in request.POST:
            services.mark_test_groups(
                groups=SimilarityGroup.objects.filter(id=found.id), test=request.POST["test_group"] == "1"
            )
    return redirect("web:group", group_id=found.id)


@page
@require_POST
def delete_group(request: HttpRequest, group_id: str) -> HttpResponse:
    found = owned(SimilarityGroup, group_id, request)
    kind = found.type
    found.delete()
    messages.success(request, "Group deleted; its images stay.")
    return redirect("web:groups", type_id=kind.id)
