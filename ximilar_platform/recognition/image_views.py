"""``recognition/v2/training-image``: upload, list, label and delete training images."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from inference import images as decoder
from ximilar_platform.core.api.lookups import get_many_in_workspace, parse_uuid_list
from ximilar_platform.core.api.relations import relation_action
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.images import services, storage
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition import image_labels
from ximilar_platform.recognition.filters import TrainingImageFilterSet
from ximilar_platform.recognition.image_serializers import TrainingImageSerializer, UploadSerializer
from ximilar_platform.recognition.models import ImageLabel, Label


def decode_upload(data: dict) -> decoder.DecodedImage:
    """Decode whichever image source the upload carried, through the one decoder (a JPEG at thumbnail scale)."""
    limits, draft = storage.image_limits(), services.upload_draft_size()
    if data.get("img_path"):
        upload = data["img_path"]
        if upload.size > limits.max_bytes:
            raise decoder.InvalidImage(
                f"Image is larger than {limits.max_bytes} bytes.", status=413, code="image_too_large"
            )
        return decoder.decode_bytes(upload.read(), limits, draft_size=draft)
    if data.get("url"):
        return decoder.decode_bytes(decoder.fetch_url(data["url"], storage.url_policy()), limits, draft_size=draft)
    return decoder.decode_base64(
        data["base64"], limits, width=data.get("width"), height=data.get("height"), draft_size=draft
    )


def bulk_update_body() -> serializers.Serializer:
    """What ``update`` reads (the view reads ``request.data`` itself: the keys have dashes)."""
    ids = {name: serializers.ListField(child=serializers.UUIDField(), required=False) for name in BULK_ID_FIELDS}
    flags = {name: serializers.BooleanField(required=False) for name in BULK_FLAGS}
    return inline_serializer("TrainingImageBulkUpdate", {**ids, **flags})


def bulk_update_answer() -> serializers.Serializer:
    return inline_serializer("BulkUpdated", {"status": serializers.CharField(), "updated": serializers.IntegerField()})


BULK_ID_FIELDS = ("images", "labels", "labels-add", "labels-remove")
BULK_FLAGS = ("mark-test", "unmark-test", "mark-real", "unmark-real")


class TrainingImageViewSet(WorkspaceScopedViewSet):
    takes_images = True  # bodies of image records: API_MAX_IMAGE_BODY_BYTES
    throttle_scope = "upload"  # THROTTLE_RATES["upload"]: a bulk upload outruns the CRUD rate
    queryset = TrainingImage.objects.prefetch_related(
        Prefetch("image_labels", queryset=ImageLabel.objects.select_related("label").order_by("label__created"))
    ).order_by("-created", "id")
    serializer_class = TrainingImageSerializer
    filterset_class = TrainingImageFilterSet

    def filter_queryset(self, queryset: QuerySet[TrainingImage]) -> QuerySet[TrainingImage]:
        """The list's filters, on lists only: a route naming its image (``add-label``: twice) skips the FilterSet."""
        return super().filter_queryset(queryset) if not self.detail else queryset

    @extend_schema(request=UploadSerializer, responses={201: TrainingImageSerializer})
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
        labels = []  # labels by id in the upload itself, checked before anything is stored
        if values.get("labels"):
            labels = get_many_in_workspace(
                Label, values["labels"], workspace_id=request.workspace.id, field="labels", limit=100
            )
        with transaction.atomic():
            image = services.ingest_training_image(
                workspace=request.workspace, decoded=decode_upload(values), options=options
            )
            for label in labels:
                image_labels.add_label_to_image(image=image, label=label)
        if labels:  # the answer shows them: read the image again with its labels
            image = self.get_queryset().get(pk=image.pk)
        return Response(self.get_serializer(image).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: TrainingImage) -> None:
        services.delete_training_images([instance])

    add_label = relation_action(
        "add-label", Label, "label_id", image_labels.add_label_to_image, names=("image", "label"), with_value=True
    )
    remove_label = relation_action(
        "remove-label", Label, "label_id", image_labels.remove_label_from_image, names=("image", "label")
    )
    update_label = relation_action(
        "update-label", Label, "label_id", image_labels.update_label_value, names=("image", "label"), with_value=True
    )
    update_value = relation_action(
        "update-value", Label, "label_id", image_labels.update_label_value, names=("image", "label"), with_value=True
    )

    @extend_schema(request=bulk_update_body(), responses={200: bulk_update_answer()})
    @action(detail=False, methods=["post"], url_path="update")
    def bulk_update(self, request: Request) -> Response:
        """Label changes and test/real flags for many images, chosen by id or by the labels they carry."""
        data, limit = request.data, settings.MAX_BULK_IMAGES
        selected = image_labels.select_images(
            workspace=request.workspace,
            image_ids=parse_uuid_list(data.get("images"), "images", limit=limit),
            label_ids=parse_uuid_list(data.get("labels"), "labels", limit=limit),
            limit=limit,
        )

        def labels(field: str) -> list[Label]:
            ids = parse_uuid_list(data.get(field), field, limit=limit)
            return image_labels.labels_in(workspace=request.workspace, ids=ids, field=field)

        change = image_labels.BulkChange(
            add_labels=labels("labels-add"),
            remove_labels=labels("labels-remove"),
            test_image=_flag(data, "mark-test", "unmark-test"),
            real=_flag(data, "mark-real", "unmark-real"),
        )
        count = image_labels.bulk_update_images(images=selected, change=change)
        return Response({"status": "OK", "updated": count})


def _flag(data: dict, on: str, off: str) -> bool | None:
    if data.get(on):
        return True
    if data.get(off):
        return False
    return None
