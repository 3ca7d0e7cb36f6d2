"""The scheduler (guests/placement.py) on inventory rows: every filter refuses with its reason,
the weights rank the rest, the hosts' ratios set the room, and the queries do not grow with hosts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt.guests.models import Guest
from webvirt.guests.placement import Demand, Score, hosts_open_to, place, room, why_not
from webvirt.hosts.models import Host
from webvirt.networks.models import Network
from webvirt.storage.models import Pool

GIB = 2**30


def make_host(name, *, cpus=8, memory_mib=8192, guests=(), pool_gib=100, **fields):
    """A reachable host with an active pool `images`, an active network `default`, and `guests`
    given as (vCPUs, MiB, state) rows."""
    host = Host.objects.create(
        name=name, transport="test", reachable=True, cpus=cpus, memory_mib=memory_mib, public=True, **fields
    )
    pool = Pool.objects.create(
        host=host, uuid=f"{name}-p", name="images", type="dir", state="active", capacity=pool_gib * GIB, public=True
    )
    Network.objects.create(host=host, uuid=f"{name}-n", name="default", active=True, mode="nat", public=True)
    for number, (vcpus, memory, state) in enumerate(guests):
        Guest.objects.create(
            host=host, uuid=f"{name}-{number}", name=f"{name}-g{number}", vcpus=vcpus, memory_mib=memory, state=state
        )
    host.images = pool
    return host


SMALL = Demand(vcpus=1, memory_mib=1024)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"enabled": False}, "web-2: disabled"),
        ({"reachable": False}, "web-2: not reachable"),
        ({"reachable": None}, "web-2: not checked yet"),
        ({"maintenance_since": timezone.now()}, "web-2: in maintenance"),
        ({"maintenance_since": timezone.now(), "maintenance_reason": "new disks"}, "web-2: in maintenance (new disks)"),
    ],
)
def test_hosts_that_cannot_take_guests_are_refused(db, change, reason):
    host = make_host("web-2")
    Host.objects.filter(pk=host.pk).update(**change)
    result = place(SMALL, Host.objects.all())
    assert result.chosen is None and result.ranked == []
    assert result.refusals == {host: [reason]}
    assert why_not(Host.objects.get(), SMALL) == [reason]


def test_named_pools_networks_and_volumes_must_be_there_and_active(db):
    host = make_host("web-4")
    demand = Demand(
        vcpus=1,
        memory_mib=512,
        pool_names=frozenset({"images", "fast"}),
        network_names=frozenset({"default", "lan"}),
        template_path="/var/lib/libvirt/images/debian.qcow2",
        volumes=frozenset({("images", "debian.iso")}),
    )
    assert why_not(host, demand) == [
        "web-4: has no storage pool named fast",
        "web-4: has no network named lan",
        "web-4: has no volume /var/lib/libvirt/images/debian.qcow2",
        "web-4: has no volume debian.iso in a pool named images",
    ]
    Pool.objects.create(host=host, uuid="f", name="fast", type="dir", state="inactive", capacity=GIB)
    Network.objects.create(host=host, uuid="l", name="lan", active=False, mode="nat")
    host.images.volumes.create(name="debian.qcow2", path="/var/lib/libvirt/images/debian.qcow2", capacity=GIB)
    host.images.volumes.create(name="debian.iso", path="/var/lib/libvirt/images/debian.iso", capacity=GIB)
    assert why_not(host, demand) == ["web-4: storage pool fast is not active", "web-4: network lan is not active"]
    Pool.objects.filter(name="fast").update(state="active")
    Network.objects.filter(name="lan").update(active=True)
    assert why_not(host, demand) == []
    Pool.objects.filter(name="images").update(gone_at=timezone.now())  # gone from its host: not there
    assert why_not(host, demand) == [
        "web-4: has no storage pool named images",
        "web-4: has no volume /var/lib/libvirt/images/debian.qcow2",
        "web-4: has no volume debian.iso in a pool named images",
    ]


def test_bridges_are_kept_but_not_checked(db):
    host = make_host("web-1")
    assert why_not(host, Demand(vcpus=1, memory_mib=64, bridges=frozenset({"br0"}))) == []


def test_room_counts_every_present_guest_under_the_hosts_ratios(db):
    """Guests that are off count (they may start); gone ones do not. vCPUs 8 x 4.0 = 32, memory 8192 x 1.0."""
    host = make_host("web-3", guests=[(16, 4096, "running"), (8, 3072, "shutoff")])
    Guest.objects.create(host=host, uuid="gone", name="old", vcpus=64, memory_mib=99999, gone_at=timezone.now())
    assert why_not(host, Demand(vcpus=8, memory_mib=1024)) == []
    assert why_not(host, Demand(vcpus=9, memory_mib=2048)) == [
        "web-3: not enough vCPUs (needs 9, 8 free under ratio 4.0)",
        "web-3: not enough memory (needs 2048 MiB, 1024 MiB free under ratio 1.0)",
    ]
    Host.objects.filter(pk=host.pk).update(memory_allocation_ratio=1.5, cpu_allocation_ratio=1.0)
    host.refresh_from_db()
    assert why_not(host, Demand(vcpus=1, memory_mib=2048)) == [
        "web-3: not enough vCPUs (needs 1, 0 free under ratio 1.0)"  # 24 given of 8: nothing free, not negative
    ]
    Host.objects.filter(pk=host.pk).update(cpu_allocation_ratio=4.0)
    host.refresh_from_db()
    assert why_not(host, Demand(vcpus=1, memory_mib=5120)) == []  # 8192 x 1.5 - 7168
    assert why_not(host, Demand(vcpus=1, memory_mib=5121)) == [
        "web-3: not enough memory (needs 5121 MiB, 5120 MiB free under ratio 1.5)"
    ]


def test_disk_is_counted_at_full_size_in_the_pool_named_or_the_roomiest(db):
    host = make_host("web-5", pool_gib=100)
    host.images.volumes.create(name="a.qcow2", path="/i/a.qcow2", capacity=80 * GIB, allocation=GIB)
    Pool.objects.create(host=host, uuid="big", name="big", type="dir", state="active", capacity=50 * GIB)
    assert why_not(host, Demand(vcpus=1, memory_mib=64, disk_bytes=20 * GIB, pool_names=frozenset({"images"}))) == []
    assert why_not(host, Demand(vcpus=1, memory_mib=64, disk_bytes=30 * GIB, pool_names=frozenset({"images"}))) == [
        "web-5: not enough space in pool images (needs 30.0 GiB, 20.0 GiB free under ratio 1.0)"
    ]
    assert why_not(host, Demand(vcpus=1, memory_mib=64, disk_bytes=50 * GIB)) == []  # in "big"
    assert why_not(host, Demand(vcpus=1, memory_mib=64, disk_bytes=51 * GIB)) == [
        "web-5: not enough space in pool big (needs 51.0 GiB, 50.0 GiB free under ratio 1.0)"
    ]
    Host.objects.filter(pk=host.pk).update(disk_allocation_ratio=2.0)
    host.refresh_from_db()
    assert why_not(host, Demand(vcpus=1, memory_mib=64, disk_bytes=100 * GIB, pool_names=frozenset({"images"}))) == []
    Pool.objects.filter(host=host).update(state="inactive")
    assert why_not(host, Demand(vcpus=1, memory_mib=64, disk_bytes=GIB)) == ["web-5: has no active storage pool"]
    assert why_not(host, Demand(vcpus=1, memory_mib=64)) == []  # shared storage: no disk needed here


def test_least_memory_given_wins_then_fewest_vcpus_then_the_name(db):
    full = make_host("a-full", guests=[(1, 6144, "running")])
    busy_cpus = make_host("b-busy", guests=[(16, 2048, "running")])
    idle = make_host("c-idle", guests=[(1, 2048, "shutoff")])
    twin = make_host("d-twin", guests=[(1, 2048, "running")])
    result = place(SMALL, Host.objects.all())
    assert [host.name for host, _ in result.ranked] == ["c-idle", "d-twin", "b-busy", "a-full"]
    assert result.chosen == idle and result.refusals == {}
    assert result.ranked[0][1] == Score(memory=3072 / 8192, vcpus=2 / 32)
    # A larger host with the same memory given is emptier by fraction, and ratios count too.
    Host.objects.filter(pk=full.pk).update(memory_mib=65536)
    assert place(SMALL, Host.objects.all()).chosen == full
    assert place(SMALL, Host.objects.all(), exclude=[full, idle.pk]).chosen == twin
    assert busy_cpus in dict(place(SMALL, Host.objects.all()).ranked)


def test_when_no_host_fits_one_sentence_says_why_and_each_host_has_its_reasons(db):
    make_host("web-1", guests=[(1, 8000, "running")])
    make_host("web-2", maintenance_since=timezone.now())
    make_host("web-3", guests=[(1, 7168, "running")])
    result = place(Demand(vcpus=1, memory_mib=2048, network_names=frozenset({"default"})), Host.objects.all())
    assert result.chosen is None
    assert result.why_none == "None of the 3 hosts can take this guest (1 in maintenance, 2 short of memory)."
    assert [reasons for reasons in result.refusals.values()] == [
        ["web-1: not enough memory (needs 2048 MiB, 192 MiB free under ratio 1.0)"],
        ["web-2: in maintenance"],
        ["web-3: not enough memory (needs 2048 MiB, 1024 MiB free under ratio 1.0)"],
    ]
    assert place(SMALL, Host.objects.none()).why_none == "There is no host to choose from."
    alone = place(SMALL, Host.objects.filter(name="web-2"))
    assert alone.why_none == "web-2 cannot take this guest: it is in maintenance."


def test_a_user_counts_only_what_was_published_to_them(db):
    dev = UserFactory(username="dev")
    host = make_host("web-1")
    demand = Demand(vcpus=1, memory_mib=64, pool_names=frozenset({"images"}), network_names=frozenset({"default"}))
    assert why_not(host, demand, user=dev) == []
    Pool.objects.update(public=False)
    Network.objects.update(public=False)
    assert why_not(host, demand, user=dev) == [
        "web-1: has no storage pool named images",
        "web-1: has no network named default",
    ]
    assert why_not(host, demand) == []  # migrations and admins see everything


def test_hosts_open_to_a_user_are_those_published_to_them(db, admin):
    dev = UserFactory(username="dev")
    shown = make_host("web-1")
    Host.objects.create(name="web-2", transport="test")
    Host.objects.create(name="web-3", transport="test", public=True, enabled=False)
    assert list(hosts_open_to(dev)) == [shown]
    assert [host.name for host in hosts_open_to(admin)] == ["web-1", "web-2", "web-3"]


def test_room_lists_what_each_host_can_still_take(db):
    make_host("web-1", guests=[(2, 4096, "running")])
    make_host("web-2", guests=[(30, 1024, "running")], pool_gib=10)
    rooms = room(Host.objects.all())
    assert [(r.host.name, r.vcpus, r.memory_mib, r.disk_bytes) for r in rooms] == [
        ("web-2", 2, 7168, 10 * GIB),
        ("web-1", 30, 4096, 100 * GIB),
    ]


def test_the_queries_do_not_grow_with_hosts_or_guests(db):
    demand = Demand(
        vcpus=1,
        memory_mib=512,
        disk_bytes=GIB,
        pool_names=frozenset({"images"}),
        network_names=frozenset({"default"}),
        template_path="/i/base.qcow2",
    )
    user = UserFactory(username="dev")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            place(demand, Host.objects.all(), user=user)
        return len(captured)

    make_host("web-0", guests=[(1, 256, "running")])
    few = queries()
    for number in range(1, 8):
        host = make_host(f"web-{number}", guests=[(1, 256, "running")] * 5)
        host.images.volumes.create(name="base.qcow2", path="/i/base.qcow2", capacity=GIB, public=True)
    assert queries() == few <= 7
