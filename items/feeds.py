from django.contrib.syndication.views import Feed
from django.utils.html import format_html

from items.models import Item, Review
from items.selectors import NEWEST_VERSION_FIRST


class ItemsFeed(Feed):
    title = "Simplici7y: new and updated items"
    link = "/"
    description = "Maps, scenarios, plugins and physics for Aleph One, newest first."

    def items(self):
        published = Item.objects.filter(version_created_at__isnull=False)
        return published.select_related("owner").defer("body").order_by(*NEWEST_VERSION_FIRST)[:30]

    def item_title(self, item):
        return item.name

    def item_description(self, item):
        if item.byline:
            return format_html("<p><em>{}</em></p>\n{}", item.byline, item.body_shown)
        return item.body_shown

    def item_author_name(self, item):
        return item.owner.username

    def item_pubdate(self, item):
        return item.version_created_at or item.created_at


class ReviewsFeed(Feed):
    title = "Simplici7y: reviews"
    link = "/reviews/"
    description = "The newest reviews of Aleph One items."

    def items(self):
        return Review.objects.select_related("user", "version__item").defer(
            "body", "body_excerpt_html"
        )[:30]

    def item_title(self, review):
        return f"{review.version.item.name}: {review.title} ({review.rating}/5)"

    def item_description(self, review):
        return review.body_shown

    def item_author_name(self, review):
        return review.user.username

    def item_pubdate(self, review):
        return review.created_at
