"""What the client raises: one base class a caller catches, and what it was that failed."""


class S7ClientError(Exception):
    """The upload could not be done; the message says why."""


class ApiError(S7ClientError):
    def __init__(self, method: str, path: str, status: int, body):
        self.status = status
        self.body = body
        detail = body.get("detail", body) if isinstance(body, dict) else body
        super().__init__(f"{method} {path} answered {status}: {detail}")


class PartError(S7ClientError):
    pass
