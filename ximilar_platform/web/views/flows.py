"""Flows: list, create and edit a definition with its validation shown by node path, a tree view, and a test run."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException, ValidationError

from inference.images import InvalidImage
from ximilar_platform.flows import definition, services, validation
from ximilar_platform.flows.models import Flow
from ximilar_platform.flows.serializers import FlowSerializer
from ximilar_platform.serving.responses import results
from ximilar_platform.training_jobs.adapters import adapter_for
from ximilar_platform.web.access import owned, page
from ximilar_platform.web.feedback import reason

EXAMPLE = {"type": "recognition", "task": "<id of a trained recognition task>", "output_name": "category"}


@page
def flows(request: HttpRequest) -> HttpResponse:
    lookups = validation.Lookups()  # the flows of a page share their nested flows' and tasks' rows
    rows = [(flow, validation.check(flow, lookups)) for flow in Flow.objects.filter(workspace=request.workspace)]
    return render(request, "web/flows/list.html", {"section": "flows", "title": "Flows", "rows": rows})


@page
def edit(request: HttpRequest, flow_id: str | None = None) -> HttpResponse:
    flow = owned(Flow, flow_id, request) if flow_id else None
    text = json.dumps(flow.top_node if flow else EXAMPLE, indent=2)
    context: dict[str, Any] = {
        "section": "flows",
        "flow": flow,
        "title": flow.name if flow else "New flow",
        "text": text,
        "name": flow.name if flow else "",
        "description": flow.description if flow else "",
    }
    if request.method == "POST":
        context |= {
            "text": request.POST.get("top_node", ""),
            "name": request.POST.get("name", ""),
            "description": request.POST.get("description", ""),
        }
        try:
            top_node = json.loads(context["text"])
        except json.JSONDecodeError as error:
            context["errors"] = [
                f"The definition is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            ]
        else:
            try:
                serializer = FlowSerializer(
                    flow, data={"name": context["name"], "top_node": top_node, "description": context["description"]}
                )
                serializer.is_valid(raise_exception=True)
                flow = serializer.save(**({} if flow else {"workspace": request.workspace}))
                messages.success(request, "Flow saved.")
                return redirect("web:flow", flow_id=flow.id)
            except ValidationError as error:
                context["errors"] = [reason(error)]
    if flow is not None:
        plan = validation.check(flow)
        context |= {"problems": plan.problems, "tree": tree(flow.top_node, "top_node", plan, flow.workspace_id)}
    return render(request, "web/flows/edit.html", context)


def tree(node: dict[str, Any], path: str, plan: validation.Plan, workspace_id: Any) -> dict[str, Any]:
    """A node and its children for the read-only tree view, with the problems found at its path."""
    kind = definition.TASK_KINDS.get(node["type"])
    detail = ""
    if kind is not None:
        task = adapter_for(kind).task_model.objects.filter(id=node["task"], workspace_id=workspace_id).first()
        version = node.get("version")
        detail = f"{task.name if task else 'missing task'}, {'v' + str(version) if version else 'production'}"
    elif node["type"] == "flow":
        nested = Flow.objects.filter(id=node["flow"], workspace_id=workspace_id).first()
        detail = nested.name if nested else "missing flow"
    elif node["type"] == "ximilar_service":
        detail = node["service"]
    return {
        "type": node["type"],
        "path": path,
        "detail": detail,
        "output": node.get("output_name"),
        "problems": [p for p in plan.problems if p.startswith(path + ":")],
        "children": [
            tree(child, child_path, plan, workspace_id) for child_path, child in definition.children(node, path)
        ],
    }


@page
@require_POST
def run(request: HttpRequest, flow_id: str) -> HttpResponse:
    flow = owned(Flow, flow_id, request)
    upload = request.FILES.get("image")
    if upload is None:
        return render(request, "web/flows/result.html", {"error": "Drop an image to run the flow on."}, status=400)
    record = {"_base64": base64.b64encode(upload.read()).decode(), "name": upload.name}
    try:
        batch, outputs = services.process(flow=flow, records=[record])
    except (APIException, InvalidImage) as error:
        return render(request, "web/flows/result.html", {"error": reason(error)}, status=400)
    answer = results(batch, outputs, store_in=None)[0]
    return render(request, "web/flows/result.html", {"result": json.dumps(answer, indent=2)})


@page
@require_POST
def delete(request: HttpRequest, flow_id: str) -> HttpResponse:
    owned(Flow, flow_id, request).delete()
    messages.success(request, "Flow deleted.")
    return redirect("web:flows")
