import re

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm, UserCreationForm
from django.utils.crypto import constant_time_compare
from django.utils.text import slugify

from items.models import RESERVED_PERMALINKS, Item, Review, Screenshot, User, Version
from items.services import parse_tag_names
from uploads.pages.fields import UploadField, UploadFormMixin

# A whole number as people type it in ASCII: str.isdigit() also takes "²", which int() refuses.
WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")  # within a bigint


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For password resets only; never shown.")
    passphrase = forms.CharField(
        help_text="Ask on the Aleph One forums or Discord; it keeps spam bots out.",
        widget=forms.PasswordInput(render_value=True),
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username", "email"]

    def clean_passphrase(self):
        phrase = self.cleaned_data["passphrase"].strip()
        if not constant_time_compare(phrase.lower(), settings.SIGNUP_PASSPHRASE.lower()):
            raise forms.ValidationError("That is not the passphrase.")
        return phrase


class CheckedPasswordChangeForm(PasswordChangeForm):
    """The old password is checked by ``authenticate()``, as a log-in's is, so that the same
    limit on failed checks holds here (``items.logins``)."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if (
            authenticate(self.request, username=self.user.get_username(), password=old_password)
            is None
        ):
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class SettingsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["email", "first_name", "last_name"]


class ItemForm(forms.ModelForm):
    tags = forms.CharField(
        required=False, max_length=500, help_text="Separated by commas, e.g. map, net, solo."
    )

    class Meta:
        model = Item
        fields = ["name", "permalink", "byline", "topnote", "body", "tc", "tags"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}
        help_texts = {
            "permalink": "The item's address: /items/your-permalink/. Left empty, it comes from the name."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["permalink"].required = False
        others = Item.objects.order_by("name").only("name")
        # The model's tags arrive in ``initial`` as a list (``[]`` for a new item): show names.
        self.initial["tags"] = ""
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
            self.initial["tags"] = ", ".join(t.name for t in self.instance.tags.all())
        self.fields["tc"].queryset = others
        self.fields["tc"].empty_label = "None"

    def clean_permalink(self):
        permalink = self.cleaned_data.get("permalink", "")
        if not permalink:
            return ""
        permalink = slugify(permalink)
        if permalink in RESERVED_PERMALINKS:
            raise forms.ValidationError("That permalink is a page of the site; choose another.")
        if Item.objects.filter(permalink=permalink).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another item already has this permalink.")
        return permalink

    def clean_tags(self):
        return parse_tag_names(self.cleaned_data.get("tags", ""))

    def validate_unique(self):
        # An empty permalink is filled in by the service; a given one was checked above.
        exclude = self._get_validation_exclusions()
        exclude.add("permalink")
        try:
            self.instance.validate_unique(exclude=exclude)
        except forms.ValidationError as error:
            self._update_errors(error)


class VersionForm(UploadFormMixin, forms.ModelForm):
    file = UploadField(
        purpose="version_file",
        required=False,
        help_text="Upload the map, scenario or plugin here, or give a link below.",
    )

    link = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="Or a link",
        help_text="Where the file lives elsewhere (e.g. a GitHub release).",
    )

    class Meta:
        model = Version
        fields = ["name", "notes", "file", "link"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 6})}

    def clean(self):
        cleaned = super().clean()
        upload, link = cleaned.get("file"), cleaned.get("link")
        if self.errors.get("file") or self.errors.get("link"):
            return cleaned
        if upload and link:
            raise forms.ValidationError("Give either a file or a link, not both.")
        if not upload and not link:
            raise forms.ValidationError("Give a file or a link.")
        if upload and Version.objects.filter(file=upload).exclude(pk=self.instance.pk).exists():
            self.add_error("file", "That file already belongs to another version.")
        return cleaned


class ScreenshotsForm(UploadFormMixin, forms.Form):
    """Screenshots in the order they are given. The page's one drop zone takes many images and
    sends each on its own as soon as it is ready, in drop order; several ids separated by commas
    are taken at once too."""

    uploads = UploadField(
        purpose="screenshot",
        multiple=True,
        required=False,
        label="Screenshots",
        help_text="Drop as many images as you like; each is added as soon as it is ready.",
    )

    def clean_uploads(self):
        uploads = self.cleaned_data["uploads"]
        if not uploads:
            raise forms.ValidationError("Choose at least one image.")
        if Screenshot.objects.filter(upload__in=uploads).exists():
            raise forms.ValidationError("One of these images is already a screenshot.")
        return uploads

    def uploads_and_titles(self):
        return [(upload, "") for upload in self.cleaned_data["uploads"]]


class ReviewForm(forms.ModelForm):
    rating = forms.TypedChoiceField(
        choices=[(n, f"{n} star{'s' if n > 1 else ''}") for n in range(5, 0, -1)],
        coerce=int,
    )

    class Meta:
        model = Review
        fields = ["version", "rating", "title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args, item, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = item.versions.all()
        self.fields["version"].empty_label = None


class ReviewEditForm(forms.ModelForm):
    """The author's own review: what they said and the stars, not which version it is of."""

    rating = ReviewForm.base_fields["rating"]

    class Meta:
        model = Review
        fields = ["rating", "title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}


class ScreenshotEditForm(UploadFormMixin, forms.ModelForm):
    image = UploadField(
        purpose="screenshot",
        required=False,
        label="Replace the image",
        help_text="Leave empty to keep the current image.",
    )

    class Meta:
        model = Screenshot
        fields = ["title", "order"]
        labels = {"order": "Position"}

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if (
            upload
            and Screenshot.objects.filter(upload=upload).exclude(pk=self.instance.pk).exists()
        ):
            raise forms.ValidationError("That image is already a screenshot.")
        return upload
