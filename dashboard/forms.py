"""The dashboard's date range: today, the last 7 or 30 days, or custom dates.

Days start at midnight in settings.TIME_ZONE; a range covers whole days, today included.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

MAX_DAYS = 366
EARLIEST = date(2000, 1, 1)
PRESETS = {"today": 1, "7d": 7, "30d": 30}
DEFAULT = "7d"


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date

    @property
    def start(self):
        return _midnight(self.first_day)

    @property
    def end(self):
        """The first moment after the range (exclusive)."""
        return _midnight(self.last_day + timedelta(days=1))

    @property
    def days(self):
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    @classmethod
    def last(cls, days, today=None):
        today = today or local_today()
        return cls(today - timedelta(days=days - 1), today)


def local_today():
    return timezone.localdate(timezone.now(), timezone.get_default_timezone())


def _midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


class PeriodForm(forms.Form):
    range = forms.ChoiceField(
        choices=[("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days"), ("custom", "Custom dates")],
        required=False,
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("range") != "custom":
            return data
        since, until = data.get("since"), data.get("until")
        if since is None or until is None:
            if not self.errors:
                raise forms.ValidationError("Custom dates need both a start and an end date.")
            return data
        if since < EARLIEST or until > local_today():
            raise forms.ValidationError(f"Choose dates between {EARLIEST:%-d %B %Y} and today.")
        if until < since:
            raise forms.ValidationError("The end date is before the start date.")
        if (until - since).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        return data

    def period(self):
        """The chosen range; the default (the last 7 days) when the form is not valid."""
        if not self.is_valid():
            return Period.last(PRESETS[DEFAULT])
        data = self.cleaned_data
        if data.get("range") == "custom":
            return Period(data["since"], data["until"])
        return Period.last(PRESETS.get(data.get("range") or DEFAULT, PRESETS[DEFAULT]))
