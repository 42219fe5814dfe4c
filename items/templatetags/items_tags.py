from django import template
from django.template.defaultfilters import filesizeformat

register = template.Library()


@register.filter
def stars(rating):
    """★★★★☆ for 4 (a float is rounded to the nearest half star, shown as a full one)."""
    n = max(0, min(5, round(float(rating or 0))))
    return "★" * n + "☆" * (5 - n)


@register.filter
def size(value):
    return filesizeformat(value)


@register.simple_tag(takes_context=True)
def page_url(context, page):
    """The current list's URL with ``page`` replaced, keeping search, tag and sort."""
    query = context["request"].GET.copy()
    query["page"] = page
    return "?" + query.urlencode()


@register.simple_tag(takes_context=True)
def order_url(context, order):
    """The current list in another order: a search and a page number do not carry over, since
    a search ranks by relevance whatever the order."""
    query = context["request"].GET.copy()
    query["order"] = order
    query.pop("page", None)
    query.pop("search", None)
    return "?" + query.urlencode()
