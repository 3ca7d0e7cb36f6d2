from pathlib import PurePosixPath

from django import forms
from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt import hypervisor
from webvirt.core.forms import NewOnHostForm
from webvirt.core.validators import validate_object_name

from . import actions

GIB = 2**30
ISO_MAGIC = (0x8001, b"CD001")
QCOW2_MAGIC = b"QFI\xfb"


def _size_field(label):
    return forms.DecimalField(label=label, min_value=0.001, max_digits=12, decimal_places=3)


class PoolForm(NewOnHostForm):
    host_relation, noun = "pools", "pool"

    KINDS = [
        ("dir", gettext_lazy("Directory")),
        ("logical", gettext_lazy("LVM volume group (existing)")),
        ("netfs", gettext_lazy("NFS export")),
    ]

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, validators=[validate_object_name])
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=KINDS, initial="dir")
    target_path = forms.CharField(
        label=gettext_lazy("Directory or mount point"),
        required=False,
        help_text=gettext_lazy("On the host, below an allowed base directory."),
    )
    volume_group = forms.CharField(
        label=gettext_lazy("Volume group"), required=False, validators=[validate_object_name]
    )
    nfs_host = forms.CharField(label=gettext_lazy("NFS server"), required=False)
    nfs_path = forms.CharField(label=gettext_lazy("NFS export path"), required=False)
    autostart = forms.BooleanField(label=gettext_lazy("Autostart"), required=False, initial=True)

    def _allowed_path(self, raw):
        path = PurePosixPath(raw or "")
        bases = [PurePosixPath(base) for base in settings.WEBVIRT_POOL_BASE_DIRS]
        if not path.is_absolute() or ".." in path.parts or not any(base in path.parents for base in bases):
            allowed = ", ".join(settings.WEBVIRT_POOL_BASE_DIRS)
            raise forms.ValidationError(_("Pool directories must be below one of: %(allowed)s.") % {"allowed": allowed})
        return str(path)

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        try:
            if kind in {"dir", "netfs"}:
                data["target_path"] = self._allowed_path(data.get("target_path"))
        except forms.ValidationError as exc:
            self.add_error("target_path", exc)
        if kind == "logical" and not data.get("volume_group"):
            self.add_error("volume_group", _("Name the existing volume group."))
        if kind == "netfs":
            try:
                hypervisor.validate_hostname(data.get("nfs_host") or "")
            except hypervisor.HypervisorError as exc:
                self.add_error("nfs_host", str(exc))
            if not PurePosixPath(data.get("nfs_path") or "").is_absolute():
                self.add_error("nfs_path", _("Give the export's absolute path."))
        return data

    def params(self):
        data = self.cleaned_data
        fields = {"dir": ["target_path"], "logical": ["volume_group"], "netfs": ["target_path", "nfs_host", "nfs_path"]}
        return actions.NewPool(
            name=data["name"],
            kind=data["kind"],
            autostart=data["autostart"],
            **{key: data[key] for key in fields[data["kind"]]},
        )


class VolumeNameMixin:
    def _new_name(self, name):
        validate_object_name(name)
        if self.pool.volumes.filter(name=name).exists():
            raise forms.ValidationError(
                _("Pool %(pool)s already has a volume named %(name)s.") % {"pool": self.pool.name, "name": name}
            )
        return name


