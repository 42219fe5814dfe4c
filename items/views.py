"""The site's pages. Views parse input, check who may act, call a service and render."""

import functools
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from items import limits, selectors, services
from items.forms import ItemForm, ReviewForm, ScreenshotsForm, SettingsForm, SignupForm, VersionForm
from items.models import Item, Review, Tag, User, Version

# A whole number as people type it in ASCII: str.isdigit() also takes "²", which int() refuses.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")  # within a bigint


def too_many_requests(request, sentence: str, retry_after: int):
    """429 with a sentence a person can act on, and when to try again."""
    response = render(
        request,
        "items/too_many_requests.html",
        {"sentence": sentence, "minutes": max(1, -(-retry_after // 60))},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


# What a person is told when an account form is refused for its rate, by what was limited.
_TOO_MANY = {
    "login": "Too many log-in attempts",
    "signup": "Too many sign-ups",
    "password_reset": "Too many password reset requests",
}


def limit_posts(scope: str, *, account_field: str | None = None):
    """Refuse (429) POSTs to the view past ``ITEMS_RATES[scope]`` per client address and,
    when ``account_field`` names the form's account field, per account: guessing passwords
    from many addresses is limited too."""

    def wrap(view):
        @functools.wraps(view)
        def limited(request, *args, **kwargs):
            rates = settings.ITEMS_RATES[scope]
            if request.method == "POST":
                wait = limits.hit(
                    f"{scope}:address",
                    limits.client_address(request),
                    limits.Rate.parse(rates["address"]),
                )
                whose = "from your address"
                account = request.POST.get(account_field, "") if account_field else ""
                account = account.strip().lower()[:254]
                if not wait and account and "account" in rates:
                    wait = limits.hit(
                        f"{scope}:account", account, limits.Rate.parse(rates["account"])
                    )
                    whose = "for this account"
                if wait:
                    return too_many_requests(request, f"{_TOO_MANY[scope]} {whose}.", wait)
            return view(request, *args, **kwargs)

        return limited

    return wrap


def _page(request, queryset, per_page=None):
    paginator = Paginator(queryset, per_page or settings.ITEMS_PER_PAGE)
    return paginator.get_page(request.GET.get("page"))


def _editable_item(request, permalink) -> Item:
    item = get_object_or_404(Item, permalink=permalink)
    if not item.editable_by(request.user):
        raise PermissionDenied("Only the item's owner can change it.")
    return item


# --- Browsing ------------------------------------------------------------------------------


def home(request):
    items = selectors.items_list()
    return render(
        request,
        "items/home.html",
        {
            "newest": items.order_by(*selectors.SORTS["new"])[:8],
            "popular": items.order_by(*selectors.SORTS["downloads"])[:8],
            "top_rated": items.filter(reviews_count__gt=0).order_by(*selectors.SORTS["rating"])[:5],
            "reviews": selectors.reviews_list()[:5],
            "tags": Tag.objects.filter(items_count__gt=0).order_by("-items_count", "name")[:20],
        },
    )


def item_list(request):
    q = request.GET.get("q", "").strip()
    tag = request.GET.get("tag", "").strip()
    tc = request.GET.get("tc", "").strip()
    sort = request.GET.get("sort", "new")
    if sort not in selectors.SORTS:
        sort = "new"
    items = selectors.items_list(q=q, tag=tag, tc=tc, sort=sort)
    return render(
        request,
        "items/item_list.html",
        {
            "page": _page(request, items),
            "q": q,
            "tag": Tag.objects.filter(permalink=tag).first() if tag else None,
            "tc": Item.objects.filter(permalink=tc).first() if tc else None,
            "sort": sort,
            "sorts": [
                ("new", "Newest"),
                ("downloads", "Most downloaded"),
                ("rating", "Best rated"),
            ],
            "title": f"Search: {q}" if q else "All items",
        },
    )


def items_moved(request):
    """The old /items/ list lives at /search/ now; its query string still applies."""
    target = reverse("item_list")
    if request.GET:
        target += "?" + request.GET.urlencode()
    return redirect(target, permanent=True)


def item_detail(request, permalink):
    item = get_object_or_404(Item.objects.select_related("owner", "tc"), permalink=permalink)
    versions = list(item.versions.select_related("file"))
    reviews = list(
        Review.objects.filter(version__item=item)
        .select_related("user", "version")
        .order_by("-created_at")
    )
    screenshots = list(item.screenshots.select_related("upload"))
    can_review = (
        request.user.is_authenticated
        and request.user.pk != item.owner_id
        and versions
        and not any(r.user_id == request.user.pk for r in reviews if r.version_id == versions[0].pk)
    )
    return render(
        request,
        "items/item_detail.html",
        {
            "item": item,
            "versions": versions,
            "newest": versions[0] if versions else None,
            "reviews": reviews,
            "screenshots": screenshots,
            "tags": item.tags.all(),
            "tc_items": item.tc_items.order_by("name")[:50],
            "can_edit": item.editable_by(request.user),
            "review_form": ReviewForm(item=item) if can_review else None,
        },
    )


def scenario(request, permalink):
    item = get_object_or_404(Item, permalink=permalink)
    items = selectors.items_list(tc=item.permalink, sort=request.GET.get("sort", "new"))
    return render(request, "items/scenario.html", {"item": item, "page": _page(request, items)})


def tag_detail(request, name):
    tag = Tag.objects.filter(permalink=name).first()
    if tag is None:
        # Old links name the tag itself ("/tags/Net Map/"); send them to its permalink.
        tag = get_object_or_404(Tag, name__iexact=name)
        return redirect(tag, permanent=True)
    sort = request.GET.get("sort", "new")
    items = selectors.items_list(tag=tag.permalink, sort=sort if sort in selectors.SORTS else "new")
    return render(
        request, "items/tag.html", {"tag": tag, "page": _page(request, items), "sort": sort}
    )


def user_list(request):
    users = User.objects.filter(is_active=True, items_count__gt=0).order_by(
        "-items_count", "username"
    )
    return render(request, "items/user_list.html", {"page": _page(request, users, 50)})


def user_detail(request, username):
    person = get_object_or_404(User, username=username, is_active=True)
    items = selectors.items_list().filter(owner=person)
    reviews = selectors.reviews_list().filter(user=person)[:50]
    return render(
        request,
        "items/user_detail.html",
        {"person": person, "page": _page(request, items), "reviews": reviews},
    )


def review_list(request):
    return render(
        request, "items/review_list.html", {"page": _page(request, selectors.reviews_list())}
    )


# --- Accounts ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@limit_posts("signup")
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to Simplici7y, {user.username}.")
        return redirect("home")
    return render(request, "items/account/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def logout_view(request):
    """GET asks (old links pointed here); POST logs out, so a stray link cannot."""
    if request.method == "POST":
        logout(request)
        messages.info(request, "You are logged out.")
        return redirect("home")
    return render(request, "items/account/logout_confirm.html")


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request):
    form = SettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your settings are saved.")
        return redirect("settings")
    return render(request, "items/account/settings.html", {"form": form})


# --- Items ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def item_new(request):
    form = ItemForm(request.POST or None, instance=Item(owner=request.user))
    if request.method == "POST" and form.is_valid():
        item = services.item_save(item=form.save(commit=False), tag_names=form.cleaned_data["tags"])
        messages.success(request, "Your item is published. Now add a version.")
        return redirect("version_new", permalink=item.permalink)
    return render(request, "items/item_form.html", {"form": form, "item": None})


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request, permalink):
    item = _editable_item(request, permalink)
    form = ItemForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        item = services.item_save(item=form.save(commit=False), tag_names=form.cleaned_data["tags"])
        messages.success(request, "Saved.")
        return redirect(item)
    return render(request, "items/item_form.html", {"form": form, "item": item})


@login_required
@require_http_methods(["GET", "POST"])
def item_delete(request, permalink):
    item = _editable_item(request, permalink)
    if request.method == "POST":
        services.item_delete(item=item)
        messages.info(request, f"“{item.name}” is deleted.")
        return redirect("user", username=request.user.username)
    return render(request, "items/item_delete.html", {"item": item})


# --- Versions ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def version_new(request, permalink):
    item = _editable_item(request, permalink)
    form = VersionForm(request.POST or None, instance=Version(item=item), user=request.user)
    if request.method == "POST" and form.is_valid():
        services.version_save(version=form.save(commit=False))
        messages.success(request, "The new version is up.")
        return redirect(item)
    return render(request, "items/version_form.html", {"form": form, "item": item, "version": None})


@login_required
@require_http_methods(["GET", "POST"])
def version_edit(request, permalink, version_id):
    item = _editable_item(request, permalink)
    version = get_object_or_404(Version, item=item, pk=version_id)
    # The file's owner, not the moderator, is who uploaded it; staff keep the same file.
    form = VersionForm(
        request.POST or None,
        instance=version,
        user=version.file.owner if version.file else request.user,
    )
    if request.method == "POST" and form.is_valid():
        services.version_save(version=form.save(commit=False))
        messages.success(request, "Saved.")
        return redirect(item)
    return render(
        request, "items/version_form.html", {"form": form, "item": item, "version": version}
    )


# --- Screenshots ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def screenshots(request, permalink):
    """Add several screenshots at once, and reorder, retitle or delete the existing ones."""
    item = _editable_item(request, permalink)
    add_form = ScreenshotsForm(user=request.user)
    if request.method == "POST" and request.POST.get("action") == "arrange":
        orders, titles, delete = {}, {}, set()
        for shot in item.screenshots.all():
            order = request.POST.get(f"order_{shot.pk}", "").strip()
            if order and not _WHOLE_NUMBER.fullmatch(order):
                messages.error(
                    request,
                    f"The position “{order[:20]}” is not a whole number like 1, 2 or 3; "
                    "nothing was saved.",
                )
                return redirect("screenshot_new", permalink=item.permalink)
            if order:
                orders[shot.pk] = min(int(order), 10_000)
            titles[shot.pk] = request.POST.get(f"title_{shot.pk}", shot.title)[:120]
            if request.POST.get(f"delete_{shot.pk}"):
                delete.add(shot.pk)
        services.screenshots_arrange(item=item, orders=orders, titles=titles, delete=delete)
        messages.success(request, "Screenshots saved.")
        return redirect("screenshot_new", permalink=item.permalink)
    if request.method == "POST":
        add_form = ScreenshotsForm(request.POST, user=request.user)
        if add_form.is_valid():
            made = services.screenshots_add(
                item=item, uploads_and_titles=add_form.uploads_and_titles()
            )
            messages.success(
                request, f"{len(made)} screenshot{'s' if len(made) != 1 else ''} added."
            )
            return redirect("screenshot_new", permalink=item.permalink)
    return render(
        request,
        "items/screenshots.html",
        {"item": item, "form": add_form, "screenshots": item.screenshots.select_related("upload")},
    )


# --- Reviews -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def review_new(request, permalink):
    item = get_object_or_404(Item, permalink=permalink)
    if item.owner_id == request.user.pk:
        raise PermissionDenied("You cannot review your own item.")
    if not item.versions.exists():
        messages.info(request, "This item has no version to review yet.")
        return redirect(item)
    form = ReviewForm(request.POST or None, item=item)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.review_create(
                version=data["version"],
                user=request.user,
                title=data["title"],
                body=data["body"],
                rating=data["rating"],
            )
        except services.NotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Thank you for your review.")
            return redirect(item)
    return render(request, "items/review_form.html", {"form": form, "item": item})


# --- Downloads -----------------------------------------------------------------------------


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


@never_cache
def download(request, permalink):
    """Count a download and send the browser to the file (a presigned S3 URL), or show the
    page that says where a link leads."""
    wait = limits.hit(
        "download",
        limits.client_address(request),
        limits.Rate.parse(settings.ITEMS_RATE_DOWNLOAD),
    )
    if wait:
        return too_many_requests(
            request, "Too many downloads from your address in a short time.", wait
        )
    item = get_object_or_404(Item, permalink=permalink)
    versions = Version.objects.filter(item=item).select_related("file")
    version_id = request.GET.get("version")
    if version_id:
        if not _WHOLE_NUMBER.fullmatch(version_id):
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
