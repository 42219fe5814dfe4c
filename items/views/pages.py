"""The public reads: lists, an item's page, reviews, tags, scenarios, people, and the
signed-in owner's desk."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from items import selectors
from items.forms import ReviewForm
from items.models import Item, Review, Tag, User
from items.views.moved import moved_to

# The live site's About page is the item with this permalink.
ABOUT_PERMALINK = "simplici7y"


def _page(request, queryset, per_page=None):
    paginator = Paginator(queryset, per_page or settings.ITEMS_PER_PAGE)
    return paginator.get_page(request.GET.get("page"))


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
        "sidebar_groups": selectors.sidebar_groups(),
    }


def _no_nul(text: str) -> str:
    """Postgres refuses NUL in text: a path holding one names nothing here."""
    if "\x00" in text:
        raise Http404("No such page.")
    return text


def review_or_404(item_permalink, review_id) -> Review:
    return get_object_or_404(
        selectors.reviews_with_item(), pk=review_id, version__item__permalink=item_permalink
    )


def home(request):
    """The item list, as the live site's front page is."""
    return render(
        request,
        "items/home.html",
        {**_listing(request), "reviews": selectors.reviews_list()[:5]},
    )


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
    reviews = list(selectors.item_reviews(item))
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
    tags = list(selectors.tags_in_use())
    most = max((tag.items_count for tag in tags), default=1)
    for tag in tags:
        # Sized by use on a square-root scale, so the few big tags do not dwarf the rest.
        tag.size = round(0.9 + 1.6 * (tag.items_count / most) ** 0.5, 2)
    return render(request, "items/tag_list.html", {"tags": tags})


def tag_detail(request, name):
    tag = Tag.objects.filter(permalink=_no_nul(name)).first()
    if tag is None:
        # Old links name the tag itself ("/tags/Net Map/"); send them to its permalink.
        tag = get_object_or_404(Tag, name__iexact=name)
        return moved_to(request, tag.get_absolute_url())
    return render(request, "items/tag.html", {"tag": tag, **_listing(request, tag=tag)})


def user_list(request):
    return render(
        request, "items/user_list.html", {"page": _page(request, selectors.contributors_list(), 50)}
    )


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


def review_detail(request, permalink, review_id):
    review = review_or_404(permalink, review_id)
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
def manage(request):
    """The signed-in user's items: downloads per version and in each window, and the items
    that still need a version before anyone can see them in a list."""
    items = list(selectors.owned_items(request.user))
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
