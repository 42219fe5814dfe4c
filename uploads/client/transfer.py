"""The transfer of one upload's parts: hashed ahead on a small pool, signed in batches, PUT in
parallel over URLs the server signs, each pinned to its SHA-256. Memory stays at one part per
thread: parts are read from disk as they are needed, never the whole file."""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import requests
from tqdm import tqdm

from uploads.client.errors import PartError, S7ClientError
from uploads.client.parts import Digest, PartPlan, digest_of, is_proven, parse_time, read_part
from uploads.client.session import RETRY_STATUSES, ApiSession


@dataclass(frozen=True)
class _Signed:
    url: str
    headers: dict
    expires_at: float  # epoch seconds
    sha256: str


class Transfer:
    """The parts of one upload: hashed ahead on a small pool, signed in batches, PUT in parallel.

    The main thread signs a batch when a call's worth of hashed parts wait, or sooner when the senders would
    otherwise run dry; so a large file needs one signing call per 100 parts and a small one
    starts sending after the first few parts are hashed.
    """

    def __init__(
        self,
        http: ApiSession,
        upload_id: str,
        path: str,
        plan: PartPlan,
        held: dict,
        on_part_sent,
        *,
        max_batch: int,
        workers: int,
        hash_workers: int,
        progress: bool,
        timings: dict,
        resumed: bool = False,
    ):
        self.http = http
        self.workers = workers
        self.resumed = resumed
        self.parts_retried = 0
        self.upload_id = upload_id
        self.path = path
        self.plan = plan
        self.held = held
        self.on_part_sent = on_part_sent
        self.batch = max_batch
        # A URL is re-signed when it would expire within this margin; progress is reported at
        # most this often (the server's timings).
        self.expiry_margin = timings["expiry_margin"]
        self.report_interval = timings["progress_report_interval"]
        self.digests: dict[int, Digest] = {}
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
            disable=not progress, desc="upload", leave=True,
        )  # fmt: skip
        self.bytes_done = 0
        self.last_report = time.monotonic()
        self.hashers = ThreadPoolExecutor(hash_workers, thread_name_prefix="s7-hash")
        self.senders = ThreadPoolExecutor(workers, thread_name_prefix="s7-put")

    def close(self) -> None:
        self.hashers.shutdown(wait=False, cancel_futures=True)
        self.senders.shutdown(wait=True, cancel_futures=True)
        self.bar.close()

    # --- Hashing ---------------------------------------------------------------------------

    def _hash(self, n: int) -> None:
        held = n in self.held or n in self.replacing
        digest = digest_of(read_part(self.path, self.plan, n), md5=held)
        with self.changed:
            self.digests[n] = digest
            self.changed.notify_all()

    def _is_held(self, n: int) -> bool:
        """The resume rule: S3 holds this very content, proven by its MD5 and our SHA-256."""
        part = self.held.get(n)
        if not part:
            return False
        proven = is_proven(part, self.digests[n], self.plan.length(n))
        if not proven:
            self.replacing.add(n)
        return proven

    # --- Signing ---------------------------------------------------------------------------

    def _sign(self, numbers: list[int]) -> None:
        for start in range(0, len(numbers), self.batch):
            batch = numbers[start : start + self.batch]
            answer = self.http.api(
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
            self.http.count_signing()
            expires_at = parse_time(answer["expires_at"])
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
            if force or signed is None or signed.expires_at < time.time() + self.expiry_margin:
                soon = time.time() + self.expiry_margin * 2
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
        data = read_part(self.path, self.plan, n)
        http = self.http
        force = False
        attempt = -1
        while attempt < http.retries:
            attempt += 1
            signed = self._fresh_url(n, force=force)
            force = False
            try:
                response = http.session().put(
                    signed.url, data=data, headers=signed.headers, timeout=http.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if http.wait_out_outage():
                    # The connection was down: this part, in flight, goes again; the parts not
                    # started yet wait for a sender, so none of them is sent twice.
                    attempt -= 1
                    self._count_retry()
                    continue
                if attempt == http.retries:
                    raise PartError(f"part {n}: {exc}") from exc
                self._count_retry()
                http.sleep_before_retry(attempt)
                continue
            if response.status_code == 200:
                break
            body = response.text[:300]
            if response.status_code == 403 and attempt < http.retries:
                # An expired (or clock-skewed) URL: sign it again and retry straight away.
                force = True
                self._count_retry()
                continue
            if response.status_code in RETRY_STATUSES and attempt < http.retries:
                self._count_retry()
                http.sleep_before_retry(attempt, response.headers.get("Retry-After"))
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
        if now - self.last_report < self.report_interval:
            return
        self.last_report = now
        try:
            self.http.api(
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
        workers = self.workers
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
            done, futures = wait(futures, timeout=self.report_interval, return_when=FIRST_COMPLETED)
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
            if not self.digests.get(n, Digest("")).md5:
                self._hash(n)
            self.sent.discard(n)
            self.skipped.discard(n)
        self._sign(numbers)
        with self.changed:
            self.sending += len(numbers)
        for future in [self.senders.submit(self._put, n) for n in numbers]:
            future.result()
