"""What the engine's services raise. Each error knows the HTTP status the API answers with, so
that services stay free of HTTP and views stay free of rules."""


class UploadError(Exception):
    status = 400

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def as_dict(self) -> dict:
        return {"detail": self.detail, **self.extra}


class InvalidUpload(UploadError):
    status = 400


class TooLarge(UploadError):
    status = 413


class OverQuota(UploadError):
    """The user's stored and unfinished uploads together would pass their quota."""

    status = 413


class WrongState(UploadError):
    status = 409


class PartsNotReady(UploadError):
    """Completion found parts missing, of the wrong size, or not the signed content."""

    status = 409


class TooManyOpenUploads(UploadError):
    status = 429


class StorageUnavailable(UploadError):
    """S3 failed in a way that retrying may fix; nothing was changed."""

    status = 503


class ProcessingError(Exception):
    """The worker found the object not acceptable for its purpose; the message is shown to the
    uploader. Raised by a purpose's ``process`` hook too."""
