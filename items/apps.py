from django.apps import AppConfig


class ItemsConfig(AppConfig):
    name = "items"
    verbose_name = "Simplici7y"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from items import (
            checks,  # noqa: F401  (registers the system checks)
            logins,  # noqa: F401  (counts failed password checks)
            purposes,  # noqa: F401  (registers S7's upload purposes)
            receivers,  # noqa: F401  (deletes the files the site lets go of)
        )
        from items.reports import downloads_section
        from uploads.reports.analytics import add_section

        add_section(downloads_section)
