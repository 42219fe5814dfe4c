"""Upload a random file through the live API with the Python client and report how it went.

    python manage.py test_upload_performance --file-size 25 --username testuser [--runs N]

The server is a separate process (``make run``'s by default): this command only plays the
uploader, so what it measures is what a user would see.
"""

import math
import os
import statistics
import tempfile
import threading

import requests
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from uploads.client import S7Client, S7ClientError

MB = 1_000_000


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak is all we can know
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _PeakRss:
    """Samples this process's resident memory while the upload runs."""

    def __init__(self, every: float = 0.02):
        self.every = every
        self.baseline = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def _p95(values):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Command(BaseCommand):
    help = "Upload a random file of --file-size MB through the live API and print timings."

    def add_arguments(self, parser):
        parser.add_argument(
            "--file-size", type=float, required=True, help="size in MB (10^6 bytes)"
        )
        parser.add_argument("--username", required=True, help="the user who uploads")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the S7 server")
        parser.add_argument("--runs", type=int, default=1)
        parser.add_argument("--purpose", default="version_file")
        parser.add_argument("--workers", type=int, default=8, help="parts sent at once")
        parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for ready")

    def handle(self, *args, **options):
        size = int(options["file_size"] * MB)
        if size <= 0:
            raise CommandError("--file-size must be more than 0 MB.")
        if options["runs"] < 1:
            raise CommandError("--runs must be at least 1.")
        User = get_user_model()
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user named “{options['username']}”; create it first.") from None
        token = Token.objects.get_or_create(user=user)[0].key
        url = options["url"].rstrip("/")
        self._check_server(url, token)

        client = S7Client(url, token, workers=options["workers"], progress=False)
        with tempfile.TemporaryDirectory(prefix="s7-perf-") as folder:
            path = os.path.join(folder, f"performance-test-{options['file_size']:g}MB.bin")
            self._write_random_file(path, size)
            runs = [self._run(client, path, options) for _ in range(options["runs"])]
        if len(runs) > 1:
            self._summarise(runs, options["timeout"])
        if any(run["state"] != "ready" for run in runs):
            raise CommandError("Not every upload ended ready; see above.")

    def _check_server(self, url, token):
        try:
            response = requests.get(
                f"{url}/api/uploads/purposes/",
                headers={"Authorization": f"Token {token}"},
                timeout=10,
            )
        except requests.RequestException as exc:
            raise CommandError(
                f"No S7 server answers at {url} ({exc.__class__.__name__}). Start one with "
                "`make run`, or name another with --url."
            ) from None
        if response.status_code != 200:
            raise CommandError(
                f"{url} answered {response.status_code} to the API; is it an S7 server that "
                "shares this database (the token was made here)?"
            )

    def _write_random_file(self, path, size):
        chunk = 8 * 1024 * 1024
        with open(path, "wb") as f:
            for start in range(0, size, chunk):
                f.write(os.urandom(min(chunk, size - start)))

    def _run(self, client, path, options):
        size = os.path.getsize(path)
        with _PeakRss() as memory:
            try:
                result = client.upload(
                    path, purpose=options["purpose"], resume=False, wait_timeout=options["timeout"]
                )
            except TimeoutError as exc:
                self.stdout.write(self.style.WARNING(f"timeout: {exc}"))
                return {"state": "timeout", "upload": None, "ready": None}
            except S7ClientError as exc:
                raise CommandError(f"The upload failed: {exc}") from None
        rate = size / result.upload_seconds / MB
        self.stdout.write(
            "\n".join(
                [
                    f"uploaded        {size / MB:,.1f} MB in {result.part_count} parts (upload {result.id})",
                    f"upload time     {result.upload_seconds:.2f} s",
                    f"throughput      {rate:,.1f} MB/s",
                    f"time to ready   {result.ready_seconds:.2f} s",
                    f"web time        {result.api_seconds * 1000:,.0f} ms in {result.api_requests} API "
                    f"requests ({result.sign_requests} signing), summed as the client timed them",
                    f"peak memory     {memory.peak / 2**20:,.1f} MiB RSS "
                    f"(+{(memory.peak - memory.baseline) / 2**20:,.1f} MiB during the upload)",
                    f"result          {result.state}"
                    + (f": {result.error}" if result.error else f" {result.result or ''}"),
                    "",
                ]
            )
        )
        return {
            "state": result.state,
            "upload": result.upload_seconds,
            "ready": result.ready_seconds,
        }

    def _summarise(self, runs, timeout):
        done = [run for run in runs if run["state"] == "ready"]
        timeouts = sum(run["state"] == "timeout" for run in runs)
        lines = [f"completion rate {len(done)}/{len(runs)} ({100 * len(done) / len(runs):.0f} %)"]
        if done:
            uploads = [run["upload"] for run in done]
            readies = [run["ready"] for run in done]
            lines += [
                f"upload time     average {statistics.mean(uploads):.2f} s, p95 {_p95(uploads):.2f} s",
                f"time to ready   average {statistics.mean(readies):.2f} s, p95 {_p95(readies):.2f} s",
            ]
        lines.append(f"timeouts        {timeouts} (waiting more than {timeout:g} s for ready)")
        self.stdout.write("\n".join(lines))
