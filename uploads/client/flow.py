"""S7Client: one file through the S7 upload API, from creation to a final state.

The flow: find an open upload of this file to resume, or create one; transfer the parts
(``transfer.py``); ask the server to complete, sending again the parts it finds missing; then
follow the server's processing until the upload is ready or failed. The rules the server keeps
(final states, parts per signing call, when to report, poll and retry) are read from the server,
never copied here.
"""

from __future__ import annotations

import functools
import itertools
import mimetypes
import os
import sys
import time
from dataclasses import asdict, dataclass, field

from uploads.client.errors import ApiError
from uploads.client.parts import PartPlan, digest_of, is_proven, parse_time, read_part
from uploads.client.session import ApiSession
from uploads.client.transfer import Transfer


@dataclass
class UploadResult:
    id: str
    state: str
    filename: str
    size: int
    part_count: int
    resumed: bool
    parts_sent: list[int]
    parts_skipped: list[int]
    upload_seconds: float  # from the first API call to S3's completion of the object
    ready_seconds: float | None  # from completion to a final state; None when not waited for
    api_seconds: float  # sum of the durations of every API request (the web's share)
    api_requests: int
    sign_requests: int
    result: dict = field(default_factory=dict)
    error: str = ""
    parts_retried: int = 0  # part transfers sent again (network errors, 5xx, expired URLs)

    @property
    def ok(self) -> bool:
        return self.state == "ready"

    def as_dict(self) -> dict:
        return asdict(self)


