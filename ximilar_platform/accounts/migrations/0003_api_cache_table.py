"""The database table of the shared cache (rate-limit counters) used when no Redis is configured.

Made here, by ``migrate``, because ``make run`` and the images only migrate; made whatever the
cache setting is now, so an install that later drops Redis still finds it.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "api_cache"


def create_table(apps, schema_editor) -> None:
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor) -> None:
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_token_expiry_daily_usage")]

    operations = [migrations.RunPython(create_table, drop_table)]
