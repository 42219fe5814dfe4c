"""S7Client: one file through the S7 upload API, parts straight to S3 in parallel.

Parts are hashed ahead on a small thread pool, signed in batches and PUT in parallel over URLs
the server signs, each pinned to its SHA-256. An interrupted run started again finds its open
upload and sends only the parts S3 provably holds: S3's ETag (the MD5 of what it holds) is the
local part's MD5, and the SHA-256 last signed for it is the local part's. MD5 is computed only
for the parts S3 already holds, and signed only for those that replace one. Memory stays at one part per thread:
parts are read from disk with seek/read as they are needed, never the whole file. The rules the
server keeps (final states, parts per signing call) are read from the server, never copied here.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import mimetypes
import os
import random
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import requests
from tqdm import tqdm

RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
# A URL is re-signed when it would expire within this margin: a part PUT must not start on a
# URL that dies while the bytes are in flight.
EXPIRY_MARGIN_SECONDS = 60
# Like the browser: a few reports a minute at most; each one costs the web dyno a request.
PROGRESS_REPORT_EVERY = 15.0


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


@dataclass(frozen=True)
class _Digest:
    sha256: str  # base64, as S3's x-amz-checksum-sha256
    md5: str = ""  # base64, as Content-MD5; only for parts S3 already holds


@dataclass(frozen=True)
class _Signed:
    url: str
    headers: dict
    expires_at: float  # epoch seconds
    sha256: str


def _parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp()


class _Plan:
    def __init__(self, size: int, part_size: int, part_count: int):
        self.size, self.part_size, self.part_count = size, part_size, part_count

    def offset(self, n: int) -> int:
        return (n - 1) * self.part_size

    def length(self, n: int) -> int:
        return self.part_size if n < self.part_count else self.size - self.part_size * (n - 1)


# The worker takes an upload within moments of its completion and then says when it expects it
# ready; the uploader asks again then, and from then on at a short, growing interval.
# The worker makes an upload ready a fraction of a second after completion whatever its size
# (its SHA-256 comes later): ask often at first, then less and less.
POLL_DELAYS = (0.1, 0.1, 0.1, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0)
# While the connection is down: how long to wait before asking the site again, growing.
OUTAGE_RECHECK_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0)


def _md5_hex(b64: str) -> str:
    return base64.b64decode(b64).hex() if b64 else ""


def _read_part(path: str, plan: _Plan, n: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(plan.offset(n))
        data = f.read(plan.length(n))
    if len(data) != plan.length(n):
        raise S7ClientError(f"{path} changed while it was being uploaded (part {n} is short)")
    return data


def _digest(data: bytes, *, md5: bool = False) -> _Digest:
    # hashlib releases the GIL on large buffers, so digests of several parts run in parallel.
    return _Digest(
        base64.b64encode(hashlib.sha256(data).digest()).decode(),
        base64.b64encode(hashlib.md5(data).digest()).decode() if md5 else "",
    )


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
        self.url = url.rstrip("/")
        self.token = token
        self.workers = max(1, workers)
        self.hash_workers = max(1, hash_workers)
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.user_agent = user_agent
        self._local = threading.local()
        self._stats_lock = threading.Lock()
        self._outage_lock = threading.Lock()
        self.api_seconds = 0.0
        self.api_requests = 0
        self.sign_requests = 0

    # --- HTTP ------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        # One session (and connection pool) per thread: requests does not promise more.
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=4)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = self.user_agent
            self._local.session = session
        return session

    def _sleep_before_retry(self, attempt: int, retry_after: str | None = None) -> None:
        if retry_after and retry_after.isdigit():
            time.sleep(min(float(retry_after), 30))
            return
        # Full jitter: many clients retrying after one outage must not come back in step.
        time.sleep(random.uniform(0, self.backoff * 2**attempt))

    # --- Outages of the connection ---------------------------------------------------------

    def wait_out_outage(self) -> bool:
        """After a request got no answer: when the site does not answer either, the connection
        is down, and this waits until it answers again, however long that takes (True); False
        when the site answers (the failure was something else, which keeps its capped retries).

        One thread asks the site at growing intervals; the others wait for it.
        """
        if self._site_answers():
            return False
        with self._outage_lock:
            attempt = 0
            while not self._site_answers():
                if attempt == 0 and self.progress:
                    print("Waiting for the connection to come back…", file=sys.stderr)
                time.sleep(OUTAGE_RECHECK_DELAYS[min(attempt, len(OUTAGE_RECHECK_DELAYS) - 1)])
                attempt += 1
        return True

    def _site_answers(self) -> bool:
        try:
            self._session().head(f"{self.url}/api/uploads/purposes/", timeout=10)
        except (requests.ConnectionError, requests.Timeout):
            return False
        return True  # any answer, even an error status, means requests get through

    def api(self, method: str, path: str, *, json_body=None, params=None, ok=(200,)):
        """One API call, retried on connection errors, 5xx and 429, and sent again however long
        the connection is down; the JSON answer or None."""
        url = f"{self.url}{path}"
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        attempt = -1
        while attempt < self.retries:
            attempt += 1
            started = time.perf_counter()
            try:
                response = self._session().request(
                    method,
                    url,
                    json=json_body,
                    params=params,
                    headers=headers,
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._count_api(time.perf_counter() - started)
                if self.wait_out_outage():
                    attempt -= 1  # an outage spends none of the retries
                    continue
                if attempt == self.retries:
                    raise S7ClientError(f"{method} {url} failed: {exc}") from exc
                self._sleep_before_retry(attempt)
                continue
            self._count_api(time.perf_counter() - started)
            if response.status_code in ok:
                return response.json() if response.content else None
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self._sleep_before_retry(attempt, response.headers.get("Retry-After"))
                continue
            try:
                body = response.json()
            except ValueError:
                body = response.text[:500]
            raise ApiError(method, path, response.status_code, body)
        raise AssertionError("unreachable")

    def _count_api(self, seconds: float) -> None:
        with self._stats_lock:
            self.api_seconds += seconds
            self.api_requests += 1

    # --- Upload ----------------------------------------------------------------------------

    @functools.cached_property
    def rules(self) -> dict:
        """The server's rules: purposes and their limits, states and which are final, stage
        words, parts per signing call (``GET /api/uploads/purposes/``), asked for once."""
        return self.api("GET", "/api/uploads/purposes/")

    def purposes(self) -> list[dict]:
        return self.rules["purposes"]

    def is_final(self, state: str) -> bool:
        return state in self.rules["final_states"]

    def find_open_upload(self, *, filename: str, size: int, purpose: str) -> dict | None:
        """The newest unexpired upload of this file still waiting for parts, with its held parts."""
        found = self.api(
            "GET",
            "/api/uploads/",
            params={"state": "uploading", "filename": filename, "size": size, "purpose": purpose},
        )
        now = time.time()
        for candidate in found or []:
            if _parse_time(candidate["expires_at"]) > now + EXPIRY_MARGIN_SECONDS:
                return self.api("GET", f"/api/uploads/{candidate['id']}/")
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
        self.api_seconds, self.api_requests, self.sign_requests = 0.0, 0, 0
        started = time.perf_counter()

        upload = (
            self.find_open_upload(filename=filename, size=size, purpose=purpose) if resume else None
        )
        resumed = upload is not None
        if upload is None:
            upload = self.api(
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
        plan = _Plan(size, upload["part_size"], upload["part_count"])
        held = {part["part_number"]: part for part in upload.get("uploaded_parts", [])}

        transfer = _Transfer(self, upload["id"], path, plan, held, on_part_sent, resumed=resumed)
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
            api_seconds=self.api_seconds,
            api_requests=self.api_requests,
            sign_requests=self.sign_requests,
            result=final.get("result") or {},
            error=final.get("error") or "",
            parts_retried=transfer.parts_retried,
        )

    def _complete(self, transfer: _Transfer) -> dict:
        """Ask the server to complete; parts it finds missing or wrong are sent again (once)."""
        path = f"/api/uploads/{transfer.upload_id}/complete/"
        for attempt in range(3):
            try:
                # What this run went through, for the site's analytics.
                counters = {"parts_retried": transfer.parts_retried, "resumed": transfer.resumed}
                return self.api("POST", path, json_body=counters, ok=(200, 202))
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
        for poll in itertools.count():
            time.sleep(POLL_DELAYS[min(poll, len(POLL_DELAYS) - 1)])
            record = self.api("GET", f"/api/uploads/{upload_id}/progress/")
            if self.is_final(record["state"]):
                return self.api("GET", f"/api/uploads/{upload_id}/")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"upload {upload_id} is still {record['state']} after {timeout} s"
                )

    def abort(self, upload_id: str) -> None:
        self.api("DELETE", f"/api/uploads/{upload_id}/", ok=(204,))


class _Transfer:
    """The parts of one upload: hashed ahead on a small pool, signed in batches, PUT in parallel.

    The main thread signs a batch when a call's worth of hashed parts wait, or sooner when the senders would
    otherwise run dry; so a large file needs one signing call per 100 parts and a small one
    starts sending after the first few parts are hashed.
    """

    def __init__(
        self,
        client: S7Client,
        upload_id: str,
        path: str,
        plan: _Plan,
        held: dict,
        on_part_sent,
        *,
        resumed: bool = False,
    ):
        self.client = client
        self.resumed = resumed
        self.parts_retried = 0
        self.upload_id = upload_id
        self.path = path
        self.plan = plan
        self.held = held
        self.on_part_sent = on_part_sent
        self.batch = client.rules["max_parts_per_signing"]
        self.digests: dict[int, _Digest] = {}
        # Parts sent where S3 already holds a copy: signed with their MD5 too, so that the
        # server can tell the new copy from the old one (some S3 servers list both).
        self.replacing: set[int] = set()
        self.signed: dict[int, _Signed] = {}
        self.sent: set[int] = set()
        self.skipped: set[int] = set()
        self.changed = threading.Condition()
        self.sending = 0  # parts handed to senders and not finished (waiting or in flight)
        self.stopping = False
        self.sign_lock = threading.Lock()
        self.bar = tqdm(
            total=plan.size, unit="B", unit_scale=True, unit_divisor=1024,
            disable=not client.progress, desc="upload", leave=True,
        )  # fmt: skip
        self.bytes_done = 0
        self.last_report = time.monotonic()
        self.hashers = ThreadPoolExecutor(client.hash_workers, thread_name_prefix="s7-hash")
        self.senders = ThreadPoolExecutor(client.workers, thread_name_prefix="s7-put")

    def close(self) -> None:
        self.hashers.shutdown(wait=False, cancel_futures=True)
        self.senders.shutdown(wait=True, cancel_futures=True)
        self.bar.close()

    # --- Hashing ---------------------------------------------------------------------------

    def _hash(self, n: int) -> None:
        held = n in self.held or n in self.replacing
        digest = _digest(_read_part(self.path, self.plan, n), md5=held)
        with self.changed:
            self.digests[n] = digest
            self.changed.notify_all()

    def _is_held(self, n: int) -> bool:
        """The resume rule: S3 holds this very content, proven by its MD5 and our SHA-256."""
        part = self.held.get(n)
        if not part:
            return False
        digest = self.digests[n]
        proven = bool(
            part.get("checksum_sha256") == digest.sha256
            and part.get("size") == self.plan.length(n)
            and (part.get("verified") or _md5_hex(digest.md5) == part.get("etag"))
        )
        if not proven:
            self.replacing.add(n)
        return proven

    # --- Signing ---------------------------------------------------------------------------

    def _sign(self, numbers: list[int]) -> None:
        for start in range(0, len(numbers), self.batch):
            batch = numbers[start : start + self.batch]
            answer = self.client.api(
                "POST",
                f"/api/uploads/{self.upload_id}/parts/",
                json_body={
                    "parts": [
                        {
                            "part_number": n,
                            "checksum_sha256": self.digests[n].sha256,
                            **({"content_md5": self.digests[n].md5} if n in self.replacing else {}),
                        }
                        for n in batch
                    ]
                },
            )
            with self.client._stats_lock:
                self.client.sign_requests += 1
            expires_at = _parse_time(answer["expires_at"])
            with self.changed:
                for part in answer["parts"]:
                    n = part["part_number"]
                    self.signed[n] = _Signed(
                        part["url"], part["headers"], expires_at, self.digests[n].sha256
                    )

    def _fresh_url(self, n: int, *, force: bool = False) -> _Signed:
        """The part's URL, re-signed (with every other expiring one, in one call) when needed."""
        with self.sign_lock:
            signed = self.signed.get(n)
            if force or signed is None or signed.expires_at < time.time() + EXPIRY_MARGIN_SECONDS:
                soon = time.time() + EXPIRY_MARGIN_SECONDS * 2
                with self.changed:
                    stale = [
                        m for m, s in self.signed.items()
                        if m != n and m not in self.sent and s.expires_at < soon
                    ]  # fmt: skip
                self._sign([n] + sorted(stale)[: self.batch - 1])
                signed = self.signed[n]
            return signed

    # --- Sending ---------------------------------------------------------------------------

    def _put(self, n: int) -> None:
        try:
            if self.stopping:
                return  # another part failed: the upload stops here and a new run resumes it
            self._send(n)
        except BaseException:
            self.stopping = True
            raise
        finally:
            with self.changed:
                self.sending -= 1
                self.changed.notify_all()

    def _send(self, n: int) -> None:
        data = _read_part(self.path, self.plan, n)
        client = self.client
        force = False
        attempt = -1
        while attempt < client.retries:
            attempt += 1
            signed = self._fresh_url(n, force=force)
            force = False
            try:
                response = client._session().put(
                    signed.url, data=data, headers=signed.headers, timeout=client.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if client.wait_out_outage():
                    # The connection was down: this part, in flight, goes again; the parts not
                    # started yet wait for a sender, so none of them is sent twice.
                    attempt -= 1
                    self._count_retry()
                    continue
                if attempt == client.retries:
                    raise PartError(f"part {n}: {exc}") from exc
                self._count_retry()
                client._sleep_before_retry(attempt)
                continue
            if response.status_code == 200:
                break
            body = response.text[:300]
            if response.status_code == 403 and attempt < client.retries:
                # An expired (or clock-skewed) URL: sign it again and retry straight away.
                force = True
                self._count_retry()
                continue
            if response.status_code in RETRY_STATUSES and attempt < client.retries:
                self._count_retry()
                client._sleep_before_retry(attempt, response.headers.get("Retry-After"))
                continue
            if "BadDigest" in body or "InvalidDigest" in body:
                raise PartError(f"part {n}: the file changed while it was being uploaded")
            raise PartError(f"part {n}: S3 answered {response.status_code}: {body}")
        with self.changed:
            self.sent.add(n)
        self._advance(len(data))
        if self.on_part_sent is not None:
            self.on_part_sent(n)

    def _count_retry(self) -> None:
        with self.changed:
            self.parts_retried += 1

    def _advance(self, nbytes: int) -> None:
        with self.changed:
            self.bytes_done += nbytes
            self.bar.update(nbytes)
            self.changed.notify_all()

    def _report_progress(self) -> None:
        now = time.monotonic()
        if now - self.last_report < PROGRESS_REPORT_EVERY:
            return
        self.last_report = now
        try:
            self.client.api(
                "POST",
                f"/api/uploads/{self.upload_id}/progress/",
                json_body={
                    "bytes_uploaded": self.bytes_done,
                    "parts_retried": self.parts_retried,
                    "resumed": self.resumed,
                },
                ok=(204,),
            )
        except S7ClientError:
            pass  # progress is a hint; the upload goes on without it

    def run(self) -> None:
        count = self.plan.part_count
        workers = self.client.workers
        hashing = [self.hashers.submit(self._hash, n) for n in range(1, count + 1)]
        futures: set[Future] = set()
        next_part = 1  # the first part neither handed to a sender nor skipped
        while next_part <= count:
            waited_since = time.monotonic()
            with self.changed:
                while True:
                    ready, m = [], next_part
                    while m <= count and m in self.digests and len(ready) < self.batch:
                        ready.append(m)
                        m += 1
                    wanted = min(self.batch, count - next_part + 1)
                    # A sender is idle: sign what is hashed. While every sender is busy, parts
                    # hashed meanwhile wait for a fuller signing call (the hashing runs ahead).
                    hungry = self.sending < workers
                    if (
                        len(ready) == wanted
                        or (hungry and len(ready) >= min(workers, wanted))
                        # Slow hashing must not stall idle senders for long.
                        or (ready and hungry and time.monotonic() - waited_since > 0.2)
                    ):
                        break
                    failed = hashing[next_part - 1]
                    if failed.done() and failed.exception() is not None:
                        raise failed.exception()
                    self.changed.wait(0.05)
            futures = self._reap(futures)
            self._report_progress()
            next_part = ready[-1] + 1
            to_send = []
            for m in ready:
                if self._is_held(m):
                    self.skipped.add(m)
                    self._advance(self.plan.length(m))
                else:
                    to_send.append(m)
            if to_send:
                self._sign(to_send)
                with self.changed:
                    self.sending += len(to_send)
                futures |= {self.senders.submit(self._put, m) for m in to_send}
        while futures:
            done, futures = wait(
                futures, timeout=PROGRESS_REPORT_EVERY, return_when=FIRST_COMPLETED
            )
            for future in done:
                future.result()
            self._report_progress()

    def _reap(self, futures: set[Future]) -> set[Future]:
        """Raise the first failure of a finished sender; keep the unfinished ones."""
        pending = set()
        for future in futures:
            if future.done():
                future.result()
            else:
                pending.add(future)
        return pending

    def resend(self, numbers) -> None:
        """Send these parts again (the server found them missing or not as signed)."""
        numbers = [n for n in numbers if 1 <= n <= self.plan.part_count]
        for n in numbers:
            self.replacing.add(n)
            if not self.digests.get(n, _Digest("")).md5:
                self._hash(n)
            self.sent.discard(n)
            self.skipped.discard(n)
        self._sign(numbers)
        with self.changed:
            self.sending += len(numbers)
        for future in [self.senders.submit(self._put, n) for n in numbers]:
            future.result()
