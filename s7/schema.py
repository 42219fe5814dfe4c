"""What the OpenAPI schema says beyond each view's own serializers: the error answers every API
operation can give, with their bodies, so that a client (and Schemathesis) finds each status it
may meet documented."""

ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "An error: `detail` says what went wrong in a sentence; a request that broke field rules "
        'gets a list of sentences per field instead (`{"size": ["…"]}`), and the upload API '
        "adds facts such as `field`, `state`, `max_size` or the numbers of `missing_parts`."
    ),
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}

WHY = {
    "400": "The request broke a rule (a field, a filter, the purpose's limits), or asked a "
    "list for a `page` number (lists are paged by `cursor`).",
    "401": "No credentials, or a token that is not valid.",
    "403": "Signed in by session without a CSRF token, or not allowed.",
    "404": "No such object among those the caller may see (another user's upload is 404), "
    "a cursor that is not one this list gave, or no such path under /api/.",
    "409": "The upload is not in a state that allows this (`state` says which), or parts are "
    "missing or not what was signed (their numbers are listed).",
    "413": "The file is larger than its purpose allows (`max_size`), or the request body is "
    "larger than the API accepts.",
    "415": "The body is not JSON (or a form).",
    "429": "Too many requests, or too many unfinished uploads; `Retry-After` says when to retry.",
    "500": "Something went wrong on our side (it is recorded); the body is JSON like every "
    "error's.",
    "503": "The database or S3 cannot be reached right now; nothing was changed. Retry later.",
}

EVERY_ANSWER_IS_JSON = (
    "\n\nEvery answer under `/api/` is JSON (`/api/docs/`, the page that shows this schema, "
    "aside), errors included: a path this schema does not list, such as an id of the wrong "
    'form (`/api/items/0.5/`), answers 404 `{"detail": "Not found."}`; a method an operation '
    "does not list answers 405 with `Allow`; an error on our side answers 500."
)

_UPLOAD_STATE_CHANGES = ("/parts/", "/complete/")


def statuses_for(path: str, method: str, operation: dict) -> list[str]:
    has_body = "requestBody" in operation
    parameters = operation.get("parameters", [])
    has_path_ids = any(p.get("in") == "path" for p in parameters)
    has_query = any(p.get("in") == "query" and p["name"] != "cursor" for p in parameters)
    paged = any(p.get("in") == "query" and p["name"] == "cursor" for p in parameters)
    statuses = ["401", "429", "500", "503"]
    if has_body or has_query or paged:
        statuses.append("400")
    if path.startswith("/api/uploads/"):
        statuses.append("403")
    if has_path_ids or paged:
        statuses.append("404")
    if has_body:
        statuses += ["413", "415"]
    if path.startswith("/api/uploads/") and (
        path.endswith(_UPLOAD_STATE_CHANGES) or method == "delete"
    ):
        statuses.append("409")
    if path == "/api/uploads/" and method == "post":
        statuses.append("413")
    return sorted(set(statuses))


def document_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation lists its error statuses."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    info = result.setdefault("info", {})
    info["description"] = info.get("description", "") + EVERY_ANSWER_IS_JSON
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in statuses_for(path, method, operation):
                responses.setdefault(
                    status,
                    {
                        "description": WHY[status],
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return result
