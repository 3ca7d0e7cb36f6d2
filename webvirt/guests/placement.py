"""Where a guest goes: filters say which hosts can take it, weights say which of those is best.

Called by the new-guest form ("Any host") and the API, and meant for migration and evacuation.
Everything is read from the inventory, for all the hosts at once: a fixed number of queries
whatever the number of hosts and guests (bench/placement.py). docs/architecture.md has the rules.

A host's room is what its present guests are given when defined (running or not, as
hosts/capacity.py counts them) against its CPUs, memory and pools' space times the host's
allocation ratios; disk counts volumes at their full size, since thin images grow later.
"""

import math
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from webvirt.core import policy
from webvirt.hosts.capacity import shares_by_host
from webvirt.hosts.models import Host
from webvirt.networks.models import Network
from webvirt.storage.models import Pool, Volume

GIB = 2**30


@dataclass(frozen=True)
class Demand:
    """What a guest needs of a host."""

    vcpus: int
    memory_mib: int
    disk_bytes: int = 0  # new disk space needed on the host (0 when storage is shared)
    pool_names: frozenset = frozenset()  # pools (by name) the host must have, active
    network_names: frozenset = frozenset()  # libvirt networks (by name) the host must have, active
    bridges: frozenset = frozenset()  # host bridges: the inventory does not list them, so not checked
    template_path: str = ""  # a volume path the host must have (templates), "" for none
    volumes: frozenset = frozenset()  # (pool name, volume name) pairs the host must have (ISOs, images)


@dataclass(frozen=True, order=True)
class Score:
    """Fractions of the host's room (under its ratios) given once the guest is there; lower is better."""

    memory: float
    vcpus: float


@dataclass
class Placement:
    chosen: Host | None
    ranked: list  # [(host, Score)], best first
    refusals: dict  # {host: [reasons in plain words]}
    why_none: str = ""  # one sentence when nothing fits


def hosts_open_to(user):
    """The hosts `user` may create guests on: published to them (admins: all, even disabled ones,
    which placement then refuses with a reason)."""
    return policy.restrict(Host.objects.all(), user, "guest.create")


def place(demand, hosts, *, exclude=(), user=None):
    """Choose among `hosts` (a queryset or list) for `demand`, leaving out `exclude` (hosts or ids).
    With `user`, only pools, networks and volumes published to them count."""
    excluded = {getattr(host, "pk", host) for host in exclude}
    hosts = [host for host in hosts if host.pk not in excluded]
    inventory = _Inventory(hosts, demand, user)
    ranked, refusals, kinds = [], {}, {}
    for host in hosts:
        found = inventory.refusals(host, demand)
        if found:
            refusals[host] = [text for _, text in found]
            kinds[host] = {kind for kind, _ in found}
        else:
            ranked.append((host, inventory.score(host, demand)))
    ranked.sort(key=lambda pair: (pair[1], pair[0].name))
    chosen = ranked[0][0] if ranked else None
    why_none = "" if chosen else _why_none(hosts, kinds)
    return Placement(chosen=chosen, ranked=ranked, refusals=refusals, why_none=why_none)


def why_not(host, demand, *, user=None):
    """The reasons `host` cannot take `demand` ([] when it can)."""
    return place(demand, [host], user=user).refusals.get(host, [])


@dataclass(frozen=True)
class Room:
    host: Host
    vcpus: int  # free under the host's ratio
    memory_mib: int
    disk_bytes: int  # in its roomiest active pool


def room(hosts, *, user=None):
    """What each host can still take under its ratios, the roomiest (by memory) first: what is left
    when the scheduler chooses."""
    hosts = list(hosts)
    inventory = _Inventory(hosts, Demand(vcpus=0, memory_mib=0), user)
    rooms = []
    for host in hosts:
        vcpus, memory_mib = inventory.room(host)
        pools = [pool for pool in inventory.pools[host.pk].values() if pool["state"] == "active"]
        disk = max((inventory.pool_room(host, pool) for pool in pools), default=0)
        rooms.append(Room(host, max(0, vcpus), max(0, memory_mib), max(0, disk)))
    return sorted(rooms, key=lambda entry: (-entry.memory_mib, -entry.vcpus, entry.host.name))


