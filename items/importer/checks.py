"""What the live database holds is checked, not trusted: each rule fixes a value or leaves it
out, and says so in the report (``Checked``), which the operator reads before the switch-over.

- A permalink that is not a slug (S7's URLs could not name the item: every list holding it
  would fail) becomes one made from it, or from the name, made unique with ``-<id>``.
- A username S7's URLs cannot hold (a ``/``) has it replaced by ``-``.
- A link that is not http(s) or ftp to a host is left out: a ``javascript:`` link would be the
  href of the leaving page. A version left with neither file nor link is left out.
- A date before ``EARLIEST`` or after the run's start is set to the nearest of the two.
- A screenshot's order outside 0…``MAX_ORDER`` is set to the nearest bound.
- Staff and superuser flags are kept only for an active account with a usable password (one its
  owner logs in with; an empty Rails-era password is reset by whoever holds the address), and
  every live staff member or superuser is listed with what S7 gives them.
- A text longer than S7's field allows is kept whole and listed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.contrib.auth.hashers import is_password_usable
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import slugify

from items.models import RESERVED_PERMALINKS

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)  # before any Marathon map was shared on the web
MAX_ORDER = 10_000
LINK_SCHEMES = frozenset({"http", "https", "ftp"})
SLUG = re.compile(r"^[-a-zA-Z0-9_]+\Z")


class Checks:
    def __init__(self, now: datetime):
        self.now = now
        self.lines: list[str] = []

    def note(self, line: str) -> None:
        self.lines.append(line)

    def date(self, value, what: str):
        if value is None:
            return None
        if value < EARLIEST or value > self.now:
            fixed = EARLIEST if value < EARLIEST else self.now
            self.note(f"{what}: date {value:%Y-%m-%d %H:%M} is absurd; {fixed:%Y-%m-%d %H:%M} kept")
            return fixed
        return value

    def username(self, username: str, user_id: int) -> str:
        if username and "/" not in username:
            return username
        fixed = username.replace("/", "-") or f"user-{user_id}"
        self.note(f"user {user_id}: username “{username}” cannot be in a URL; “{fixed}” used")
        return fixed

    def staff_flags(self, row: dict) -> None:
        if not (row["is_staff"] or row["is_superuser"]):
            return
        flags = " and ".join(f for f in ("staff", "superuser") if row[f"is_{f}"])
        trusted = row["is_active"] and bool(row["password"]) and is_password_usable(row["password"])
        if trusted:
            self.note(f"user {row['id']} “{row['username']}”: {flags} on the live site; kept")
            return
        why = "inactive" if not row["is_active"] else "without a usable password"
        self.note(
            f"user {row['id']} “{row['username']}”: {flags} on the live site but {why};"
            " not given on S7"
        )
        row["is_staff"] = row["is_superuser"] = False

    def permalinks(self, items: list[dict]) -> None:
        """Every item's permalink a slug S7 routes, unique among them."""
        taken = {item["permalink"] for item in items if self.routable(item["permalink"])}
        for item in items:
            permalink = item["permalink"]
            if self.routable(permalink):
                continue
            if permalink in RESERVED_PERMALINKS:
                fixed = f"{permalink}-{item['id']}"
                reason = "is one of S7's own pages"
            else:
                fixed = slugify(permalink)[:240] or slugify(item["name"])[:240] or "item"
                if fixed in taken or fixed in RESERVED_PERMALINKS:
                    fixed = f"{fixed}-{item['id']}"
                reason = "is not a slug"
            taken.add(fixed)
            item["permalink"] = fixed
            self.note(f"item {item['id']}: permalink “{permalink}” {reason}; “{fixed}” used")

    @staticmethod
    def routable(permalink: str) -> bool:
        return bool(SLUG.match(permalink or "")) and permalink not in RESERVED_PERMALINKS

    def link(self, link: str, version_id: int) -> str:
        if not link:
            return ""
        parts = urlsplit(link.strip())
        if parts.scheme.lower() in LINK_SCHEMES and parts.netloc:
            return link.strip()
        shown = link if len(link) <= 80 else link[:77] + "…"
        self.note(f"version {version_id}: link “{shown}” is not http(s) or ftp; left out")
        return ""

    def order(self, order: int, screenshot_id: int) -> int:
        if 0 <= order <= MAX_ORDER:
            return order
        fixed = min(max(order, 0), MAX_ORDER)
        self.note(f"screenshot {screenshot_id}: order {order} set to {fixed}")
        return fixed

    def lengths(self, model, row: dict, what: str) -> None:
        """Texts longer than the model's field allows: kept whole (the database takes them),
        and named, so that an edit on S7 that would cut them is no surprise."""
        for name, value in row.items():
            try:
                limit = model._meta.get_field(name).max_length
            except FieldDoesNotExist:  # a column that is no field of the model
                continue
            if limit is not None and isinstance(value, str) and len(value) > limit:
                self.note(
                    f"{what}: {name} has {len(value):,} characters, more than S7's {limit:,};"
                    " kept whole"
                )
