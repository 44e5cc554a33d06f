"""Search collections, moved here from the similarity app: the existing tables are taken over, then renamed."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("accounts", "0001_initial"), ("similarity", "0007_collections_move_out")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Collection",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        ("key", models.CharField(help_text="The collection-id header value.", max_length=255)),
                        ("name", models.CharField(blank=True, default="", max_length=255)),
                        (
                            "version",
                            models.PositiveIntegerField(
                                blank=True, help_text="The embedder version its vectors are from.", null=True
                            ),
                        ),
                        (
                            "dimension",
                            models.PositiveIntegerField(blank=True, help_text="Fixed by the first record.", null=True),
                        ),
                        (
                            "task",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="collections",
                                to="similarity.similaritytask",
                            ),
                        ),
                        (
                            "workspace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.workspace"
                            ),
                        ),
                        (
                            "revision",
                            models.PositiveBigIntegerField(
                                default=0, help_text="Grows with every change of its records."
                            ),
                        ),
                        (
                            "follow_production",
                            models.BooleanField(
                                default=True,
                                help_text="Move to every version the task deploys (else stay on `version`).",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "similarity_collection",
                        "ordering": ["created", "id"],
                        "indexes": [],
                        "constraints": [
                            models.UniqueConstraint(fields=("workspace", "key"), name="unique_collection_key")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="CollectionRecord",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("key", models.CharField(max_length=255)),
                        ("vector", models.BinaryField()),
                        ("fields", models.JSONField(blank=True, default=dict)),
                        ("updated", models.DateTimeField(auto_now=True)),
                        (
                            "collection",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="records",
                                to="collections.collection",
                            ),
                        ),
                        (
                            "image",
                            models.CharField(
                                blank=True,
                                default="",
                                help_text="A copy of the inserted image, to embed again; empty for a _descriptor.",
                                max_length=500,
                            ),
                        ),
                        (
                            "pending_vector",
                            models.BinaryField(
                                blank=True, help_text="Its vector by the embedder a re-embedding moves to.", null=True
                            ),
                        ),
                    ],
                    options={
                        "db_table": "similarity_collectionrecord",
                        "indexes": [],
                        "constraints": [
                            models.UniqueConstraint(fields=("collection", "key"), name="unique_record_key")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Reembedding",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        (
                            "version",
                            models.PositiveIntegerField(
                                blank=True, help_text="Target version; null: the generic descriptor.", null=True
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("running", "Running"),
                                    ("succeeded", "Succeeded"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("done", models.PositiveIntegerField(default=0)),
                        ("total", models.PositiveIntegerField(default=0)),
                        ("error", models.TextField(blank=True, default="")),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        ("started", models.DateTimeField(blank=True, null=True)),
                        ("heartbeat", models.DateTimeField(blank=True, null=True)),
                        ("finished", models.DateTimeField(blank=True, null=True)),
                        (
                            "collection",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="reembeddings",
                                to="collections.collection",
                            ),
                        ),
                        (
                            "task",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="similarity.similaritytask",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "similarity_reembedding",
                        "ordering": ["created"],
                        "indexes": [],
                        "constraints": [],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="collection", table=None),
        migrations.AlterModelTable(name="collectionrecord", table=None),
        migrations.AlterModelTable(name="reembedding", table=None),
    ]
