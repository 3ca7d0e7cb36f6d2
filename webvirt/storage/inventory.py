"""Pools and volumes as their host reports them.

Nothing is forgotten because it cannot be seen: a pool the host no longer lists is marked gone
(and comes back, publications and all, if it reappears with the same UUID), and a pool that is
not active lists no volumes, so its volume rows are kept, unavailable, until it is active again.
Only then are volumes that are truly gone removed. Rows that remain keep their ids, so a form
rendered before a refresh still points at the same volumes.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from webvirt.core import events
from webvirt.hosts.connections import connection_spec
from webvirt.hypervisor.storage import list_pools

from .models import Pool, Volume
from .sharing import key_after_read

POOL_FIELDS = ("name", "type", "state", "autostart", "persistent", "capacity", "allocation", "available")


@transaction.atomic
def apply_pools(host, pools):
    listed = [facts.uuid for facts in pools]
    vanished = Pool.objects.filter(host=host).present().exclude(uuid__in=listed)
    changed = bool(vanished.update(gone_at=timezone.now(), state="inactive"))
    # Locked: a probe (sharing.py) may be writing these rows' storage_key meanwhile.
    existing = {pool.uuid: pool for pool in Pool.objects.select_for_update().filter(host=host, uuid__in=listed)}
    for facts in pools:
        values = {field: getattr(facts, field) for field in POOL_FIELDS}
        values |= {"target_path": facts.target_path, "source": facts.source, "definition": facts.definition}
        values["gone_at"] = None
        pool = existing.get(facts.uuid)
        values["storage_key"] = key_after_read(pool, facts.type, facts.source, facts.target_path)
        if pool is not None and values["storage_key"] != pool.storage_key:
            values["sharing_checked_at"] = None  # it points elsewhere now: what a probe found no longer holds
        if pool is None:
            pool = Pool.objects.create(host=host, uuid=facts.uuid, **values)
            changed = True
        else:
            changed |= any(getattr(pool, key) != value for key, value in values.items())
            for key, value in values.items():
                setattr(pool, key, value)
            pool.save()
        if pool.is_active:  # only an active pool lists its volumes
            changed |= _apply_volumes(pool, facts.volumes)
    if changed:  # the host's pages (pools, volumes) re-read what they show
        events.publish("inventory.changed", groups=[events.host_group(host.pk)], host_id=host.pk, what="storage")


def forget_pool(host, uuid):
    """Remove a pool's row (and its volumes'): for pools removed through webvirt."""
    Pool.objects.filter(host=host, uuid=uuid).delete()
    events.publish("inventory.changed", groups=[events.host_group(host.pk)], host_id=host.pk, what="storage")


VOLUME_FIELDS = ("path", "format", "capacity", "allocation", "backing_path")


def _apply_volumes(pool, volumes):
    """Volumes as the active pool lists them; True if any row changed."""
    existing = {volume.name: volume for volume in pool.volumes.all()}
    removed, _ = pool.volumes.exclude(name__in=[facts.name for facts in volumes]).delete()
    new, changed = [], []
    for facts in volumes:
        values = {field: getattr(facts, field) for field in VOLUME_FIELDS}
        volume = existing.get(facts.name)
        if volume is None:
            new.append(Volume(pool=pool, name=facts.name, **values))
        elif any(getattr(volume, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(volume, key, value)
            changed.append(volume)
    Volume.objects.bulk_create(new)
    Volume.objects.bulk_update(changed, VOLUME_FIELDS)
    return bool(removed or new or changed)


def refresh_storage(host):
    """Re-read the host's pools and volumes (after an action on them, or on a guest's disks)."""
    apply_pools(host, list_pools(connection_spec(host)))


def apply_listing(host, pools):
    apply_pools(host, pools)
    return ngettext("%(count)d pool", "%(count)d pools", len(pools)) % {"count": len(pools)}
