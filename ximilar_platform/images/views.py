"""``recognition/v2/training-image``: upload, list, label and delete training images."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from inference import images as decoder
from ximilar_platform.core.api.lookups import get_in_workspace, parse_uuid_list
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.images import services, storage
from ximilar_platform.images.filters import filter_training_images
from ximilar_platform.images.models import ImageLabel, TrainingImage
from ximilar_platform.images.serializers import TrainingImageSerializer, UploadSerializer
from ximilar_platform.recognition.models import Label


def decode_upload(data: dict) -> decoder.DecodedImage:
    """Decode whichever image source the upload carried, through the one decoder."""
    limits = storage.image_limits()
    if data.get("img_path"):
        upload = data["img_path"]
        if upload.size > limits.max_bytes:
            raise decoder.InvalidImage(f"Image is larger than {limits.max_bytes} bytes.", status=413,
                                       code="image_too_large")
        return decoder.decode_bytes(upload.read(), limits)
    if data.get("url"):
        return decoder.decode_bytes(decoder.fetch_url(data["url"], storage.url_policy()), limits)
    return decoder.decode_base64(data["base64"], limits, width=data.get("width"), height=data.get("height"))


class TrainingImageViewSet(WorkspaceScopedViewSet):
    queryset = TrainingImage.objects.prefetch_related(
        Prefetch("image_labels", queryset=ImageLabel.objects.select_related("label").order_by("label__created"))
    ).order_by("-created", "id")
    serializer_class = TrainingImageSerializer

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        return filter_training_images(queryset, self.request.query_params) if self.action == "list" else queryset

    def create(self, request: Request) -> Response:
        upload = UploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        values = upload.validated_data
        options = services.ImageOptions(
            meta_data=values.get("meta_data") or {},
            noresize=values["noresize"],
            test_image=values["test_image"],
            real=values["real"],
        )
        image = services.ingest_training_image(
            workspace=request.workspace, decoded=decode_upload(values), options=options
        )
        return Response(self.get_serializer(image).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: TrainingImage) -> None:
        services.delete_training_images([instance])

    def _label(self, image: TrainingImage) -> Label:
        return get_in_workspace(Label, self.request.data.get("label_id"), workspace_id=image.workspace_id,
                                field="label_id")

    def _respond(self, image: TrainingImage) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=image.pk)).data)

    @action(detail=True, methods=["post"], url_path="add-label")
    def add_label(self, request: Request, pk: str) -> Response:
        image = self.get_object()
        services.add_label_to_image(image=image, label=self._label(image), value=request.data.get("value"))
        return self._respond(image)

    @action(detail=True, methods=["post"], url_path="remove-label")
    def remove_label(self, request: Request, pk: str) -> Response:
        image = self.get_object()
        services.remove_label_from_image(image=image, label=self._label(image))
        return self._respond(image)

    @action(detail=True, methods=["post"], url_path="update-label")
    def update_label(self, request: Request, pk: str) -> Response:
        image = self.get_object()
        services.update_label_value(image=image, label=self._label(image), value=request.data.get("value"))
        return self._respond(image)

    @action(detail=True, methods=["post"], url_path="update-value")
    def update_value(self, request: Request, pk: str) -> Response:
        return self.update_label(request, pk)

    @action(detail=False, methods=["post"], url_path="update")
    def bulk_update(self, request: Request) -> Response:
        data = request.data
        limit = settings.MAX_BULK_IMAGES
        images = TrainingImage.objects.filter(workspace=request.workspace)
        image_ids = parse_uuid_list(data.get("images"), "images", limit=limit)
        label_ids = parse_uuid_list(data.get("labels"), "labels", limit=limit)
        if not image_ids and not label_ids:
            raise ValidationError({"images": ["Give images, or labels to select images by."]})
        if image_ids:
            images = images.filter(id__in=image_ids)
        for label_id in label_ids:
            images = images.filter(image_labels__label_id=label_id)
        selected = list(images.distinct()[: limit + 1])
        if len(selected) > limit:
            raise ValidationError({"images": [f"At most {limit} images per request; narrow the selection."]})
        if len(selected) != len(image_ids) and image_ids and not label_ids:
            raise ValidationError({"images": ["Some images were not found in this workspace."]})

        def labels(field: str) -> list[Label]:
            ids = parse_uuid_list(data.get(field), field, limit=limit)
            found = list(Label.objects.filter(workspace=request.workspace, id__in=ids))
            if len(found) != len(set(ids)):
                raise ValidationError({field: ["Some labels were not found in this workspace."]})
            return found

        change = services.BulkChange(
            add_labels=labels("labels-add"),
            remove_labels=labels("labels-remove"),
            test_image=_flag(data, "mark-test", "unmark-test"),
            real=_flag(data, "mark-real", "unmark-real"),
        )
        count = services.bulk_update_images(images=selected, change=change)
        return Response({"status": "OK", "updated": count})


def _flag(data: dict, on: str, off: str) -> bool | None:
    if data.get(on):
        return True
    if data.get(off):
        return False
    return None
