"""Accent-insensitive full-text search on Postgres: the unaccent extension and a text search
configuration (English stemming over unaccented words) that ``items.selectors`` searches with.
Nothing happens on other databases, which search with a simpler fallback."""

from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations

CONFIG = "s7_unaccent"


def create_config(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
    schema_editor.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = english)")
    schema_editor.execute(
        f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} "
        "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem"
    )


def drop_config(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")


class Migration(migrations.Migration):
    dependencies = [("items", "0004_download_days")]

    operations = [
        UnaccentExtension(),
        migrations.RunPython(create_config, drop_config),
    ]
