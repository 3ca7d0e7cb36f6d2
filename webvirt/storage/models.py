from django.db import models
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webvirt.accounts.models import Publishable
from webvirt.core.querysets import InventoryQuerySet

# How a pool's state (as webvirt.hypervisor.storage reads it) reads on a page.
POOL_STATE_LABELS = {
    "inactive": _("inactive"),
    "building": _("building"),
    "active": _("active"),
    "degraded": _("degraded"),
    "inaccessible": _("inaccessible"),
}


class PoolQuerySet(InventoryQuerySet):
    def usable(self):
        """Pools new volumes and disks may go to: still on the host and running."""
        return self.present().filter(state="active")


class VolumeQuerySet(models.QuerySet):
    def usable(self):
        """Volumes a guest may be given: those of a usable pool."""
        return self.filter(pool__gone_at__isnull=True, pool__state="active")


# How libvirt's pool types read on a page (rows keep libvirt's own names).
POOL_TYPES = {
    "dir": _("Directory"),
    "fs": _("File system"),
    "netfs": _("NFS export"),
    "logical": _("LVM volume group"),
    "disk": _("Disk"),
    "iscsi": "iSCSI",
    "rbd": "Ceph RBD",
    "zfs": "ZFS",
}


class Pool(Publishable):
    """A storage pool as last seen on its host, keyed by (host, UUID). A pool the host stops
    listing is kept, marked gone, so who it was published to survives its coming back."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="pools")
    uuid = models.CharField(max_length=36)
    name = models.CharField(max_length=128)
    type = models.CharField(max_length=16)
    state = models.CharField(max_length=16, default="inactive")

    @property
    def type_label(self):
        return POOL_TYPES.get(self.type, self.type)

    autostart = models.BooleanField(default=False)
    persistent = models.BooleanField(default=True)
    capacity = models.PositiveBigIntegerField(default=0)
    allocation = models.PositiveBigIntegerField(default=0)
    available = models.PositiveBigIntegerField(default=0)
    target_path = models.CharField(max_length=1024, blank=True)
    source = models.CharField(max_length=1024, blank=True)
    definition = models.TextField(blank=True, help_text="Its persistent libvirt XML as last read, for admins.")
    storage_key = models.CharField(
        max_length=1100,
        blank=True,
        db_index=True,
        help_text="Pools with the same key, on different hosts, are the same storage (storage/sharing.py).",
    )
    sharing_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When webvirt last looked for this storage on other hosts."
    )
    synced_at = models.DateTimeField(auto_now=True)
    gone_at = models.DateTimeField(null=True, blank=True, help_text="When it disappeared from its host.")

    objects = PoolQuerySet.as_manager()

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
    def state_label(self):
        return POOL_STATE_LABELS.get(self.state, self.state)

    @property
    def is_gone(self):
        return self.gone_at is not None

    @property
    def is_usable(self):
        return self.is_active and not self.is_gone

    def audit_name(self):
        return gettext("%(pool)s on %(host)s") % {"pool": self.name, "host": self.host.name}

    def operation_links(self):
        return {"host": self.host}

    def operation_ref(self):
        return {"pool_uuid": self.uuid, "pool": self.name}

    @property
    def used_percent(self):
        return round(100 * self.allocation / self.capacity) if self.capacity else 0


class Volume(Publishable):
    """A volume as its pool last listed it. While the pool is not active its volumes are kept,
    unavailable (they still count in their owners' quotas), until the pool lists them again."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="volumes")
    name = models.CharField(max_length=255)
    path = models.CharField(max_length=1024)
    format = models.CharField(max_length=16, blank=True)
    capacity = models.PositiveBigIntegerField(default=0)
    allocation = models.PositiveBigIntegerField(default=0)
    backing_path = models.CharField(max_length=1024, blank=True)

    objects = VolumeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["pool", "name"], name="volume_unique_per_pool")]

    def __str__(self):
        return self.name

    def audit_name(self):
        return gettext("%(pool)s/%(volume)s on %(host)s") % {
            "pool": self.pool.name,
            "volume": self.name,
            "host": self.pool.host.name,
        }

    def operation_links(self):
        return {"host": self.pool.host}

    def operation_ref(self):
        return {**self.pool.operation_ref(), "volume": self.name}

    @property
    def is_available(self):
        return self.pool.is_usable

    @property
    def is_iso(self):
        """An installation or seed image: CD-ROM media, never a disk."""
        return self.format == "iso" or self.name.lower().endswith(".iso")

    def disk_sources(self):
        """How a guest's disk names this volume: by its path, or (a `type='volume'` disk) pool/name."""
        return [self.path, f"{self.pool.name}/{self.name}"]

    def _guests_on_its_host(self):
        guests = self.pool.host.guests.present().filter(disks__source__in=self.disk_sources())
        return set(guests.values_list("name", flat=True))

    def elsewhere(self):
        """This volume as the other hosts that share its pool's storage list it (`Pool.storage_key`)."""
        if not self.pool.storage_key:
            return Volume.objects.none()
        shared = Volume.objects.filter(pool__storage_key=self.pool.storage_key, pool__gone_at__isnull=True)
        return shared.filter(name=self.name).exclude(pool__host=self.pool.host_id).select_related("pool__host")

    def guests_using(self):
        """Names of the guests with a disk (CD-ROMs too) on this volume: on its host, and ("web on
        host2") on the hosts that share its storage."""
        names = self._guests_on_its_host()
        for twin in self.elsewhere():
            on = gettext("%(guest)s on %(host)s")
            names |= {on % {"guest": name, "host": twin.pool.host.name} for name in twin._guests_on_its_host()}
        return sorted(names)

    def overlays(self):
        """The volumes of its host built on this one (linked clones): writing to it corrupts them."""
        return Volume.objects.filter(pool__host=self.pool.host_id, backing_path=self.path).select_related("pool")
