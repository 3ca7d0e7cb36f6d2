"""Writes to storage: check the policy, refuse what cannot work, then record and enqueue an Operation."""

import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q

from webvirt.core import operations, policy

from .models import Volume


def _enqueue(kind, *, host, actor, target, params):
    policy.require(actor, "storage.manage", host)
    return operations.enqueue(kind=kind, actor=actor, host=host, target=f"{target} on {host.name}", params=params)


def pool_create(*, host, actor, data):
    return _enqueue("pool.create", host=host, actor=actor, target=data["name"], params=data)


def pool_action(*, pool, action, actor):
    """Queue a pool action; removing a pool whose volumes guests use is refused, naming them."""
    policy.require(actor, "storage.manage", pool.host)
    if action == "delete" and (guests := _guests_using(pool.host, _in_pool(pool))):
        raise ValidationError(f"Pool {pool.name} holds volumes in use by {_guests(guests)}: detach them first.")
    return _enqueue(f"pool.{action}", host=pool.host, actor=actor, target=pool.name, params={"pool_uuid": pool.uuid})


def _guests(names):
    return f"guest {names[0]}" if len(names) == 1 else f"guests {', '.join(names)}"


def _guests_using(host, disks):
    """Names of the guests still on `host` with a disk (CD-ROMs too) matching `disks`."""
    return sorted(set(host.guests.present().filter(disks).values_list("name", flat=True)))


def _on_volume(volume):
    return Q(disks__source__in=[volume.path, f"{volume.pool.name}/{volume.name}"])


def _in_pool(pool):
    """Disks on the pool's known volumes, below its directory, or naming the pool."""
    disks = Q(disks__source__in=pool.volumes.values("path")) | Q(disks__source__startswith=f"{pool.name}/")
    if pool.target_path:
        disks |= Q(disks__source__startswith=f"{pool.target_path.rstrip('/')}/")
    return disks


def _volume_params(pool, **params):
    return {"pool_uuid": pool.uuid, **params}


def _require_usable(pool, actor):
    """Volumes of a pool that is stopped or gone are kept in the inventory, but nothing can act on them."""
    policy.require(actor, "storage.manage", pool.host)
    if pool.is_gone:
        raise ValidationError(f"Pool {pool.name} is no longer on {pool.host.name}.")
    if not pool.is_active:
        raise ValidationError(f"Pool {pool.name} is {pool.state}: start it first.")


def volume_create(*, pool, actor, name, capacity, fmt):
    _require_usable(pool, actor)
    params = _volume_params(pool, name=name, capacity=capacity, format=fmt)
    return _enqueue("volume.create", host=pool.host, actor=actor, target=f"{pool.name}/{name}", params=params)


def volume_resize(*, volume, actor, capacity):
    pool = volume.pool
    _require_usable(pool, actor)
    params = _volume_params(pool, name=volume.name, capacity=capacity)
    target = f"{pool.name}/{volume.name}"
    return _enqueue("volume.resize", host=pool.host, actor=actor, target=target, params=params)


def volume_clone(*, volume, actor, new_name):
    pool = volume.pool
    _require_usable(pool, actor)
    params = _volume_params(pool, name=volume.name, new_name=new_name)
    target = f"{pool.name}/{volume.name}"
    return _enqueue("volume.clone", host=pool.host, actor=actor, target=target, params=params)


def volume_delete(*, volume, actor):
    """Queue a volume's deletion; one a guest uses, or that linked clones are built on, is refused."""
    pool = volume.pool
    _require_usable(pool, actor)
    if guests := _guests_using(pool.host, _on_volume(volume)):
        raise ValidationError(f"{volume.name} is in use by {_guests(guests)}: detach it first.")
    overlays = Volume.objects.filter(pool__host=pool.host, backing_path=volume.path).select_related("pool")
    if overlays:
        names = ", ".join(sorted(f"{overlay.pool.name}/{overlay.name}" for overlay in overlays))
        raise ValidationError(f"{volume.name} is the backing file of {names}: delete those first.")
    params = _volume_params(pool, name=volume.name)
    target = f"{pool.name}/{volume.name}"
    return _enqueue("volume.delete", host=pool.host, actor=actor, target=target, params=params)


def volume_upload(*, pool, actor, name, fmt, uploaded_file):
    """Keep the upload in the shared upload folder; a worker streams it to the host, then removes it."""
    _require_usable(pool, actor)
    destination = Path(settings.WEBVIRT_UPLOAD_DIR) / f"{uuid.uuid4().hex}.upload"
    shutil.move(uploaded_file.temporary_file_path(), destination)
    params = _volume_params(pool, name=name, format=fmt, file=str(destination), size=uploaded_file.size)
    target = f"{pool.name}/{name}"
    return _enqueue("volume.upload", host=pool.host, actor=actor, target=target, params=params)
