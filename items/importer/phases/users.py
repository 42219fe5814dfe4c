"""The users phase: the live members, their names checked, S7's holders of a name renamed."""

from items.importer import source
from items.importer.context import Run
from items.models import User


def users(run: Run):
    rows = []
    for row in source.fetch_dicts(run.live, source.USERS):
        what = f"user {row['id']}"
        row["username"] = run.checks.username(row["username"], row["id"])
        row["date_joined"] = run.checks.date(row["date_joined"], what)
        row["last_login"] = run.checks.date(row["last_login"], what)
        run.checks.staff_flags(row)
        run.checks.lengths(User, row, what)
        rows.append({**row, "items_count": 0, "reviews_count": 0})
    columns = [
        "id", "username", "first_name", "last_name", "email", "password", "is_staff",
        "is_superuser", "is_active", "date_joined", "last_login",
    ]  # fmt: skip
    run.write(
        "users",
        [*columns, "items_count", "reviews_count"],
        rows,
        update=columns[1:],
        label=lambda row_id, values: f"user {row_id} “{values['username']}”",
        unique=["username"],
        before_write=lambda d: run.s7_holders("items_user", "username", d.final, max_length=150),
    )
