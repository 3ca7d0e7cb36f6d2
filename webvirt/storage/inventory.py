"""Pools and volumes as their host reports them. Unlike guests they carry no history: a pool or
volume that disappears is simply removed from the inventory. Rows that remain keep their ids, so
a form rendered before a refresh still points at the same volumes."""

from django.db import transaction

from .models import Pool, Volume

POOL_FIELDS = ("name", "type", "state", "autostart", "persistent", "capacity", "allocation", "available")


@transaction.atomic
def apply_pools(host, pools):
    existing = {pool.uuid: pool for pool in Pool.objects.filter(host=host)}
    Pool.objects.filter(host=host).exclude(uuid__in=[facts.uuid for facts in pools]).delete()
    for facts in pools:
        values = {field: getattr(facts, field) for field in POOL_FIELDS}
        values |= {"target_path": facts.target_path, "source": facts.source}
        pool = existing.get(facts.uuid)
        if pool is None:
            pool = Pool.objects.create(host=host, uuid=facts.uuid, **values)
        else:
            for key, value in values.items():
                setattr(pool, key, value)
            pool.save()
        _apply_volumes(pool, facts.volumes)


VOLUME_FIELDS = ("path", "format", "capacity", "allocation", "backing_path")


def _apply_volumes(pool, volumes):
    existing = {volume.name: volume for volume in pool.volumes.all()}
    pool.volumes.exclude(name__in=[facts.name for facts in volumes]).delete()
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
