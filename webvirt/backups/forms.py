"""Forms of the backups tab, the restore page and the admins' backup pools; each builds typed
parameters for an action (`params()`), never writes."""

import datetime

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt.core.policy import published_to
from webvirt.core.validators import validate_object_name
from webvirt.core.weekdays import WEEKDAYS

from .actions import PoolChoice, RestoreRequest, Schedule
from .models import BackupSchedule


class ScheduleForm(forms.Form):
    enabled = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Back up on a schedule"))
    frequency = forms.ChoiceField(choices=BackupSchedule.Frequency.choices, label=gettext_lazy("How often"))
    weekday = forms.TypedChoiceField(
        choices=WEEKDAYS, coerce=int, initial=0, label=gettext_lazy("Day (weekly backups)")
    )
    at = forms.TimeField(
        label=gettext_lazy("Time (UTC)"),
        initial=datetime.time(2, 0),  # a quiet hour for most teams, to start from
        input_formats=["%H:%M"],
        widget=forms.TimeInput(format="%H:%M"),
    )
    keep_last = forms.IntegerField(min_value=0, max_value=100, initial=3, label=gettext_lazy("Keep the last"))
    keep_daily = forms.IntegerField(
        min_value=0, max_value=366, initial=7, label=gettext_lazy("Keep one a day for (days)")
    )
    keep_weekly = forms.IntegerField(
        min_value=0, max_value=520, initial=4, label=gettext_lazy("Keep one a week for (weeks)")
    )

    def clean(self):
        data = super().clean()
        counts = [data.get(name) for name in ("keep_last", "keep_daily", "keep_weekly")]
        if None not in counts and sum(counts) == 0:
            raise forms.ValidationError(_("Keep at least one backup."))
        return data

    def params(self):
        data = self.cleaned_data
        return Schedule(
            enabled=data["enabled"],
            frequency=data["frequency"],
            at=data["at"].strftime("%H:%M"),
            weekday=data["weekday"],
            keep_last=data["keep_last"],
            keep_daily=data["keep_daily"],
            keep_weekly=data["keep_weekly"],
        )


class RestoreForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("new", gettext_lazy("To a new guest")), ("over", gettext_lazy("Over the existing guest"))],
        widget=forms.RadioSelect,
        initial="new",
        label=gettext_lazy("Restore"),
    )
    name = forms.CharField(
        required=False, max_length=100, validators=[validate_object_name], label=gettext_lazy("New guest's name")
    )
    pool = forms.ModelChoiceField(
        None,
        required=False,
        empty_label=gettext_lazy("— choose a pool —"),
        label=gettext_lazy("Storage pool for its disks"),
    )

    def __init__(self, *args, backup, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pool"].queryset = published_to(backup.host.pools.usable(), user)

    def clean(self):
        data = super().clean()
        if data.get("mode") == "new" and not self.errors:
            if not data.get("name"):
                self.add_error("name", _("Name the new guest."))
            if not data.get("pool"):
                self.add_error("pool", _("Choose a storage pool."))
        return data

    def params(self):
        data = self.cleaned_data
        if data["mode"] == "over":
            return RestoreRequest(mode="over")
        return RestoreRequest(mode="new", name=data["name"], pool_uuid=data["pool"].uuid)


class BackupPoolForm(forms.Form):
    pool = forms.ModelChoiceField(
        None, required=False, empty_label=gettext_lazy("— no backups —"), label=gettext_lazy("Backup pool")
    )

    def __init__(self, *args, host, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pool"].queryset = host.pools.present()

    def params(self):
        return PoolChoice(pool=self.cleaned_data["pool"])
