from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ximilar_platform.datasets.models import DatasetJob
from ximilar_platform.datasets.services import download_url


class DatasetJobSerializer(serializers.ModelSerializer):
    task = serializers.UUIDField(source="task_id", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = DatasetJob
        fields = [
            "id",
            "direction",
            "format",
            "state",
            "done",
            "total",
            "errors",
            "error",
            "task",
            "task_kind",
            "download_url",
            "created",
            "started",
            "finished",
        ]
        read_only_fields = fields

    def get_download_url(self, job: DatasetJob) -> str | None:
        return download_url(job, self.context.get("request"))


def job_json(job: DatasetJob, request: Any) -> dict[str, Any]:
    return DatasetJobSerializer(job, context={"request": request}).data
