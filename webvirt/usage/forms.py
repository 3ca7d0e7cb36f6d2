"""The filters of a usage report, the same for the page, the CSV and the API."""

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from webvirt.accounts.models import Team
from webvirt.core import policy
from webvirt.core.converters import is_database_id

MAX_MONTHS = 12
NO_SUCH = {"user": _("There is no such user."), "team": _("There is no such team.")}
FORBIDDEN = "forbidden"  # the error code the views answer with a 403


class MonthField(forms.CharField):
    """A month as YYYY-MM, cleaned to the date of its first day."""

    default_error_messages = {"invalid": _("Give a month as YYYY-MM, e.g. 2026-03.")}
    YEARS = range(1970, 9999)  # the month after the last must exist too

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            year, month = (int(part) for part in value.split("-"))
            if year not in self.YEARS or len(value) > len("YYYY-MM"):
                raise ValueError(year)
            return dt.date(year, month, 1)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class IdField(forms.IntegerField):
    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and not is_database_id(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value


def _month_start(day):
    return dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC)


def _next_month(day):
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


class UsageForm(forms.Form):
    """Months from `start` to `end` (inclusive; the current one by default), `by` day or month, and
    whose usage: one `user` or one `team`, else one's own and one's teams' (admins: everyone's)."""

    start = MonthField(required=False, label=_("From month"))
    end = MonthField(required=False, label=_("To month"))
    by = forms.ChoiceField(
        choices=[("day", _("per day")), ("month", _("per month"))], required=False, label=_("Group by")
    )
    user = IdField(required=False, label=_("User"))
    team = IdField(required=False, label=_("Team"))

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor

    def _subject(self, name, queryset):
        """The user or team asked for; one the actor may not see is refused whether or not it exists."""
        pk = self.cleaned_data.get(name)
        if pk is None:
            return None
        found = queryset.filter(pk=pk).first()
        if found is None and self.actor.is_staff:
            self.add_error(name, NO_SUCH[name])
        elif found is None or not policy.can(self.actor, "usage.view", found):
            self.add_error(name, forms.ValidationError(policy.refusal("usage.view"), code=FORBIDDEN))
        return found

    def clean(self):
        data = super().clean()
        today = timezone.now().date()
        start = data.get("start") or data.get("end") or today.replace(day=1)
        end = data.get("end") or start
        if end < start:
            self.add_error("end", _("The last month comes before the first."))
        elif (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
            self.add_error("end", _("Ask for at most %(count)s months at a time.") % {"count": MAX_MONTHS})
        if data.get("user") is not None and data.get("team") is not None:
            self.add_error("team", _("Choose a user or a team, not both."))
        data["start"], data["end"] = start, end
        data["by"] = data.get("by") or "day"
        data["user"] = self._subject("user", get_user_model().objects.all())
        data["team"] = self._subject("team", Team.objects.all())
        return data

    @property
    def forbidden(self):
        return any(error.code == FORBIDDEN for errors in self.errors.as_data().values() for error in errors)

    def query(self):
        """The report's arguments (webvirt.usage.report.report) for valid filters."""
        data = self.cleaned_data
        query = {
            "start": _month_start(data["start"]),
            "end": _month_start(_next_month(data["end"])),
            "by": data["by"],
            "users": get_user_model().objects.none(),
            "teams": Team.objects.none(),
        }
        if data["user"] is not None:
            query["users"] = get_user_model().objects.filter(pk=data["user"].pk)
        elif data["team"] is not None:
            query["teams"] = Team.objects.filter(pk=data["team"].pk)
        elif self.actor.is_staff:
            query.update(teams=Team.objects.all(), everyone=True)
        else:
            query.update(
                users=get_user_model().objects.filter(pk=self.actor.pk),
                teams=policy.restrict(Team.objects.all(), self.actor, "usage.view"),
            )
        return query
