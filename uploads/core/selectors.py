from uploads.core.models import Upload


def uploads_for_user(user, **filters):
    """The user's own uploads; every API lookup goes through here, so a stranger finds nothing."""
    return Upload.objects.filter(owner=user, **filters)
