"""A file the site lets go of is deleted: the Upload row of a version's file or a screenshot's
image goes when the version or screenshot is deleted (by a page, the admin, or the deletion of
its item or owner) or when another file replaces it. The engine then deletes the stored object
and its renditions once the transaction commits (``uploads.core.receivers``)."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from items.models import Screenshot, Version
from uploads.core.models import Upload

# The field through which each model holds its upload.
UPLOAD_FIELDS = {Version: "file", Screenshot: "upload"}


def _delete_uploads(*upload_ids) -> None:
    ids = [pk for pk in upload_ids if pk is not None]
    if ids:
        # One by one through the model, so that the engine hears of each deletion.
        for upload in Upload.objects.filter(pk__in=ids):
            upload.delete()


@receiver(pre_save, sender=Version, dispatch_uid="items.version_remember_file")
@receiver(pre_save, sender=Screenshot, dispatch_uid="items.screenshot_remember_upload")
def remember_previous_upload(sender, instance, raw=False, **kwargs):
    attname = f"{UPLOAD_FIELDS[sender]}_id"
    instance._previous_upload_id = (
        sender.objects.filter(pk=instance.pk).values_list(attname, flat=True).first()
        if instance.pk is not None and not raw
        else None
    )


@receiver(post_save, sender=Version, dispatch_uid="items.version_drop_replaced_file")
@receiver(post_save, sender=Screenshot, dispatch_uid="items.screenshot_drop_replaced_upload")
def delete_replaced_upload(sender, instance, raw=False, **kwargs):
    previous = getattr(instance, "_previous_upload_id", None)
    if (
        not raw
        and previous is not None
        and previous != getattr(instance, f"{UPLOAD_FIELDS[sender]}_id")
    ):
        _delete_uploads(previous)


@receiver(post_delete, sender=Version, dispatch_uid="items.version_drop_file")
@receiver(post_delete, sender=Screenshot, dispatch_uid="items.screenshot_drop_upload")
def delete_upload_of_deleted(sender, instance, **kwargs):
    _delete_uploads(getattr(instance, f"{UPLOAD_FIELDS[sender]}_id"))
