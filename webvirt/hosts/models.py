from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webvirt.accounts.models import LeaseTerms, Publishable
from webvirt.core.crypto import decrypt_json, encrypt_json
from webvirt.core.querysets import RestrictedQuerySet
from webvirt.core.validators import validate_display_name

SECRET_FIELDS = ("password", "ssh_private_key", "tls_client_key")

# How far beyond the host's own CPUs, memory and pool space placement may promise guests
# (guests/placement.py): vCPUs share well, memory and disk much less.
MAX_RATIOS = {"cpu_allocation_ratio": 32, "memory_allocation_ratio": 4, "disk_allocation_ratio": 10}


@deconstructible
class RatioValidator:
    """Above 0 and at most `maximum`: 0 would take the host out of placement (maintenance does that)."""

    def __init__(self, maximum):
        self.maximum = maximum

    def __call__(self, value):
        if value is None or not 0 < value <= self.maximum:
            raise ValidationError(gettext("Give a ratio above 0 and at most %(maximum)s.") % {"maximum": self.maximum})

    def __eq__(self, other):
        return isinstance(other, RatioValidator) and other.maximum == self.maximum


class HostQuerySet(RestrictedQuerySet):
    def restrict(self, user, action="host.view"):
        return super().restrict(user, action)


class Host(Publishable, LeaseTerms):
    """A libvirt host. Connection fields are structured; secrets live encrypted in `credentials`."""

    name = models.CharField(max_length=64, unique=True, validators=[validate_display_name])
    transport = models.CharField(max_length=8, help_text="One of webvirt.hypervisor.TRANSPORTS (the form offers them).")
    hostname = models.CharField(max_length=253, blank=True)
    port = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(65535), MinValueValidator(1)]
    )
    username = models.CharField(max_length=32, blank=True)
    test_path = models.CharField(_("test driver file"), max_length=255, blank=True)
    ssh_known_hosts = models.TextField(blank=True)
    ssh_verify_host_key = models.BooleanField(default=True)
    tls_ca_cert = models.TextField(_("TLS CA certificate"), blank=True)
    tls_client_cert = models.TextField(_("TLS client certificate"), blank=True)
    vnc_listen = models.GenericIPAddressField(
        _("VNC listen address"),
        default="127.0.0.1",
        help_text=_("Where new guests' displays listen on this host; the loopback keeps them private to the proxy."),
    )
    console_address = models.CharField(
        max_length=253,
        blank=True,
        help_text=_("Address the console proxy uses for displays that listen on all addresses; blank: the host name."),
    )
    worker_queue = models.CharField(
        max_length=32,
        blank=True,
        validators=[
            RegexValidator(
                r"^[a-z0-9][a-z0-9_-]*$",
                _("Lower-case letters, digits, '-' and '_', starting with a letter or digit."),
            )
        ],
        help_text=_(
            "Leave blank for the common queue. With a name here, this host's operations go to a queue of their own, "
            "for workers started near the host (see the deployment guide)."
        ),
    )
    credentials = models.TextField(blank=True, editable=False, help_text="Fernet-encrypted JSON of the secrets.")
    enabled = models.BooleanField(default=True)
    cpu_allocation_ratio = models.FloatField(
        _("vCPU allocation ratio"),
        default=4.0,
        validators=[RatioValidator(MAX_RATIOS["cpu_allocation_ratio"])],
        help_text=_("New guests are placed here while all guests' vCPUs stay within the host's CPUs times this."),
    )
    memory_allocation_ratio = models.FloatField(
        default=1.0,
        validators=[RatioValidator(MAX_RATIOS["memory_allocation_ratio"])],
        help_text=_("The same for memory; above 1 counts on guests not using all theirs (ballooning, KSM)."),
    )
    disk_allocation_ratio = models.FloatField(
        default=1.0,
        validators=[RatioValidator(MAX_RATIOS["disk_allocation_ratio"])],
        help_text=_("The same for pool space, against the volumes' full sizes (thin qcow2 files grow later)."),
    )
    maintenance_since = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="While set, no new guest is placed here."
    )
    maintenance_reason = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # What the last contact told us; written by resyncs, read by pages.
    reachable = models.BooleanField(null=True, default=None)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    reported_hostname = models.CharField(max_length=255, blank=True)
    libvirt_version = models.CharField(max_length=32, blank=True)
    hypervisor = models.CharField(max_length=32, blank=True)
    hypervisor_version = models.CharField(max_length=32, blank=True)
    arch = models.CharField(max_length=32, blank=True)
    cpu_model = models.CharField(max_length=128, blank=True)
    cpus = models.PositiveIntegerField(null=True, blank=True)
    memory_mib = models.PositiveBigIntegerField(null=True, blank=True)
    domain_types = models.JSONField(default=list, blank=True)
    preferred_domain_type = models.CharField(max_length=16, blank=True)
    uefi = models.BooleanField(_("UEFI firmware available"), default=False)

    objects = HostQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("hosts:detail", args=[self.pk])

    def operation_links(self):
        return {"host": self}

    @property
    def in_maintenance(self):
        return self.maintenance_since is not None

    @property
    def acceleration(self):
        if not self.domain_types:
            return ""
        return {"kvm": "KVM", "qemu": gettext("TCG (no KVM)"), "test": gettext("test driver")}.get(
            self.preferred_domain_type, ""
        )

    @property
    def can_emulate(self):
        """QEMU's TCG is there: guests can run without KVM (slowly), whether or not KVM is."""
        return "qemu" in self.domain_types

    def domain_type_for(self, emulated):
        return "qemu" if emulated else self.preferred_domain_type or "qemu"

    def get_secrets(self):
        return decrypt_json(self.credentials)

    def set_secrets(self, values):
        kept = {k: v for k, v in values.items() if k in SECRET_FIELDS and v}
        self.credentials = encrypt_json(kept) if kept else ""
