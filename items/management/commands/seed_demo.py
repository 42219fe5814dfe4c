"""A living demo site for `make run`: a demo user, a few items with files and screenshots.

Files go through the engine exactly as a browser's would: upload_create, signed part URLs, PUTs
to S3, upload_complete. The worker (running beside `make run`) then verifies them and makes the
screenshots' thumbnails; until it has, the site shows them as being processed. Idempotent: an
item that exists is left alone, so running it again changes nothing.
"""

import base64
import hashlib
import io
import zipfile

import requests
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw

from items import services as site
from items.models import Item, Review, Version
from uploads.api import services as engine

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password-7"
REVIEWER_USERNAME = "bobby"

DEMO_ITEMS = [
    {
        "permalink": "marathon-infinity-redux",
        "name": "Marathon Infinity Redux",
        "byline": "The whole Infinity campaign with new textures",
        "topnote": "Needs Aleph One 1.8 or newer.",
        "body": "A faithful remake of **Marathon Infinity** with:\n\n- redrawn textures\n- new music\n- "
        "fixed terminals\n\nPlay it solo or co-op. Report bugs on the [forums](https://example.org/forum).",
        "tags": ["scenario", "solo", "co-op"],
        "files": [("1.0", "infinity-redux-1.0.zip"), ("1.1", "infinity-redux-1.1.zip")],
        "shots": [("Durandal's terminal", (24, 70, 110)), ("Lh'owon at dusk", (120, 60, 30))],
    },
    {
        "permalink": "pfhor-arena",
        "name": "Pfhor Arena",
        "byline": "Eight-player netmap in a Pfhor ship",
        "body": "Tight corridors, two rocket launchers and a low-gravity core.",
        "tags": ["map", "net"],
        "tc": "marathon-infinity-redux",
        "files": [("2.0", "pfhor-arena.sceA")],
        "shots": [("The core", (90, 20, 90))],
    },
    {
        "permalink": "hud-lua-plus",
        "name": "HUD Lua Plus",
        "byline": "A cleaner heads-up display with a motion sensor upgrade",
        "body": "Drop the plugin folder into *Plugins*. Works with every scenario.",
        "tags": ["plugin", "lua"],
        "files": [("0.9", "hud-lua-plus.zip")],
        "shots": [],
    },
    {
        "permalink": "classic-physics",
        "name": "Classic Physics",
        "byline": "Marathon 2 physics for Infinity",
        "body": "Hosted on GitHub.",
        "tags": ["physics"],
        "link": "https://github.com/Aleph-One-Marathon/alephone/releases",
        "shots": [],
    },
]


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name.rsplit(".", 1)[0] + "/README.txt", text)
        archive.writestr(name.rsplit(".", 1)[0] + "/Map.sceA", text.encode() * 64)
    return buffer.getvalue()


def _scenario_file(text: str) -> bytes:
    # A Marathon wad header is binary; any bytes that are not markup pass the engine's check.
    return b"\x00\x02" + text.encode() * 200


def _picture(title: str, color) -> bytes:
    image = Image.new("RGB", (1280, 800), color)
    draw = ImageDraw.Draw(image)
    for n in range(0, 1280, 80):
        draw.line([(n, 800), (640, 380)], fill=tuple(min(255, c + 60) for c in color), width=3)
    draw.rectangle([40, 40, 620, 130], fill=(10, 10, 10))
    draw.text((60, 70), title, fill=(230, 230, 230), font_size=36)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def upload_bytes(*, owner, filename: str, data: bytes, purpose: str, content_type: str):
    """Upload through the engine as a client would; returns the upload, now processing."""
    upload = engine.upload_create(
        owner=owner, filename=filename, size=len(data), content_type=content_type, purpose=purpose
    )
    requests_for = []
    for n in range(1, upload.part_count + 1):
        chunk = data[(n - 1) * upload.part_size : n * upload.part_size]
        requests_for.append(
            (
                chunk,
                engine.PartRequest(
                    part_number=n,
                    checksum_sha256=base64.b64encode(hashlib.sha256(chunk).digest()).decode(),
                    content_md5=base64.b64encode(hashlib.md5(chunk).digest()).decode(),
                ),
            )
        )
    signed = engine.upload_sign_parts(upload=upload, parts=[request for _, request in requests_for])
    for (chunk, _), part in zip(requests_for, signed, strict=True):
        response = requests.put(part.url, data=chunk, headers=part.headers, timeout=60)
        response.raise_for_status()
    return engine.upload_complete(upload=upload)


class Command(BaseCommand):
    help = "Create the demo user and a few demo items with files and screenshots (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--no-files", action="store_true", help="Create the user only.")

    def handle(self, *args, no_files=False, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.org"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        if not no_files:
            reviewer, made = User.objects.get_or_create(
                username=REVIEWER_USERNAME, defaults={"email": "bobby@example.org"}
            )
            if made:
                reviewer.set_unusable_password()
                reviewer.save()
            for spec in DEMO_ITEMS:
                if not Item.objects.filter(permalink=spec["permalink"]).exists():
                    self.make_item(user, spec)
                    self.stdout.write(f"Demo item: /items/{spec['permalink']}/")
            self.review(reviewer)
        self.stdout.write(self.style.SUCCESS(f"Demo login: {DEMO_USERNAME} / {DEMO_PASSWORD}"))

    def make_item(self, user, spec):
        # Uploads first, rows after: a failure leaves no half-made item, only uploads that the
        # engine's expiry and cleanup sweep away.
        files = []
        for name, filename in spec.get("files", []):
            text = f"{spec['name']} {name}: demo file for Simplici7y."
            data = _zip(filename, text) if filename.endswith(".zip") else _scenario_file(text)
            upload = upload_bytes(
                owner=user,
                filename=filename,
                data=data,
                purpose="version_file",
                content_type="application/octet-stream",
            )
            files.append((name, upload))
        shots = [
            (
                upload_bytes(
                    owner=user,
                    filename=f"{spec['permalink']}-{n}.png",
                    data=_picture(title, color),
                    purpose="screenshot",
                    content_type="image/png",
                ),
                title,
            )
            for n, (title, color) in enumerate(spec.get("shots", []), start=1)
        ]
        tc = Item.objects.filter(permalink=spec.get("tc", "")).first()
        item = site.item_save(
            item=Item(
                owner=user,
                permalink=spec["permalink"],
                name=spec["name"],
                byline=spec.get("byline", ""),
                topnote=spec.get("topnote", ""),
                body=spec.get("body", ""),
                tc=tc,
            ),
            tag_names=spec["tags"],
        )
        for name, upload in files:
            site.version_save(
                version=Version(item=item, name=name, file=upload, notes=f"Version {name}.")
            )
        if spec.get("link"):
            site.version_save(version=Version(item=item, name="1.0", link=spec["link"]))
        if shots:
            site.screenshots_add(item=item, uploads_and_titles=shots)

    def review(self, reviewer):
        version = Version.objects.filter(item__permalink="marathon-infinity-redux").first()
        if version and not Review.objects.filter(version=version, user=reviewer).exists():
            site.review_create(
                version=version,
                user=reviewer,
                title="Better than I remembered",
                body="The new textures are *gorgeous* and the terminals finally read well.",
                rating=5,
            )
