"""Process records through a flow: check it, then run its tree once over the batch."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException

from inference.images import DecodedImage
from ximilar_platform.flows import runner, validation
from ximilar_platform.flows.models import Flow
from ximilar_platform.serving.requests import Batch, decode_records


class InvalidFlow(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "This flow is not valid."
    default_code = "invalid_flow"


def process(*, flow: Flow, records: list[dict[str, Any]]) -> tuple[Batch, list[dict[str, Any]]]:
    """The records, decoded, and the fields of each readable one.

    The models are the versions in production now unless a node pins one. A task untrained at
    call time makes the flow invalid (400) rather than a per-record failure: no record could get
    that node's answer, and the same reason shows as ``valid: false``. Records are decoded (URLs
    fetched) only for a valid flow.
    """
    plan = validation.check(flow)
    if not plan.valid:
        raise InvalidFlow("This flow is not valid: " + " ".join(plan.problems))
    batch = Batch(records, decode_records(records))
    targets = [runner.Target(item.image, {}) for item in batch.decoded if isinstance(item, DecodedImage)]
    runner.run(plan, flow.top_node, targets)
    return batch, [target.fields for target in targets]
