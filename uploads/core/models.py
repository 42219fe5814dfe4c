"""The Upload and its state machine: every change of state is one guarded UPDATE here."""

import logging
import posixpath
import uuid

from django.conf import settings
from django.db import connections, models, router
from django.utils import timezone

from uploads.core import progress, purposes
from uploads.core.plan import PartPlan
from uploads.core.progress import UploadStage
from uploads.core.signals import upload_state_changed
from uploads.storage import multipart, presign
from uploads.storage.connection import S3Error
from uploads.storage.objects import delete_object

logger = logging.getLogger("uploads")

# Renditions live in a folder beside the original: a user's file can never be named like them,
# since a safe filename has no slash.
RENDITIONS_FOLDER = "renditions"


class UploadState(models.TextChoices):
    UPLOADING = "uploading"
    COMPLETING = "completing"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    ABORTED = "aborted"
    EXPIRED = "expired"


FINAL_STATES = (UploadState.READY, UploadState.FAILED, UploadState.ABORTED, UploadState.EXPIRED)
OPEN_STATES = (UploadState.UPLOADING, UploadState.COMPLETING, UploadState.PROCESSING)

# The column that records when an upload entered each state.
STATE_TIME_FIELD = {
    UploadState.UPLOADING: "created_at",
    UploadState.COMPLETING: "completing_at",
    UploadState.PROCESSING: "processing_at",
    UploadState.READY: "ready_at",
    UploadState.FAILED: "failed_at",
    UploadState.ABORTED: "aborted_at",
    UploadState.EXPIRED: "expired_at",
}


class UploadQuerySet(models.QuerySet):
    def unattached(self):
        """Uploads that no row outside the engine points to.

        An upload is attached when any model of another app has a foreign key or one-to-one
        field to it (the site's version file or screenshot image): the engine asks the
        relations themselves, so it never needs to know who uses it.
        """
        queryset = self
        for relation in self.model._meta.related_objects:
            if relation.related_model._meta.app_label == self.model._meta.app_label:
                continue  # the engine's own records of an upload (its parts)
            queryset = queryset.filter(**{f"{relation.name}__isnull": True})
        return queryset


