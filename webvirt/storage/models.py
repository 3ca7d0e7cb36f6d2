from django.db import models
from django.urls import reverse

from webvirt.accounts.models import Publishable


class Pool(Publishable):
    """A storage pool as last seen on its host, keyed by (host, UUID)."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="pools")
    uuid = models.CharField(max_length=36)
    name = models.CharField(max_length=128)
    type = models.CharField(max_length=16)
    state = models.CharField(max_length=16, default="inactive")
    autostart = models.BooleanField(default=False)
    persistent = models.BooleanField(default=True)
    capacity = models.PositiveBigIntegerField(default=0)
    allocation = models.PositiveBigIntegerField(default=0)
    available = models.PositiveBigIntegerField(default=0)
    target_path = models.CharField(max_length=1024, blank=True)
    source = models.CharField(max_length=1024, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["host", "uuid"], name="pool_unique_per_host")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("storage:pool", args=[self.host_id, self.pk])

    @property
    def is_active(self):
        return self.state == "active"

    @property
    def used_percent(self):
        return round(100 * self.allocation / self.capacity) if self.capacity else 0


class Volume(Publishable):
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="volumes")
    name = models.CharField(max_length=255)
    path = models.CharField(max_length=1024)
    format = models.CharField(max_length=16, blank=True)
    capacity = models.PositiveBigIntegerField(default=0)
    allocation = models.PositiveBigIntegerField(default=0)
    backing_path = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["pool", "name"], name="volume_unique_per_pool")]

    def __str__(self):
        return self.name
