"""The site's pages. Views parse input, check who may act, call a service and render."""

import functools
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import Http404, HttpResponseForbidden, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from items import limits, logins, selectors, services
from items.forms import (
    CheckedPasswordChangeForm,
    ItemForm,
    ReviewEditForm,
    ReviewForm,
    ScreenshotEditForm,
    ScreenshotsForm,
    SettingsForm,
    SignupForm,
    VersionForm,
)
from items.models import Item, Review, Screenshot, Tag, User, Version

# The live site's About page is the item with this permalink.
ABOUT_PERMALINK = "simplici7y"

# S7's first list parameters, as the live site's orders.
OLD_SORTS = {"new": "new", "downloads": "popular", "rating": "best"}

# The live site's sidebar: gameplay tags, file types and the three Marathon scenarios (by
# permalink); only those that exist here are shown.
SIDEBAR_LINKS = [
    ("Upload types", "tag", [
        ("Netmaps", "netmaps"), ("Scenarios", "scenario"), ("Enhancements", "enhancement"),
        ("Plugins", "plugin"), ("Scripts", "script"), ("Physics", "physics"),
        ("Music", "music"), ("Utilities", "utility"),
    ]),
    ("Gameplay types", "tag", [
        ("Solo", "solo"), ("Solo / Cooperative", "solocoop"), ("Survival", "survival"),
        ("Multiplayer", "multiplayer"), ("Every Man for Himself", "emfh"),
        ("King of the Hill", "koth"), ("Kill the Man with the Ball", "ktmwtb"),
        ("Capture the Flag", "ctf"),
    ]),
    ("Uploads for scenarios", "scenario", [
        ("Marathon", "marathon"), ("Marathon: Durandal", "marathon-2-durandal"),
        ("Marathon: Infinity", "marathon-infinity"),
    ]),
]  # fmt: skip

# A whole number as people type it in ASCII: str.isdigit() also takes "²", which int() refuses.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")  # within a bigint


