"""ImageLabel moves to the recognition app (images depends on nothing above it): state only, the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("images", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="trainingimage", name="labels"),
                migrations.DeleteModel(name="ImageLabel"),
            ],
            database_operations=[],
        )
    ]
