"""Addresses that moved: the Rails-era ones still in forum posts, and S7's first list's."""

from django.http import Http404, QueryDict
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse

# S7's first list parameters, as the live site's orders.
OLD_SORTS = {"new": "new", "downloads": "popular", "rating": "best"}


def search_moved(request):
    """S7's first list lived at /search/ with ``q``, ``sort``, ``tag`` and ``tc``; each maps
    onto the live site's own address and parameters."""
    query = QueryDict(mutable=True)
    if request.GET.get("q"):
        query["search"] = request.GET["q"]
    sort = OLD_SORTS.get(request.GET.get("sort", ""))
    if sort:
        query["order"] = sort
    if request.GET.get("page"):
        query["page"] = request.GET["page"]
    target = reverse("home")
    try:
        if request.GET.get("tag"):
            target = reverse("tag", args=[request.GET["tag"]])
        elif request.GET.get("tc"):
            target = reverse("scenario", args=[request.GET["tc"]])
    except NoReverseMatch:
        raise Http404("No such tag or scenario.") from None
    return redirect(target + ("?" + query.urlencode() if query else ""), permanent=True)


def items_moved(request):
    """The live site's /items/ list is its front page; the query string still applies."""
    return moved_to(request, reverse("home"))


def download_moved(request, permalink):
    """The Rails-era download link, still in forum posts since 2007."""
    return moved_to(request, reverse("download", args=[permalink]))


def moved_to(request, target: str):
    """A permanent redirect to ``target`` that keeps the query string."""
    if request.META.get("QUERY_STRING"):
        target += "?" + request.META["QUERY_STRING"]
    return redirect(target, permanent=True)
