import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from uploads._plan import PartPlan


class UploadState(models.TextChoices):
    UPLOADING = "uploading"
    COMPLETING = "completing"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    ABORTED = "aborted"
    EXPIRED = "expired"


FINAL_STATES = (UploadState.READY, UploadState.FAILED, UploadState.ABORTED, UploadState.EXPIRED)

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

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "expires_at"]),
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["state", "processing_at"]),
        ]

    def __str__(self):
        return f"{self.filename} ({self.state})"

    @property
    def plan(self) -> PartPlan:
        return PartPlan(size=self.size, part_size=self.part_size, part_count=self.part_count)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "part_number"], name="one_record_per_part")
        ]

    def __str__(self):
        return f"part {self.part_number} of {self.upload_id}"