class S7Client:
    """A client for one S7 server and one user's API token. Thread-safe for one upload at a time."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        workers: int = 8,
        hash_workers: int = 2,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 120,
        progress: bool | None = None,
        user_agent: str = "s7-client/1",
    ):
        self.workers = max(1, workers)
        self.hash_workers = max(1, hash_workers)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.http = ApiSession(
            url,
            token,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            progress=self.progress,
            user_agent=user_agent,
        )

    @functools.cached_property
    def rules(self) -> dict:
        """The server's rules: purposes and their limits, states and which are final, stage
        words, parts per signing call, the clients' timings (``GET /api/uploads/purposes/``),
        asked for once."""
        rules = self.http.api("GET", "/api/uploads/purposes/")
        self.http.outage_recheck_delays = rules["timings"]["outage_recheck_delays"]
        return rules

    @property
    def timings(self) -> dict:
        return self.rules["timings"]

    def purposes(self) -> list[dict]:
        return self.rules["purposes"]

    def is_final(self, state: str) -> bool:
        return state in self.rules["final_states"]

    def find_open_upload(self, path: str, *, filename: str, size: int, purpose: str) -> dict | None:
        """The newest upload of this very file still waiting for parts, with its held parts.

        The browser uploader chooses by the same rule. Same name and size prove nothing: a
        candidate is taken only when the first part it holds with a checksum is provably this
        file's (the resume proof), so another file of the same name and size starts afresh.
        One that expires within the margin is left alone.
        """
        found = self.http.api(
            "GET",
            "/api/uploads/",
            params={"state": "uploading", "filename": filename, "size": size, "purpose": purpose},
        )
        for candidate in found or []:
            if parse_time(candidate["expires_at"]) <= time.time() + self.timings["expiry_margin"]:
                continue
            detail = self.http.api("GET", f"/api/uploads/{candidate['id']}/")
            first = next((p for p in detail["uploaded_parts"] if p.get("checksum_sha256")), None)
            if first is None or detail["state"] != "uploading":
                continue
            plan = PartPlan(size, detail["part_size"], detail["part_count"])
            n = first["part_number"]
            if n > plan.part_count:
                continue
            digest = digest_of(read_part(path, plan, n), md5=not first.get("verified"))
            if is_proven(first, digest, plan.length(n)):
                return detail
        return None

    def upload(
        self,
        path: str | os.PathLike,
        *,
        purpose: str,
        filename: str | None = None,
        content_type: str | None = None,
        resume: bool = True,
        wait: bool = True,
        wait_timeout: float = 600,
        on_part_sent=None,
    ) -> UploadResult:
        """Upload ``path``; wait for the server's processing unless ``wait`` is false.

        ``on_part_sent(part_number)`` is called after each part S3 accepted (from a worker
        thread); an exception it raises stops the upload as an interruption would.
        """
        path = os.fspath(path)
        size = os.path.getsize(path)
        filename = filename or os.path.basename(path)
        content_type = (
            content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        )
        self.http.reset_counts()
        started = time.perf_counter()
        # The rules first: they say, among the rest, how to wait out an outage of the connection.
        max_batch = self.rules["max_parts_per_signing"]

        upload = (
            self.find_open_upload(path, filename=filename, size=size, purpose=purpose)
            if resume
            else None
        )
        resumed = upload is not None
        if upload is None:
            upload = self.http.api(
                "POST",
                "/api/uploads/",
                json_body={
                    "filename": filename,
                    "size": size,
                    "content_type": content_type,
                    "purpose": purpose,
                },
                ok=(201,),
            )
        plan = PartPlan(size, upload["part_size"], upload["part_count"])
        held = {part["part_number"]: part for part in upload.get("uploaded_parts", [])}

        transfer = Transfer(
            self.http, upload["id"], path, plan, held, on_part_sent,
            max_batch=max_batch, workers=self.workers,
            hash_workers=self.hash_workers, progress=self.progress, timings=self.timings,
            resumed=resumed,
        )  # fmt: skip
        try:
            transfer.run()
            final = self._complete(transfer)
        except ApiError as exc:
            if not (resumed and exc.status == 409):
                raise
            # The parts S3 holds for the resumed upload cannot be reconciled with the file (some
            # S3 servers keep a replaced part beside its new copy): start afresh rather than fail.
            self.abort(upload["id"])
            return self.upload(
                path, purpose=purpose, filename=filename, content_type=content_type,
                resume=False, wait=wait, wait_timeout=wait_timeout, on_part_sent=on_part_sent,
            )  # fmt: skip
        finally:
            transfer.close()
        uploaded_at = time.perf_counter()

        ready_seconds = None
        if wait and not self.is_final(final["state"]):
            final = self.wait_until_final(upload["id"], timeout=wait_timeout)
        if wait:
            ready_seconds = time.perf_counter() - uploaded_at
        return UploadResult(
            id=upload["id"],
            state=final["state"],
            filename=filename,
            size=size,
            part_count=plan.part_count,
            resumed=resumed,
            parts_sent=sorted(transfer.sent),
            parts_skipped=sorted(transfer.skipped),
            upload_seconds=uploaded_at - started,
            ready_seconds=ready_seconds,
            api_seconds=self.http.api_seconds,
            api_requests=self.http.api_requests,
            sign_requests=self.http.sign_requests,
            result=final.get("result") or {},
            error=final.get("error") or "",
            parts_retried=transfer.parts_retried,
        )

    def _complete(self, transfer: Transfer) -> dict:
        """Ask the server to complete; parts it finds missing or wrong are sent again (once)."""
        path = f"/api/uploads/{transfer.upload_id}/complete/"
        for attempt in range(3):
            try:
                # What this run went through, for the site's analytics.
                counters = {"parts_retried": transfer.parts_retried, "resumed": transfer.resumed}
                return self.http.api("POST", path, json_body=counters, ok=(200, 202))
            except ApiError as exc:
                body = exc.body if isinstance(exc.body, dict) else {}
                again = sorted(
                    set(body.get("missing_parts", []))
                    | set(body.get("wrong_size_parts", []))
                    | set(body.get("mismatched_parts", []))
                )
                if exc.status != 409 or attempt == 2 or not again:
                    raise
                transfer.resend(again)
        raise AssertionError("unreachable")

    def wait_until_final(self, upload_id: str, *, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        delays = self.timings["status_poll_delays"]
        for poll in itertools.count():
            time.sleep(delays[min(poll, len(delays) - 1)])
            record = self.http.api("GET", f"/api/uploads/{upload_id}/progress/")
            if self.is_final(record["state"]):
                return self.http.api("GET", f"/api/uploads/{upload_id}/")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"upload {upload_id} is still {record['state']} after {timeout} s"
                )

    def abort(self, upload_id: str) -> None:
        self.http.api("DELETE", f"/api/uploads/{upload_id}/", ok=(204,))
