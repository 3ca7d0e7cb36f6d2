"""The forms of the Lease tab and the team schedules page; they build the actions' parameters,
never write."""

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy

from webvirt.core.converters import MAX_ID
from webvirt.core.weekdays import WEEKDAYS

from .actions import REASON_MAX, Exemption, PowerPlan, Renewal
from .models import validate_time_zone


class RenewForm(forms.Form):
    days = forms.IntegerField(
        label=gettext_lazy("New lease, in days from now"), min_value=1, max_value=3650, required=False
    )

    def __init__(self, *args, terms=None, staff=False, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["days"]
        if terms and terms.max_days and not staff:
            field.max_value = terms.max_days
            field.validators.append(MaxValueValidator(terms.max_days))
            field.widget.attrs["max"] = terms.max_days
            field.initial = terms.max_days
            field.required = True
        else:
            field.help_text = gettext_lazy("Empty: no end.")

    def params(self):
        return Renewal(days=self.cleaned_data["days"])


class PowerScheduleForm(forms.Form):
    days = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Days"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    start_at = forms.TimeField(
        label=gettext_lazy("Start at"), required=False, input_formats=["%H:%M"], widget=forms.TimeInput(format="%H:%M")
    )
    stop_at = forms.TimeField(
        label=gettext_lazy("Shut down at"),
        required=False,
        input_formats=["%H:%M"],
        widget=forms.TimeInput(format="%H:%M"),
        help_text=gettext_lazy("A guest whose system does not shut down in time is forced off."),
    )
    time_zone = forms.CharField(
        label=gettext_lazy("Time zone"),
        max_length=64,
        initial="UTC",
        validators=[validate_time_zone],
        help_text=gettext_lazy("A name from the time zone database, such as Europe/Berlin or Asia/Shanghai."),
    )
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False, initial=True)

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("start_at") is None and data.get("stop_at") is None:
            raise forms.ValidationError(gettext_lazy("Give a time to start, to shut down, or both."))
        return data

    def params(self):
        data = self.cleaned_data
        return PowerPlan(
            days=tuple(data["days"]),
            start_at=data["start_at"],
            stop_at=data["stop_at"],
            time_zone=data["time_zone"].strip(),
            enabled=data["enabled"],
            exemptions_allowed=data.get("exemptions_allowed", True),
        )


class TeamPowerScheduleForm(PowerScheduleForm):
    exemptions_allowed = forms.BooleanField(
        label=gettext_lazy("Members may exempt their guests"),
        required=False,
        initial=True,
        help_text=gettext_lazy("Those who may start a guest may exempt it, saying why; admins always may."),
    )


class ExemptionForm(forms.Form):
    team = forms.IntegerField(min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=gettext_lazy("Why should the team's schedule leave it alone?"),
        max_length=REASON_MAX,
        error_messages={"required": gettext_lazy("Say why the team's schedule should leave it alone.")},
        help_text=gettext_lazy("For example: a long test run. The team's admins see it."),
    )
    until = forms.DateField(
        label=gettext_lazy("Until (its last day)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("In the schedule's time zone. Empty: until someone lifts it."),
    )

    def params(self):
        data = self.cleaned_data
        return Exemption(team=data["team"], reason=data["reason"], until=data.get("until"))
