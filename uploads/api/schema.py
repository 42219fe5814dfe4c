"""What the upload API's OpenAPI schema must say that drf-spectacular leaves out: the length
limits of its lists (a ListSerializer's ``min_length``/``max_length`` are not emitted).

Add ``"uploads.api.schema.state_list_lengths"`` to SPECTACULAR_SETTINGS' POSTPROCESSING_HOOKS.
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
