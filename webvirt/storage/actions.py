"""Storage actions: pools and volumes, each declared once (see core/actions.py). All are slow: a
worker acts through webvirt.hypervisor, then re-reads the host's pools into the inventory."""

from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from webvirt.accounts.actions import publication
from webvirt.core.actions import Action, NoParams, declare
from webvirt.core.definitions import declare_define_xml
from webvirt.core.operations import report_progress
from webvirt.hosts.connections import operation_spec
from webvirt.hypervisor import InvalidState
from webvirt.hypervisor import storage as pools

from . import sharing
from .inventory import forget_pool, refresh_storage
from .models import Pool

# Refusals: what cannot work is refused before anything is queued.


def _guests(names):
    return ngettext("guest %(names)s", "guests %(names)s", len(names)) % {"names": ", ".join(names)}


def _guests_using(host, disks):
    """Names of the guests still on `host` with a disk (CD-ROMs too) matching `disks`."""
    return sorted(set(host.guests.present().filter(disks).values_list("name", flat=True)))


def _in_pool(pool):
    """Disks on the pool's known volumes, below its directory, or naming the pool."""
    disks = Q(disks__source__in=pool.volumes.values("path")) | Q(disks__source__startswith=f"{pool.name}/")
    if pool.target_path:
        disks |= Q(disks__source__startswith=f"{pool.target_path.rstrip('/')}/")
    return disks


def _usable(pool):
    """Volumes of a pool that is stopped or gone are kept in the inventory, but nothing can act on them."""
    if pool.is_gone:
        raise ValidationError(
            _("Pool %(pool)s is no longer on %(host)s.") % {"pool": pool.name, "host": pool.host.name}
        )
    if not pool.is_active:
        raise ValidationError(
            _("Pool %(pool)s is %(state)s: start it first.") % {"pool": pool.name, "state": pool.state_label}
        )


def _pool_usable(actor, pool, params):
    _usable(pool)


def _volume_usable(actor, volume, params):
    _usable(volume.pool)


def _pool_not_in_use(actor, pool, params):
    if guests := _guests_using(pool.host, _in_pool(pool)):
        raise ValidationError(
            _("Pool %(pool)s holds volumes in use by %(guests)s: detach them first.")
            % {"pool": pool.name, "guests": _guests(guests)}
        )


def _volume_deletable(actor, volume, params):
    """A volume a guest uses, or that linked clones are built on, is never deleted."""
    _usable(volume.pool)
    if guests := volume.guests_using():
        raise ValidationError(
            _("%(volume)s is in use by %(guests)s: detach it first.")
            % {"volume": volume.name, "guests": _guests(guests)}
        )
    if overlays := volume.overlays():
        names = ", ".join(sorted(f"{overlay.pool.name}/{overlay.name}" for overlay in overlays))
        raise ValidationError(
            _("%(volume)s is the backing file of %(names)s: delete those first.")
            % {"volume": volume.name, "names": names}
        )


# Runners: in a worker; `operation.params["target"]` names the pool (and volume) acted on.


def _then_refresh(operation, message):
    refresh_storage(operation.host)
    return message


def _pool_uuid(operation):
    return operation.params["target"]["pool_uuid"]


@dataclass(frozen=True)
class NewPool:
    name: str
    kind: str  # dir, logical or netfs
    autostart: bool = True
    target_path: str = ""
    volume_group: str = ""
    nfs_host: str = ""
    nfs_path: str = ""


def _create_pool(operation, params):
    xml = pools.build_pool_xml(
        name=params.name,
        kind=params.kind,
        target_path=params.target_path,
        volume_group=params.volume_group,
        nfs_host=params.nfs_host,
        nfs_path=params.nfs_path,
    )
    pools.define_pool(operation_spec(operation), xml, autostart=params.autostart)
    return _then_refresh(operation, _("Pool %(pool)s created and started.") % {"pool": params.name})


def _pool_action(action):
    def run(operation, params):
        message = pools.pool_action(operation_spec(operation), _pool_uuid(operation), action)
        if action == "delete":
            forget_pool(operation.host, _pool_uuid(operation))
        return _then_refresh(operation, message)

    return run


def _find_shared(operation, params):
    pool = Pool.objects.select_related("host").filter(host=operation.host, uuid=_pool_uuid(operation)).first()
    if pool is None:
        raise InvalidState(_("The pool was removed before this ran."))
    return sharing.find_shared(pool)


@dataclass(frozen=True)
class NewVolume:
    name: str
    capacity: int  # bytes
    format: str = "qcow2"


def _create_volume(operation, params):
    path = pools.create_volume(
        operation_spec(operation), _pool_uuid(operation), name=params.name, capacity=params.capacity, fmt=params.format
    )
    return _then_refresh(operation, _("Created %(path)s.") % {"path": path})


@dataclass(frozen=True)
class VolumeSize:
    capacity: int  # bytes


