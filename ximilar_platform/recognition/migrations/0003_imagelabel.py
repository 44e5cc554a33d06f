"""ImageLabel, moved here from the images app: the existing table is taken over, then renamed."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("images", "0002_labels_move_to_recognition"), ("recognition", "0002_task_arch")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ImageLabel",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("value", models.FloatField(blank=True, null=True)),
                        (
                            "image",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="image_labels",
                                to="images.trainingimage",
                            ),
                        ),
                        (
                            "label",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="image_labels",
                                to="recognition.label",
                            ),
                        ),
                    ],
                    options={"db_table": "images_imagelabel"},
                ),
                migrations.AddConstraint(
                    model_name="imagelabel",
                    constraint=models.UniqueConstraint(fields=("image", "label"), name="unique_label_per_image"),
                ),
                migrations.AddField(
                    model_name="label",
                    name="images",
                    field=models.ManyToManyField(
                        blank=True, related_name="labels", through="recognition.ImageLabel", to="images.trainingimage"
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="imagelabel", table=None),
    ]
