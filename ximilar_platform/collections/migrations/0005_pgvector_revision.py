"""The revision a collection's pgvector table holds. Existing collections get 0: those with records
(revision 1 or more) are then stale, so the pgvector backend copies their vectors on first use."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("collections", "0004_job_retries")]

    operations = [
        migrations.AddField(
            model_name="collection",
            name="pgvector_revision",
            field=models.PositiveBigIntegerField(
                default=0, help_text="The revision whose vectors its pgvector table holds (SEARCH_BACKEND=pgvector)."
            ),
        )
    ]
