"""Pools and volumes as their host reports them. Unlike guests they carry no history: a pool or
volume that disappears is simply removed from the inventory."""

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
        pool.volumes.all().delete()
        Volume.objects.bulk_create(
            Volume(
                pool=pool,
                name=v.name,
                path=v.path,
                format=v.format,
                capacity=v.capacity,
                allocation=v.allocation,
                backing_path=v.backing_path,
            )
            for v in facts.volumes
        )
