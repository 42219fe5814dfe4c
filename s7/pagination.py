"""The API's pagination: cursors, so that any page of a list of millions (the live site's
downloads) costs what the first does. Page numbers would make Postgres count every row for each
page and walk past all the rows before it (OFFSET).

A list is ordered by a unique column (``cursor_ordering`` on the view, newest first by default);
each answer links the ``next`` and ``previous`` pages. ``?page=`` is refused with a sentence
rather than ignored, which would hand a script counting pages the first page for ever: the live
site's API never had page numbers (it answered whole lists), so no old link carries one.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    ordering = ("-pk",)

    def paginate_queryset(self, queryset, request, view=None):
        if "page" in request.query_params:
            raise ParseError(
                "This list is paged by cursor: follow each page's `next` link (page numbers "
                "are not taken)."
            )
        cursor = self.decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            self._check_position(cursor.position, queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def _check_position(self, position: str, queryset, request, view) -> None:
        """A cursor is signed by nobody: its position must be a value of the ordering's column,
        or the database would be asked to compare an id with ``abc`` (a 500)."""
        name = self.get_ordering(request, queryset, view)[0].lstrip("-")
        meta = queryset.model._meta
        field = meta.pk if name == "pk" else meta.get_field(name)
        try:
            if "\x00" in position:
                raise ValueError("Postgres refuses NUL in text")
            field.run_validators(field.to_python(position))
        except (DjangoValidationError, ValueError, TypeError):
            raise NotFound(self.invalid_cursor_message) from None

    def decode_cursor(self, request):
        # A blank cursor is no cursor this list gave, like any other it did not give.
        if request.query_params.get(self.cursor_query_param) == "":
            raise NotFound(self.invalid_cursor_message)
        return super().decode_cursor(request)

    def get_ordering(self, request, queryset, view):
        return tuple(getattr(view, "cursor_ordering", self.ordering))
