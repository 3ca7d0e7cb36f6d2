from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .kinds import label_for


class Operation(models.Model):
    """One slow action, written before its task is enqueued; pages read this row, never Celery."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    FINISHED = (Status.SUCCEEDED, Status.FAILED)

    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    host = models.ForeignKey("hosts.Host", null=True, blank=True, on_delete=models.SET_NULL, related_name="operations")
    guest = models.ForeignKey(
        "guests.Guest", null=True, blank=True, on_delete=models.SET_NULL, related_name="operations"
    )
    target = models.CharField(max_length=255, help_text="What it acted on, kept when the target is removed.")
    params = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True, help_text="The outcome, or the error on failure.")
    language = models.CharField(
        max_length=16, blank=True, help_text="The language of whoever asked for it, in which its messages are written."
    )
    detail = models.TextField(blank=True, help_text="The host's own error text behind a message in plain words.")
    progress = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Percent done, for work with a size.")
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(
        null=True, blank=True, help_text="A retry waits until then, and the Operations of its host behind it."
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="The operation this one is a step of (e.g. an evacuation's migrations).",
    )
    cancel_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When someone asked to cancel it; its worker stops at the next check."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.label} {self.target} ({self.status})"

    @property
    def label(self):
        return label_for(self.kind)

    @property
    def is_finished(self):
        return self.status in self.FINISHED


class AuditEvent(models.Model):
    """Who did what to which target, from where, and how it ended. Written by core.audit only."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, blank=True, help_text="Kept when the user is deleted.")
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=16, default="ok", db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    via = models.CharField(max_length=8, default="system", help_text="web, api, or system (workers, beat).")
    token = models.CharField(max_length=100, blank=True, help_text="The API token used, by name and prefix.")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.actor_name or 'system'} {self.action} {self.target} ({self.outcome})"
