"""A known history with fixed timestamps, its figures worked out by hand in the tests.

On 2026-03-31 (the last day of a month) and 2026-04-01, UTC:
- guest A (alice's; 2 vCPUs, 4 GiB, a 20 GiB disk): shut off 00:00-06:00, running 06:00-18:00,
  shut off 18:00-22:00, running 22:00 to 02:00 the next day (across both boundaries), then shut
  off and still there (its period is open);
- guest B (1 vCPU, 2 GiB, a 10 GiB disk): running from 00:00, alice's until 12:00 then bob's,
  gone at 18:00;
- guest C (carol's; 1 vCPU, 1 GiB, no disk): paused 2026-04-01 00:00-06:00, then crashed until 12:00
  when it went.
alice and bob are in team ops; carol in team lab.
"""

import datetime as dt

import pytest

from tests.conftest import UserFactory
from webvirt.accounts.models import Team
from webvirt.guests.models import Guest, GuestPeriod
from webvirt.hosts.models import Host

GIB = 2**30


def at(day, hour):
    return dt.datetime(2026, 3 if day == 31 else 4, day, hour, tzinfo=dt.UTC)


@pytest.fixture
def history(db):
    alice, bob, carol = (UserFactory(username=name) for name in ("alice", "bob", "carol"))
    ops, lab = Team.objects.create(name="ops"), Team.objects.create(name="lab")
    ops.members.add(alice, bob)
    lab.members.add(carol)
    host = Host.objects.create(name="h1", transport="test")
    a, b, c = (Guest.objects.create(host=host, uuid=f"0000000{n}", name=name) for n, name in enumerate("abc"))

    def period(guest, owner, state, vcpus, memory_gib, disk_gib, start, end):
        GuestPeriod.objects.create(
            guest=guest,
            owner=owner,
            state=state,
            vcpus=vcpus,
            memory_mib=memory_gib * 1024,
            disk_bytes=disk_gib * GIB,
            started_at=start,
            ended_at=end,
        )

    period(a, alice, "shutoff", 2, 4, 20, at(31, 0), at(31, 6))
    period(a, alice, "running", 2, 4, 20, at(31, 6), at(31, 18))
    period(a, alice, "shutoff", 2, 4, 20, at(31, 18), at(31, 22))
    period(a, alice, "running", 2, 4, 20, at(31, 22), at(1, 2))
    period(a, alice, "shutoff", 2, 4, 20, at(1, 2), None)
    period(b, alice, "running", 1, 2, 10, at(31, 0), at(31, 12))
    period(b, bob, "running", 1, 2, 10, at(31, 12), at(31, 18))
    period(c, carol, "paused", 1, 1, 0, at(1, 0), at(1, 6))
    period(c, carol, "crashed", 1, 1, 0, at(1, 6), at(1, 12))
    return {"alice": alice, "bob": bob, "carol": carol, "ops": ops, "lab": lab}
