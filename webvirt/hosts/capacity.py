"""What a host has and what its guests are given: vCPUs and memory against the host's totals
(more than the totals is overcommit, which KVM allows and the page shows), and its pools' space.

Read from the inventory in two aggregate queries, through the host's relations (hosts import no
guest or storage code)."""

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from .models import Host


@dataclass(frozen=True)
class Share:
    """`given` of `total` (running guests), `defined` counting the guests that are off too."""

    given: int
    defined: int
    total: int

    @property
    def percent(self):
        return min(100, round(100 * self.given / self.total)) if self.total else 0

    @property
    def overcommit(self):
        """How many times the total the guests are given when all run (1.0: exactly full)."""
        return round(self.defined / self.total, 2) if self.total else 0

    @property
    def free(self):
        return max(0, self.total - self.given)


@dataclass(frozen=True)
class Capacity:
    vcpus: Share
    memory_mib: Share
    pools: list


def _guests(hosts):
    """The present guests of `hosts`, through the relation (hosts import no guest code)."""
    return Host._meta.get_field("guests").related_model.objects.present().filter(host__in=hosts)


def _sums(guests):
    running = Q(state__in=guests.model.ACTIVE_STATES)
    return {
        "vcpus_given": Sum("vcpus", filter=running),
        "vcpus_defined": Sum("vcpus"),
        "memory_given": Sum("memory_mib", filter=running),
        "memory_defined": Sum("memory_mib"),
        "guests": Count("id"),
    }


def _shares(host, sums):
    vcpus = Share(sums.get("vcpus_given") or 0, sums.get("vcpus_defined") or 0, host.cpus or 0)
    memory = Share(sums.get("memory_given") or 0, sums.get("memory_defined") or 0, host.memory_mib or 0)
    return vcpus, memory


def shares_by_host(hosts):
    """For many hosts in one grouped query: host id -> (vCPUs share, memory share, guest count)."""
    guests = _guests(hosts)
    rows = {row["host"]: row for row in guests.values("host").annotate(**_sums(guests))}
    return {host.pk: (*_shares(host, rows.get(host.pk, {})), rows.get(host.pk, {}).get("guests", 0)) for host in hosts}


def host_capacity(host):
    guests = _guests([host])
    vcpus, memory = _shares(host, guests.aggregate(**_sums(guests)))
    return Capacity(
        vcpus=vcpus,
        memory_mib=memory,
        pools=list(host.pools.present().filter(state="active").order_by("name")),
    )
