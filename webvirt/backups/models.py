from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webvirt.core.querysets import RestrictedQuerySet
from webvirt.core.weekdays import WEEKDAYS


class BackupPool(models.Model):
    """The storage pool of a host that its guests' backups go to (chosen by an admin)."""

    host = models.OneToOneField("hosts.Host", on_delete=models.CASCADE, related_name="backup_pool")
    pool = models.ForeignKey("storage.Pool", on_delete=models.CASCADE, related_name="+")

    def __str__(self):
        return f"{self.pool} on {self.host}"


class Backup(models.Model):
    """One backup of a guest's disks: a qcow2 volume per disk in a backup pool, and the guest's
    definition. It outlives its guest (guest set null), so a deleted guest can be restored."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("complete")
        FAILED = "failed", _("failed")

    class Kind(models.TextChoices):
        MANUAL = "manual", _("on demand")
        SCHEDULED = "scheduled", _("scheduled")

    guest = models.ForeignKey("guests.Guest", null=True, blank=True, on_delete=models.SET_NULL, related_name="backups")
    guest_name = models.CharField(max_length=255, help_text=_("The guest's name when it was backed up."))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="backups"
    )
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="backups")
    pool_uuid = models.CharField(max_length=36)
    pool_name = models.CharField(max_length=128)
    operation = models.OneToOneField(
        "core.Operation", null=True, blank=True, on_delete=models.SET_NULL, related_name="backup"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    frozen = models.BooleanField(null=True, help_text=_("Whether the guest agent froze its file systems."))
    size_bytes = models.PositiveBigIntegerField(default=0)
    volumes = models.JSONField(default=list, blank=True, help_text=_("Per disk: target, name, capacity, allocation."))
    definition = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.guest_name} {self.created_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        if self.guest_id:
            return f"{reverse('guests:detail', args=[self.guest_id])}?tab=backups"
        return reverse("backups:list")

    def audit_name(self):
        return gettext("#%(id)s of %(name)s on %(host)s") % {
            "id": self.pk,
            "name": self.guest_name,
            "host": self.host.name,
        }

    def operation_links(self):
        return {"host": self.host, "guest": self.guest}

    def operation_ref(self):
        return {"backup_id": self.pk}

    @property
    def targets(self):
        return [entry["target"] for entry in self.volumes]


class BackupSchedule(models.Model):
    """When a guest is backed up by itself, and which of those backups are kept."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("daily")
        WEEKLY = "weekly", _("weekly")

    guest = models.OneToOneField("guests.Guest", on_delete=models.CASCADE, related_name="backup_schedule")
    enabled = models.BooleanField(default=True)
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    weekday = models.PositiveSmallIntegerField(default=0, choices=WEEKDAYS, help_text=_("For weekly backups."))
    at = models.TimeField(help_text=_("UTC"))
    keep_last = models.PositiveSmallIntegerField(default=3)
    keep_daily = models.PositiveSmallIntegerField(default=7)
    keep_weekly = models.PositiveSmallIntegerField(default=4)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.guest} {self.frequency} {self.at}"
