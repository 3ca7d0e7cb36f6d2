from django.db import models
from django.urls import reverse
from django.utils.translation import gettext

from webvirt.accounts.models import Publishable
from webvirt.core.querysets import InventoryQuerySet


class Network(Publishable):
    """A libvirt virtual network as last seen on its host, keyed by (host, UUID). A network the
    host stops listing is kept, marked gone, so who it was published to survives its coming back."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="networks")
    uuid = models.CharField(max_length=36)
    name = models.CharField(max_length=128)
    active = models.BooleanField(default=False)
    autostart = models.BooleanField(default=False)
    persistent = models.BooleanField(default=True)
    mode = models.CharField(max_length=16, help_text="One of webvirt.hypervisor.networks.FORWARD_MODES.")
    bridge = models.CharField(max_length=32, blank=True)
    ipv4_cidr = models.CharField("IPv4", max_length=43, blank=True)
    dhcp_start = models.CharField(max_length=15, blank=True)
    dhcp_end = models.CharField(max_length=15, blank=True)
    virtualport = models.CharField(
        max_length=16, blank=True, help_text='How guests plug into its bridge: "" (a Linux bridge) or "openvswitch".'
    )
    vlans = models.JSONField(
        default=list, blank=True, help_text="Its own VLAN tags, or the one webvirt recorded for its Linux bridge."
    )
    portgroups = models.JSONField(
        default=list, blank=True, help_text='Its portgroups: {"name", "vlans": [ids], "default": bool}.'
    )
    leases = models.JSONField(default=list, blank=True)
    definition = models.TextField(blank=True, help_text="Its persistent libvirt XML as last read, for admins.")
    synced_at = models.DateTimeField(auto_now=True)
    gone_at = models.DateTimeField(null=True, blank=True, help_text="When it disappeared from its host.")

    objects = InventoryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["host", "uuid"], name="network_unique_per_host")]

    def __str__(self):
        return self.name

    def audit_name(self):
        return gettext("%(network)s on %(host)s") % {"network": self.name, "host": self.host.name}

    def operation_links(self):
        return {"host": self.host}

    def operation_ref(self):
        return {"network_uuid": self.uuid, "network": self.name}

    def get_absolute_url(self):
        return reverse("networks:detail", args=[self.host_id, self.pk])

    @property
    def all_vlans(self):
        """Every VLAN a guest on it may be on: its own, and its portgroups'."""
        return sorted({*self.vlans, *(vlan for group in self.portgroups for vlan in group["vlans"])})

    def portgroup_label(self, name):
        """A portgroup's name with its VLAN, as forms and pages show it."""
        group = next((group for group in self.portgroups if group["name"] == name), None)
        if group is None or not group["vlans"]:
            return name
        return f"{name} (VLAN {', '.join(map(str, group['vlans']))})"

    @property
    def is_gone(self):
        return self.gone_at is not None
