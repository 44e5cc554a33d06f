"""Search collections and flows in the web app."""

from __future__ import annotations

import base64
import json

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import colour_image_base64, item_view_base64
from ximilar_platform.collections.models import Collection, CollectionRecord
from ximilar_platform.flows.models import Flow


def item(index: int, view: int = 0) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        f"item-{index}.png", base64.b64decode(item_view_base64(index, view)), content_type="image/png"
    )


def test_a_collection_is_created_filled_with_images_and_searched(web, alice) -> None:
    web.post("/app/collections/new/", {"key": "shop", "name": "Shop"})
    collection = Collection.objects.get(workspace=alice.workspace, key="shop")
    inserted = web.post(f"/app/collections/{collection.id}/insert/", {"files": [item(i) for i in range(4)]}).json()
    assert sorted(inserted["stored"]) == [f"item-{i}.png" for i in range(4)] and inserted["refused"] == []
    html = web.get(f"/app/collections/{collection.id}/").content.decode()
    assert "4 records" in html and html.count('class="thumb"') == 4
    hits = web.post(f"/app/collections/{collection.id}/search/", {"image": item(2)}).content.decode()
    assert hits.count('class="thumb"') == 4 and "<strong>item-2.png</strong> · 0.000" in hits
    assert hits.index("item-2.png") < min(hits.index(f"item-{other}.png") for other in (0, 1, 3))
    similar = web.get(f"/app/collections/{collection.id}/?similar=item-3.png").content.decode()
    assert "Nearest records to item-3.png" in similar and "item-3.png</strong> · 0.000" in similar
    assert "No record with _id" in web.get(f"/app/collections/{collection.id}/?similar=nope").content.decode()


def test_a_duplicate_collection_key_is_refused(web, alice) -> None:
    Collection.objects.create(workspace=alice.workspace, key="shop")
    answer = web.post("/app/collections/new/", {"key": "shop"}, follow=True)
    assert "already exists in this workspace" in answer.content.decode()
    assert Collection.objects.count() == 1


def test_collections_of_another_workspace_answer_404(web, bob) -> None:
    theirs = Collection.objects.create(workspace=bob.workspace, key="secret")
    assert web.get(f"/app/collections/{theirs.id}/").status_code == 404
    assert web.post(f"/app/collections/{theirs.id}/insert/", {"files": [item(0)]}).status_code == 404
    assert not CollectionRecord.objects.exists()


def save_flow(web, name: str, top_node, flow: Flow | None = None):
    url = f"/app/flows/{flow.id}/" if flow else "/app/flows/new/"
    text = top_node if isinstance(top_node, str) else json.dumps(top_node)
    return web.post(url, {"name": name, "description": "", "top_node": text})


def test_a_flow_is_written_validated_shown_as_a_tree_and_run(web, alice, models) -> None:
    broken = save_flow(web, "shop", "{not json")
    assert broken.status_code == 200 and "not valid JSON" in broken.content.decode() and not Flow.objects.exists()
    malformed = save_flow(web, "shop", {"type": "nonsense"})
    assert "top_node.type: unknown node type" in malformed.content.decode()
    node = {
        "type": "list",
        "nodes": [
            {"type": "recognition", "task": str(models.colours.id), "output_name": "colour"},
            {"type": "recognition", "task": "7f9d4f62-8d6e-4b8e-a3a5-1f2a3b4c5d6e", "output_name": "missing"},
        ],
    }
    saved = save_flow(web, "shop", node)
    flow = Flow.objects.get()
    assert saved["Location"] == f"/app/flows/{flow.id}/"
    html = web.get(f"/app/flows/{flow.id}/").content.decode()
    assert "not valid" in html and "colours, production" in html and "missing task" in html
    assert "top_node.nodes[1]: recognition task 7f9d4f62-8d6e-4b8e-a3a5-1f2a3b4c5d6e not found" in html
    node["nodes"].pop()
    save_flow(web, "shop", node, flow)
    red = SimpleUploadedFile("red.png", base64.b64decode(colour_image_base64(5, "red")), content_type="image/png")
    result = web.post(f"/app/flows/{flow.id}/run/", {"image": red}).content.decode()
    assert "&quot;colour&quot;" in result and "&quot;name&quot;: &quot;red&quot;" in result


def test_running_an_invalid_flow_says_why(web, alice) -> None:
    flow = Flow.objects.create(
        workspace=alice.workspace,
        name="f",
        top_node={
            "type": "recognition",
            "task": "7f9d4f62-8d6e-4b8e-a3a5-1f2a3b4c5d6e",
            "version": None,
            "output_name": "x",
        },
    )
    red = SimpleUploadedFile("red.png", base64.b64decode(colour_image_base64(5, "red")), content_type="image/png")
    answer = web.post(f"/app/flows/{flow.id}/run/", {"image": red})
    assert answer.status_code == 400 and "This flow is not valid" in answer.content.decode()
