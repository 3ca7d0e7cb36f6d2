from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from webvirt.accounts.models import Publishable, Team
from webvirt.core.querysets import RestrictedQuerySet

from . import roles


class GuestQuerySet(RestrictedQuerySet):
    def present(self):
        return self.filter(gone_at__isnull=True)


class Guest(models.Model):
    """A libvirt domain as last seen, keyed by (host, UUID) so renames keep its identity and history."""

    class State(models.TextChoices):
        RUNNING = "running", _("running")
        PAUSED = "paused", _("paused")
        SHUTTING_DOWN = "shutting-down", _("shutting down")
        SHUTOFF = "shutoff", _("shut off")
        CRASHED = "crashed", _("crashed")
        PMSUSPENDED = "pmsuspended", _("suspended (power management)")
        UNKNOWN = "unknown", _("unknown")

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="guests")
    uuid = models.CharField(max_length=36)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_guests"
    )
    name = models.CharField(max_length=255, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.UNKNOWN, db_index=True)
    state_reason = models.CharField(max_length=200, blank=True, help_text=_("Why it is paused, shut off or crashed."))
    running_since = models.DateTimeField(
        null=True, blank=True, help_text=_("When webvirt saw it start; unknown if it was running when first seen.")
    )
    domain_type = models.CharField(max_length=16, blank=True)
    vcpus = models.PositiveIntegerField(default=0)
    memory_mib = models.PositiveBigIntegerField(default=0)
    max_memory_mib = models.PositiveBigIntegerField(default=0)
    description = models.TextField(blank=True)
    persistent = models.BooleanField(default=True)
    autostart = models.BooleanField(default=False)
    agent_connected = models.BooleanField(default=False, help_text=_("A guest agent answered on its channel."))
    filesystems_frozen = models.BooleanField(
        null=True, default=None, help_text=_("As webvirt's last freeze or thaw left them; unknown once it stops.")
    )
    vnc_listen = models.CharField(max_length=255, blank=True)
    vnc_port = models.PositiveIntegerField(null=True, blank=True)
    vnc_socket = models.CharField(max_length=255, blank=True)
    boot_order = models.CharField(max_length=64, default="hd")
    seed_path = models.CharField(
        max_length=1024, blank=True, help_text=_("Its cloud-init seed image, deleted with its volumes.")
    )
    definition = models.TextField(blank=True, help_text=_("Its persistent libvirt XML as last read, for admins."))
    devices_digest = models.CharField(max_length=64, blank=True, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text=_("When its lease ends: it is then shut down. Empty: never.")
    )
    lease_warned_at = models.DateTimeField(null=True, blank=True, help_text=_("When its owner was told it ends soon."))
    lease_ended_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When it was shut down because its lease ended; cleared by a renewal.")
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    gone_at = models.DateTimeField(null=True, blank=True, help_text=_("When it disappeared from its host."))
    migrating_to = models.ForeignKey(
        "hosts.Host",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "Set while it moves: the inventory then neither marks it gone on its host nor adds it "
            "to the destination, so it shows on exactly one host."
        ),
    )

    objects = GuestQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["host", "uuid"], name="guest_unique_per_host")]
        indexes = [models.Index(fields=["gone_at", "name"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("guests:detail", args=[self.pk])

    def audit_name(self):
        """How its Operations and audit entries name it, in the words of whoever acts."""
        return _("%(name)s on %(host)s") % {"name": self.name, "host": self.host.name}

    def operation_links(self):
        return {"host": self.host, "guest": self}

    @property
    def is_gone(self):
        return self.gone_at is not None

    @property
    def offered_actions(self):
        """Power actions that make sense in the current state (all are safe to repeat anyway)."""
        if self.is_gone:
            return ()
        if self.state == self.State.PAUSED:
            return ("resume", "destroy")
        if self.state in {self.State.SHUTOFF, self.State.CRASHED}:
            return ("start",)
        if self.state == self.State.UNKNOWN:
            return ("start", "destroy")
        return ("shutdown", "reboot", "suspend", "reset", "destroy")

    ACTIVE_STATES = ("running", "paused", "shutting-down", "pmsuspended")  # they hold vCPUs and memory

    @property
    def is_active(self):
        return self.state in self.ACTIVE_STATES


# How libvirt's device kinds read on a page (the rows keep libvirt's own words).
DISK_DEVICES = {"disk": _("disk"), "cdrom": _("CD-ROM"), "floppy": _("floppy"), "lun": "LUN"}
NIC_KINDS = {
    "network": _("virtual network"),
    "bridge": _("host bridge"),
    "direct": _("direct (macvtap)"),
    "user": _("user mode"),
    "vhostuser": "vhost-user",
}


class Disk(models.Model):
    guest = models.ForeignKey(Guest, on_delete=models.CASCADE, related_name="disks")
    target = models.CharField(max_length=32)
    device = models.CharField(max_length=16)
    bus = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=1024, blank=True)
    format = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["target"]

    def __str__(self):
        return f"{self.target} ({self.source or 'empty'})"

    @property
    def device_label(self):
        return DISK_DEVICES.get(self.device, self.device)


class Nic(models.Model):
    guest = models.ForeignKey(Guest, on_delete=models.CASCADE, related_name="nics")
    mac = models.CharField(max_length=17)
    kind = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=255, blank=True)
    portgroup = models.CharField(max_length=64, blank=True, help_text=_("Its network's portgroup (VLAN), if named."))
    model = models.CharField(max_length=32, blank=True)
    addresses = models.JSONField(default=list, blank=True, help_text=_('Its addresses, e.g. "192.168.122.5/24".'))
    address_source = models.CharField(max_length=8, blank=True, help_text=_("agent or lease (DHCP)"))

    class Meta:
        ordering = ["mac"]

    def __str__(self):
        return self.mac

    @property
    def kind_label(self):
        return NIC_KINDS.get(self.kind, self.kind)


class Snapshot(models.Model):
    guest = models.ForeignKey(Guest, on_delete=models.CASCADE, related_name="snapshots")
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    state = models.CharField(max_length=16, blank=True, help_text=_("The guest's state when it was taken."))
    description = models.TextField(blank=True)
    current = models.BooleanField(default=False)
    # What the guest's definition held when it was taken; null when the snapshot does not say.
    vcpus = models.PositiveIntegerField(null=True, blank=True)
    memory_mib = models.PositiveBigIntegerField(null=True, blank=True)
    disks = models.JSONField(default=list, blank=True, help_text=_("Its disks: target, device, bus, source, format."))

    class Meta:
        ordering = ["created_at", "name"]

    def __str__(self):
        return self.name

    STATES = {"running": _("running"), "paused": _("paused"), "shut off": _("shut off")}

    @property
    def state_display(self):
        """The guest's state when it was taken, in the reader's language (libvirt's word if unknown)."""
        return self.STATES.get(self.state, self.state)


class Flavor(Publishable):
    """An admin-defined size preset for new guests."""

    name = models.CharField(max_length=64, unique=True)
    vcpus = models.PositiveSmallIntegerField()
    memory_mib = models.PositiveIntegerField(_("memory (MiB)"))
    disk_gib = models.PositiveIntegerField(_("disk (GiB)"))

    class Meta:
        ordering = ["vcpus", "memory_mib", "name"]

    def __str__(self):
        return f"{self.name} ({self.vcpus} vCPU, {self.memory_mib} MiB, {self.disk_gib} GiB)"


class Grant(models.Model):
    """A role on one guest for a user or for every member of a team."""

    ROLES = list(roles.ROLE_LABELS.items())

    guest = models.ForeignKey(Guest, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=16, choices=ROLES)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, team__isnull=True)
                | models.Q(user__isnull=True, team__isnull=False),
                name="grant_to_user_or_team",
            ),
            models.UniqueConstraint(fields=["guest", "user"], name="grant_once_per_user"),
            models.UniqueConstraint(fields=["guest", "team"], name="grant_once_per_team"),
        ]

    def __str__(self):
        return f"{self.role} on {self.guest} for {self.user or f'team {self.team}'}"

    @property
    def grantee(self):
        if self.user_id:
            return self.user.get_username()
        return _("team %(name)s") % {"name": self.team.name}


class GuestPeriod(models.Model):
    """A stretch of time during which a guest's billable facts stayed the same (guests/history.py).

    Append-only: a change closes the open period (`ended_at`) and opens a new one, so usage over any
    past range can be computed again later. A guest that is gone has no open period."""

    guest = models.ForeignKey(Guest, on_delete=models.CASCADE, related_name="periods")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=16, choices=Guest.State.choices)
    vcpus = models.PositiveIntegerField()
    memory_mib = models.PositiveBigIntegerField()
    disk_bytes = models.PositiveBigIntegerField(help_text=_("The capacity of its disk volumes."))
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    FACTS = ("owner_id", "state", "vcpus", "memory_mib", "disk_bytes")

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["guest"], condition=models.Q(ended_at=None), name="one_open_period"),
        ]
        indexes = [models.Index(fields=["started_at"]), models.Index(fields=["ended_at"])]

    def __str__(self):
        return f"{self.guest_id} {self.state} from {self.started_at}"
