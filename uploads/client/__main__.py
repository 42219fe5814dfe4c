"""The client's command line: ``python -m uploads.client upload FILE --purpose P --token T``."""

import argparse
import json
import os
import sys

from uploads.client.errors import S7ClientError
from uploads.client.flow import S7Client

# --- Command line -------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m uploads.client", description="Upload a file to S7."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("upload", help="upload a file (resuming an interrupted upload of it)")
    up.add_argument("file")
    up.add_argument("--purpose", required=True, help="e.g. version_file or screenshot")
    up.add_argument("--url", default=os.environ.get("S7_URL", "http://127.0.0.1:8000"))
    up.add_argument("--token", default=os.environ.get("S7_TOKEN"), help="API token (or S7_TOKEN)")
    up.add_argument("--workers", type=int, default=8, help="parts sent at once (default 8)")
    up.add_argument("--filename", help="the name to give the file (default: its own)")
    up.add_argument("--content-type")
    up.add_argument("--no-resume", action="store_true", help="always start a new upload")
    up.add_argument(
        "--no-wait", action="store_true", help="do not wait for the server's processing"
    )
    up.add_argument("--quiet", action="store_true", help="no progress bar")
    up.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("an API token is needed: --token or S7_TOKEN")

    client = S7Client(
        args.url, args.token, workers=args.workers, progress=False if args.quiet else None
    )
    try:
        result = client.upload(
            args.file,
            purpose=args.purpose,
            filename=args.filename,
            content_type=args.content_type,
            resume=not args.no_resume,
            wait=not args.no_wait,
        )
    except (S7ClientError, OSError, TimeoutError) as exc:
        print(f"upload failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        rate = result.size / result.upload_seconds / 1e6 if result.upload_seconds else 0
        print(
            f"{result.filename}: {result.state} (upload {result.id}); "
            f"{len(result.parts_sent)} parts sent, {len(result.parts_skipped)} already held; "
            f"{result.upload_seconds:.2f} s, {rate:.1f} MB/s"
        )
        if result.error:
            print(result.error)
    # Without waiting, an upload still on its way is a success so far.
    return 0 if result.ok or not client.is_final(result.state) else 2


if __name__ == "__main__":
    sys.exit(main())
