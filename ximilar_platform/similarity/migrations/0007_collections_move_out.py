"""Search collections move to the collections app: state only, their tables stay (collections 0001 takes them)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("similarity", "0006_collection_follow_production")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Reembedding"),
                migrations.DeleteModel(name="CollectionRecord"),
                migrations.DeleteModel(name="Collection"),
            ],
            database_operations=[],
        )
    ]
