"""The live site's database, read in one read-only snapshot, and the rules that turn its rows
into rows S7 accepts (merged duplicates, names S7 can use)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import psycopg
from django.utils.text import slugify

LIVE_TABLES = ("users", "tags", "items", "versions", "reviews", "screenshots", "downloads")
SOURCE_TABLE = {name: f"items_{name[:-1]}" for name in LIVE_TABLES}


def connect(url: str) -> psycopg.Connection:
    """A connection that can only read, every query in one snapshot (REPEATABLE READ), so that
    rows read late in the import agree with rows read early."""
    connection = psycopg.connect(url, autocommit=False)
    connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    connection.read_only = True
    connection.execute("SET TIME ZONE 'UTC'")
    return connection


def fetch(source: psycopg.Connection, query: str, params=()) -> list[tuple]:
    with source.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def fetch_dicts(source: psycopg.Connection, query: str, params=()) -> list[dict]:
    """Rows as dicts by the query's column names (its aliases name S7's columns)."""
    with source.cursor() as cursor:
        cursor.execute(query, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def count(source: psycopg.Connection, table: str) -> int:
    return fetch(source, f"SELECT count(*) FROM {SOURCE_TABLE[table]}")[0][0]


# --- What each live table becomes ------------------------------------------------------------

USERS = (
    "SELECT id, username, first_name, last_name, email, password, is_staff, is_superuser,"
    " is_active, date_joined, last_login FROM items_user ORDER BY id"
)
ITEMS = (
    "SELECT id, name, coalesce(byline, '') AS byline, coalesce(topnote, '') AS topnote,"
    " coalesce(body, '') AS body, tc_id, user_id AS owner_id, permalink, created_at, updated_at,"
    " downloads_count FROM items_item ORDER BY id"
)
ITEM_TAGS = "SELECT item_id, tag_id FROM items_item_tags ORDER BY item_id, tag_id"
VERSIONS = (
    "SELECT v.id, v.item_id, coalesce(v.name, '') AS name, coalesce(v.body, '') AS notes,"
    " coalesce(v.file, '') AS file, coalesce(v.link, '') AS link, v.created_at,"
    " i.user_id AS owner_id FROM items_version v JOIN items_item i ON i.id = v.item_id ORDER BY v.id"
)
REVIEWS = (
    "SELECT id, version_id, user_id, coalesce(title, ''), coalesce(body, ''), rating, created_at"
    " FROM items_review ORDER BY id"
)
SCREENSHOTS = (
    "SELECT s.id, s.item_id, coalesce(s.title, '') AS title, coalesce(s.file, '') AS file,"
    ' s."order", s.created_at, i.user_id AS owner_id FROM items_screenshot s'
    " JOIN items_item i ON i.id = s.item_id ORDER BY s.id"
)


@dataclass
class TagMerge:
    """Tags S7 keeps as one: the live site allowed names differing only in case or spacing."""

    kept: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (name, permalink)
    kept_id: dict[int, int] = field(default_factory=dict)  # every live tag id → the kept id
    merged: list[str] = field(default_factory=list)  # one sentence per merge


def merge_tags(rows: list[tuple[int, str, str]]) -> TagMerge:
    """One S7 tag per name once spaces are collapsed and case folded (S7's tags are lower
    case); the lowest live id survives and takes every item of the others. Permalinks are the
    live ones where they are free and valid slugs, else made from the name."""
    groups: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for tag_id, name, permalink in sorted(rows):
        key = " ".join((name or "").split()).lower() or f"tag {tag_id}"
        groups[key].append((tag_id, name, permalink))
    merge = TagMerge()
    taken: set[str] = set()
    for key, members in sorted(groups.items(), key=lambda group: group[1][0][0]):
        tag_id, _, permalink = members[0]
        slug = slugify(permalink or "") or slugify(key) or f"tag-{tag_id}"
        base, n = slug[:240], 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        merge.kept[tag_id] = (key, slug)
        for member_id, _, _ in members:
            merge.kept_id[member_id] = tag_id
        if len(members) > 1:
            names = ", ".join(f"“{name}” ({member_id})" for member_id, name, _ in members)
            merge.merged.append(f"tags {names} → “{key}” ({tag_id})")
    return merge


@dataclass
class ReviewMerge:
    kept: list[tuple] = field(default_factory=list)
    dropped_ids: list[int] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)


def merge_reviews(rows: list[tuple]) -> ReviewMerge:
    """One review per user per version (S7's rule): the newest one stays, as the reviewer's
    latest word; the older ones are named in the report."""
    by_pair: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    for row in rows:
        by_pair[(row[1], row[2])].append(row)
    merge = ReviewMerge()
    for (version_id, user_id), reviews in by_pair.items():
        reviews.sort(key=lambda row: (row[6], row[0]))
        merge.kept.append(reviews[-1])
        if len(reviews) > 1:
            older = [row[0] for row in reviews[:-1]]
            merge.dropped_ids += older
            merge.merged.append(
                f"reviews {', '.join(map(str, older))} of version {version_id} by user "
                f"{user_id}: review {reviews[-1][0]} (the newest) kept"
            )
    merge.kept.sort()
    return merge
