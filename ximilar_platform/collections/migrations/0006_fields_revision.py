"""A counter of field updates, so the faiss backend's field index follows updates that leave the vectors as they are."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("collections", "0005_pgvector_revision")]

    operations = [
        migrations.AddField(
            model_name="collection",
            name="fields_revision",
            field=models.PositiveBigIntegerField(
                default=0, help_text="Grows with every update of its records' fields (their vectors stay)."
            ),
        )
    ]
