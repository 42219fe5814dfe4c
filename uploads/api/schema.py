"""What the upload API's OpenAPI schema must say that drf-spectacular leaves out: the length
limits of its lists (a ListSerializer's ``min_length``/``max_length`` are not emitted) and the
links from a created upload to the operations on it.

Add ``"uploads.api.schema.state_list_lengths"`` and ``"uploads.api.schema.link_new_uploads"``
to SPECTACULAR_SETTINGS' POSTPROCESSING_HOOKS.
"""

from uploads.api.services import MAX_PARTS_PER_SIGNING
from uploads.core.plan import MAX_PARTS

LIST_LENGTHS = {
    ("SignInput", "parts"): (1, MAX_PARTS_PER_SIGNING),
    ("CompleteInput", "parts"): (0, MAX_PARTS),
}


def state_list_lengths(result, generator, request, public):
    schemas = result.get("components", {}).get("schemas", {})
    for (component, field), (least, most) in LIST_LENGTHS.items():
        prop = schemas.get(component, {}).get("properties", {}).get(field)
        if prop is not None:
            prop["minItems"], prop["maxItems"] = least, most
    return result


def link_new_uploads(result, generator, request, public):
    """OpenAPI links from a created upload to every operation on it, so that a client (and a
    stateful test) can follow ``id`` from ``POST /api/uploads/`` to them."""
    paths = result.get("paths", {})
    created = paths.get("/api/uploads/", {}).get("post", {}).get("responses", {}).get("201")
    if created is None:
        return result
    links = {}
    for path, operations in paths.items():
        if not path.startswith("/api/uploads/{id}/"):
            continue
        for operation in operations.values():
            if "operationId" in operation:
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {"id": "$response.body#/id"},
                }
    created["links"] = links
    return result
