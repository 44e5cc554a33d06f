"""Process records through a flow: check it, run its tree once over the batch, answer per record."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException

from inference.images import DecodedImage, InvalidImage
from ximilar_platform.core.api import records as envelope
from ximilar_platform.flows import runner, validation
from ximilar_platform.flows.models import Flow
from ximilar_platform.training_jobs import serving


class InvalidFlow(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "This flow is not valid."
    default_code = "invalid_flow"


def process_records(*, flow: Flow, records: list[dict[str, Any]], store_images: bool) -> list[dict[str, Any]]:
    """One result per record; the models are the versions in production now unless a node pins one.

    A task untrained at call time makes the flow invalid (400) rather than a per-record failure:
    no record could get that node's answer, and the same reason shows as ``valid: false``.
    """
    plan = validation.check(flow)
    if not plan.valid:
        raise InvalidFlow("This flow is not valid: " + " ".join(plan.problems))
    decoded = serving.decode_records(records)
    targets = [runner.Target(item.image, {}) for item in decoded if isinstance(item, DecodedImage)]
    runner.run(plan, flow.top_node, targets)
    fields = iter(targets)
    results = []
    for record, item in zip(records, decoded, strict=True):
        if isinstance(item, InvalidImage):
            results.append(envelope.failed(record, item))
            continue
        output = next(fields).fields
        if store_images:
            output["_stored_image_id"] = str(serving.store_image(flow.workspace, item))
        results.append(envelope.succeeded(record, item, **output))
    return results
