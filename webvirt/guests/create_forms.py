"""The new-guest form: everything is chosen from the chosen host's inventory and checked there."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt.accounts.validators import parse_ssh_public_key
from webvirt.core.policy import published_to
from webvirt.core.validators import validate_object_name
from webvirt.guests.cloudinit import UserDataError, parse_user_data
from webvirt.networks.forms import check_portgroup, portgroup_choices
from webvirt.networks.models import Network
from webvirt.storage.models import Pool, Volume

from . import actions, leases, placement
from .models import Disk, Flavor, Guest

GIB = 2**30
SOURCES = [
    ("iso", gettext_lazy("Install from an ISO image (CD-ROM, then disk)")),
    ("template", gettext_lazy("Copy a template disk")),
    ("cloud", gettext_lazy("Cloud image with cloud-init")),
]
CLONE_MODES = [
    ("linked", gettext_lazy("Linked clone (qcow2 overlay, instant)")),
    ("full", gettext_lazy("Full copy")),
]


MIN_IMAGE_BYTES = 2**20  # a new, empty qcow2 holds about 200 KiB; an OS image holds megabytes


def os_images(volumes, hosts):
    """The volumes a new guest may start from: not ISOs, not blank (next to nothing allocated), and
    not the disk of a guest on `hosts`, which would then share it."""
    in_use = Disk.objects.filter(guest__host__in=hosts, guest__gone_at__isnull=True, device="disk").values("source")
    return volumes.exclude(name__iendswith=".iso").filter(allocation__gte=MIN_IMAGE_BYTES).exclude(path__in=in_use)


class InactiveDisabledSelect(forms.Select):
    """Lists inactive networks too, so that they are seen, but they cannot be picked."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value and not value.instance.active:
            option["attrs"]["disabled"] = True
        return option


ANY_HOST = "any"


class HostOrAnyField(forms.ModelChoiceField):
    """A host, or "any" for the scheduler to choose."""

    def to_python(self, value):
        return ANY_HOST if value == ANY_HOST else super().to_python(value)


