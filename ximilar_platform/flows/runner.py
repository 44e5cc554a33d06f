"""Run a checked flow over a batch of images: each node makes ONE batched predictor call per request.

A node receives every target (a record's image, or a detected object's crop) that reaches it and
passes the targets on to its children together, so batching follows the tree, not the records.
A node that fails marks only the targets it was given (an ``_errors`` entry naming the node path);
the other branches and records go on.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from PIL import Image

from ximilar_platform.detection.predictions import detect
from ximilar_platform.flows.definition import registered
from ximilar_platform.flows.validation import Plan, nested_path
from ximilar_platform.ready_services.services import run_service
from ximilar_platform.recognition.models import Label
from ximilar_platform.recognition.predictions import classify, labels_of
from ximilar_platform.similarity.descriptor import describe

logger = logging.getLogger(__name__)

MIN_CROP_SIDE = 4  # pixels; a smaller object is not worth a model call


@dataclass(frozen=True)
class Target:
    """One image a node works on and the dict its results go into (a record's fields or an object)."""

    image: Image.Image
    fields: dict[str, Any]


def run(plan: Plan, top_node: dict[str, Any], targets: list[Target]) -> None:
    _run(plan, top_node, "top_node", targets)


def _run(plan: Plan, node: dict[str, Any], path: str, targets: list[Target]) -> None:
    if targets:
        RUNNERS[node["type"]](plan, node, path, targets)


def _fail(fields: dict[str, Any], path: str, code: int, text: str) -> None:
    """Note in a record's or an object's fields that the node at ``path`` gave it no answer."""
    fields.setdefault("_errors", []).append({"node": path, "code": code, "text": text})


def _predict(plan: Plan, path: str, targets: list[Target], call: Callable[[Any, Any, list], list]) -> list | None:
    """The node's one batched model call (``call(task, version, images)``); see `_guarded`."""
    resolved = plan.models[path]
    return _guarded(path, targets, lambda images: call(resolved.task, resolved.version, images))


def _guarded(path: str, targets: list[Target], call: Callable[[list], list]) -> list | None:
    """``call(images)`` once for every target of the node; on failure every one of them gets the error instead."""
    try:
        return call([target.image for target in targets])
    except Exception:  # a vanished artifact or a broken model must not fail the other branches
        error_id = str(uuid.uuid4())
        logger.exception("Flow node %s failed (error %s)", path, error_id)
        for target in targets:
            _fail(target.fields, path, 500, f"The model of this node could not run (error id {error_id}).")
        return None


def _detected(plan: Plan, node: dict[str, Any], path: str, targets: list[Target]) -> list[list[dict]] | None:
    keep_prob = settings.DETECTION_KEEP_PROB if node["keep_prob"] is None else node["keep_prob"]
    return _predict(plan, path, targets, lambda task, version, images: detect(version, images, keep_prob))


RUNNERS: dict[str, Callable[[Plan, dict[str, Any], str, list[Target]], None]] = {}


def runs(node_type: str) -> Callable[[Any], Any]:
    return registered(RUNNERS, node_type)


@runs("recognition")
def _recognition(plan: Plan, node: dict[str, Any], path: str, targets: list[Target]) -> None:
    for target, result in zip(targets, _predict(plan, path, targets, classify) or [], strict=False):
        target.fields[node["output_name"]] = result


@runs("detection")
def _detection(plan: Plan, node: dict[str, Any], path: str, targets: list[Target]) -> None:
    for target, objects in zip(targets, _detected(plan, node, path, targets) or [], strict=False):
        target.fields[node["output_name"]] = objects


@runs("descriptor")
def _descriptor(plan: Plan, node: dict[str, Any], path: str, targets: list[Target]) -> None:
    vectors = _predict(plan, path, targets, lambda task, version, images: describe(version, images)) or []
    for target, vector in zip(targets, vectors, strict=False):
        target.fields[node["output_name"]] = vector


@runs("ximilar_service")
def _ximilar_service(plan: Plan, node: dict[str, Any], path: str, targets: list[Target]) -> None:
    outputs = _guarded(path, targets, lambda images: run_service(node["service"], images)) or []
    for target, fields in zip(targets, outputs, strict=False):
        if node["output_name"] is None:
            target.fields.update(fields)
        else:
            target.fields[node["output_name"]] = fields


def _branch_index(node: dict[str, Any], result: dict[str, Any], labels: dict[str, Label]) -> int | None:
    """The branch whose label is the best label (its shown name, own name or id); None: the default."""
    best = result["best_label"]
    if best is None or (node["min_prob"] is not None and best.get("prob", 1.0) < node["min_prob"]):
        return None
    label = labels.get(best["id"])
    names = {best["name"], best["id"], label.name if label else best["name"]}
    return next((index for index, branch in enumerate(node["branches"]) if branch["label"] in names), None)


@runs("branch_selector")
def _branch_selector(plan: Plan, node: dict[str, Any], path: str, targets: list[Target]) -> None:
    results = _predict(plan, path, targets, classify)
    if results is None:
        return
    labels = labels_of(plan.models[path].version)
    chosen: dict[int | None, list[Target]] = {}
    for target, result in zip(targets, results, strict=True):
        index = _branch_index(node, result, labels)
        ran = node["branches"][index]["label"] if index is not None else ("default" if node["default"] else None)
        target.fields[node["output_name"]] = {**result, "branch": ran}
        chosen.setdefault(index, []).append(target)
    for index, branch in enumerate(node["branches"]):
        _run(plan, branch["node"], f"{path}.branches[{index}].node", chosen.get(index, []))
    if node["default"]:
        _run(plan, node["default"], f"{path}.default", chosen.get(None, []))


def _crop(image: Image.Image, box: list[int]) -> Image.Image | None:
    xmin, ymin = max(box[0], 0), max(box[1], 0)
    xmax, ymax = min(box[2], image.width), min(box[3], image.height)
    if xmax - xmin < MIN_CROP_SIDE or ymax - ymin < MIN_CROP_SIDE:
        return None
    return image.crop((xmin, ymin, xmax, ymax))


@runs("object_selector")
def _object_selector(plan: Plan, node: dict[str, Any], path: str, targets: list[Target]) -> None:
    found = _detected(plan, node, path, targets)
    if found is None:
        return
    crops = []
    for target, objects in zip(targets, found, strict=True):
        kept = [obj for obj in objects if node["labels"] is None or {obj["name"], obj["id"]} & set(node["labels"])]
        kept.sort(key=lambda obj: -obj["prob"])
        target.fields[node["output_name"]] = kept
        for rank, obj in enumerate(kept):
            crop = _crop(target.image, obj["bound_box"])
            if crop is None:
                _fail(obj, f"{path}.node", 400, f"The object is smaller than {MIN_CROP_SIDE} px.")
            elif rank >= settings.FLOW_MAX_OBJECTS:  # the best ones run; a flood of weak boxes does not
                _fail(
                    obj,
                    f"{path}.node",
                    413,
                    f"Not run: only the best FLOW_MAX_OBJECTS ({settings.FLOW_MAX_OBJECTS}) objects of an image go on.",
                )
            elif plan.crops >= settings.FLOW_MAX_CROPS:
                _fail(
                    obj,
                    f"{path}.node",
                    413,
                    f"Not run: the request reached FLOW_MAX_CROPS ({settings.FLOW_MAX_CROPS}) object crops.",
                )
            else:
                plan.crops += 1
                crops.append(Target(crop, obj))
    _run(plan, node["node"], f"{path}.node", crops)


@runs("list")
def _list(plan: Plan, node: dict[str, Any], path: str, targets: list[Target]) -> None:
    for index, child in enumerate(node["nodes"]):
        _run(plan, child, f"{path}.nodes[{index}]", targets)


@runs("flow")
def _flow(plan: Plan, node: dict[str, Any], path: str, targets: list[Target]) -> None:
    _run(plan, plan.nested[path], nested_path(path), targets)
