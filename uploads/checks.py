from django.core.checks import Warning, register

from uploads.conf import settings


@register()
def bucket_is_configured(app_configs, **kwargs):
    problems = []
    for name in ("AWS_STORAGE_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        if not getattr(settings, name):
            problems.append(
                Warning(
                    f"{name} is not set: uploads cannot reach S3.",
                    hint="Set it in the environment, then run `python manage.py s3_doctor`.",
                    id="uploads.W001",
                )
            )
    if not settings.UPLOADS_CORS_ORIGINS:
        problems.append(
            Warning(
                "UPLOADS_CORS_ORIGINS (or SITE_URL) is empty: browsers cannot PUT parts to S3.",
                hint="Set SITE_URL to the site's https origin.",
                id="uploads.W002",
            )
        )
    return problems
