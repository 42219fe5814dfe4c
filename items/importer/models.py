"""What the importer remembers between runs: how far each stream has come, and which source
file became which Upload."""

from django.db import models


class ImportMark(models.Model):
    """The last source id brought in for a stream read in id order (the download rows)."""

    name = models.CharField(max_length=50, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.name} up to {self.last_id}"


class ImportedFile(models.Model):
    """A source row's stored file and the Upload it became. A new name on the live site (the
    file replaced) is a new file; the old Upload stays where it is."""

    VERSION, SCREENSHOT = "version", "screenshot"

    kind = models.CharField(max_length=20, choices=[(VERSION, VERSION), (SCREENSHOT, SCREENSHOT)])
    source_id = models.BigIntegerField()
    source_name = models.CharField(max_length=1024)
    upload = models.OneToOneField(
        "uploads.Upload", on_delete=models.CASCADE, related_name="imported_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "source_id", "source_name"], name="one_upload_per_source_file"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.source_id}: {self.source_name}"
