"""The renditions step: JPEGs of an image upload, fitted to the sizes its purpose names.

The original is read into memory whole: an image purpose caps its size (a few MiB), and the
decoders need to seek. It is decoded in a child process of its own, under an address-space limit
(``image_child``). The same image always gives the same bytes, so a second run rewrites
the same keys with the same content.
"""

from __future__ import annotations

import logging

from uploads.conf import settings
from uploads.core.errors import ProcessingError
from uploads.core.models import Upload
from uploads.core.purposes import Purpose
from uploads.storage import objects
from uploads.worker.image_child import make_renditions_in_child
from uploads.worker.image_limits import ImageLimits, ImageRejected

logger = logging.getLogger("uploads")


def image_limits() -> ImageLimits:
    return ImageLimits(
        max_pixels=settings.UPLOADS_IMAGE_MAX_PIXELS,
        max_pixels_decoded_whole=settings.UPLOADS_IMAGE_MAX_PIXELS_DECODED_WHOLE,
        memory_budget=settings.UPLOADS_IMAGE_MEMORY_BUDGET,
    )


def write_renditions(upload: Upload, policy: Purpose) -> dict:
    """Make and store the purpose's renditions; what goes into ``Upload.result``."""
    if upload.size > policy.max_size:
        raise ProcessingError(f"These files may be at most {policy.max_size:,} bytes.")
    data = objects.read_range(upload.key, 0, upload.size - 1)
    try:
        made = make_renditions_in_child(
            data,
            policy.renditions,
            image_limits(),
            address_space=settings.UPLOADS_IMAGE_ADDRESS_SPACE,
        )
    except ImageRejected as exc:
        raise ProcessingError(str(exc)) from exc
    del data
    renditions = {}
    for rendition in made.renditions:
        key = upload.rendition_key(rendition.name)
        objects.put_object(key=key, body=rendition.data, content_type=rendition.content_type)
        logger.info(
            "upload_rendition_written",
            extra={
                "event": "upload_rendition_written",
                "upload": str(upload.pk),
                "rendition": rendition.name,
                "key": key,
                "bytes": len(rendition.data),
            },
        )
        renditions[rendition.name] = {
            "key": key,
            "width": rendition.width,
            "height": rendition.height,
            "bytes": len(rendition.data),
        }
    return {
        "renditions": renditions,
        "width": made.width,
        "height": made.height,
        "format": made.format,
    }
