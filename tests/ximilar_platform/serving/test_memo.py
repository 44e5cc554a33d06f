"""A prediction's task, version row and label names are remembered per process (serving.memo), never stale here."""

from __future__ import annotations

import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.ximilar_platform.serving.test_traffic import RED, classify, colour_model, colours, red  # noqa: F401
from ximilar_platform.recognition.models import Label
from ximilar_platform.training_jobs.services import deploy_version


def test_a_known_version_and_its_labels_cost_no_query(alice, colours) -> None:  # noqa: F811
    classify(alice.client, colours, [red()])
    with CaptureQueriesContext(connection) as queries:
        answer = classify(alice.client, colours, [red()])
    assert answer["records"][0]["best_label"]["name"] == "red"
    read = " ".join(query["sql"] for query in queries)
    assert "training_jobs_modelversion" not in read and "recognition_label" not in read


def test_a_rename_or_a_deploy_in_this_process_is_answered_at_once(alice, colours) -> None:  # noqa: F811
    assert classify(alice.client, colours, [red()])["version"] == 3
    label = Label.objects.get(id=RED)
    label.name = "crimson"
    label.save()
    assert classify(alice.client, colours, [red()])["records"][0]["best_label"]["name"] == "crimson"
    deploy_version(task=colours, number=1)
    assert classify(alice.client, colours, [red()])["version"] == 1


def test_a_rename_by_another_process_is_answered_within_the_cache_time(settings, alice, colours) -> None:  # noqa: F811
    settings.SERVING_CACHE_SECONDS = 3
    classify(alice.client, colours, [red()])
    Label.objects.filter(id=RED).update(name="scarlet")  # no signal: as if another API process saved it
    assert classify(alice.client, colours, [red()])["records"][0]["best_label"]["name"] == "red"
    time.sleep(3.1)
    assert classify(alice.client, colours, [red()])["records"][0]["best_label"]["name"] == "scarlet"


def test_a_member_removed_from_the_workspace_is_refused_at_once(alice, bob, colours) -> None:  # noqa: F811
    colours.workspace.members.add(bob.user)
    assert classify(bob.client, colours, [red()])["version"] == 3
    colours.workspace.members.remove(bob.user)
    answer = bob.client.post(
        "/recognition/v2/classify", {"task_id": str(colours.id), "records": [red()]}, format="json"
    )
    assert answer.status_code == 404


def test_a_deploy_by_another_process_is_served_within_the_cache_time(settings, alice, colours) -> None:  # noqa: F811
    settings.SERVING_CACHE_SECONDS = 3
    assert classify(alice.client, colours, [red()])["version"] == 3
    type(colours).objects.filter(id=colours.id).update(production_version=2)  # no signal: another process
    assert classify(alice.client, colours, [red()])["version"] == 3
    time.sleep(3.1)
    assert classify(alice.client, colours, [red()])["version"] == 2