class HostChoiceForm(forms.Form):
    """The `host` of the new-guest page's query string: one of the reachable hosts open to the user
    and not in maintenance, or "any"."""

    host = HostOrAnyField(
        None,
        label=gettext_lazy("Host"),
        error_messages={
            "required": gettext_lazy("Choose a host."),
            "invalid_choice": gettext_lazy(
                "That host is not open to you, cannot be reached or is in maintenance; choose another."
            ),
        },
    )

    def __init__(self, *args, hosts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = hosts


DEFAULT_SIZE = {"vcpus": 1, "memory_mib": 1024, "disk_gib": 10}  # a small server; a flavor replaces it


class NewGuestForm(forms.Form):
    """What both new-guest forms ask: the size, the source, cloud-init, the NIC, firmware."""

    name = forms.CharField(max_length=100, validators=[validate_object_name], label=gettext_lazy("Name"))
    flavor = forms.ModelChoiceField(
        Flavor.objects.all(), required=False, empty_label=gettext_lazy("Custom size"), label=gettext_lazy("Flavor")
    )
    vcpus = forms.IntegerField(label=gettext_lazy("vCPUs"), min_value=1, required=False)
    memory_mib = forms.IntegerField(label=gettext_lazy("Memory (MiB)"), min_value=64, required=False)
    disk_gib = forms.IntegerField(label=gettext_lazy("Disk (GiB)"), min_value=1, required=False)
    source = forms.ChoiceField(choices=SOURCES, widget=forms.RadioSelect, initial="iso", label=gettext_lazy("Source"))
    clone_mode = forms.ChoiceField(
        choices=CLONE_MODES, initial="linked", required=False, label=gettext_lazy("Clone mode")
    )
    ssh_keys = forms.CharField(
        label=gettext_lazy("SSH public keys"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=gettext_lazy("One per line."),
    )
    user_data = forms.CharField(
        label=gettext_lazy("Extra cloud-config"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=gettext_lazy("Optional; starts with #cloud-config. The host name and SSH keys are added to it."),
    )
    bridge = forms.CharField(label=gettext_lazy("…or a host bridge"), required=False, max_length=15)
    firmware = forms.ChoiceField(
        choices=[("bios", "BIOS"), ("efi", "UEFI")], initial="bios", label=gettext_lazy("Firmware")
    )
    acceleration = forms.ChoiceField(
        choices=[
            ("hardware", gettext_lazy("Hardware (KVM), where the host has it")),
            ("emulated", gettext_lazy("Emulated (QEMU's TCG)")),
        ],
        initial="hardware",
        required=False,  # left out: hardware
        label=gettext_lazy("CPU acceleration"),
        help_text=gettext_lazy("Emulation is many times slower: for systems that KVM cannot run here."),
    )
    start = forms.BooleanField(label=gettext_lazy("Start it once created"), required=False, initial=True)
    lease_days = forms.IntegerField(
        label=gettext_lazy("Lease (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=gettext_lazy("After this many days it is shut down, unless you renew it. Empty: no end."),
    )

    field_order = [
        "name",
        "flavor",
        "vcpus",
        "memory_mib",
        "disk_gib",
        "pool",
        "source",
        "iso",
        "template",
        "clone_mode",
        "ssh_keys",
        "user_data",
        "network",
        "portgroup",
        "bridge",
        "firmware",
        "acceleration",
        "start",
        "lease_days",
    ]

    FIELDS_BY_SOURCE = {
        "iso": ("iso",),
        "template": ("template", "clone_mode"),
        "cloud": ("template", "clone_mode", "ssh_keys", "user_data"),
    }

    def __init__(self, *args, user, uefi, emulation, **kwargs):
        """A small guest to start from, the user's flavors and keys; UEFI where `uefi` says so."""
        super().__init__(*args, **kwargs)
        self.user = user
        # Inactive networks are listed, so that they are seen, but cannot be picked.
        self.inactive = _("inactive: start it first") if user.is_staff else _("inactive: an admin must start it")
        self.fields["flavor"].queryset = published_to(Flavor.objects.all(), user)
        self.initial = {**DEFAULT_SIZE, **self.initial}
        self.fields["ssh_keys"].initial = "\n".join(user.ssh_keys.values_list("public_key", flat=True))
        if not user.is_staff:
            del self.fields["bridge"]  # host bridges are the admins' to hand out, as networks
        if not uefi:
            self.fields["firmware"].choices = [("bios", "BIOS")]
            self.fields["firmware"].help_text = self.NO_UEFI
        if not emulation:
            self.fields["acceleration"].choices = self.fields["acceleration"].choices[:1]
            self.fields["acceleration"].help_text = self.NO_EMULATION
        for name, sources in self._sources_by_field().items():
            self.fields[name].sources = " ".join(sources)  # the page shows a field only for these

    @classmethod
    def _sources_by_field(cls):
        by_field = {}
        for source, names in cls.FIELDS_BY_SOURCE.items():
            for name in names:
                by_field.setdefault(name, []).append(source)
        return by_field

    def clean_ssh_keys(self):
        """One key a line, each checked as the account page checks keys."""
        keys = []
        for number, line in enumerate(self.cleaned_data["ssh_keys"].splitlines(), start=1):
            if line.strip():
                try:
                    keys.append(parse_ssh_public_key(line)[0])
                except forms.ValidationError as exc:
                    raise forms.ValidationError(
                        _("Line %(number)s: %(problem)s") % {"number": number, "problem": exc.messages[0]}
                    ) from None
        return "\n".join(keys)

    def clean_user_data(self):
        try:
            parse_user_data(self.cleaned_data["user_data"])
        except UserDataError as exc:
            raise forms.ValidationError(str(exc)) from None
        return self.cleaned_data["user_data"]

    def clean(self):
        data = super().clean()
        flavor = data.get("flavor")
        for field in ("vcpus", "memory_mib", "disk_gib"):
            if flavor:
                data[field] = getattr(flavor, field)
            elif not data.get(field):
                self.add_error(field, _("Choose a flavor or give this."))
        source = data.get("source")
        if source == "iso" and not data.get("iso") and "iso" not in self.errors:
            self.add_error("iso", _("Choose the ISO image to install from."))
        if source in {"template", "cloud"} and not data.get("template") and "template" not in self.errors:
            self.add_error("template", _("Choose the disk image to start from."))
        bridge = (data.get("bridge") or "").strip()
        if bridge:
            if data.get("network"):
                self.add_error("bridge", _("Choose a network or a bridge, not both."))
            try:
                validate_object_name(bridge)
            except forms.ValidationError as exc:
                self.add_error("bridge", exc)
        return data


class GuestCreateForm(NewGuestForm):
    """A new guest on one host: everything is chosen from that host's inventory and checked there."""

    NO_UEFI = gettext_lazy("UEFI firmware (OVMF) is not installed on this host.")
    NO_EMULATION = gettext_lazy("This host cannot emulate a CPU (no QEMU TCG).")

    pool = forms.ModelChoiceField(None, label=gettext_lazy("Storage pool for the disk"))
    iso = forms.ModelChoiceField(None, label=gettext_lazy("ISO image"), required=False)
    template = forms.ModelChoiceField(None, label=gettext_lazy("Template or cloud image"), required=False)
    network = forms.ModelChoiceField(
        None,
        label=gettext_lazy("Network for the first NIC"),
        required=False,
        empty_label=gettext_lazy("No network"),
        widget=InactiveDisabledSelect,
    )
    portgroup = forms.ChoiceField(
        label=gettext_lazy("Portgroup (VLAN)"),
        required=False,
        help_text=gettext_lazy("For a network with portgroups (an Open vSwitch network has one per VLAN)."),
    )

    @staticmethod
    def _lease_help(terms):
        words = {"source": terms.source, "default": terms.default_days or terms.max_days, "max": terms.max_days}
        if terms.max_days:
            return (
                _(
                    "Under the terms of %(source)s: %(default)s days if left empty, at most %(max)s. "
                    "It is then shut down unless you renew it."
                )
                % words
            )
        return (
            _("Under the terms of %(source)s: %(default)s days if left empty. It is then shut down unless renewed.")
            % words
        )

    def __init__(self, *args, host, user, **kwargs):
        """Choices are what `user` may build with on `host` (all of it for admins, what was published
        to them otherwise), and a small guest to start from."""
        super().__init__(*args, user=user, uefi=host.uefi, emulation=host.can_emulate, **kwargs)
        self.host = host
        self.lease_terms = leases.terms_for(host, user)
        if self.lease_terms:
            self.fields["lease_days"].help_text = self._lease_help(self.lease_terms)
        pools = published_to(host.pools.usable(), user)
        volumes = published_to(Volume.objects.usable().filter(pool__host=host), user)
        volumes = volumes.select_related("pool").order_by("pool__name", "name")
        self.fields["pool"].queryset = pools
        roomiest = max(pools, key=lambda pool: pool.available, default=None)
        self.fields["pool"].initial = roomiest.pk if roomiest else None  # the one with the most space
        self.fields["iso"].queryset = volumes.filter(name__iendswith=".iso")
        self.fields["template"].queryset = os_images(volumes, [host])
        self.fields["iso"].label_from_instance = self.fields["template"].label_from_instance = lambda volume: (
            f"{volume.pool.name}/{volume.name}"
        )
        self.fields["network"].queryset = published_to(host.networks.present(), user)
        self.fields["network"].label_from_instance = lambda network: (
            network.name if network.active else f"{network.name} ({self.inactive})"
        )
        active = [network for network in self.fields["network"].queryset if network.active]
        default = next((network for network in active if network.name == "default"), active[0] if active else None)
        self.fields["network"].initial = default.pk if default else None  # libvirt's NAT network, if there
        if portgroups := portgroup_choices(active):
            self.fields["portgroup"].choices = [("", _("The network's default")), *portgroups]
        else:
            del self.fields["portgroup"]

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Guest.objects.present().filter(host=self.host, name=name).exists():
            raise forms.ValidationError(
                _("%(host)s already has a guest named %(name)s.") % {"host": self.host.name, "name": name}
            )
        return name

    def clean_network(self):
        network = self.cleaned_data["network"]
        if network and not network.active:
            raise forms.ValidationError(
                _("Network %(network)s is inactive; start it first or choose another.") % {"network": network.name}
            )
        return network

    def clean_portgroup(self):
        check_portgroup(self.cleaned_data.get("network"), self.cleaned_data["portgroup"])
        return self.cleaned_data["portgroup"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if self.host.cpus and data["vcpus"] > self.host.cpus:
            self.add_error("vcpus", _("%(host)s has %(cpus)s CPUs.") % {"host": self.host.name, "cpus": self.host.cpus})
        if self.host.memory_mib and data["memory_mib"] > self.host.memory_mib:
            self.add_error(
                "memory_mib",
                _("%(host)s has %(memory)s MiB of memory.") % {"host": self.host.name, "memory": self.host.memory_mib},
            )
        pool = data["pool"]
        if data["disk_gib"] * GIB > pool.capacity:
            self.add_error(
                "disk_gib",
                _("Pool %(pool)s holds %(size)s GiB in all.")
                % {"pool": pool.name, "size": f"{pool.capacity / GIB:.1f}"},
            )
        try:
            terms = self.lease_terms
            leases.check_days(terms, leases.days_for_new_guest(terms, data.get("lease_days")), staff=False)
        except ValidationError as exc:
            self.add_error("lease_days", exc)
        template = data.get("template") if data["source"] in {"template", "cloud"} else None
        if template is not None:
            if data.get("clone_mode") == "linked" and template.format != "qcow2":
                self.add_error("clone_mode", _("Linked clones need a qcow2 image; choose a full copy."))
            elif data.get("clone_mode") == "full" and template.allocation > pool.available:
                self.add_error(
                    "template", _("Pool %(pool)s has too little free space for a copy.") % {"pool": pool.name}
                )
        if pool.volumes.filter(
            name__in=[f"{data['name']}.qcow2", f"{data['name']}.img", f"{data['name']}-seed.iso"]
        ).exists():
            self.add_error(
                "name",
                _("Pool %(pool)s already holds volumes named after %(name)s.")
                % {"pool": pool.name, "name": data["name"]},
            )
        return data

    def params(self):
        data = self.cleaned_data
        template = data.get("template") if data["source"] in {"template", "cloud"} else None
        iso = data.get("iso") if data["source"] == "iso" else None
        nic = None
        if data.get("network"):
            nic = actions.NicChoice(kind="network", source=data["network"].name, portgroup=data.get("portgroup", ""))
        elif (data.get("bridge") or "").strip():
            nic = actions.NicChoice(kind="bridge", source=data["bridge"].strip())
        cloud = data["source"] == "cloud"
        return actions.NewGuest(
            name=data["name"],
            vcpus=data["vcpus"],
            memory_mib=data["memory_mib"],
            disk_bytes=data["disk_gib"] * GIB,
            pool_uuid=data["pool"].uuid,
            source=data["source"],
            iso_path=iso.path if iso else "",
            template=actions.Template(
                pool_uuid=template.pool.uuid, name=template.name, path=template.path, format=template.format
            )
            if template
            else None,
            clone_mode=data.get("clone_mode") or "linked",
            ssh_keys=tuple(data.get("ssh_keys", "").splitlines()) if cloud else (),
            user_data=data.get("user_data", "") if cloud else "",
            nic=nic,
            firmware=data["firmware"],
            emulated=data.get("acceleration") == "emulated",
            start=data["start"],
            lease_days=data.get("lease_days"),
        )


class DisabledChoicesSelect(forms.Select):
    """Lists choices that cannot be picked (values in `disabled`), so that they are seen."""

    def __init__(self, *args, disabled=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.disabled = set(disabled)

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value in self.disabled:
            option["attrs"]["disabled"] = True
        return option


def _by_name(value):
    """Split "pool/volume" into the pool's and the volume's names (libvirt's names hold no slash)."""
    pool, _, name = value.partition("/")
    return pool, name


class AnyHostGuestForm(NewGuestForm):
    """A new guest on whichever host fits: pools, networks and images are chosen by name among what
    the user's hosts have (on at least one); the scheduler (placement.py) picks the host that has
    all of them and room, and that host's own form then checks the rest there, so the guest is
    created exactly as if the user had chosen that host."""

    NO_UEFI = gettext_lazy("UEFI firmware (OVMF) is not installed on any host open to you.")
    NO_EMULATION = gettext_lazy("No host open to you can emulate a CPU (no QEMU TCG).")

    pool = forms.ChoiceField(
        label=gettext_lazy("Storage pool for the disk"),
        help_text=gettext_lazy("By name, on whichever host is chosen."),
    )
    iso = forms.ChoiceField(label=gettext_lazy("ISO image"), required=False)
    template = forms.ChoiceField(label=gettext_lazy("Template or cloud image"), required=False)
    network = forms.ChoiceField(label=gettext_lazy("Network for the first NIC"), required=False)

    def __init__(self, *args, user, **kwargs):
        self.open_hosts = placement.hosts_open_to(user)
        candidates = self.open_hosts.filter(enabled=True, reachable=True, maintenance_since__isnull=True)
        emulation = any("qemu" in types for types in candidates.values_list("domain_types", flat=True))
        super().__init__(*args, user=user, uefi=candidates.filter(uefi=True).exists(), emulation=emulation, **kwargs)
        self.host = self.host_form = self.placement = None
        pools = published_to(Pool.objects.usable().filter(host__in=candidates), user)
        pool_names = sorted(set(pools.values_list("name", flat=True)))
        self.fields["pool"].choices = [(name, name) for name in pool_names]
        volumes = published_to(Volume.objects.usable().filter(pool__host__in=candidates), user)
        volumes = volumes.order_by("pool__name", "name").values_list("pool__name", "name")
        isos = volumes.filter(name__iendswith=".iso")
        images = os_images(volumes, candidates)
        for name, listed in (("iso", isos), ("template", images)):
            self.fields[name].choices = [("", "---------")] + [(f"{p}/{v}",) * 2 for p, v in dict.fromkeys(listed)]
        networks = published_to(Network.objects.present().filter(host__in=candidates), user)
        self.networks_active = active = {}  # name -> active on at least one host
        for name, is_active in networks.order_by("name").values_list("name", "active"):
            active[name] = active.get(name, False) or is_active
        self.fields["network"].choices = [("", _("No network"))] + [
            (
                name,
                name if on else _("%(name)s (%(inactive)s on every host)") % {"name": name, "inactive": self.inactive},
            )
            for name, on in active.items()
        ]
        self.fields["network"].widget = DisabledChoicesSelect(
            choices=self.fields["network"].choices, disabled=[name for name, on in active.items() if not on]
        )
        roomiest = pools.order_by("-available").values_list("name", flat=True).first()
        self.fields["pool"].initial = roomiest  # the name of the pool with the most space
        names = [name for name, on in active.items() if on]
        self.fields["network"].initial = "default" if "default" in names else next(iter(names), None)

    def clean_network(self):
        name = self.cleaned_data["network"]
        if name and not self.networks_active[name]:
            raise forms.ValidationError(
                _("Network %(network)s is inactive on every host; start it first or choose another.")
                % {"network": name}
            )
        return name

    def demand(self):
        data = self.cleaned_data
        source = data["source"]
        image = data.get("iso") if source == "iso" else data.get("template")
        bridge = (data.get("bridge") or "").strip()
        return placement.Demand(
            vcpus=data["vcpus"],
            memory_mib=data["memory_mib"],
            disk_bytes=data["disk_gib"] * GIB,
            pool_names=frozenset([data["pool"]]),
            network_names=frozenset([data["network"]] if data.get("network") else []),
            bridges=frozenset([bridge] if bridge else []),
            volumes=frozenset([_by_name(image)] if image else []),
        )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        hosts = list(self.open_hosts)
        lacking = {}  # host: what it lacks of what was asked
        for host in hosts:
            if data["firmware"] == "efi" and not host.uefi:
                lacking.setdefault(host, []).append(_("%(host)s: has no UEFI firmware") % {"host": host.name})
            if data.get("acceleration") == "emulated" and not host.can_emulate:
                lacking.setdefault(host, []).append(_("%(host)s: cannot emulate a CPU") % {"host": host.name})
        hosts = [host for host in hosts if host not in lacking]
        self.placement = placement.place(self.demand(), hosts, user=self.user)
        self.placement.refusals |= lacking
        if self.placement.chosen is None:
            raise forms.ValidationError(self.placement.why_none)
        self.host = self.placement.chosen
        self.host_form = GuestCreateForm(self._on_host(self.host, data), host=self.host, user=self.user)
        if not self.host_form.is_valid():
            self.add_error(None, _("The scheduler chose %(host)s, which refuses this:") % {"host": self.host.name})
            for name, errors in self.host_form.errors.items():
                self.add_error(name if name in self.fields else None, errors)
        return data

    def _on_host(self, host, data):
        """The submitted values with the names resolved to `host`'s pool, images and network."""
        values = self.data.copy()
        pools = published_to(host.pools.usable(), self.user)
        values["pool"] = self._pk(pools.filter(name=data["pool"]))
        for name in ("iso", "template"):
            if data.get(name):
                pool_name, volume = _by_name(data[name])
                volumes = Volume.objects.usable().filter(pool__host=host, pool__name=pool_name, name=volume)
                values[name] = self._pk(published_to(volumes, self.user))
        if data.get("network"):
            values["network"] = self._pk(published_to(host.networks.present(), self.user).filter(name=data["network"]))
        return values

    @staticmethod
    def _pk(queryset):
        found = queryset.values_list("pk", flat=True).first()
        return "" if found is None else str(found)

    def params(self):
        return self.host_form.params()


class FlavorForm(forms.ModelForm):
    class Meta:
        model = Flavor
        fields = ["name", "vcpus", "memory_mib", "disk_gib"]
        labels = {
            "name": gettext_lazy("Name"),
            "vcpus": gettext_lazy("vCPUs"),
            "memory_mib": gettext_lazy("Memory (MiB)"),
            "disk_gib": gettext_lazy("Disk (GiB)"),
        }

    def clean(self):
        data = super().clean()
        if data.get("vcpus") == 0 or data.get("memory_mib", 64) < 64 or data.get("disk_gib") == 0:
            raise forms.ValidationError(_("A flavor needs at least 1 vCPU, 64 MiB of memory and 1 GiB of disk."))
        return data

    def params(self):
        data = self.cleaned_data
        return actions.NewFlavor(
            name=data["name"], vcpus=data["vcpus"], memory_mib=data["memory_mib"], disk_gib=data["disk_gib"]
        )
