"""The inventory writes the guests' history: a period per change of owner, state, size or disks, none
when nothing changed, and the open one closed when the guest goes."""

import dataclasses
import uuid

from django.urls import reverse

from tests.conftest import GIB, UserFactory
from tests.guests.test_create import form_data
from webvirt import hypervisor
from webvirt.core.actions import perform
from webvirt.guests.actions import NewOwner
from webvirt.guests.inventory import apply_guests, mark_gone
from webvirt.guests.migration import arrive
from webvirt.guests.models import Guest, GuestPeriod
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor import DiskFacts, GuestFacts


def _open(guest):
    return GuestPeriod.objects.get(guest=guest, ended_at=None)


def test_a_resync_opens_one_period_per_guest_and_another_resync_writes_none(test_host):
    alpha, beta = (Guest.objects.get(host=test_host, name=name) for name in ("alpha", "beta"))
    assert GuestPeriod.objects.count() == 2
    assert (_open(alpha).state, _open(alpha).vcpus, _open(alpha).memory_mib) == ("running", 1, 128)
    assert _open(beta).state == "shutoff"
    sync_host(test_host)
    sync_host(test_host)
    assert GuestPeriod.objects.count() == 2


def test_a_state_or_size_change_closes_the_period_and_opens_another(test_host):
    alpha = Guest.objects.get(host=test_host, name="alpha")
    first = _open(alpha)
    reported = hypervisor.list_guests(connection_spec(test_host))
    stopped = [dataclasses.replace(f, state="shutoff") if f.name == "alpha" else f for f in reported]
    apply_guests(test_host, stopped, complete=True)
    first.refresh_from_db()
    second = _open(alpha)
    assert first.ended_at == second.started_at and second.state == "shutoff"
    bigger = [dataclasses.replace(f, vcpus=4) if f.name == "alpha" else f for f in stopped]
    apply_guests(test_host, bigger, complete=False)
    assert _open(alpha).vcpus == 4
    assert GuestPeriod.objects.filter(guest=alpha).count() == 3
    assert GuestPeriod.objects.filter(guest__name="beta").count() == 1  # unchanged: untouched


def test_a_guest_gone_has_no_open_period_and_one_back_gets_a_new_one(test_host):
    alpha = Guest.objects.get(host=test_host, name="alpha")
    mark_gone(alpha)
    alpha.refresh_from_db()
    assert not GuestPeriod.objects.filter(guest=alpha, ended_at=None).exists()
    assert GuestPeriod.objects.get(guest=alpha).ended_at == alpha.gone_at
    apply_guests(test_host, [], complete=True)  # beta goes too
    assert not GuestPeriod.objects.filter(ended_at=None).exists()
    sync_host(test_host)  # both are listed again
    assert GuestPeriod.objects.filter(ended_at=None).count() == 2


def test_a_new_owner_opens_a_period_in_their_name(test_host, admin):
    alpha = Guest.objects.get(host=test_host, name="alpha")
    newcomer = UserFactory()
    perform("guest.transfer", actor=admin, target=alpha, params=NewOwner(newcomer))
    assert _open(alpha).owner == newcomer
    assert GuestPeriod.objects.filter(guest=alpha).count() == 2


def test_disks_count_their_volumes_capacity(pool):
    """A disk on a volume of the host's pools counts its capacity; one outside every pool counts nothing."""
    iso = pool.volumes.get(name="debian.iso")
    disks = [DiskFacts(target="vda", source=iso.path), DiskFacts(target="vdb", source="/elsewhere.raw")]
    facts = GuestFacts(uuid=str(uuid.uuid4()), name="vm", state="shutoff", vcpus=1, memory_mib=64, disks=disks, nics=[])
    apply_guests(pool.host, [facts], complete=False)
    assert _open(Guest.objects.get(host=pool.host, uuid=facts.uuid)).disk_bytes == iso.capacity == 1048576


def test_a_guest_arriving_where_it_stayed_before_keeps_that_stay_s_history(test_host):
    alpha = Guest.objects.get(host=test_host, name="alpha")
    destination = Host.objects.create(name="elsewhere", transport="test")
    earlier = Guest.objects.create(host=destination, uuid=alpha.uuid, name="alpha", gone_at="2026-01-02T00:00Z")
    stay = GuestPeriod.objects.create(
        guest=earlier,
        state="running",
        vcpus=1,
        memory_mib=128,
        disk_bytes=0,
        started_at="2026-01-01T00:00Z",
        ended_at="2026-01-02T00:00Z",
    )
    Guest.objects.filter(pk=alpha.pk).update(migrating_to=destination)
    arrive(alpha, destination)
    assert set(GuestPeriod.objects.filter(guest=alpha).values_list("pk", flat=True)) == {stay.pk, _open(alpha).pk}


def test_a_new_guest_s_period_names_its_owner_and_its_disk(
    admin, admin_client, storage_host, django_capture_on_commit_callbacks
):
    """The create runner applies the guest before the storage is re-read and before the owner is
    set: the period after both names them. The CD-ROM does not count."""
    create_url = f"{reverse('guests:create')}?host={storage_host.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(create_url, form_data(storage_host, network=storage_host.networks.get().pk, start=None))
    guest = Guest.objects.get(host=storage_host, name="web1")
    assert (_open(guest).owner, _open(guest).disk_bytes, _open(guest).state) == (admin, 2 * GIB, "shutoff")
