from django.contrib.auth import views as auth_views
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from items import api
from items.feeds import ItemsFeed, ReviewsFeed
from items.limits import limit_posts
from items.logins import limit_password_checks, signed_in_username, typed_username
from items.sitemaps import SITEMAPS
from items.views import accounts, downloads, editing, moved, pages

router = SimpleRouter()
router.register("items", api.ItemViewSet, basename="api-item")
router.register("versions", api.VersionViewSet, basename="api-version")
router.register("downloads", api.DownloadViewSet, basename="api-download")
router.register("reviews", api.ReviewViewSet, basename="api-review")
router.register("screenshots", api.ScreenshotViewSet, basename="api-screenshot")
router.register("tags", api.TagViewSet, basename="api-tag")

# The live site's URLs, kept: several have no trailing slash, /items/ redirects to the front
# page, and the Rails-era ones (still in forum posts) redirect to their new homes.
urlpatterns = [
    path("", pages.home, name="home"),
    path("", pages.home, name="item_list"),
    path("search/", moved.search_moved, name="search_moved"),
    path("about/", pages.about, name="about"),
    path("manage/", pages.manage, name="manage"),
    path("items/", moved.items_moved, name="items_moved"),
    path("items.rss", ItemsFeed(), name="items_feed"),
    path("reviews.rss", ReviewsFeed(), name="reviews_feed"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("items/new", editing.item_new, name="item_new"),
    path("items/<slug:permalink>/", pages.item_detail, name="item"),
    path("items/<slug:permalink>/edit", editing.item_edit, name="item_edit"),
    path("items/<slug:permalink>/delete", editing.item_delete, name="item_delete"),
    path("items/<slug:permalink>/versions/new", editing.version_new, name="version_new"),
    path(
        "items/<slug:permalink>/versions/<int:version_id>/edit",
        editing.version_edit,
        name="version_edit",
    ),
    path("items/<slug:permalink>/screenshots/new", editing.screenshots, name="screenshot_new"),
    path(
        "items/<slug:permalink>/screenshots/<int:screenshot_id>/edit",
        editing.screenshot_edit,
        name="screenshot_edit",
    ),
    path(
        "items/<slug:permalink>/screenshots/<int:screenshot_id>/delete",
        editing.screenshot_delete,
        name="screenshot_delete",
    ),
    path("items/<slug:permalink>/reviews/new", editing.review_new, name="review_new"),
    path("items/<slug:permalink>/reviews/<int:review_id>", pages.review_detail, name="review"),
    path(
        "items/<slug:permalink>/reviews/<int:review_id>/edit",
        editing.review_edit,
        name="review_edit",
    ),
    path(
        "items/<slug:permalink>/reviews/<int:review_id>/delete",
        editing.review_delete,
        name="review_delete",
    ),
    path("items/<slug:permalink>/downloads/new", downloads.download, name="download"),
    path("items/<slug:permalink>/download", moved.download_moved, name="download_moved"),
    path("scenarios/", pages.scenario_list, name="scenario_list"),
    path("scenarios/<slug:permalink>/", pages.scenario, name="scenario"),
    path("tags/", pages.tag_list, name="tag_list"),
    path("users/", pages.user_list, name="user_list"),
    path("users/<str:username>/", pages.user_detail, name="user"),
    path("tags/<str:name>/", pages.tag_detail, name="tag"),
    path("reviews/", pages.review_list, name="review_list"),
    path("signup/", accounts.signup, name="signup"),
    path(
        "login/",
        limit_password_checks(typed_username)(
            auth_views.LoginView.as_view(
                template_name="items/account/login.html", redirect_authenticated_user=True
            )
        ),
        name="login",
    ),
    path("logout/", accounts.logout_view, name="logout"),
    path("settings/", accounts.account_settings, name="settings"),
    path(
        "settings/password/",
        limit_password_checks(signed_in_username)(accounts.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "settings/password/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="items/account/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path(
        "password_reset/",
        limit_posts("password_reset", account_field="email")(
            auth_views.PasswordResetView.as_view(
                template_name="items/account/password_reset_form.html",
                email_template_name="items/account/password_reset_email.txt",
                subject_template_name="items/account/password_reset_subject.txt",
            )
        ),
        name="password_reset",
    ),
    path(
        "password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="items/account/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="items/account/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("api/", include(router.urls)),
]
