"""Forms that change a guest. Each knows the Operation kind it queues and builds its params;
choices come from the guest's own devices and its host's inventory."""

from functools import partial

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from webvirt.core.actions import NoParams
from webvirt.core.policy import published_to
from webvirt.core.templatetags.webvirt import human_bytes
from webvirt.core.validators import validate_object_name
from webvirt.networks.forms import check_portgroup, portgroup_choices
from webvirt.storage.models import Volume

from . import actions, migration
from .models import Guest

GIB = 2**30
BOOT_ORDERS = [
    ("hd", gettext_lazy("Disk")),
    ("cdrom,hd", gettext_lazy("CD-ROM, then disk")),
    ("network,hd", gettext_lazy("Network (PXE), then disk")),
    ("hd,cdrom", gettext_lazy("Disk, then CD-ROM")),
]


class GuestChangeForm(forms.Form):
    """Choices from the host's inventory are limited to what `user` may use (published_to)."""

    kind = ""

    def __init__(self, *args, guest, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.guest, self.user = guest, user

    def params(self):
        """The action's typed parameters (guests/actions.py)."""
        raise NotImplementedError


class NetworkChoiceMixin:
    def _network_fields(self):
        networks = published_to(self.guest.host.networks.present().filter(active=True), self.user)
        self.fields["network"] = forms.ModelChoiceField(
            networks, required=False, to_field_name="name", empty_label="—", label=_("Network")
        )
        if portgroups := portgroup_choices(networks):
            self.fields["portgroup"] = forms.ChoiceField(
                choices=[("", _("the network's default")), *portgroups], required=False, label=_("Portgroup (VLAN)")
            )
        if self.user.is_staff:
            self.fields["bridge"] = forms.CharField(required=False, max_length=15, label=_("or host bridge"))

    def _clean_source(self, data):
        network, bridge = data.get("network"), (data.get("bridge") or "").strip()
        if bool(network) == bool(bridge):
            raise forms.ValidationError(_("Choose a network or a host bridge."))
        check_portgroup(network, data.get("portgroup"))
        if bridge:
            validate_object_name(bridge)
            return {"kind": "bridge", "source": bridge}
        return {"kind": "network", "source": network.name, "portgroup": data.get("portgroup") or ""}


class SettingsForm(GuestChangeForm):
    kind = "guest.configure"
    name = forms.CharField(max_length=100, validators=[validate_object_name], label=gettext_lazy("Name"))
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=gettext_lazy("Description")
    )
    autostart = forms.BooleanField(required=False, label=gettext_lazy("Start with the host"))
    boot = forms.ChoiceField(choices=BOOT_ORDERS, label=gettext_lazy("Boot order"))

    def clean_name(self):
        name = self.cleaned_data["name"]
        if name != self.guest.name:
            if self.guest.is_active:
                raise forms.ValidationError(_("Shut the guest down to rename it."))
            if Guest.objects.present().filter(host=self.guest.host, name=name).exists():
                raise forms.ValidationError(
                    _("%(host)s already has a guest named %(name)s.") % {"host": self.guest.host.name, "name": name}
                )
        return name

    def params(self):
        data = self.cleaned_data
        return actions.Settings(
            name=data["name"],
            description=data["description"],
            autostart=data["autostart"],
            boot=tuple(data["boot"].split(",")),
        )


class ResizeForm(GuestChangeForm):
    kind = "guest.resize"
    vcpus = forms.IntegerField(label=gettext_lazy("vCPUs"), min_value=1)
    memory_mib = forms.IntegerField(label=gettext_lazy("Memory (MiB)"), min_value=32)

    def clean(self):
        data = super().clean()
        host = self.guest.host
        if host.cpus and data.get("vcpus", 0) > host.cpus:
            self.add_error("vcpus", _("%(host)s has %(cpus)s CPUs.") % {"host": host.name, "cpus": host.cpus})
        if host.memory_mib and data.get("memory_mib", 0) > host.memory_mib:
            self.add_error(
                "memory_mib",
                _("%(host)s has %(memory)s MiB of memory.") % {"host": host.name, "memory": host.memory_mib},
            )
        return data

    def params(self):
        return actions.Size(vcpus=self.cleaned_data["vcpus"], memory_mib=self.cleaned_data["memory_mib"])


