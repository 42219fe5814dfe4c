"""The client's HTTP: one session per thread, retries with backoff, and outages waited out.

A request that gets no answer at all is a failure of the connection when the site does not
answer either: it is then sent again once the site answers, however long that takes, and
spends none of its retries.
"""

from __future__ import annotations

import random
import sys
import threading
import time

import requests

from uploads.client.errors import ApiError, S7ClientError

RETRY_STATUSES = (408, 429, 500, 502, 503, 504)


class ApiSession:
    """One server and one user's API token; thread-safe. Counts the API's requests and time."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 120,
        progress: bool = False,
        user_agent: str = "s7-client/1",
    ):
        self.url = url.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.progress = progress
        self.user_agent = user_agent
        self._local = threading.local()
        self._stats_lock = threading.Lock()
        self._outage_lock = threading.Lock()
        # While the connection is down, when to ask the site again: the server's schedule. Until
        # it is known (the call that asks for it), a request that gets no answer keeps its
        # capped retries.
        self.outage_recheck_delays: list[float] = []
        self.reset_counts()

    def reset_counts(self) -> None:
        with self._stats_lock:
            self.api_seconds = 0.0
            self.api_requests = 0
            self.sign_requests = 0

    def count_signing(self) -> None:
        with self._stats_lock:
            self.sign_requests += 1

    def session(self) -> requests.Session:
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

    def sleep_before_retry(self, attempt: int, retry_after: str | None = None) -> None:
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
        delays = self.outage_recheck_delays
        if not delays or self._site_answers():
            return False
        with self._outage_lock:
            attempt = 0
            while not self._site_answers():
                if attempt == 0 and self.progress:
                    print("Waiting for the connection to come back…", file=sys.stderr)
                time.sleep(delays[min(attempt, len(delays) - 1)])
                attempt += 1
        return True

    def _site_answers(self) -> bool:
        try:
            self.session().head(f"{self.url}/api/uploads/purposes/", timeout=10)
        except (requests.ConnectionError, requests.Timeout):
            return False
        return True  # any answer, even an error status, means requests get through

    # --- The API ---------------------------------------------------------------------------

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
                response = self.session().request(
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
                self.sleep_before_retry(attempt)
                continue
            self._count_api(time.perf_counter() - started)
            if response.status_code in ok:
                return response.json() if response.content else None
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self.sleep_before_retry(attempt, response.headers.get("Retry-After"))
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