class Upload(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    purpose = models.CharField(max_length=50)
    filename = models.CharField(max_length=255)
    key = models.CharField(max_length=1024, unique=True)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=255)
    part_size = models.BigIntegerField()
    part_count = models.PositiveIntegerField()
    s3_upload_id = models.CharField(max_length=1024, blank=True)

    state = models.CharField(
        max_length=20, choices=UploadState.choices, default=UploadState.UPLOADING
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completing_at = models.DateTimeField(null=True, blank=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    aborted_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    error = models.TextField(blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    result = models.JSONField(default=dict, blank=True)

    # What the uploader or client says it went through: part transfers it sent again (network
    # errors, 5xx, expired URLs; the largest running total it reported) and whether it carried
    # on an upload that an earlier run had left unfinished.
    parts_retried = models.PositiveIntegerField(default=0)
    resumed = models.BooleanField(default=False)
    objects = UploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "expires_at"]),
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["state", "processing_at"]),
            # The analytics' windows: uploads started between two times, of one purpose or all.
            models.Index(fields=["created_at"]),
            models.Index(fields=["purpose", "created_at"]),
        ]

    def __str__(self):
        return f"{self.filename} ({self.state})"

    @property
    def plan(self) -> PartPlan:
        return PartPlan(size=self.size, part_size=self.part_size, part_count=self.part_count)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def sha256_pending(self) -> bool:
        """True while the whole file's SHA-256 is still to come: the worker computes it after
        the upload is ready (``uploads.worker.checksum``)."""
        return not self.sha256 and self.state in (*OPEN_STATES, UploadState.READY)

    # --- State changes -------------------------------------------------------------------

    def transition(self, *, source, target, **fields) -> bool:
        """Move from ``source`` (a state or tuple of states) to ``target``.

        One conditional UPDATE: True when this caller made the change, False when the upload
        was not in ``source`` any more. On success this instance holds the new values.
        """
        sources = (source,) if isinstance(source, str) else tuple(source)
        values = {"state": target, STATE_TIME_FIELD[target]: timezone.now(), **fields}
        won = Upload.objects.filter(pk=self.pk, state__in=sources).update(**values) == 1
        if won:
            previous = self.state
            for name, value in values.items():
                setattr(self, name, value)
            upload_state_changed.send(sender=Upload, upload=self, source=previous, target=target)
        return won

    def fail(self, reason: str, **fields) -> bool:
        """End an open upload as failed and delete what S3 holds for it.

        Only the caller whose transition wins deletes anything: a late or duplicate failure
        (a redelivered task, a sweep) finds the upload already ended and leaves it alone, so a
        ready upload's file is never deleted by one. Otherwise this instance is refreshed.
        """
        if not self.transition(
            source=OPEN_STATES, target=UploadState.FAILED, error=reason, **fields
        ):
            self.refresh_from_db()
            return False
        progress.set_stage(self.pk, UploadStage.FAILED)
        self.delete_stored_objects()
        return True

    def abort_multipart_upload(self) -> None:
        """Tell S3 to drop the parts of an upload that will never complete."""
        try:
            multipart.abort_multipart_upload(key=self.key, upload_id=self.s3_upload_id)
        except S3Error:
            # The orphan sweep aborts multipart uploads whose row is no longer open; the
            # bucket's lifecycle rule is the last backstop.
            logger.exception("could not abort %s on S3; the sweep will retry", self.pk)

    def delete_stored_objects(self) -> bool:
        """Delete the object and every rendition its purpose may have written (absent keys are
        fine); False when S3 refused one, which the storage sweep then tries again."""
        deleted = True
        for key in [self.key, *self.rendition_keys()]:
            try:
                delete_object(key)
            except S3Error:
                logger.exception("could not delete %s of upload %s", key, self.pk)
                deleted = False
        return deleted

    # --- What the stored object is reached by ----------------------------------------------

    def rendition_key(self, name: str) -> str:
        return f"{posixpath.dirname(self.key)}/{RENDITIONS_FOLDER}/{name}.jpg"

    def rendition_keys(self) -> list[str]:
        try:
            policy = purposes.get(self.purpose)
        except purposes.PurposeError:
            return []
        return [self.rendition_key(size.name) for size in policy.renditions]

    def rendition(self, name: str) -> dict | None:
        """``{"key", "width", "height", "bytes"}`` once the worker has made it, else None."""
        if self.state != UploadState.READY:
            return None
        found = (self.result or {}).get("renditions", {}).get(name)
        return found if found and found.get("key") else None

    def rendition_url(self, name: str) -> str | None:
        """A short-lived URL to show the rendition in a page; None until it exists."""
        found = self.rendition(name)
        return presign.presigned_inline_get(found["key"]) if found else None

    def download_url(self) -> str:
        """A short-lived URL that downloads the object as an attachment under its filename."""
        return presign.presigned_get(key=self.key, filename=self.filename)


class UploadAnalytics(Upload):
    """No data of its own: the admin's entry for the analytics page (charts of the uploads),
    so the page is listed on the admin index and has its own view permission."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "upload analytics"


class UploadPartQuerySet(models.QuerySet):
    def pin(self, upload: Upload, checksums: list[tuple[int, str, str]], signed_at) -> None:
        """Record the checksums ``(part_number, checksum_sha256, content_md5)`` that parts of
        ``upload`` are being signed with, replacing any signed before.

        One statement and no transaction around it: ``bulk_create(update_conflicts=True)``
        wraps its statement in BEGIN and COMMIT, two more round trips on the API's busiest
        request.
        """
        model = self.model
        connection = connections[router.db_for_write(model)]
        upload_id = model._meta.get_field("upload").get_db_prep_value(upload.pk, connection)
        signed_at = connection.ops.adapt_datetimefield_value(signed_at)
        rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(checksums))
        params = [
            value
            for number, sha256, md5 in checksums
            for value in (upload_id, number, sha256, md5, signed_at)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {model._meta.db_table} "
                "(upload_id, part_number, checksum_sha256, content_md5, signed_at) "
                f"VALUES {rows} ON CONFLICT (upload_id, part_number) DO UPDATE SET "
                "checksum_sha256 = excluded.checksum_sha256, "
                "content_md5 = excluded.content_md5, signed_at = excluded.signed_at",
                params,
            )


class UploadPart(models.Model):
    """The checksums a part was last signed with.

    S3's ListParts (SeaweedFS's at least) does not return part checksums, yet
    CompleteMultipartUpload must list them; and a resumed upload needs to prove that a part S3
    already holds is the same content. ``content_md5`` is S3's part ETag for that content.
    """

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="parts")
    part_number = models.PositiveIntegerField()
    checksum_sha256 = models.CharField(max_length=44)
    content_md5 = models.CharField(max_length=24, blank=True)
    signed_at = models.DateTimeField(default=timezone.now)

    objects = UploadPartQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "part_number"], name="one_record_per_part")
        ]

    def __str__(self):
        return f"part {self.part_number} of {self.upload_id}"
