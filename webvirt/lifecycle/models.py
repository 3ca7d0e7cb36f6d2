"""Power schedules: a guest's, or every guest of a team's, start and stop at given local times
on given days. Beat runs them (lifecycle/schedules.py)."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from webvirt.core.weekdays import WEEKDAYS


def validate_time_zone(name):
    if name not in zoneinfo.available_timezones():
        raise ValidationError(_("%(zone)s is not a time zone name such as Europe/Berlin.") % {"zone": name})


class PowerScheduleQuerySet(models.QuerySet):
    def of_teams_acting_on(self, guest):
        """The team schedules that act on `guest` (the mirror of schedules.guests_of): those of
        its owner's teams and of the teams it is shared with."""
        teams = models.Q(team__grants__guest=guest)
        if guest.owner_id:
            teams |= models.Q(team__members=guest.owner_id)
        return self.filter(team__isnull=False).filter(teams).distinct().select_related("team")

    def with_exemption_of(self, guest):
        """These schedules by team name, each with `exemption`: the guest's exemption from it, or None."""
        exemptions = {each.schedule_id: each for each in guest.schedule_exemptions.select_related("set_by", "guest")}
        schedules = list(self.order_by("team__name"))
        for schedule in schedules:
            schedule.exemption = exemptions.get(schedule.pk)
        return schedules


class PowerSchedule(models.Model):
    guest = models.ForeignKey(
        "guests.Guest", null=True, blank=True, on_delete=models.CASCADE, related_name="power_schedules"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="power_schedules"
    )
    days = models.JSONField(default=list, help_text=_("Weekdays it runs on, 0 (Monday) to 6 (Sunday)."))
    start_at = models.TimeField(_("start at"), null=True, blank=True)
    stop_at = models.TimeField(_("shut down at"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_time_zone])
    enabled = models.BooleanField(_("enabled"), default=True)
    exemptions_allowed = models.BooleanField(
        _("members may exempt their guests"),
        default=True,
        help_text=_("A team's schedule: those who may start a guest may exempt it, saying why. Admins always may."),
    )
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    last_slot = models.DateTimeField(null=True, blank=True, help_text=_("The minute (UTC) it last ran at."))
    last_note = models.CharField(max_length=500, blank=True, help_text=_("What it did or skipped last, and why."))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PowerScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(guest__isnull=False, team__isnull=True)
                | models.Q(guest__isnull=True, team__isnull=False),
                name="power_schedule_for_guest_or_team",
            )
        ]

    def __str__(self):
        return f"{self.guest or self.team}: {self.days} {self.start_at}-{self.stop_at} {self.time_zone}"

    def local_today(self, now=None):
        return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(self.time_zone)).date()

    def day_names(self):
        names = dict(WEEKDAYS)
        return [names[day] for day in sorted(self.days)]


class ScheduleExemption(models.Model):
    """A guest that a team's power schedule leaves alone, and why (a long job, a demo tonight).
    Set by whoever may start the guest, where the team allows it; admins see and lift them."""

    schedule = models.ForeignKey(PowerSchedule, on_delete=models.CASCADE, related_name="exemptions")
    guest = models.ForeignKey("guests.Guest", on_delete=models.CASCADE, related_name="schedule_exemptions")
    reason = models.CharField(_("reason"), max_length=200)
    until = models.DateField(
        _("until"),
        null=True,
        blank=True,
        help_text=_("Its last day, in the schedule's time zone; empty: until lifted."),
    )
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["schedule", "guest"], name="one_exemption_per_schedule")]

    def __str__(self):
        return f"{self.guest} exempt from {self.schedule}: {self.reason}"
