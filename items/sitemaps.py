from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from items.models import Item, Tag, User


class ItemSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Item.objects.order_by("pk")

    def lastmod(self, item):
        return item.updated_at


class TagSitemap(Sitemap):
    def items(self):
        return Tag.objects.filter(items_count__gt=0).order_by("pk")


class UserSitemap(Sitemap):
    def items(self):
        return User.objects.filter(is_active=True, items_count__gt=0).order_by("pk")


class PageSitemap(Sitemap):
    def items(self):
        return ["home", "item_list", "review_list", "user_list"]

    def location(self, name):
        return reverse(name)


SITEMAPS = {"pages": PageSitemap, "items": ItemSitemap, "tags": TagSitemap, "users": UserSitemap}