def too_many_requests(request, sentence: str, retry_after: int, *, offer_reset=False):
    """429 with a sentence a person can act on, and when to try again."""
    response = render(
        request,
        "items/too_many_requests.html",
        {
            "sentence": sentence,
            "minutes": max(1, -(-retry_after // 60)),
            "offer_reset": offer_reset,
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


# What a person is told when an account form is refused for its rate, by what was limited.
_TOO_MANY = {
    "signup": "Too many sign-ups",
    "password_reset": "Too many password reset requests",
}


def limit_posts(scope: str, *, account_field: str | None = None):
    """Refuse (429) POSTs to the view past ``ITEMS_RATES[scope]`` per client address and,
    when ``account_field`` names the form's account field, per account, so that one account
    cannot be flooded from many addresses. Every POST counts (password checks count only
    their failures: ``limit_password_checks``)."""

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


def limit_password_checks(account_of):
    """Refuse (429) a POST to a view that checks a password while the client address or the
    account (``account_of(request)``) has failed too many checks; ``items.logins`` counts the
    failures. The refusal offers the password reset, which the hold does not stop."""

    def wrap(view):
        @functools.wraps(view)
        def limited(request, *args, **kwargs):
            if request.method == "POST":
                hold = logins.hold_on(request, account_of(request))
                if hold is not None:
                    return too_many_requests(
                        request,
                        f"Too many failed log-in attempts {hold.whose}.",
                        hold.seconds,
                        offer_reset=True,
                    )
            return view(request, *args, **kwargs)

        return limited

    return wrap


def typed_username(request) -> str:
    """The name a log-in form was sent with (the site's and the admin's)."""
    return request.POST.get("username", "")


def signed_in_username(request) -> str:
    return request.user.get_username() if request.user.is_authenticated else ""


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, whose old password is checked through ``authenticate()``, like a log-in."""

    form_class = CheckedPasswordChangeForm
    template_name = "items/account/password_change_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's; a new password set from the e-mailed link frees the account from a hold
    that password guessing put on it."""

    template_name = "items/account/password_reset_confirm.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        logins.free_account(form.user.get_username())
        return response


def _page(request, queryset, per_page=None):
    paginator = Paginator(queryset, per_page or settings.ITEMS_PER_PAGE)
    return paginator.get_page(request.GET.get("page"))


def _editable_item(request, permalink) -> Item:
    item = get_object_or_404(Item, permalink=permalink)
    if not item.editable_by(request.user):
        raise PermissionDenied("Only the item's owner can change it.")
    return item


# --- Browsing ------------------------------------------------------------------------------


def _listing(request, **filters) -> dict:
    """The live site's list habits: ``search`` (which wins), ``order`` and ``page``."""
    search = request.GET.get("search", "").strip()
    order = request.GET.get("order", "new")
    if order not in selectors.ORDERS:
        order = "new"
    items = selectors.items_list(search=search, order=order, **filters)
    return {
        "page": _page(request, items),
        "search": search,
        "order": order,
        "order_groups": selectors.ORDER_LABELS,
        **_sidebar(),
    }


def home(request):
    """The item list, as the live site's front page is."""
    return render(
        request,
        "items/home.html",
        {**_listing(request), "reviews": selectors.reviews_list()[:5]},
    )


def _sidebar() -> dict:
    tags = set(
        Tag.objects.filter(
            permalink__in=[p for _, kind, links in SIDEBAR_LINKS if kind == "tag" for _, p in links]
        ).values_list("permalink", flat=True)
    )
    scenarios = set(
        Item.objects.filter(
            permalink__in=[
                p for _, kind, links in SIDEBAR_LINKS if kind == "scenario" for _, p in links
            ]
        ).values_list("permalink", flat=True)
    )
    groups = []
    for title, kind, links in SIDEBAR_LINKS:
        there = tags if kind == "tag" else scenarios
        shown = [(label, reverse(kind, args=[p])) for label, p in links if p in there]
        if shown:
            groups.append((title, shown))
    return {"sidebar_groups": groups}


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
    target = reverse("home")
    if request.META.get("QUERY_STRING"):
        target += "?" + request.META["QUERY_STRING"]
    return redirect(target, permanent=True)


def download_moved(request, permalink):
    """The Rails-era download link, still in forum posts since 2007."""
    target = reverse("download", args=[permalink])
    if request.META.get("QUERY_STRING"):
        target += "?" + request.META["QUERY_STRING"]
    return redirect(target, permanent=True)


def about(request):
    return render(request, "items/about.html")


def item_detail(request, permalink):
    item = Item.objects.select_related("owner", "tc").filter(permalink=permalink).first()
    if item is None:
        if permalink == ABOUT_PERMALINK:
            # The live site's About page was an item; until one is imported, ours answers.
            return redirect("about")
        raise Http404("No item has this address.")
    versions = list(item.versions.select_related("file"))
    reviews = list(
        Review.objects.filter(version__item=item)
        .select_related("user", "version__item")
        .defer("body", "body_excerpt_html")
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
            "windows": selectors.download_windows(item),
        },
    )


def scenario_list(request):
    return render(
        request,
        "items/scenario_list.html",
        {"page": _page(request, selectors.scenarios_list())},
    )


def scenario(request, permalink):
    item = get_object_or_404(Item, permalink=permalink)
    return render(request, "items/scenario.html", {"item": item, **_listing(request, tc=item)})


def tag_list(request):
    tags = list(Tag.objects.filter(items_count__gt=0).order_by("name"))
    most = max((tag.items_count for tag in tags), default=1)
    for tag in tags:
        # Sized by use on a square-root scale, so the few big tags do not dwarf the rest.
        tag.size = round(0.9 + 1.6 * (tag.items_count / most) ** 0.5, 2)
    return render(request, "items/tag_list.html", {"tags": tags})


def _no_nul(text: str) -> str:
    """Postgres refuses NUL in text: a path holding one names nothing here."""
    if "\x00" in text:
        raise Http404("No such page.")
    return text


def tag_detail(request, name):
    tag = Tag.objects.filter(permalink=_no_nul(name)).first()
    if tag is None:
        # Old links name the tag itself ("/tags/Net Map/"); send them to its permalink.
        tag = get_object_or_404(Tag, name__iexact=name)
        target = tag.get_absolute_url()
        if request.META.get("QUERY_STRING"):
            target += "?" + request.META["QUERY_STRING"]
        return redirect(target, permanent=True)
    return render(request, "items/tag.html", {"tag": tag, **_listing(request, tag=tag)})


def user_list(request):
    # As on the live site: everyone who has published or reviewed, most contributions first.
    users = (
        User.objects.filter(is_active=True)
        .filter(Q(items_count__gt=0) | Q(reviews_count__gt=0))
        .annotate(contributions=F("items_count") + F("reviews_count"))
        .order_by("-contributions", "username")
    )
    return render(request, "items/user_list.html", {"page": _page(request, users, 50)})


def user_detail(request, username):
    person = get_object_or_404(User, username=_no_nul(username), is_active=True)
    own_page = request.user.is_authenticated and request.user.pk == person.pk
    reviews = selectors.reviews_list().filter(user=person)[:50]
    return render(
        request,
        "items/user_detail.html",
        {
            "person": person,
            "own_page": own_page,
            "reviews": reviews,
            **_listing(request, owner=person, include_unversioned=own_page),
        },
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
        login(request, user, backend="items.logins.LimitedModelBackend")
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
            # No message: the drop zone posts once per image, and the list below shows them.
            services.screenshots_add(item=item, uploads_and_titles=add_form.uploads_and_titles())
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


def _review_of(item_permalink, review_id) -> Review:
    return get_object_or_404(
        Review.objects.select_related("user", "version__item"),
        pk=review_id,
        version__item__permalink=item_permalink,
    )


def _own_review(request, permalink, review_id) -> Review:
    review = _review_of(permalink, review_id)
    if not review.editable_by(request.user):
        raise PermissionDenied("Only the review's author can change it.")
    return review


def review_detail(request, permalink, review_id):
    review = _review_of(permalink, review_id)
    return render(
        request,
        "items/review_detail.html",
        {
            "review": review,
            "item": review.version.item,
            "can_edit": review.editable_by(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_edit(request, permalink, review_id):
    review = _own_review(request, permalink, review_id)
    form = ReviewEditForm(request.POST or None, instance=review)
    if request.method == "POST" and form.is_valid():
        services.review_update(review=form.save(commit=False))
        messages.success(request, "Your review is saved.")
        return redirect("review", permalink=permalink, review_id=review.pk)
    return render(
        request,
        "items/review_form.html",
        {"form": form, "item": review.version.item, "review": review},
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_delete(request, permalink, review_id):
    review = _own_review(request, permalink, review_id)
    item = review.version.item
    if request.method == "POST":
        services.review_delete(review=review)
        messages.info(request, "The review is deleted.")
        return redirect(item)
    return render(
        request,
        "items/confirm_delete.html",
        {"what": f"your review “{review.title}” of {item.name}", "back": review.get_absolute_url()},
    )


# --- One screenshot ------------------------------------------------------------------------


def _editable_screenshot(request, permalink, screenshot_id) -> Screenshot:
    item = _editable_item(request, permalink)
    return get_object_or_404(item.screenshots.select_related("upload"), pk=screenshot_id)


@login_required
@require_http_methods(["GET", "POST"])
def screenshot_edit(request, permalink, screenshot_id):
    """Retitle, move or replace one screenshot (the live site's page for it)."""
    shot = _editable_screenshot(request, permalink, screenshot_id)
    form = ScreenshotEditForm(request.POST or None, instance=shot, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.screenshot_update(
            screenshot=shot,
            title=form.cleaned_data["title"],
            order=form.cleaned_data["order"],
            upload=form.cleaned_data.get("image"),
        )
        messages.success(request, "Screenshot saved.")
        return redirect("screenshot_new", permalink=permalink)
    return render(
        request, "items/screenshot_form.html", {"form": form, "item": shot.item, "shot": shot}
    )


@login_required
@require_http_methods(["GET", "POST"])
def screenshot_delete(request, permalink, screenshot_id):
    shot = _editable_screenshot(request, permalink, screenshot_id)
    if request.method == "POST":
        services.screenshots_arrange(item=shot.item, orders={}, titles={}, delete={shot.pk})
        messages.info(request, "The screenshot is deleted.")
        return redirect("screenshot_new", permalink=permalink)
    return render(
        request,
        "items/confirm_delete.html",
        {
            "what": f"the screenshot “{shot}” of {shot.item.name}",
            "back": reverse("screenshot_new", args=[permalink]),
        },
    )


# --- The owner's desk ----------------------------------------------------------------------


@login_required
def manage(request):
    """The signed-in user's items: downloads per version and in each window, and the items
    that still need a version before anyone can see them in a list."""
    items = list(
        Item.objects.filter(owner=request.user)
        .prefetch_related("versions")
        .order_by(*selectors.NEWEST_VERSION_FIRST)
    )
    windows = selectors.download_windows_by_item([item.pk for item in items])
    for item in items:
        item.windows = windows.get(item.pk, dict.fromkeys(selectors.WINDOWS, 0))
    return render(
        request,
        "items/manage.html",
        {
            "published": [item for item in items if item.versions.all()],
            "unversioned": [item for item in items if not item.versions.all()],
        },
    )
