"""Upgrading an existing install keeps its data: rows of models that moved between apps survive the move."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# main before the layered apps: ImageLabel lived in images, collections in similarity
BEFORE = [
    ("accounts", "0001_initial"),
    ("images", "0001_initial"),
    ("recognition", "0002_task_arch"),
    ("detection", "0001_initial"),
    ("similarity", "0006_collection_follow_production"),
    ("training_jobs", "0003_task_kind_similarity"),
    ("flows", "0001_initial"),
    ("collections", None),
]


@pytest.fixture
def old_schema(transactional_db):
    """The database as the previous release left it; migrated back to the latest schema afterwards."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor.loader.project_state([node for node in BEFORE if node[1]]).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_moved_models_keep_their_rows(old_schema) -> None:
    old = old_schema
    user = old.get_model("auth", "User").objects.create(username="keeper")
    workspace = old.get_model("accounts", "Workspace").objects.create(name="w", owner=user, is_default=True)
    label = old.get_model("recognition", "Label").objects.create(workspace=workspace, name="cat")
    task = old.get_model("recognition", "Task").objects.create(
        workspace=workspace, name="t", last_train_status="TRAINED"
    )
    task.labels.add(label)
    image = old.get_model("images", "TrainingImage").objects.create(
        workspace=workspace, file="images/a.png", thumbnail="thumbs/a.jpg", width=4, height=3, checksum="c"
    )
    old.get_model("images", "ImageLabel").objects.create(image=image, label=label, value=2.5)
    similarity_task = old.get_model("similarity", "SimilarityTask").objects.create(workspace=workspace, name="s")
    collection = old.get_model("similarity", "Collection").objects.create(
        workspace=workspace, key="shop", task=similarity_task, version=1, dimension=2, revision=7
    )
    old.get_model("similarity", "CollectionRecord").objects.create(
        collection=collection, key="a", vector=b"\x00" * 8, fields={"price": 5}, image="collections/a.jpg"
    )
    move = old.get_model("similarity", "Reembedding").objects.create(
        id=uuid.uuid4(), collection=collection, version=2, state="failed", error="lost", done=1, total=1
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from ximilar_platform.collections.models import Collection, CollectionRecord, Reembedding
    from ximilar_platform.images.models import TrainingImage
    from ximilar_platform.recognition.models import ImageLabel, Task

    link = ImageLabel.objects.get()
    assert (link.image_id, link.label_id, link.value) == (image.id, label.id, 2.5)
    assert list(TrainingImage.objects.get(id=image.id).labels.values_list("name", flat=True)) == ["cat"]
    assert Task.objects.get(id=task.id).labels.count() == 1
    moved = Collection.objects.get(id=collection.id)
    assert (moved.key, moved.task_id, moved.version, moved.dimension, moved.revision) == (
        "shop",
        similarity_task.id,
        1,
        2,
        7,
    )
    record = CollectionRecord.objects.get(collection=moved)
    assert (record.key, bytes(record.vector), record.fields, record.image) == (
        "a",
        b"\x00" * 8,
        {"price": 5},
        "collections/a.jpg",
    )
    job = Reembedding.objects.get(id=move.id)
    assert (job.state, job.error, job.done, job.worker) == ("failed", "lost", 1, "")
    tables = connection.introspection.table_names()
    assert {
        "recognition_imagelabel",
        "collections_collection",
        "collections_collectionrecord",
        "collections_reembedding",
    } <= set(tables)
    assert not {"images_imagelabel", "similarity_collection"} & set(tables)
