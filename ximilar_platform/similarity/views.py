"""``similarity/training/v2/type``, ``task``, ``group``, ``model`` and ``training-job``."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.core.api.lookups import get_in_workspace, parse_uuid, parse_uuid_list
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.detection.models import DetectionObject
from ximilar_platform.images.filters import parse_bool
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.similarity import reembedding, search, services
from ximilar_platform.similarity.models import Collection, SimilarityGroup, SimilarityTask, SimilarityType
from ximilar_platform.similarity.serializers import (
    CollectionSerializer,
    SimilarityGroupSerializer,
    SimilarityTaskSerializer,
    SimilarityTypeSerializer,
)
from ximilar_platform.training_jobs import views as versions
from ximilar_platform.training_jobs.models import TaskKind


class SimilarityTypeViewSet(WorkspaceScopedViewSet):
    queryset = SimilarityType.objects.order_by("created", "id")
    serializer_class = SimilarityTypeSerializer

    def perform_create(self, serializer: SimilarityTypeSerializer) -> None:
        serializer.save(workspace=self.request.workspace)


class SimilarityTaskViewSet(versions.TrainableTaskViewSet):
    task_kind = TaskKind.SIMILARITY
    queryset = SimilarityTask.objects.prefetch_related("types").order_by("created", "id")
    serializer_class = SimilarityTaskSerializer

    def perform_create(self, serializer: SimilarityTaskSerializer) -> None:
        serializer.save(workspace=self.request.workspace)

    def _type(self, task: SimilarityTask) -> SimilarityType:
        return get_in_workspace(SimilarityType, self.request.data.get("type_id"), workspace_id=task.workspace_id,
                                field="type_id")

    @action(detail=True, methods=["post"], url_path="add-type")
    def add_type(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        task.types.add(self._type(task))
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=True, methods=["post"], url_path="remove-type")
    def remove_type(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        task.types.remove(self._type(task))
        return Response(self.get_serializer(self.get_object()).data)


class SimilarityGroupViewSet(WorkspaceScopedViewSet):
    queryset = SimilarityGroup.objects.select_related("type").prefetch_related(
        "images__image_labels__label", "groups__type", "detection_objects__image", "detection_objects__detection_label",
    ).order_by("created", "id")
    serializer_class = SimilarityGroupSerializer

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        params = self.request.query_params
        if params.get("search"):
            queryset = queryset.filter(name__icontains=params["search"])
        if params.get("test"):
            queryset = queryset.filter(test_group=parse_bool(params["test"], "test"))
        for name, field in (("image", "images__id"), ("object", "detection_objects__id"), ("group", "groups__id"),
                            ("type", "type_id")):
            if params.get(name):
                queryset = queryset.filter(**{field: parse_uuid(params[name], name)})
        if params.get("type__name"):
            queryset = queryset.filter(type__name=params["type__name"])
        if params.get("empty") and parse_bool(params["empty"], "empty"):
            queryset = queryset.annotate(
                item_count=Count("images", distinct=True) + Count("groups", distinct=True)
                + Count("detection_objects", distinct=True)
            ).filter(item_count=0)
        if params.get("count"):
            try:
                count = int(params["count"])
            except ValueError as error:
                raise ValidationError({"count": ["Expected an integer."]}) from error
            queryset = queryset.annotate(image_count=Count("images", distinct=True)).filter(image_count=count)
        return queryset.distinct()

    def perform_create(self, serializer: SimilarityGroupSerializer) -> None:
        serializer.save(workspace=self.request.workspace)

    def _members(self, model: type, group: SimilarityGroup, field: str) -> list:
        ids = parse_uuid_list(self.request.data.get(field), field, limit=settings.MAX_BULK_IMAGES)
        if not ids:
            raise ValidationError({field: ["Give a non-empty list of ids."]})
        found = list(model._default_manager.filter(id__in=ids, workspace_id=group.workspace_id))
        if len(found) != len(set(ids)):
            missing = sorted({str(i) for i in ids} - {str(o.id) for o in found})
            raise ValidationError({field: [f"Not found in this workspace: {', '.join(missing)}."]})
        return found

    def _respond(self) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=True, methods=["post"], url_path="add-images")
    def add_images(self, request: Request, pk: str) -> Response:
        group = self.get_object()
        services.add_images(group=group, images=self._members(TrainingImage, group, "images"))
        return self._respond()

    @action(detail=True, methods=["post"], url_path="remove-images")
    def remove_images(self, request: Request, pk: str) -> Response:
        group = self.get_object()
        group.images.remove(*self._members(TrainingImage, group, "images"))
        return self._respond()

    @action(detail=True, methods=["post"], url_path="add-objects")
    def add_objects(self, request: Request, pk: str) -> Response:
        group = self.get_object()
        services.add_objects(group=group, objects=self._members(DetectionObject, group, "objects"))
        return self._respond()

    @action(detail=True, methods=["post"], url_path="remove-objects")
    def remove_objects(self, request: Request, pk: str) -> Response:
        group = self.get_object()
        group.detection_objects.remove(*self._members(DetectionObject, group, "objects"))
        return self._respond()

    @action(detail=True, methods=["post"], url_path="add-groups")
    def add_groups(self, request: Request, pk: str) -> Response:
        group = self.get_object()
        services.add_groups(group=group, children=self._members(SimilarityGroup, group, "groups"))
        return self._respond()

    @action(detail=True, methods=["post"], url_path="remove-groups")
    def remove_groups(self, request: Request, pk: str) -> Response:
        group = self.get_object()
        group.groups.remove(*self._members(SimilarityGroup, group, "groups"))
        return self._respond()

    @action(detail=False, methods=["post"], url_path="update")
    def mark_test(self, request: Request) -> Response:
        """``{"groups": [ids], "mark-test": true}`` or ``"unmark-test": true``: (un)mark test groups."""
        ids = parse_uuid_list(request.data.get("groups"), "groups", limit=settings.MAX_BULK_IMAGES)
        if not ids:
            raise ValidationError({"groups": ["Give a non-empty list of group ids."]})
        mark, unmark = bool(request.data.get("mark-test")), bool(request.data.get("unmark-test"))
        if mark == unmark:
            raise ValidationError({"mark-test": ["Give exactly one of mark-test and unmark-test."]})
        groups = SimilarityGroup.objects.filter(id__in=ids)
        if request.workspace_explicit:
            groups = groups.filter(workspace=request.workspace)
        else:
            groups = groups.filter(workspace__in=request.user.workspaces.all())
        return Response({"updated": groups.update(test_group=mark)})


class CollectionViewSet(WorkspaceScopedViewSet):
    """Our management endpoint for search collections: name, key and the embedder they use."""

    queryset = Collection.objects.order_by("created", "id")
    serializer_class = CollectionSerializer

    def perform_create(self, serializer: CollectionSerializer) -> None:
        key = serializer.validated_data["key"]
        if Collection.objects.filter(workspace=self.request.workspace, key=key).exists():
            raise Conflict(f"A collection '{key}' already exists in this workspace.")
        serializer.save(workspace=self.request.workspace)

    @transaction.atomic
    def perform_update(self, serializer: CollectionSerializer) -> None:
        collection = serializer.save()
        if serializer.move_to is not None:
            task, version = serializer.move_to
            reembedding.start(collection=collection, task=task, version=version)
        else:
            reembedding.follow_production(collection)

    @transaction.atomic
    def perform_destroy(self, collection: Collection) -> None:
        search.forget_images(list(collection.records.exclude(image="").values_list("image", flat=True)))
        collection.delete()


class ModelVersionViewSet(versions.ModelVersionViewSet):
    task_kind = TaskKind.SIMILARITY


class TrainingJobViewSet(versions.TrainingJobViewSet):
    task_kind = TaskKind.SIMILARITY
