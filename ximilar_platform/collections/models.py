"""Search collections (contract §4): records with vectors, and the jobs that move them to another embedder."""

from __future__ import annotations

from django.db import models

from ximilar_platform.core.jobs import Job
from ximilar_platform.core.models import UUIDModel, WorkspaceOwned
from ximilar_platform.similarity.models import SimilarityTask


class Collection(WorkspaceOwned):
    """A search collection, named by the ``collection-id`` header (contract §4).

    Vectors come from one version of the bound similarity task (its production version at the
    first record, and each one it deploys later while ``follow_production``), or, with no task,
    from the generic pretrained descriptor (`inference.descriptors`).
    """

    key = models.CharField(max_length=255, help_text="The collection-id header value.")
    name = models.CharField(max_length=255, blank=True, default="")
    task = models.ForeignKey(
        SimilarityTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="collections"
    )
    version = models.PositiveIntegerField(null=True, blank=True, help_text="The embedder version its vectors are from.")
    follow_production = models.BooleanField(
        default=True, help_text="Move to every version the task deploys (else stay on `version`)."
    )
    dimension = models.PositiveIntegerField(null=True, blank=True, help_text="Fixed by the first record.")
    revision = models.PositiveBigIntegerField(default=0, help_text="Grows with every change of its records.")
    fields_revision = models.PositiveBigIntegerField(
        default=0, help_text="Grows with every update of its records' fields (their vectors stay)."
    )
    pgvector_revision = models.PositiveBigIntegerField(
        default=0, help_text="The revision whose vectors its pgvector table holds (SEARCH_BACKEND=pgvector)."
    )

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="unique_collection_key")]

    def __str__(self) -> str:
        return self.name or self.key


class CollectionRecord(models.Model):
    """One searchable record: its ``_id``, its L2-normalised float32 vector, and its other fields."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="records")
    key = models.CharField(max_length=255)
    vector = models.BinaryField()
    fields = models.JSONField(default=dict, blank=True)
    image = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text="A copy of the inserted image, to embed again; empty for a _descriptor.",
    )
    pending_vector = models.BinaryField(
        null=True, blank=True, help_text="Its vector by the embedder a re-embedding moves to."
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        # no default ordering: lookups by key must use the unique index, not walk the primary key
        constraints = [models.UniqueConstraint(fields=["collection", "key"], name="unique_record_key")]

    def __str__(self) -> str:
        return self.key


class Reembedding(UUIDModel, Job):
    """Moving a collection to another embedder: a worker embeds its records' kept images again.

    The collection keeps answering with its current vectors until every record has one from the
    target embedder; then all of them switch in one transaction.
    """

    runner = "reembedding"
    noun = "re-embedding"
    lost_worker = "The worker stopped responding; the collection kept its vectors. Start the move again."

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="reembeddings")
    task = models.ForeignKey(SimilarityTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(
        null=True, blank=True, help_text="Target version; null: the generic descriptor."
    )
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.collection} -> {self.version or 'generic'} ({self.state})"

    def discard_partial_work(self) -> None:
        """A failed move leaves the collection as it was: the target vectors written so far go."""
        CollectionRecord.objects.filter(collection_id=self.collection_id, pending_vector__isnull=False).update(
            pending_vector=None
        )
