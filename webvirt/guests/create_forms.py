"""The new-guest form: everything is chosen from the chosen host's inventory and checked there."""

from django import forms

from webvirt.accounts.validators import parse_ssh_public_key
from webvirt.core.policy import published_to
from webvirt.core.validators import validate_object_name
from webvirt.guests.cloudinit import UserDataError, parse_user_data
from webvirt.storage.models import Volume

from . import actions
from .models import Disk, Flavor, Guest

GIB = 2**30
SOURCES = [
    ("iso", "Install from an ISO image (CD-ROM, then disk)"),
    ("template", "Copy a template disk"),
    ("cloud", "Cloud image with cloud-init"),
]
CLONE_MODES = [("linked", "Linked clone (qcow2 overlay, instant)"), ("full", "Full copy")]


MIN_IMAGE_BYTES = 2**20  # a new, empty qcow2 holds about 200 KiB; an OS image holds megabytes


def os_images(volumes, host):
    """The volumes a new guest may start from: not ISOs, not blank (next to nothing allocated), and
    not the disk of a guest on `host`, which would then share it."""
    in_use = Disk.objects.filter(guest__host=host, guest__gone_at__isnull=True, device="disk").values("source")
    return volumes.exclude(name__iendswith=".iso").filter(allocation__gte=MIN_IMAGE_BYTES).exclude(path__in=in_use)


