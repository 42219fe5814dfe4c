"""How S3 serves an object for download: as an attachment under the uploader's file name."""

from urllib.parse import quote


def attachment_disposition(filename: str) -> str:
    """``attachment`` with the filename, RFC 6266/5987 style for non-ASCII names."""
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "")
    ascii_name = "".join(ch for ch in ascii_name if 32 <= ord(ch) < 127) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
