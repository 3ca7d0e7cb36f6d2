"""What a host has and what its guests are given: vCPUs and memory against the host's totals
(more than the totals is overcommit, which KVM allows and the page shows), and its pools' space.

Read from the inventory in two aggregate queries, through the host's relations (hosts import no
guest or storage code)."""

from dataclasses import dataclass

from django.db.models import Q, Sum


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


def host_capacity(host):
    guests = host.guests.present()
    running = Q(state__in=guests.model.ACTIVE_STATES)
    sums = guests.aggregate(
        vcpus_given=Sum("vcpus", filter=running),
        vcpus_defined=Sum("vcpus"),
        memory_given=Sum("memory_mib", filter=running),
        memory_defined=Sum("memory_mib"),
    )
    return Capacity(
        vcpus=Share(sums["vcpus_given"] or 0, sums["vcpus_defined"] or 0, host.cpus or 0),
        memory_mib=Share(sums["memory_given"] or 0, sums["memory_defined"] or 0, host.memory_mib or 0),
        pools=list(host.pools.present().filter(state="active").order_by("name")),
    )
