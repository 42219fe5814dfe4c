"""The tags phase: the live tags merged by name, and S7's tags of the same name merged in."""

from django.db.models import Q

from items.importer import source
from items.importer.context import Run
from items.models import Tag


def tags(run: Run):
    merge = source.merge_tags(source.fetch(run.live, "SELECT id, name, permalink FROM items_tag"))
    run.tag_merge = merge
    run.report.merges += merge.merged
    rows = [
        {"id": tag_id, "name": name, "permalink": slug, "items_count": 0}
        for tag_id, (name, slug) in sorted(merge.kept.items())
    ]
    run.write(
        "tags",
        ["id", "name", "permalink", "items_count"],
        rows,
        update=["name", "permalink"],
        label=lambda row_id, values: f"tag {row_id} “{values['name']}”",
        unique=["name", "permalink"],
        before_write=lambda decisions: merge_s7_tags(run, decisions),
    )
    if not run.options.dry_run:
        merged_away = set(merge.kept_id) - set(merge.kept)
        Tag.objects.filter(pk__in=merged_away).delete()


def merge_s7_tags(run: Run, decisions):
    """A tag made on S7 under a name (or permalink) the live site then gave a tag of its
    own becomes that tag: its items take the live tag."""
    final = decisions.final
    by_name = {values["name"]: row_id for row_id, values in final.items()}
    by_slug = {values["permalink"]: row_id for row_id, values in final.items()}
    holders = Tag.objects.exclude(pk__in=list(final)).filter(
        Q(name__in=list(by_name)) | Q(permalink__in=list(by_slug))
    )
    for tag in holders:
        live_id = by_name.get(tag.name) or by_slug[tag.permalink]
        run.s7_tags_merged[live_id] = list(tag.items.values_list("pk", flat=True))
        run.report.merges.append(
            f"tag {tag.pk} “{tag.name}”, made on S7, into the live site's tag {live_id}"
        )
        tag.delete()
