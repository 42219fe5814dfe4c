"""The analytics page's window: a few days up to today, or days of one's choosing."""

from datetime import UTC, datetime

from django import forms

from uploads.core import purposes
from uploads.reports.page import MAX_WINDOW_DAYS, Window

CUSTOM = "custom"
# What the page covers when no window is chosen (the first visit, or a purpose alone).
DEFAULT_WINDOW = "7"


class WindowForm(forms.Form):
    window = forms.ChoiceField(
        choices=[("1", "Today"), ("7", "Last 7 days"), ("30", "Last 30 days"), (CUSTOM, "Custom")],
        required=False,
    )
    first_day = forms.DateField(required=False, label="From", help_text="YYYY-MM-DD, UTC")
    last_day = forms.DateField(required=False, label="To", help_text="YYYY-MM-DD, UTC")
    purpose = forms.ChoiceField(required=False)

    def __init__(self, data=None, *args, **kwargs):
        # The default goes into the data, not only into ``clean``: the selector then shows the
        # window the page covers instead of its first choice.
        if data is not None and not data.get("window"):
            data = data.copy()
            data["window"] = DEFAULT_WINDOW
        super().__init__(data, *args, **kwargs)
        self.fields["purpose"].choices = [("", "All purposes")] + [
            (purpose.name, purpose.name) for purpose in purposes.all_purposes()
        ]

    def clean(self):
        data = super().clean()
        if data.get("window") != CUSTOM:
            return data
        first, last = data.get("first_day"), data.get("last_day")
        if not first or not last:
            raise forms.ValidationError("A custom window needs both its first and last day.")
        if first > last:
            raise forms.ValidationError("The first day must not be after the last day.")
        if (last - first).days + 1 > MAX_WINDOW_DAYS:
            raise forms.ValidationError(f"A window is at most {MAX_WINDOW_DAYS} days long.")
        return data

    def chosen_window(self, *, today=None) -> Window:
        """The window the valid form describes."""
        data = self.cleaned_data
        purpose = data.get("purpose") or None
        if data["window"] == CUSTOM:
            return Window(data["first_day"], data["last_day"], purpose)
        today = today or datetime.now(UTC).date()
        return Window.last_days(int(data["window"]), purpose=purpose, today=today)
