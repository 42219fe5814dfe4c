"""The S7 upload client: sends a file through the S7 API as the browser does.

    python -m uploads.client upload FILE --purpose version_file --url URL --token TOKEN

or, from Python::

    from uploads.client import S7Client
    S7Client(url, token).upload(path, purpose="version_file")

Needs only ``requests`` and ``tqdm``: it imports nothing of Django or of the rest of the engine,
so this folder can be published and run on any machine with Python.
"""

from uploads.client.errors import ApiError, PartError, S7ClientError
from uploads.client.flow import S7Client, UploadResult

__all__ = ["S7Client", "UploadResult", "S7ClientError", "ApiError", "PartError"]
