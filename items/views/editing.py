"""The owner's forms: an item, its versions, its screenshots, and a reviewer's review."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from items import services
from items.forms import (
    WHOLE_NUMBER,
    ItemForm,
    ReviewEditForm,
    ReviewForm,
    ScreenshotEditForm,
    ScreenshotsForm,
    VersionForm,
)
from items.models import Item, Review, Screenshot, Version
from items.views.pages import review_or_404


def _editable_item(request, permalink) -> Item:
    item = get_object_or_404(Item, permalink=permalink)
    if not item.editable_by(request.user):
        raise PermissionDenied("Only the item's owner can change it.")
    return item


def _editable_screenshot(request, permalink, screenshot_id) -> Screenshot:
    item = _editable_item(request, permalink)
    return get_object_or_404(item.screenshots.select_related("upload"), pk=screenshot_id)


def _own_review(request, permalink, review_id) -> Review:
    review = review_or_404(permalink, review_id)
    if not review.editable_by(request.user):
        raise PermissionDenied("Only the review's author can change it.")
    return review


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
            if order and not WHOLE_NUMBER.fullmatch(order):
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