class VolumeForm(VolumeNameMixin, forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    format = forms.ChoiceField(
        label=gettext_lazy("Format"), choices=[("qcow2", gettext_lazy("qcow2 (thin, snapshots)")), ("raw", "raw")]
    )
    size_gib = _size_field(gettext_lazy("Size (GiB)"))

    def __init__(self, *args, pool, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool = pool

    def clean_name(self):
        return self._new_name(self.cleaned_data["name"])

    def params(self):
        data = self.cleaned_data
        return actions.NewVolume(name=data["name"], capacity=data["capacity"], format=data["format"])

    def clean(self):
        data = super().clean()
        if "size_gib" in data and "format" in data:
            data["capacity"] = int(data["size_gib"] * GIB)
            # qcow2 grows on demand, so it may promise more than is free; raw takes it all at once.
            thin = data["format"] == "qcow2"
            if thin:
                limit, problem = self.pool.capacity, _("%(size)s GiB is more than the pool's capacity (%(limit)s GiB).")
            else:
                limit, problem = (
                    self.pool.available,
                    _("%(size)s GiB is more than the pool's free space (%(limit)s GiB)."),
                )
            if data["capacity"] > limit:
                size = formats.number_format(data["size_gib"])
                self.add_error("size_gib", problem % {"size": size, "limit": formats.number_format(limit / GIB, 2)})
        return data


class ResizeForm(forms.Form):
    size_gib = _size_field(gettext_lazy("New size (GiB)"))

    def __init__(self, *args, volume, **kwargs):
        super().__init__(*args, **kwargs)
        self.volume = volume

    def clean_size_gib(self):
        capacity = int(self.cleaned_data["size_gib"] * GIB)
        if capacity <= self.volume.capacity:
            raise forms.ValidationError(
                _("Volumes only grow: give more than %(size)s GiB.")
                % {"size": formats.number_format(self.volume.capacity / GIB, 3)}
            )
        if capacity - self.volume.capacity > self.volume.pool.capacity:
            raise forms.ValidationError(_("That is larger than the pool."))
        self.cleaned_data["capacity"] = capacity
        return self.cleaned_data["size_gib"]

    def params(self):
        return actions.VolumeSize(capacity=self.cleaned_data["capacity"])


class CloneForm(VolumeNameMixin, forms.Form):
    new_name = forms.CharField(label=gettext_lazy("New name"), max_length=100)

    def __init__(self, *args, volume, **kwargs):
        super().__init__(*args, **kwargs)
        self.volume, self.pool = volume, volume.pool

    def clean_new_name(self):
        name = self._new_name(self.cleaned_data["new_name"])
        if self.volume.allocation > self.pool.available:
            raise forms.ValidationError(_("The pool has too little free space for a copy."))
        return name

    def params(self):
        return actions.VolumeCopy(new_name=self.cleaned_data["new_name"])


def detect_format(uploaded_file):
    """'iso', 'qcow2' or 'raw' from the file's first bytes and name; None for anything else."""
    uploaded_file.seek(0)
    head = uploaded_file.read(ISO_MAGIC[0] + len(ISO_MAGIC[1]))
    uploaded_file.seek(0)
    name = uploaded_file.name.lower()
    if head[ISO_MAGIC[0] : ISO_MAGIC[0] + 5] == ISO_MAGIC[1]:
        return "iso"
    if head.startswith(QCOW2_MAGIC):
        return "qcow2"
    if name.endswith((".img", ".raw")) and uploaded_file.size % 512 == 0:
        return "raw"
    return None


class UploadForm(VolumeNameMixin, forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("An ISO image, a qcow2 disk, or a raw disk image (.img/.raw)."),
        error_messages={
            "required": gettext_lazy("Choose the file to upload."),
            "empty": gettext_lazy("The file is empty."),
        },
    )
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Blank: the file's own name."),
    )

    def __init__(self, *args, pool, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool = pool

    def clean(self):
        data = super().clean()
        uploaded = data.get("file")
        if uploaded is None:
            return data
        data["format"] = detect_format(uploaded)
        if data["format"] is None:
            self.add_error("file", _("This is not an ISO image, a qcow2 disk or a raw disk image (.img or .raw)."))
            return data
        try:
            data["name"] = self._new_name(data.get("name") or uploaded.name)
        except forms.ValidationError as exc:
            self.add_error("name", exc)
        if uploaded.size > self.pool.available:
            free = formats.number_format(self.pool.available / GIB, 2)
            self.add_error("file", _("The pool has %(free)s GiB free; the file needs more.") % {"free": free})
        return data

    def params(self, staged_path):
        data = self.cleaned_data
        return actions.Upload(name=data["name"], format=data["format"], file=str(staged_path), size=data["file"].size)
