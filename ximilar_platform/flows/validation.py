"""Whether a stored flow can run now, and the model versions it would run with.

Computed when a flow is read or processed, never stored: tasks are trained, deployed and deleted
after the flow is saved. Every problem names the node path, e.g. ``top_node.branches[1].node``; a
nested flow's nodes continue the path of the node that nests it (``top_node.nodes[0].top_node``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException

from ximilar_platform.flows import definition
from ximilar_platform.flows.models import Flow
from ximilar_platform.serving.requests import version_of
from ximilar_platform.training_jobs.adapters import adapter_for
from ximilar_platform.training_jobs.models import ModelVersion


@dataclass(frozen=True)
class Resolved:
    """The task a node names and the version it runs: the pinned one, else production's at check time."""

    task: Any
    version: ModelVersion


@dataclass
class Plan:
    """A checked flow: its problems, or what each node path runs (models, nested flows' top nodes)."""

    problems: list[str] = field(default_factory=list)
    models: dict[str, Resolved] = field(default_factory=dict)
    nested: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.problems


def nested_path(path: str) -> str:
    return f"{path}.top_node"


Stack = tuple[tuple[uuid.UUID, str], ...]  # the flows being walked, outermost first: (id, name)


def check(flow: Flow) -> Plan:
    plan = Plan()
    _check(flow.top_node, "top_node", plan, flow.workspace_id, ((flow.id, flow.name),), 1)
    return plan


def _check(node: dict[str, Any], path: str, plan: Plan, workspace_id: uuid.UUID, stack: Stack, depth: int) -> None:
    if depth > settings.FLOW_MAX_DEPTH:
        plan.problems.append(f"{path}: the flow nests deeper than FLOW_MAX_DEPTH ({settings.FLOW_MAX_DEPTH}) nodes.")
        return
    kind = definition.TASK_KINDS.get(node["type"])
    if kind is not None:
        _resolve(node, path, kind, plan, workspace_id)
    if node["type"] == "flow":
        _check_nested(node, path, plan, workspace_id, stack, depth)
    for child_path, child in definition.children(node, path):
        _check(child, child_path, plan, workspace_id, stack, depth + 1)


def _resolve(node: dict[str, Any], path: str, kind: str, plan: Plan, workspace_id: uuid.UUID) -> None:
    task = adapter_for(kind).task_model.objects.filter(id=node["task"], workspace_id=workspace_id).first()
    if task is None:  # another workspace's task reads exactly like a missing one
        plan.problems.append(f"{path}: {kind} task {node['task']} not found in this workspace.")
        return
    try:
        plan.models[path] = Resolved(task, version_of(task, node["version"]))
    except APIException as error:
        plan.problems.append(f"{path}: {kind} task '{task.name}': {error.detail}")


def _check_nested(
    node: dict[str, Any], path: str, plan: Plan, workspace_id: uuid.UUID, stack: Stack, depth: int
) -> None:
    nested = Flow.objects.filter(id=node["flow"], workspace_id=workspace_id).first()
    if nested is None:
        plan.problems.append(f"{path}: flow {node['flow']} not found in this workspace.")
        return
    if any(flow_id == nested.id for flow_id, _ in stack):
        names = " -> ".join(f"'{name}'" for _, name in (*stack, (nested.id, nested.name)))
        plan.problems.append(f"{path}: nested flows form a cycle: {names}.")
        return
    plan.nested[path] = nested.top_node
    _check(nested.top_node, nested_path(path), plan, workspace_id, (*stack, (nested.id, nested.name)), depth + 1)
