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


class ImportedRow(models.Model):
    """What the live site held, the last time the importer looked, in one row of a small table:
    a digest per column of the value the importer wrote or would write. Against it a run tells
    which side changed a column since: S7 (a login, an admin's edit: kept) or the live site
    (brought in). A row the ledger knows that S7 no longer holds was deleted on S7."""

    table = models.CharField(max_length=40)
    row_id = models.BigIntegerField()
    digests = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["table", "row_id"], name="one_ledger_row_per_row")
        ]

    def __str__(self):
        return f"{self.table} {self.row_id}"


class SwitchOver(models.Model):
    """The run that made S7 the site of record; after it, runs are refused unless told."""

    marked_at = models.DateTimeField(auto_now_add=True)
    live_downloads_up_to = models.BigIntegerField()

    def __str__(self):
        return f"switched over at {self.marked_at:%Y-%m-%d %H:%M} UTC"