KIND_WORDS = {
    "disabled": gettext_lazy("disabled"),
    "unreachable": gettext_lazy("not reachable"),
    "maintenance": gettext_lazy("in maintenance"),
    "pool": gettext_lazy("without the storage pool"),
    "network": gettext_lazy("without the network"),
    "volume": gettext_lazy("without the image"),
    "vcpus": gettext_lazy("short of vCPUs"),
    "memory": gettext_lazy("short of memory"),
    "disk": gettext_lazy("short of disk space"),
}
KIND_COUNTS = {  # how many hosts, of several, are refused for each reason
    "disabled": ngettext_lazy("%(n)s disabled", "%(n)s disabled", "n"),
    "unreachable": ngettext_lazy("%(n)s not reachable", "%(n)s not reachable", "n"),
    "maintenance": ngettext_lazy("%(n)s in maintenance", "%(n)s in maintenance", "n"),
    "pool": ngettext_lazy("%(n)s without the storage pool", "%(n)s without the storage pool", "n"),
    "network": ngettext_lazy("%(n)s without the network", "%(n)s without the network", "n"),
    "volume": ngettext_lazy("%(n)s without the image", "%(n)s without the image", "n"),
    "vcpus": ngettext_lazy("%(n)s short of vCPUs", "%(n)s short of vCPUs", "n"),
    "memory": ngettext_lazy("%(n)s short of memory", "%(n)s short of memory", "n"),
    "disk": ngettext_lazy("%(n)s short of disk space", "%(n)s short of disk space", "n"),
}


def _why_none(hosts, kinds):
    if not hosts:
        return _("There is no host to choose from.")
    counts = defaultdict(int)
    for found in kinds.values():
        for kind in found:
            counts[kind] += 1
    if len(hosts) == 1:
        words = ", ".join(str(words) for kind, words in KIND_WORDS.items() if counts[kind])
        return _("%(host)s cannot take this guest: it is %(reasons)s.") % {"host": hosts[0].name, "reasons": words}
    parts = ", ".join(KIND_COUNTS[kind] % {"n": counts[kind]} for kind in KIND_COUNTS if counts[kind])
    return _("None of the %(n)s hosts can take this guest (%(reasons)s).") % {"n": len(hosts), "reasons": parts}


