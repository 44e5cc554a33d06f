"""``annotate/v2/…``: verifications (the official client's ``verify``), suggestions, reviews, queue, jobs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from ximilar_platform.annotate import assignments, openapi, reviews, suggestions
from ximilar_platform.annotate.models import (
    AnnotationJob,
    GroupVerification,
    ImageReview,
    Suggestion,
    SuggestionRun,
    Verification,
)
from ximilar_platform.annotate.queue import task_queue
from ximilar_platform.annotate.serializers import (
    AnnotationJobSerializer,
    GroupVerificationSerializer,
    ImageReviewSerializer,
    QueueImageSerializer,
    SuggestionRunSerializer,
    SuggestionSerializer,
    VerificationSerializer,
)
from ximilar_platform.annotate.tasks import find_annotated_task
from ximilar_platform.core.api.filters import IntegerFilter, UUIDFilter
from ximilar_platform.core.api.lookups import get_in_workspace, get_many_in_workspace, parse_uuid
from ximilar_platform.core.api.viewsets import UUID_PATTERN, WorkspaceMixin, WorkspaceScopedViewSet
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.serving.requests import find_owned
from ximilar_platform.similarity.models import SimilarityGroup


def body(request: Request) -> Mapping[str, Any]:
    return request.data if isinstance(request.data, Mapping) else {}


class ScopedByOwner(WorkspaceMixin, viewsets.GenericViewSet):
    """Rows whose ``owner`` (image or group) is in the user's workspaces, or in the one the request names."""

    owner: str
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self) -> QuerySet:
        rows = super().get_queryset().filter(**{f"{self.owner}__workspace__members": self.request.user})
        if self.request.workspace_explicit:
            rows = rows.filter(**{f"{self.owner}__workspace": self.request.workspace})
        return rows

    def owner_and_user(self, request: Request, model: type, missing: str) -> tuple[Any, Any]:
        """``{"<owner>_id", "user"}``: the owner in the caller's workspaces, and the member (default: the caller)."""
        data = body(request)
        field = f"{self.owner}_id"
        found = find_owned(request, model, parse_uuid(data.get(field) or data.get(self.owner), field), missing)
        return found, assignments.member(found.workspace_id, data.get("user"), "user") or request.user

    def created(self, verification: Any, created: bool) -> Response:
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.get_serializer(verification).data, status=code)


class ByTask(django_filters.FilterSet):
    """``?task=`` or ``?task_id=``: rows of one recognition or detection task."""

    task = UUIDFilter(field_name="task_id")
    task_id = UUIDFilter(field_name="task_id")


class VerificationFilterSet(django_filters.FilterSet):
    image = UUIDFilter(field_name="image_id")
    user = IntegerFilter(field_name="user_id")


class VerificationViewSet(ScopedByOwner, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin):
    """``POST {"user", "image_id"}`` verifies an image for a member (default: the caller); DELETE undoes it."""

    owner = "image"
    queryset = Verification.objects.select_related("user", "image").order_by("created", "id")
    serializer_class = VerificationSerializer
    filterset_class = VerificationFilterSet

    @extend_schema(request=openapi.verification_body("image"), responses={201: VerificationSerializer})
    def create(self, request: Request) -> Response:
        image, user = self.owner_and_user(request, TrainingImage, "Training image not found.")
        return self.created(*reviews.verify(image=image, user=user))

    def perform_destroy(self, instance: Verification) -> None:
        reviews.unverify(instance)


class GroupVerificationFilterSet(django_filters.FilterSet):
    group = UUIDFilter(field_name="group_id")


class GroupVerificationViewSet(
    ScopedByOwner, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin
):
    """The same for similarity groups: ``POST {"user", "group_id"}``, ``?group=``."""

    owner = "group"
    queryset = GroupVerification.objects.select_related("user", "group").order_by("created", "id")
    serializer_class = GroupVerificationSerializer
    filterset_class = GroupVerificationFilterSet

    @extend_schema(request=openapi.verification_body("group"), responses={201: GroupVerificationSerializer})
    def create(self, request: Request) -> Response:
        group, user = self.owner_and_user(request, SimilarityGroup, "Similarity group not found.")
        return self.created(*GroupVerification.objects.get_or_create(group=group, user=user))