class DiskAddForm(GuestChangeForm):
    kind = "guest.disk-add"
    pool = forms.ModelChoiceField(None, label=gettext_lazy("Pool"))
    size_gib = forms.DecimalField(label=gettext_lazy("Size (GiB)"), min_value=0.001, max_digits=12, decimal_places=3)
    format = forms.ChoiceField(choices=[("qcow2", "qcow2"), ("raw", "raw")], label=gettext_lazy("Format"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pool"].queryset = published_to(self.guest.host.pools.usable(), self.user)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        capacity, pool = int(data["size_gib"] * GIB), data["pool"]
        limit = pool.capacity if data["format"] == "qcow2" else pool.available
        if capacity > limit:
            self.add_error(
                "size_gib",
                _("Pool %(pool)s has room for %(size)s GiB.") % {"pool": pool.name, "size": f"{limit / GIB:.2f}"},
            )
        taken = set(pool.volumes.values_list("name", flat=True))
        number = 1
        while f"{self.guest.name}-disk{number}.{data['format']}" in taken:
            number += 1
        data["volume_name"], data["capacity"] = f"{self.guest.name}-disk{number}.{data['format']}", capacity
        return data

    def params(self):
        data = self.cleaned_data
        return actions.NewDisk(
            pool_uuid=data["pool"].uuid,
            volume_name=data["volume_name"],
            capacity=data["capacity"],
            format=data["format"],
        )


class DiskAttachForm(GuestChangeForm):
    """Lists only the volumes that can be attached; any other volume of the host open to the user
    is let through to the action, whose refusal then says why it cannot be."""

    kind = "guest.disk-attach"
    volume = forms.ModelChoiceField(
        None,
        label=gettext_lazy("Volume"),
        error_messages={
            "invalid_choice": gettext_lazy("Choose one of the volumes listed: those of the guest's host open to you.")
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["volume"]
        field.queryset = published_to(Volume.objects.filter(pool__host=self.guest.host), self.user)
        self.offered = [
            (volume.pk, f"{volume.pool.name}/{volume.name} ({human_bytes(volume.capacity)})")
            for volume in actions.attachable_volumes(self.guest, self.user)
        ]
        field.widget.choices = [("", "---------"), *self.offered]

    def params(self):
        volume = self.cleaned_data["volume"]
        return actions.VolumeRef(pool_uuid=volume.pool.uuid, volume_name=volume.name)


class DiskChoiceMixin:
    def _disk_field(self):
        disks = self.guest.disks.filter(device="disk")
        self.fields["target"] = forms.ChoiceField(
            choices=[(d.target, f"{d.target} ({d.source})") for d in disks], label=pgettext("disk", "Target")
        )


class DiskGrowForm(DiskChoiceMixin, GuestChangeForm):
    kind = "guest.disk-grow"
    size_gib = forms.DecimalField(
        label=gettext_lazy("New size (GiB)"), min_value=0.001, max_digits=12, decimal_places=3
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._disk_field()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        disk = self.guest.disks.get(target=data["target"])
        volume = Volume.objects.filter(path=disk.source, pool__host=self.guest.host).first()
        data["capacity"] = int(data["size_gib"] * GIB)
        if volume and data["capacity"] <= volume.capacity:
            self.add_error(
                "size_gib",
                _("Disks only grow: give more than %(size)s GiB.") % {"size": f"{volume.capacity / GIB:.3f}"},
            )
        return data

    def params(self):
        return actions.DiskSize(target=self.cleaned_data["target"], capacity=self.cleaned_data["capacity"])


class DiskDetachForm(DiskChoiceMixin, GuestChangeForm):
    kind = "guest.disk-detach"
    delete_volume = forms.BooleanField(required=False, label=gettext_lazy("Also delete its volume"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._disk_field()

    def params(self):
        return actions.DiskRef(target=self.cleaned_data["target"], delete_volume=self.cleaned_data["delete_volume"])


class MediaForm(GuestChangeForm):
    kind = "guest.media"
    iso = forms.ModelChoiceField(
        None, required=False, label=gettext_lazy("ISO image"), empty_label=gettext_lazy("(eject)")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        isos = Volume.objects.usable().filter(pool__host=self.guest.host, name__iendswith=".iso")
        self.fields["iso"].queryset = published_to(isos, self.user).select_related("pool")
        self.fields["iso"].label_from_instance = lambda volume: f"{volume.pool.name}/{volume.name}"

    def params(self):
        iso = self.cleaned_data["iso"]
        return actions.Media(path=iso.path if iso else "")


class NicAddForm(NetworkChoiceMixin, GuestChangeForm):
    kind = "guest.nic-add"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._network_fields()

    def clean(self):
        data = super().clean()
        try:
            data["source_spec"] = self._clean_source(data)
        except forms.ValidationError as exc:
            self.add_error(None, exc)
        return data

    def params(self):
        return actions.NicChoice(**self.cleaned_data["source_spec"])


class NicChoiceMixin:
    def _nic_field(self):
        self.fields["mac"] = forms.ChoiceField(
            choices=[(n.mac, f"{n.mac} ({n.source})") for n in self.guest.nics.all()], label=_("Interface")
        )


class NicChangeForm(NicChoiceMixin, NicAddForm):
    kind = "guest.nic-change"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._nic_field()

    def params(self):
        return actions.NicMove(mac=self.cleaned_data["mac"], **self.cleaned_data["source_spec"])


class NicRemoveForm(NicChoiceMixin, GuestChangeForm):
    kind = "guest.nic-remove"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._nic_field()

    def params(self):
        return actions.NicRef(mac=self.cleaned_data["mac"])


class FileSystemsForm(GuestChangeForm):
    """Freeze or thaw the guest's file systems through its agent, for a storage-side snapshot."""

    def __init__(self, *args, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind

    def clean(self):
        data = super().clean()
        if not self.guest.is_active:
            raise forms.ValidationError(_("Start the guest first: only a running guest's agent can do this."))
        return data

    def params(self):
        return NoParams()


class SnapshotCreateForm(GuestChangeForm):
    kind = "guest.snapshot-create"
    name = forms.CharField(max_length=100, validators=[validate_object_name], label=gettext_lazy("Name"))
    description = forms.CharField(required=False, max_length=500, label=gettext_lazy("Description"))

    def clean_name(self):
        name = self.cleaned_data["name"]
        if self.guest.snapshots.filter(name=name).exists():
            raise forms.ValidationError(
                _("%(guest)s already has a snapshot named %(name)s.") % {"guest": self.guest.name, "name": name}
            )
        return name

    def params(self):
        return actions.NewSnapshot(name=self.cleaned_data["name"], description=self.cleaned_data["description"])


class SnapshotChoiceForm(GuestChangeForm):
    name = forms.ChoiceField(label=gettext_lazy("Name"))

    def __init__(self, *args, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["name"].choices = [(s.name, s.name) for s in self.guest.snapshots.all()]

    def params(self):
        return actions.SnapshotRef(name=self.cleaned_data["name"])


class CloneForm(GuestChangeForm):
    kind = "guest.clone"
    name = forms.CharField(max_length=100, validators=[validate_object_name], label=gettext_lazy("Name of the copy"))
    mode = forms.ChoiceField(
        choices=[("linked", gettext_lazy("Linked (qcow2 overlays)")), ("full", gettext_lazy("Full copies"))],
        label=gettext_lazy("Mode"),
    )

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Guest.objects.present().filter(host=self.guest.host, name=name).exists():
            raise forms.ValidationError(
                _("%(host)s already has a guest named %(name)s.") % {"host": self.guest.host.name, "name": name}
            )
        return name

    def clean(self):
        data = super().clean()
        if self.guest.is_active:
            raise forms.ValidationError(_("Shut the guest down to clone it."))
        return data

    def params(self):
        return actions.Copy(name=self.cleaned_data["name"], mode=self.cleaned_data["mode"])


class MigrateForm(GuestChangeForm):
    """Where to move the guest; each host that cannot take it now says why in its label."""

    kind = "guest.migrate"
    destination = forms.ModelChoiceField(None, label=gettext_lazy("Move to host"), empty_label=None)
    auto_converge = forms.BooleanField(
        label=gettext_lazy("Auto-converge"),
        required=False,
        help_text=gettext_lazy(
            "For a busy guest: slow its vCPUs down if it dirties memory faster than it can be sent."
        ),
    )
    post_copy = forms.BooleanField(
        label=gettext_lazy("Post-copy"),
        required=False,
        help_text=gettext_lazy(
            "For a busy guest: after one pass over memory, run it on the new host and fetch the rest "
            "from there. Fast to finish, but the guest is lost if the network fails meanwhile."
        ),
    )
    bandwidth_mib_s = forms.IntegerField(
        label=gettext_lazy("Bandwidth limit (MiB/s)"),
        min_value=0,
        max_value=100_000,
        required=False,
        help_text=gettext_lazy("Empty: no limit."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination"].queryset = migration.destinations_for(self.user, self.guest)

    def offer(self):
        """For the page: each host with why it cannot take the guest now, and the one to propose."""
        hosts = list(self.fields["destination"].queryset)
        problems = {host.pk: migration.refusals(self.guest, host) for host in hosts}
        self.fields["destination"].label_from_instance = lambda host: (
            _("%(host)s (cannot: %(problems)s)") % {"host": host.name, "problems": "; ".join(problems[host.pk])}
            if problems.get(host.pk)
            else host.name
        )
        proposal = migration.propose(self.guest, [host for host in hosts if not problems[host.pk]])
        if not self.is_bound and proposal is not None:
            self.fields["destination"].initial = proposal.pk
        return [(host, problems[host.pk]) for host in hosts], proposal

    def clean_destination(self):
        destination = self.cleaned_data["destination"]
        problems = migration.refusals(self.guest, destination)
        if problems:
            raise forms.ValidationError(
                _("%(host)s cannot take %(name)s: %(problems)s.")
                % {"host": destination.name, "name": self.guest.name, "problems": "; ".join(problems)}
            )
        return destination

    def params(self):
        data = self.cleaned_data
        return actions.Move(
            destination=data["destination"].pk,
            auto_converge=data["auto_converge"],
            post_copy=data["post_copy"],
            bandwidth_mib_s=data["bandwidth_mib_s"] or 0,
        )


CHANGE_FORMS = {
    "settings": SettingsForm,
    "resize": ResizeForm,
    "disk_add": DiskAddForm,
    "disk_attach": DiskAttachForm,
    "disk_grow": DiskGrowForm,
    "disk_detach": DiskDetachForm,
    "media": MediaForm,
    "nic_add": NicAddForm,
    "nic_change": NicChangeForm,
    "nic_remove": NicRemoveForm,
    "fs_freeze": partial(FileSystemsForm, kind="guest.fs-freeze"),
    "fs_thaw": partial(FileSystemsForm, kind="guest.fs-thaw"),
    "snapshot_create": SnapshotCreateForm,
    "snapshot_delete": partial(SnapshotChoiceForm, kind="guest.snapshot-delete"),
    "clone": CloneForm,
    "migrate": MigrateForm,
}
