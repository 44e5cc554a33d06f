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
    crops: int = 0  # object crops made so far by the request running this plan (FLOW_MAX_CROPS)

    @property
    def valid(self) -> bool:
        return not self.problems


def nested_path(path: str) -> str:
    return f"{path}.top_node"


Stack = tuple[tuple[uuid.UUID, str], ...]  # the flows being walked, outermost first: (id, name)


class Lookups:
    """The rows one check reads, each once: a flow nested ten times, or a task every flow of a list page
    names, costs one query. Lives for one request (a list page shares it between its flows)."""

    def __init__(self) -> None:
        self.flows: dict[tuple[uuid.UUID, Any], Flow | None] = {}
        self.tasks: dict[tuple[str, uuid.UUID, Any], Any] = {}
        self.versions: dict[tuple[str, Any, Any], ModelVersion | APIException] = {}

    def flow(self, workspace_id: uuid.UUID, flow_id: Any) -> Flow | None:
        key = (workspace_id, flow_id)
        if key not in self.flows:
            self.flows[key] = Flow.objects.filter(id=flow_id, workspace_id=workspace_id).first()
        return self.flows[key]

    def task(self, kind: str, workspace_id: uuid.UUID, task_id: Any) -> Any:
        key = (kind, workspace_id, task_id)
        if key not in self.tasks:
            model = adapter_for(kind).task_model
            self.tasks[key] = model.objects.filter(id=task_id, workspace_id=workspace_id).first()
        return self.tasks[key]

    def version(self, kind: str, task: Any, number: Any) -> ModelVersion:
        key = (kind, task.id, number)
        if key not in self.versions:
            try:
                self.versions[key] = version_of(task, number)
            except APIException as error:
                self.versions[key] = error
        found = self.versions[key]
        if isinstance(found, APIException):
            raise found
        return found


@dataclass
class Walk:
    """One check's state: where problems go, what the rows are, and how many nodes are left to expand."""

    plan: Plan
    workspace_id: uuid.UUID
    lookups: Lookups
    budget: int

    def spend(self, path: str) -> bool:
        """False once the check has expanded FLOW_MAX_EXPANDED_NODES nodes (nested flows count each time)."""
        self.budget -= 1
        if self.budget == 0:
            self.plan.problems.append(
                f"{path}: the flow expands to more than FLOW_MAX_EXPANDED_NODES ({settings.FLOW_MAX_EXPANDED_NODES}) "
                "nodes with its nested flows; nest fewer flows or reference them less often."
            )
        return self.budget > 0


def check(flow: Flow, lookups: Lookups | None = None) -> Plan:
    plan = Plan()
    walk = Walk(plan, flow.workspace_id, lookups or Lookups(), settings.FLOW_MAX_EXPANDED_NODES + 1)
    _check(flow.top_node, "top_node", walk, ((flow.id, flow.name),), 1)
    return plan


def _check(node: dict[str, Any], path: str, walk: Walk, stack: Stack, depth: int) -> None:
    if not walk.spend(path):
        return
    if depth > settings.FLOW_MAX_DEPTH:
        walk.plan.problems.append(
            f"{path}: the flow nests deeper than FLOW_MAX_DEPTH ({settings.FLOW_MAX_DEPTH}) nodes."
        )
        return
    kind = definition.TASK_KINDS.get(node["type"])
    if kind is not None:
        _resolve(node, path, kind, walk)
    if node["type"] == "flow":
        _check_nested(node, path, walk, stack, depth)
    for child_path, child in definition.children(node, path):
        _check(child, child_path, walk, stack, depth + 1)


def _resolve(node: dict[str, Any], path: str, kind: str, walk: Walk) -> None:
    task = walk.lookups.task(kind, walk.workspace_id, node["task"])
    if task is None:  # another workspace's task reads exactly like a missing one
        walk.plan.problems.append(f"{path}: {kind} task {node['task']} not found in this workspace.")
        return
    try:
        walk.plan.models[path] = Resolved(task, walk.lookups.version(kind, task, node["version"]))
    except APIException as error:
        walk.plan.problems.append(f"{path}: {kind} task '{task.name}': {error.detail}")


def _check_nested(node: dict[str, Any], path: str, walk: Walk, stack: Stack, depth: int) -> None:
    nested = walk.lookups.flow(walk.workspace_id, node["flow"])
    if nested is None:
        walk.plan.problems.append(f"{path}: flow {node['flow']} not found in this workspace.")
        return
    if any(flow_id == nested.id for flow_id, _ in stack):
        names = " -> ".join(f"'{name}'" for _, name in (*stack, (nested.id, nested.name)))
        walk.plan.problems.append(f"{path}: nested flows form a cycle: {names}.")
        return
    walk.plan.nested[path] = nested.top_node
    _check(nested.top_node, nested_path(path), walk, (*stack, (nested.id, nested.name)), depth + 1)