class SuggestionFilterSet(ByTask):
    image = UUIDFilter(field_name="image_id")
    state = django_filters.ChoiceFilter(choices=Suggestion.State.choices)


class SuggestionViewSet(WorkspaceScopedViewSet):
    """Suggestions of images (``?image=&task=&state=``); ``accept``, ``reject`` and ``accept-above``."""

    queryset = Suggestion.objects.select_related("version", "detection_label", "label").order_by("-score", "id")
    serializer_class = SuggestionSerializer
    filterset_class = SuggestionFilterSet
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(exclude=True)  # the route only answers how suggestions are made
    def create(self, request: Request) -> Response:
        raise ValidationError("Suggestions come from a model: start a suggestion run (annotate/v2/suggestion-run).")

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        accepted = suggestions.accept(suggestion=self.get_object(), by=request.user)
        return Response(self.get_serializer(accepted).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        rejected = suggestions.reject(suggestion=self.get_object(), by=request.user)
        return Response(self.get_serializer(rejected).data)

    @extend_schema(request=openapi.accept_above_body(), responses={200: openapi.accepted_answer()})
    @action(detail=False, methods=["post"], url_path="accept-above")
    def accept_above(self, request: Request) -> Response:
        """``{"task_id", "threshold"[, "image_id"]}``: accept the open ones scoring at least the threshold."""
        data = body(request)
        task = find_annotated_task(request, data.get("task_id"))
        chosen = Suggestion.objects.filter(task_id=task.id)
        if data.get("image_id"):
            chosen = chosen.filter(image_id=parse_uuid(data["image_id"], "image_id"))
        threshold = suggestions.parse_threshold(data.get("threshold"))
        accepted = suggestions.accept_above(suggestions=chosen, threshold=threshold, by=request.user)
        return Response({"accepted": accepted, "task_id": str(task.id), "threshold": threshold})


class SuggestionRunViewSet(WorkspaceScopedViewSet):
    """``POST {"task_id"[, "images": [ids]][, "status": "todo"][, "version"]}`` queues a worker job (202)."""

    queryset = SuggestionRun.objects.select_related("version").order_by("-created", "id")
    serializer_class = SuggestionRunSerializer
    filterset_class = ByTask
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=openapi.suggestion_run_body(), responses={202: SuggestionRunSerializer})
    def create(self, request: Request) -> Response:
        data = body(request)
        task = find_annotated_task(request, data.get("task_id"))
        if data.get("images") not in (None, "", []):
            images = get_many_in_workspace(
                TrainingImage,
                data["images"],
                workspace_id=task.workspace_id,
                field="images",
                limit=settings.SUGGESTION_MAX_IMAGES,
            )
        else:  # the task's queue, capped: a bigger set is several runs
            images = list(task_queue(task, status=data.get("status") or None)[: settings.SUGGESTION_MAX_IMAGES])
        run = suggestions.start_suggestions(task=task, images=images, by=request.user, version=data.get("version"))
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        run.cancel(by=request.user.get_username())
        return Response(self.get_serializer(run).data)


class ReviewFilterSet(ByTask):
    image = UUIDFilter(field_name="image_id")
    state = django_filters.ChoiceFilter(choices=ImageReview.State.choices)