def _resize_volume(operation, params):
    target = operation.params["target"]
    capacity = pools.resize_volume(operation_spec(operation), target["pool_uuid"], target["volume"], params.capacity)
    size = formats.number_format(capacity / 2**30, 2)
    return _then_refresh(operation, _("%(volume)s is now %(size)s GiB.") % {"volume": target["volume"], "size": size})


@dataclass(frozen=True)
class VolumeCopy:
    new_name: str


def _clone_volume(operation, params):
    target = operation.params["target"]
    path = pools.clone_volume(
        operation_spec(operation),
        target["pool_uuid"],
        target["volume"],
        name=params.new_name,
        progress=lambda fraction: report_progress(operation, fraction),
    )
    return _then_refresh(operation, _("Copied to %(path)s.") % {"path": path})


def _delete_volume(operation, params):
    target = operation.params["target"]
    return _then_refresh(
        operation, pools.delete_volume(operation_spec(operation), target["pool_uuid"], target["volume"])
    )


@dataclass(frozen=True)
class Upload:
    name: str
    format: str
    file: str  # staged in WEBVIRT_UPLOAD_DIR, which web servers and workers share (storage/uploads.py)
    size: int


def _upload_volume(operation, params):
    with open(params.file, "rb") as source:
        path = pools.upload_volume(
            operation_spec(operation),
            _pool_uuid(operation),
            name=params.name,
            fmt=params.format,
            source=source,
            size=params.size,
            progress=lambda fraction: report_progress(operation, fraction),
        )
    size = formats.number_format(params.size / 2**20, 1)
    return _then_refresh(operation, _("Uploaded %(size)s MiB to %(path)s.") % {"size": size, "path": path})


def _new_volume_name(pool, params):
    """How a volume still to be made is named on its Operation."""
    return _("%(pool)s/%(volume)s on %(host)s") % {"pool": pool.name, "volume": params.name, "host": pool.host.name}


def _remove_upload(operation):
    Path(operation.params["file"]).unlink(missing_ok=True)


POOL_CREATE = declare(
    Action(
        "pool.create",
        gettext_lazy("Create pool"),
        "storage.manage",
        params=NewPool,
        run=_create_pool,
        describe=lambda host, params: _("%(pool)s on %(host)s") % {"pool": params.name, "host": host.name},
        timeout=600,
    )
)
LIBVIRT_POOL_ACTIONS = {
    "start": gettext_lazy("Start pool"),
    "stop": gettext_lazy("Stop pool"),
    "refresh": gettext_lazy("Refresh pool"),
    "autostart": gettext_lazy("Enable autostart of pool"),
    "no-autostart": gettext_lazy("Disable autostart of pool"),
    "delete": gettext_lazy("Remove pool"),
}
for _name, _label in LIBVIRT_POOL_ACTIONS.items():
    declare(
        Action(
            f"pool.{_name}",
            _label,
            "storage.manage",
            params=NoParams,
            check=_pool_not_in_use if _name == "delete" else None,
            run=_pool_action(_name),
            timeout=600,
        )
    )
POOL_FIND_SHARED = declare(
    Action(
        "pool.find-shared",
        gettext_lazy("Find other hosts sharing pool"),
        "storage.manage",
        params=NoParams,
        check=sharing.check_probe,
        run=_find_shared,
        timeout=300,
    )
)
POOL_ACTIONS = {**LIBVIRT_POOL_ACTIONS, "find-shared": POOL_FIND_SHARED.label}  # what pages and the API offer
VOLUME_CREATE = declare(
    Action(
        "volume.create",
        gettext_lazy("Create volume"),
        "storage.manage",
        params=NewVolume,
        check=_pool_usable,
        run=_create_volume,
        describe=_new_volume_name,
        timeout=600,
    )
)
VOLUME_RESIZE = declare(
    Action(
        "volume.resize",
        gettext_lazy("Resize volume"),
        "storage.manage",
        params=VolumeSize,
        check=_volume_usable,
        run=_resize_volume,
    )
)
VOLUME_CLONE = declare(
    Action(
        "volume.clone",
        gettext_lazy("Copy volume"),
        "storage.manage",
        params=VolumeCopy,
        check=_volume_usable,
        run=_clone_volume,
    )
)
VOLUME_DELETE = declare(
    Action(
        "volume.delete",
        gettext_lazy("Delete volume"),
        "storage.manage",
        check=_volume_deletable,
        run=_delete_volume,
        timeout=600,
    )
)
VOLUME_UPLOAD = declare(
    Action(
        "volume.upload",
        gettext_lazy("Upload volume"),
        "storage.manage",
        params=Upload,
        check=_pool_usable,
        run=_upload_volume,
        cleanup=_remove_upload,
        describe=_new_volume_name,
    )
)
POOL_PUBLISH = publication("pool", "storage.manage")
POOL_DEFINE_XML = declare_define_xml(
    "pool",
    find=lambda operation: (
        operation_spec(operation),
        operation.params["target"]["pool_uuid"],
        operation.params["target"]["pool"],
    ),
    refresh=lambda operation: refresh_storage(operation.host),
)
VOLUME_PUBLISH = publication("volume", "storage.manage")
