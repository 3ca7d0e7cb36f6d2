"""Writes to storage: check the policy, refuse what cannot work, then record and enqueue an Operation."""

import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from webvirt.core import operations, policy


def _enqueue(kind, *, host, actor, target, params):
    policy.require(actor, "storage.manage", host)
    return operations.enqueue(kind=kind, actor=actor, host=host, target=f"{target} on {host.name}", params=params)


def pool_create(*, host, actor, data):
    return _enqueue("pool.create", host=host, actor=actor, target=data["name"], params=data)


def pool_action(*, pool, action, actor):
    return _enqueue(f"pool.{action}", host=pool.host, actor=actor, target=pool.name, params={"pool_uuid": pool.uuid})


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
    pool = volume.pool
    _require_usable(pool, actor)
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