class ReviewViewSet(WorkspaceScopedViewSet):
    """``POST {"task_id", "image_id", "state": "annotated"|"rejected"[, "comment"][, "negative"]}``."""

    queryset = ImageReview.objects.order_by("-updated", "id")
    serializer_class = ImageReviewSerializer
    filterset_class = ReviewFilterSet
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=openapi.review_body(), responses={201: ImageReviewSerializer})
    def create(self, request: Request) -> Response:
        data = body(request)
        task = find_annotated_task(request, data.get("task_id"))
        image = get_in_workspace(TrainingImage, data.get("image_id"), workspace_id=task.workspace_id, field="image_id")
        state = data.get("state") or ImageReview.State.ANNOTATED
        if state == ImageReview.State.REJECTED:
            review = reviews.reject(task=task, image=image, by=request.user, comment=_text(data, "comment"))
        elif state == ImageReview.State.ANNOTATED:
            negative = data.get("negative")
            if negative is not None and not isinstance(negative, bool):
                raise ValidationError({"negative": ["Give true or false."]})
            review = reviews.mark_annotated(task=task, image=image, by=request.user, negative=negative)
        else:
            raise ValidationError({"state": ["Choose annotated or rejected."]})
        return Response(self.get_serializer(review).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(parameters=openapi.QUEUE_PARAMETERS))
class QueueView(WorkspaceMixin, ListAPIView):
    """``GET ?task_id=&order=todo|uncertain|review|oldest[&status=][&label=][&job=]``: the images to work on."""

    serializer_class = QueueImageSerializer

    def get_queryset(self) -> QuerySet[TrainingImage]:
        params = self.request.query_params
        task = find_annotated_task(self.request, params.get("task_id") or params.get("task"))
        job = None
        if params.get("job"):
            job = get_in_workspace(AnnotationJob, params["job"], workspace_id=task.workspace_id, field="job")
        label = parse_uuid(params["label"], "label") if params.get("label") else None
        return task_queue(
            task, order=params.get("order") or "todo", status=params.get("status") or None, label=label, job=job
        )


class AnnotationJobFilterSet(ByTask):
    assignee = IntegerFilter(field_name="assignee_id")


class AnnotationJobViewSet(WorkspaceScopedViewSet):
    """``POST {"task_id", "name", "assignee"[, "images": [ids] | "count": n]}``; each job shows its progress."""

    queryset = AnnotationJob.objects.select_related("assignee").order_by("-created", "id")
    serializer_class = AnnotationJobSerializer
    filterset_class = AnnotationJobFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=openapi.job_body(), responses={201: AnnotationJobSerializer})
    def create(self, request: Request) -> Response:
        data = body(request)
        task = find_annotated_task(request, data.get("task_id"))
        images = None
        if data.get("images") not in (None, "", []):
            images = get_many_in_workspace(
                TrainingImage,
                data["images"],
                workspace_id=task.workspace_id,
                field="images",
                limit=settings.MAX_BULK_IMAGES,
            )
        job = assignments.create_job(
            task=task,
            name=_text(data, "name"),
            by=request.user,
            assignee=assignments.member(task.workspace_id, data.get("assignee")),
            images=images,
            count=_count(data.get("count")),
        )
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=openapi.job_change_body())
    def partial_update(self, request: Request, pk: str) -> Response:
        """Rename or reassign a job."""
        job = self.get_object()
        data = body(request)
        if "name" in data:
            job.name = _text(data, "name").strip()[:255] or job.name
        if "assignee" in data:
            job.assignee = assignments.member(job.workspace_id, data["assignee"])
        job.save(update_fields=["name", "assignee"])
        return Response(self.get_serializer(job).data)

    @extend_schema(parameters=[openapi.TASK_PARAMETER])
    @action(detail=False, methods=["get"])
    def people(self, request: Request) -> Response:
        """``?task_id=``: per member, images annotated, rejections received and verifications given."""
        task = find_annotated_task(request, request.query_params.get("task_id") or request.query_params.get("task"))
        return Response({"task_id": str(task.id), "results": assignments.people_progress(task)})


def _text(data: Mapping[str, Any], field: str) -> str:
    """A text field of the body ("" when absent); a list or a number is refused, not turned into text."""
    value = data.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: ["Give text."]})
    return value


def _count(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise ValidationError({"count": [f"'{value}' is not a whole number."]}) from error
