"""The flow definition format: one JSON object per node, its shape checked before anything is stored.

Only structure is checked here (types, fields, ranges), and the node is returned normalised
(every optional field present), so stored definitions read the same whatever the author left out.
Whether the tasks exist and are trained is ``validation.py``'s job: that changes after a save.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings

from ximilar_platform.ready_services.services import SERVICES

MAX_NESTING = 64  # a hard cap against absurd documents; the real limit is settings.FLOW_MAX_DEPTH
REQUIRED = object()

# Node type -> the kind of task it runs (a TaskKind value); nodes without a task are absent.
TASK_KINDS = {
    "recognition": "recognition",
    "branch_selector": "recognition",
    "detection": "detection",
    "object_selector": "detection",
    "descriptor": "similarity",
}


class DefinitionError(Exception):
    """A malformed node, named by its path in the tree (``top_node.branches[1].node``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


def parse_definition(data: Any) -> dict[str, Any]:
    """A whole definition (``top_node``): its nodes parsed, at most FLOW_MAX_NODES of them."""
    node = parse(data)
    count = count_nodes(node)
    if count > settings.FLOW_MAX_NODES:
        raise DefinitionError(
            "top_node", f"the definition has {count} nodes; at most FLOW_MAX_NODES ({settings.FLOW_MAX_NODES})"
        )
    return node


def count_nodes(node: dict[str, Any]) -> int:
    return 1 + sum(count_nodes(child) for _, child in children(node, ""))


def parse(data: Any, path: str = "top_node", nesting: int = 0) -> dict[str, Any]:
    if nesting > MAX_NESTING:
        raise DefinitionError(path, f"nodes nest deeper than {MAX_NESTING} levels")
    if not isinstance(data, dict):
        raise DefinitionError(path, "a node must be a JSON object")
    kind = data.get("type")
    if kind not in PARSERS:
        raise DefinitionError(f"{path}.type", f"unknown node type {kind!r}; one of {', '.join(PARSERS)}")
    node = {"type": kind, **PARSERS[kind](data, path, nesting + 1)}
    unknown = sorted(set(data) - set(node))
    if unknown:
        raise DefinitionError(path, f"unknown field(s) {', '.join(unknown)} for a {kind} node")
    return node


def children(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The child nodes of a parsed node with their paths (a nested flow's nodes are not its children)."""
    for index, branch in enumerate(node.get("branches") or []):
        yield f"{path}.branches[{index}].node", branch["node"]
    if node.get("default"):
        yield f"{path}.default", node["default"]
    if node["type"] == "object_selector":
        yield f"{path}.node", node["node"]
    for index, child in enumerate(node.get("nodes") or []):
        yield f"{path}.nodes[{index}]", child


def _uuid(data: dict, key: str, path: str) -> str:
    try:
        return str(uuid.UUID(str(data[key])))
    except KeyError as error:
        raise DefinitionError(f"{path}.{key}", "this field is required") from error
    except ValueError as error:
        raise DefinitionError(f"{path}.{key}", f"{data[key]!r} is not a valid UUID") from error


def _version(data: dict, path: str) -> int | None:
    """A pinned model version; null or absent means the task's production version at call time."""
    value = data.get("version")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DefinitionError(f"{path}.version", "must be null or a version number (1 or more)")
    return value


def _text(data: dict, key: str, path: str, default: Any) -> str | None:
    value = data.get(key)
    if value is None:
        if default is REQUIRED:
            raise DefinitionError(f"{path}.{key}", "this field is required")
        return default
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(f"{path}.{key}", "must be a non-empty string")
    return value


def _probability(data: dict, key: str, path: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise DefinitionError(f"{path}.{key}", "must be a number between 0 and 1")
    return float(value)


def _node_list(data: dict, key: str, path: str) -> list:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise DefinitionError(f"{path}.{key}", "must be a non-empty list")
    return value


def _model(data: dict, path: str) -> dict[str, Any]:
    return {"task": _uuid(data, "task", path), "version": _version(data, path)}


PARSERS: dict[str, Callable[[dict, str, int], dict[str, Any]]] = {}


def registered(table: dict[str, Any], node_type: str) -> Callable[[Any], Any]:
    """A decorator putting the function into ``table`` under ``node_type`` (this module's parsers, the runners)."""

    def add(function: Any) -> Any:
        table[node_type] = function
        return function

    return add


def parses(node_type: str) -> Callable[[Any], Any]:
    return registered(PARSERS, node_type)


@parses("recognition")
def _recognition(data: dict, path: str, nesting: int) -> dict[str, Any]:
    return {**_model(data, path), "output_name": _text(data, "output_name", path, REQUIRED)}


@parses("detection")
def _detection(data: dict, path: str, nesting: int) -> dict[str, Any]:
    return {
        **_model(data, path),
        "keep_prob": _probability(data, "keep_prob", path),
        "output_name": _text(data, "output_name", path, "_objects"),
    }


@parses("branch_selector")
def _branch_selector(data: dict, path: str, nesting: int) -> dict[str, Any]:
    branches = [
        _branch(branch, f"{path}.branches[{index}]", nesting)
        for index, branch in enumerate(_node_list(data, "branches", path))
    ]
    default = data.get("default")
    return {
        **_model(data, path),
        "output_name": _text(data, "output_name", path, "_branch"),
        "min_prob": _probability(data, "min_prob", path),
        "branches": branches,
        "default": None if default is None else parse(default, f"{path}.default", nesting),
    }


@parses("object_selector")
def _object_selector(data: dict, path: str, nesting: int) -> dict[str, Any]:
    labels = data.get("labels")
    if labels is not None and (
        not isinstance(labels, list) or not labels or not all(isinstance(label, str) and label for label in labels)
    ):
        raise DefinitionError(f"{path}.labels", "must be null or a non-empty list of label names or ids")
    return {
        **_model(data, path),
        "keep_prob": _probability(data, "keep_prob", path),
        "labels": labels,
        "output_name": _text(data, "output_name", path, "_objects"),
        "node": parse(data.get("node"), f"{path}.node", nesting),
    }


@parses("list")
def _list(data: dict, path: str, nesting: int) -> dict[str, Any]:
    return {
        "nodes": [
            parse(node, f"{path}.nodes[{index}]", nesting) for index, node in enumerate(_node_list(data, "nodes", path))
        ]
    }


@parses("flow")
def _flow(data: dict, path: str, nesting: int) -> dict[str, Any]:
    return {"flow": _uuid(data, "flow", path)}


@parses("descriptor")
def _descriptor(data: dict, path: str, nesting: int) -> dict[str, Any]:
    return {**_model(data, path), "output_name": _text(data, "output_name", path, "_descriptor")}


@parses("ximilar_service")
def _ximilar_service(data: dict, path: str, nesting: int) -> dict[str, Any]:
    """A ready-to-use service by name; without ``output_name`` its fields go into the record itself."""
    service = data.get("service")
    if service not in SERVICES:
        raise DefinitionError(f"{path}.service", f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    return {"service": service, "output_name": _text(data, "output_name", path, None)}


def _branch(data: Any, path: str, nesting: int) -> dict[str, Any]:
    if not isinstance(data, dict) or set(data) - {"label", "node"}:
        raise DefinitionError(path, "a branch is an object with only 'label' and 'node'")
    return {"label": _text(data, "label", path, REQUIRED), "node": parse(data.get("node"), f"{path}.node", nesting)}
