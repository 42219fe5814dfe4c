from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = "Uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from uploads import checks  # noqa: F401  (registers the system checks)
        from uploads.core import receivers  # noqa: F401  (logs every transition)