class _Inventory:
    """What the hosts have and have given, read once for all of them."""

    def __init__(self, hosts, demand, user):
        ids = [host.pk for host in hosts]
        self.shares = shares_by_host(hosts) if hosts else {}
        pools = Pool.objects.present().filter(host_id__in=ids)
        networks = Network.objects.present().filter(host_id__in=ids)
        if user is not None:
            pools, networks = policy.published_to(pools, user), policy.published_to(networks, user)
        self.pools = defaultdict(dict)  # host id -> {name: pool facts}
        for pool in pools.values("pk", "host_id", "name", "state", "capacity"):
            self.pools[pool["host_id"]][pool["name"]] = pool
        promised = Volume.objects.filter(pool_id__in=[p["pk"] for named in self.pools.values() for p in named.values()])
        self.promised = dict(promised.values("pool_id").annotate(total=Sum("capacity")).values_list("pool_id", "total"))
        self.networks = defaultdict(dict)  # host id -> {name: active}
        for host_id, name, active in networks.values_list("host_id", "name", "active"):
            self.networks[host_id][name] = active or self.networks[host_id].get(name, False)
        self.paths, self.volumes = defaultdict(set), defaultdict(set)
        wanted = Q(path=demand.template_path) if demand.template_path else Q(pk__in=[])
        for pool_name, name in demand.volumes:
            wanted |= Q(pool__name=pool_name, name=name)
        if demand.template_path or demand.volumes:
            volumes = Volume.objects.usable().filter(wanted, pool__host_id__in=ids)
            if user is not None:
                volumes = policy.published_to(volumes, user)
            for host_id, path, pool_name, name in volumes.values_list("pool__host_id", "path", "pool__name", "name"):
                self.paths[host_id].add(path)
                self.volumes[host_id].add((pool_name, name))

    def room(self, host):
        vcpus, memory, _ = self.shares[host.pk]
        cpu_room = math.floor((host.cpus or 0) * host.cpu_allocation_ratio) - vcpus.defined
        memory_room = math.floor((host.memory_mib or 0) * host.memory_allocation_ratio) - memory.defined
        return cpu_room, memory_room

    def pool_room(self, host, pool):
        return math.floor(pool["capacity"] * host.disk_allocation_ratio) - self.promised.get(pool["pk"], 0)

    def refusals(self, host, demand):
        """[(kind, words)] for each filter `host` fails."""
        found = []

        def refuse(kind, words):
            found.append((kind, f"{host.name}: {words}"))

        if not host.enabled:
            refuse("disabled", _("disabled"))
        if host.reachable is not True:
            refuse("unreachable", _("not checked yet") if host.reachable is None else _("not reachable"))
        if host.in_maintenance:
            if host.maintenance_reason:
                refuse("maintenance", _("in maintenance (%(reason)s)") % {"reason": host.maintenance_reason})
            else:
                refuse("maintenance", _("in maintenance"))
        pools = self.pools[host.pk]
        for name in sorted(demand.pool_names):
            if name not in pools:
                refuse("pool", _("has no storage pool named %(pool)s") % {"pool": name})
            elif pools[name]["state"] != "active":
                refuse("pool", _("storage pool %(pool)s is not active") % {"pool": name})
        networks = self.networks[host.pk]
        for name in sorted(demand.network_names):
            if name not in networks:
                refuse("network", _("has no network named %(network)s") % {"network": name})
            elif not networks[name]:
                refuse("network", _("network %(network)s is not active") % {"network": name})
        if demand.template_path and demand.template_path not in self.paths[host.pk]:
            refuse("volume", _("has no volume %(path)s") % {"path": demand.template_path})
        for pool_name, name in sorted(demand.volumes):
            if (pool_name, name) not in self.volumes[host.pk]:
                refuse(
                    "volume",
                    _("has no volume %(volume)s in a pool named %(pool)s") % {"volume": name, "pool": pool_name},
                )
        cpu_room, memory_room = self.room(host)
        if demand.vcpus > cpu_room:
            words = {"needs": demand.vcpus, "free": max(0, cpu_room), "ratio": host.cpu_allocation_ratio}
            refuse("vcpus", _("not enough vCPUs (needs %(needs)s, %(free)s free under ratio %(ratio)s)") % words)
        if demand.memory_mib > memory_room:
            words = {"needs": demand.memory_mib, "free": max(0, memory_room), "ratio": host.memory_allocation_ratio}
            refuse(
                "memory", _("not enough memory (needs %(needs)s MiB, %(free)s MiB free under ratio %(ratio)s)") % words
            )
        if demand.disk_bytes:
            self._disk(host, demand, refuse)
        return found

    def _disk(self, host, demand, refuse):
        """Across the pools named (together), else in the host's roomiest active pool."""
        active = {name: pool for name, pool in self.pools[host.pk].items() if pool["state"] == "active"}
        if demand.pool_names:
            named = [active[name] for name in sorted(demand.pool_names) if name in active]
            if not named:
                return  # refused above for the pools themselves
            where = ", ".join(pool["name"] for pool in named)
            room = sum(self.pool_room(host, pool) for pool in named)
        elif active:
            roomiest = max(active.values(), key=lambda pool: self.pool_room(host, pool))
            where, room = roomiest["name"], self.pool_room(host, roomiest)
        else:
            refuse("disk", _("has no active storage pool"))
            return
        if demand.disk_bytes > room:
            words = {
                "pool": where,
                "needs": f"{demand.disk_bytes / GIB:.1f}",
                "free": f"{max(0, room) / GIB:.1f}",
                "ratio": host.disk_allocation_ratio,
            }
            refuse(
                "disk",
                _("not enough space in pool %(pool)s (needs %(needs)s GiB, %(free)s GiB free under ratio %(ratio)s)")
                % words,
            )

    def score(self, host, demand):
        vcpus, memory, _ = self.shares[host.pk]
        cpu_total = (host.cpus or 0) * host.cpu_allocation_ratio
        memory_total = (host.memory_mib or 0) * host.memory_allocation_ratio
        return Score(
            memory=(memory.defined + demand.memory_mib) / memory_total if memory_total else math.inf,
            vcpus=(vcpus.defined + demand.vcpus) / cpu_total if cpu_total else math.inf,
        )