class InactiveDisabledSelect(forms.Select):
    """Lists inactive networks too, so that they are seen, but they cannot be picked."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value and not value.instance.active:
            option["attrs"]["disabled"] = True
        return option


class HostChoiceForm(forms.Form):
    """The `host` of the new-guest page's query string: one of the reachable hosts open to the user."""

    host = forms.ModelChoiceField(
        None,
        error_messages={
            "required": "Choose a host.",
            "invalid_choice": "That host is not open to you or cannot be reached; choose another.",
        },
    )

    def __init__(self, *args, hosts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = hosts


DEFAULT_SIZE = {"vcpus": 1, "memory_mib": 1024, "disk_gib": 10}  # a small server; a flavor replaces it


class GuestCreateForm(forms.Form):
    name = forms.CharField(max_length=100, validators=[validate_object_name])
    flavor = forms.ModelChoiceField(Flavor.objects.all(), required=False, empty_label="Custom size")
    vcpus = forms.IntegerField(label="vCPUs", min_value=1, required=False)
    memory_mib = forms.IntegerField(label="Memory (MiB)", min_value=64, required=False)
    disk_gib = forms.IntegerField(label="Disk (GiB)", min_value=1, required=False)
    pool = forms.ModelChoiceField(None, label="Storage pool for the disk")
    source = forms.ChoiceField(choices=SOURCES, widget=forms.RadioSelect, initial="iso")
    iso = forms.ModelChoiceField(None, label="ISO image", required=False)
    template = forms.ModelChoiceField(None, label="Template or cloud image", required=False)
    clone_mode = forms.ChoiceField(choices=CLONE_MODES, initial="linked", required=False)
    ssh_keys = forms.CharField(
        label="SSH public keys", widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="One per line."
    )
    user_data = forms.CharField(
        label="Extra cloud-config",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Optional; starts with #cloud-config. The host name and SSH keys are added to it.",
    )
    network = forms.ModelChoiceField(
        None,
        label="Network for the first NIC",
        required=False,
        empty_label="No network",
        widget=InactiveDisabledSelect,
    )
    bridge = forms.CharField(label="…or a host bridge", required=False, max_length=15)
    firmware = forms.ChoiceField(choices=[("bios", "BIOS"), ("efi", "UEFI")], initial="bios")
    start = forms.BooleanField(label="Start it once created", required=False, initial=True)

    FIELDS_BY_SOURCE = {
        "iso": ("iso",),
        "template": ("template", "clone_mode"),
        "cloud": ("template", "clone_mode", "ssh_keys", "user_data"),
    }

    def __init__(self, *args, host, user, **kwargs):
        """Choices are what `user` may build with on `host` (all of it for admins, what was published
        to them otherwise), and a small guest to start from."""
        super().__init__(*args, **kwargs)
        self.host = host
        pools = published_to(host.pools.usable(), user)
        volumes = published_to(Volume.objects.usable().filter(pool__host=host), user)
        volumes = volumes.select_related("pool").order_by("pool__name", "name")
        self.fields["flavor"].queryset = published_to(Flavor.objects.all(), user)
        self.fields["pool"].queryset = pools
        roomiest = max(pools, key=lambda pool: pool.available, default=None)
        self.fields["pool"].initial = roomiest.pk if roomiest else None  # the one with the most space
        self.fields["iso"].queryset = volumes.filter(name__iendswith=".iso")
        self.fields["template"].queryset = os_images(volumes, host)
        self.fields["iso"].label_from_instance = self.fields["template"].label_from_instance = lambda volume: (
            f"{volume.pool.name}/{volume.name}"
        )
        inactive = "inactive: start it first" if user.is_staff else "inactive: an admin must start it"
        self.fields["network"].queryset = published_to(host.networks.present(), user)
        self.fields["network"].label_from_instance = lambda network: (
            network.name if network.active else f"{network.name} ({inactive})"
        )
        active = [network for network in self.fields["network"].queryset if network.active]
        default = next((network for network in active if network.name == "default"), active[0] if active else None)
        self.fields["network"].initial = default.pk if default else None  # libvirt's NAT network, if there
        self.initial = {**DEFAULT_SIZE, **self.initial}
        self.fields["ssh_keys"].initial = "\n".join(user.ssh_keys.values_list("public_key", flat=True))
        if not user.is_staff:
            del self.fields["bridge"]  # host bridges are the admins' to hand out, as networks
        if not host.uefi:
            self.fields["firmware"].choices = [("bios", "BIOS")]
            self.fields["firmware"].help_text = "UEFI firmware (OVMF) is not installed on this host."
        for name, sources in self._sources_by_field().items():
            self.fields[name].sources = " ".join(sources)  # the page shows a field only for these

    @classmethod
    def _sources_by_field(cls):
        by_field = {}
        for source, names in cls.FIELDS_BY_SOURCE.items():
            for name in names:
                by_field.setdefault(name, []).append(source)
        return by_field

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Guest.objects.present().filter(host=self.host, name=name).exists():
            raise forms.ValidationError(f"{self.host.name} already has a guest named {name}.")
        return name

    def clean_ssh_keys(self):
        """One key a line, each checked as the account page checks keys."""
        keys = []
        for number, line in enumerate(self.cleaned_data["ssh_keys"].splitlines(), start=1):
            if line.strip():
                try:
                    keys.append(parse_ssh_public_key(line)[0])
                except forms.ValidationError as exc:
                    raise forms.ValidationError(f"Line {number}: {exc.messages[0]}") from None
        return "\n".join(keys)

    def clean_network(self):
        network = self.cleaned_data["network"]
        if network and not network.active:
            raise forms.ValidationError(f"Network {network.name} is inactive; start it first or choose another.")
        return network

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
                self.add_error(field, "Choose a flavor or give this.")
        if self.errors:
            return data
        if self.host.cpus and data["vcpus"] > self.host.cpus:
            self.add_error("vcpus", f"{self.host.name} has {self.host.cpus} CPUs.")
        if self.host.memory_mib and data["memory_mib"] > self.host.memory_mib:
            self.add_error("memory_mib", f"{self.host.name} has {self.host.memory_mib} MiB of memory.")
        pool = data["pool"]
        if data["disk_gib"] * GIB > pool.capacity:
            self.add_error("disk_gib", f"Pool {pool.name} holds {pool.capacity / GIB:.1f} GiB in all.")
        source = data["source"]
        if source == "iso" and not data.get("iso"):
            self.add_error("iso", "Choose the ISO image to install from.")
        if source in {"template", "cloud"}:
            template = data.get("template")
            if template is None:
                self.add_error("template", "Choose the disk image to start from.")
            elif data.get("clone_mode") == "linked" and template.format != "qcow2":
                self.add_error("clone_mode", "Linked clones need a qcow2 image; choose a full copy.")
            elif data.get("clone_mode") == "full" and template.allocation > pool.available:
                self.add_error("template", f"Pool {pool.name} has too little free space for a copy.")
        if pool.volumes.filter(
            name__in=[f"{data['name']}.qcow2", f"{data['name']}.img", f"{data['name']}-seed.iso"]
        ).exists():
            self.add_error("name", f"Pool {pool.name} already holds volumes named after {data['name']}.")
        bridge = (data.get("bridge") or "").strip()
        if bridge:
            if data.get("network"):
                self.add_error("bridge", "Choose a network or a bridge, not both.")
            try:
                validate_object_name(bridge)
            except forms.ValidationError as exc:
                self.add_error("bridge", exc)
        return data

    def params(self):
        data = self.cleaned_data
        template = data.get("template") if data["source"] in {"template", "cloud"} else None
        iso = data.get("iso") if data["source"] == "iso" else None
        nic = None
        if data.get("network"):
            nic = actions.NicChoice(kind="network", source=data["network"].name)
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
            start=data["start"],
        )


class FlavorForm(forms.ModelForm):
    class Meta:
        model = Flavor
        fields = ["name", "vcpus", "memory_mib", "disk_gib"]
        labels = {"vcpus": "vCPUs", "memory_mib": "Memory (MiB)", "disk_gib": "Disk (GiB)"}

    def clean(self):
        data = super().clean()
        if data.get("vcpus") == 0 or data.get("memory_mib", 64) < 64 or data.get("disk_gib") == 0:
            raise forms.ValidationError("A flavor needs at least 1 vCPU, 64 MiB of memory and 1 GiB of disk.")
        return data

    def params(self):
        data = self.cleaned_data
        return actions.NewFlavor(
            name=data["name"], vcpus=data["vcpus"], memory_mib=data["memory_mib"], disk_gib=data["disk_gib"]
        )
