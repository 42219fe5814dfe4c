"""Signing up, logging out, the account's settings and Django's password pages as the site's."""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from items import logins
from items.forms import CheckedPasswordChangeForm, SettingsForm, SignupForm
from items.limits import limit_posts


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
