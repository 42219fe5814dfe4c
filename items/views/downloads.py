"""The download link: who is sent where, which requests count as a download, and how often."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from items import limits, services
from items.forms import WHOLE_NUMBER
from items.models import Item, Version


def _is_a_visit(request) -> bool:
    """A person following the link counts; an ``<img>``, a script's fetch or a browser's
    prefetch or prerender of the same URL does not."""
    # A frame counts nothing either: any page could hide one to inflate a count.
    if request.headers.get("Sec-Fetch-Dest", "document").lower() != "document":
        return False
    purpose = " ".join(
        request.headers.get(name, "") for name in ("Sec-Purpose", "Purpose", "X-Moz")
    ).lower()
    return "prefetch" not in purpose and "prerender" not in purpose


def _is_an_image_fetch(request) -> bool:
    # Browsers without Sec-Fetch-Dest still ask for images first in Accept.
    return request.headers.get("Sec-Fetch-Dest", "").lower() == "image" or request.headers.get(
        "Accept", ""
    ).lstrip().lower().startswith("image/")


@never_cache
def download(request, permalink):
    """Count a download and send the browser to the file (a presigned S3 URL), or show the
    page that says where a link leads."""
    if _is_an_image_fetch(request):
        # A download link used as an image in a review would otherwise spend the allowance of
        # everyone who reads it, and send each of them the whole file.
        return HttpResponseForbidden("A download link is not an image.", content_type="text/plain")
    wait = limits.hit(
        "download",
        limits.client_address(request),
        limits.Rate.parse(settings.ITEMS_RATE_DOWNLOAD),
    )
    if wait:
        return limits.too_many_requests(
            request, "Too many downloads from your address in a short time.", wait
        )
    item = get_object_or_404(Item, permalink=permalink)
    versions = Version.objects.filter(item=item).select_related("file")
    version_id = request.GET.get("version")
    if version_id:
        if not WHOLE_NUMBER.fullmatch(version_id):
            raise Http404
        version = get_object_or_404(versions, pk=int(version_id))
    else:
        version = versions.order_by("-created_at", "-pk").first()
        if version is None:
            raise Http404("This item has no version yet.")
    if not version.is_ready:
        messages.info(request, "This file is still being processed; try again in a minute.")
        return redirect(item)
    if _is_a_visit(request):
        services.download_record(
            version=version, user=request.user, visitor=limits.visitor(request)
        )
    if version.link:
        # Never a redirect: a link under the site's name must not send people elsewhere
        # unannounced (an open redirect is a phisher's favourite tool).
        return render(
            request,
            "items/leaving.html",
            {"item": item, "version": version, "host": urlsplit(version.link).hostname or ""},
        )
    return redirect(version.file.download_url())
