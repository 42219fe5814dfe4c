"""The API's pagination: DRF's page numbers, where a blank ``?page=`` is no page (404) rather
than the first, like any other page number that is not one."""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination


class StrictPageNumberPagination(PageNumberPagination):
    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param, None) == "":
            raise NotFound(self.invalid_page_message.format(page_number="", message="blank"))
        return super().get_page_number(request, paginator)
