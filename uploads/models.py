"""Where Django looks for an app's models: they live in ``uploads.core.models``. Without this
module the app has no ``models_module``, and Django then creates no permissions for its models
(so no staff member but a superuser could be allowed to see uploads in the admin)."""

from uploads.core.models import Upload, UploadAnalytics, UploadPart

__all__ = ["Upload", "UploadAnalytics", "UploadPart"]
