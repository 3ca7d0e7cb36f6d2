"""Which pools on different hosts are the same storage: what live migration needs to move only
a guest's memory, its disks staying where both hosts see them.

The answer is kept in `Pool.storage_key` (pools with the same key are the same storage), so
reading it costs one query. Two ways to a key:
- netfs pools: the same server and export are the same storage, whatever the hosts. The key is
  derived at every inventory read (`rule_key`). A server named by a loopback address means each
  host itself, so it proves nothing, and such pools are probed like the others.
- anything else: the XML cannot tell. The same directory may be a local disk on each host or one
  mount libvirt knows only as a dir pool. `find_shared` (the admin action `pool.find-shared`)
  writes a marker volume into the pool through libvirt and refreshes the active pools of the same
  type at the same path on the other hosts: those that list it are the same storage and share a
  key ("probe:..."), kept by the inventory while the pool's type, path and source stay the same.
"""

import ipaddress
import posixpath
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from webvirt.core import events
from webvirt.hosts.connections import connection_spec
from webvirt.hypervisor.storage import pools_seeing_marker

from .models import Pool

PROBED = "probe:"


def _is_loopback(server):
    name = server.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost") or name == "localhost.localdomain":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def rule_key(kind, source, target_path=""):
    """The key a pool's definition alone proves ('' when it proves nothing): for netfs pools
    (source "server:/export"), the server lower-cased and the export path normalised."""
    if kind != "netfs":
        return ""
    server, separator, export = source.partition(":/")
    server = server.strip("[]").rstrip(".").lower()
    if not separator or not server or _is_loopback(server):
        return ""
    return f"netfs:{server}:{posixpath.normpath('/' + export)}"


def key_after_read(pool, kind, source, target_path):
    """The key to store after an inventory read of `pool` (None for a new row): the rule's, else
    the key a probe gave while the pool still points at the same place, else none."""
    if key := rule_key(kind, source, target_path):
        return key
    if pool is not None and (pool.type, pool.source, pool.target_path) == (kind, source, target_path):
        return pool.storage_key
    return ""


def shared_pool_on(pool, host):
    """The pool on `host` that is the same storage as `pool` (a pool row on another host), or None."""
    if not pool.storage_key or pool.host_id == host.pk:
        return None
    return Pool.objects.present().filter(host=host, storage_key=pool.storage_key).order_by("pk").first()


def shared_with(pool):
    """The pools on other hosts known to be the same storage as `pool`, for its page."""
    if not pool.storage_key:
        return Pool.objects.none()
    others = Pool.objects.present().filter(storage_key=pool.storage_key).exclude(host=pool.host_id)
    return others.select_related("host").order_by("host__name", "name")


def candidates(pool):
    """Pools a probe compares `pool` with: active, of its type and at its path, on the other
    enabled hosts that answered last time."""
    return (
        Pool.objects.usable()
        .filter(type=pool.type, target_path=pool.target_path, host__enabled=True, host__reachable=True)
        .exclude(host=pool.host_id)
        .select_related("host")
        .order_by("host__name", "name")
    )


def may_probe(pool):
    """Whether a probe could tell anything: the pool is usable, its definition does not already
    say, and another host has a pool to compare it with."""
    return pool.is_usable and not rule_key(pool.type, pool.source) and candidates(pool).exists()


def _nothing_to_compare(pool):
    if not pool.target_path:
        return _("No other host has an active %(type)s pool at the same path to compare with.") % {"type": pool.type}
    return _("No other host has an active %(type)s pool at %(path)s to compare with.") % {
        "type": pool.type,
        "path": pool.target_path,
    }


def check_probe(actor, pool, params):
    """Refusals of `pool.find-shared`, before anything is queued."""
    if pool.is_gone or not pool.is_active:
        raise ValidationError(
            _("Pool %(pool)s is not active on %(host)s: start it first.") % {"pool": pool.name, "host": pool.host.name}
        )
    if rule_key(pool.type, pool.source):
        raise ValidationError(
            _("Pool %(pool)s is an NFS export: pools of the same server and export are the same storage.")
            % {"pool": pool.name}
        )
    if not candidates(pool).exists():
        raise ValidationError(_nothing_to_compare(pool))


def find_shared(pool):
    """Probe (see the module's docstring) and record the outcome; returns what was found, in words."""
    others = list(candidates(pool))
    if not others:  # they went away since the probe was asked for
        return _nothing_to_compare(pool)
    seen = pools_seeing_marker(
        connection_spec(pool.host), pool.uuid, [(connection_spec(other.host), other.uuid) for other in others]
    )
    shared = [other for other, saw in zip(others, seen, strict=True) if saw]
    apart = [other for other, saw in zip(others, seen, strict=True) if not saw]
    _record(pool, shared, apart)
    if not shared:
        return _("%(pool)s is not the same storage as any of: %(others)s.") % {
            "pool": pool.name,
            "others": _named(apart),
        }
    if apart:
        return _("%(pool)s is the same storage as %(shared)s; not as %(apart)s.") % {
            "pool": pool.name,
            "shared": _named(shared),
            "apart": _named(apart),
        }
    return _("%(pool)s is the same storage as %(shared)s.") % {"pool": pool.name, "shared": _named(shared)}


def _named(pools):
    each = _("%(host)s (pool %(pool)s)")
    return ", ".join(each % {"host": other.host.name, "pool": other.name} for other in pools)


@transaction.atomic
def _record(pool, shared, apart):
    """One key for the pool and those that saw its marker (their earlier probed groups join it);
    those that did not see it leave the pool's group."""
    pool.storage_key = Pool.objects.select_for_update().get(pk=pool.pk).storage_key
    if shared:
        keys = [pool.storage_key, *(other.storage_key for other in shared)]
        key = next((k for k in keys if k and not k.startswith(PROBED)), None)  # a rule's key stays
        key = key or next((k for k in keys if k), None) or f"{PROBED}{secrets.token_hex(12)}"
        merged = {k for k in keys if k.startswith(PROBED) and k != key}
        Pool.objects.filter(storage_key__in=merged).update(storage_key=key)
        Pool.objects.filter(pk__in=[pool.pk, *(other.pk for other in shared)]).update(storage_key=key)
        pool.storage_key = key
    if pool.storage_key:
        Pool.objects.filter(pk__in=[other.pk for other in apart], storage_key=pool.storage_key).update(storage_key="")
    everyone = [pool.pk, *(other.pk for other in shared + apart)]
    Pool.objects.filter(pk__in=everyone).update(sharing_checked_at=timezone.now())
    for host_id in {pool.host_id, *(other.host_id for other in shared + apart)}:  # open pool pages re-read
        events.publish("inventory.changed", groups=[events.host_group(host_id)], host_id=host_id, what="storage")
