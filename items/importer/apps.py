from django.apps import AppConfig


class ImporterConfig(AppConfig):
    name = "items.importer"
    label = "simplici7y_import"
    verbose_name = "Import from the live Simplici7y"
    default_auto_field = "django.db.models.BigAutoField"
