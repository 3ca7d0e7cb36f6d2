"""What stops a move, who may ask for one, and the inventory while a guest moves (test driver and
rows; the moves themselves run on two real daemons in tests/integration/test_migration.py)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt import hypervisor
from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.guests.actions import Move
from webvirt.guests.inventory import apply_guests, mark_gone
from webvirt.guests.migration import arrive, refusals
from webvirt.guests.models import Grant, Guest
from webvirt.hosts.connections import connection_spec
from webvirt.networks.models import Network
from webvirt.storage.models import Pool, Volume

GIB = 2**30


@pytest.fixture
def pair(test_host, make_test_host):
    """beta (shut off) and alpha (running, 128 MiB) on test_host, their disks in a pool at /images,
    and a destination with what they need: the network default, a pool at /images, 1 GiB of memory."""
    destination = make_test_host("elsewhere", guests=())
    destination.memory_mib = 1024
    destination.save()
    pool = Pool.objects.create(
        host=test_host, uuid="p", name="images", type="dir", state="active", target_path="/images"
    )
    for name in ("alpha", "beta"):
        Volume.objects.create(pool=pool, name=f"{name}.qcow2", path=f"/images/{name}.qcow2", capacity=GIB)
    Pool.objects.create(
        host=destination, uuid="d", name="images", type="dir", state="active", target_path="/images", available=4 * GIB
    )
    Network.objects.create(host=destination, uuid="n", name="default", active=True, mode="nat")
    guests = {guest.name: guest for guest in test_host.guests.all()}
    return guests["alpha"], guests["beta"], destination


def test_a_destination_with_what_the_guest_needs_can_take_it(pair):
    alpha, beta, destination = pair
    assert refusals(alpha, destination) == [] and refusals(beta, destination) == []


def test_each_thing_that_blocks_a_move_is_said(pair):
    alpha, beta, destination = pair
    assert refusals(alpha, alpha.host) == [f"alpha is already on {alpha.host.name}"]
    destination.networks.update(active=False)
    destination.pools.update(available=GIB // 2)
    destination.memory_mib = 64
    destination.enabled, destination.reachable = False, None
    destination.save()
    destination.maintenance_since, destination.maintenance_reason = timezone.now(), "new disks"
    destination.save()
    assert refusals(alpha, destination) == [
        "disabled",
        "not checked yet",
        "in maintenance (new disks)",
        "network default is not active",
        "not enough memory (needs 128 MiB, 64 MiB free under ratio 1.0)",
        "not enough space in pool images to copy the disks (needs 1024 MiB, 512 MiB free)",
    ]
    destination.networks.all().delete()
    destination.pools.all().delete()
    problems = refusals(beta, destination)
    assert "has no network named default" in problems
    assert "has no active pool at /images to copy vda into" in problems


def test_a_nic_on_a_vlan_needs_that_portgroup_there(pair):
    alpha, _, destination = pair
    alpha.nics.update(portgroup="vlan100")
    network = destination.networks.get(name="default")
    network.portgroups = [{"name": "vlan200", "vlans": [200], "default": True}]
    network.save()
    assert refusals(alpha, destination) == ["its network default has no portgroup vlan100 (a VLAN the guest is on)"]
    network.portgroups.append({"name": "vlan100", "vlans": [100], "default": False})
    network.save()
    assert refusals(alpha, destination) == []


def test_disks_outside_pools_cd_roms_and_name_clashes_are_said(pair):
    _, beta, destination = pair
    beta.disks.create(target="sdc", device="cdrom", source="/images/media.iso")
    Volume.objects.create(pool=Pool.objects.get(uuid="p"), name="media.iso", path="/images/media.iso", capacity=1)
    beta.disks.create(target="vdb", device="disk", source="/elsewhere/loose.img")
    Volume.objects.create(pool=Pool.objects.get(uuid="d"), name="beta.qcow2", path="/images/beta.qcow2", capacity=1)
    # Until a probe says whether the two /images are one storage, the same name there may be the same file.
    assert "already has a volume" not in " ".join(refusals(beta, destination))
    Pool.objects.filter(uuid="p").update(sharing_checked_at=timezone.now())  # probed: not shared
    assert refusals(beta, destination) == [
        "the CD-ROM holds media.iso, which is not on storage it shares: eject it first",
        "its pool images already has a volume named beta.qcow2",
        "vdb (/elsewhere/loose.img) is not in a storage pool of testhost",
    ]


def test_storage_both_hosts_share_needs_no_copy(pair):
    _, beta, destination = pair
    Pool.objects.filter(uuid__in=["p", "d"]).update(storage_key="nfs:filer:/export")
    destination.pools.update(available=0)  # nothing is copied, so no space is needed
    assert refusals(beta, destination) == []


def test_refusals_reach_the_page_the_api_and_leave_nothing_queued(pair, admin, admin_client, api, make_token):
    _, beta, destination = pair
    destination.networks.all().delete()
    page = admin_client.post(reverse("guests:migrate", args=[beta.pk]), {"destination": destination.pk})
    assert page.status_code == 200
    assert "elsewhere cannot take beta: has no network named default." in page.content.decode()
    _, key = make_token(admin)
    response = api(key).post(
        reverse("api:guest-change-migrate", args=[beta.pk]), {"destination": destination.pk}, format="json"
    )
    assert response.status_code == 400 and "has no network named default" in str(response.json())
    bad = api(key).post(reverse("api:guest-change-migrate", args=[beta.pk]), {"destination": "x"}, format="json")
    assert bad.status_code == 400
    assert not Operation.objects.filter(kind="guest.migrate").exists()


def test_an_operator_moves_only_between_hosts_open_to_them(pair, client):
    _, beta, destination = pair
    operator = UserFactory(username="op")
    Grant.objects.create(guest=beta, user=operator, role="operator")
    with pytest.raises(ValidationError, match="That host is not open to you"):
        perform("guest.migrate", actor=operator, target=beta, params=Move(destination.pk))
    destination.public = True
    destination.save()
    with pytest.raises(ValidationError, match="only between hosts open to you, and testhost is not"):
        perform("guest.migrate", actor=operator, target=beta, params=Move(destination.pk))
    beta.host.public = True
    beta.host.save()
    operation = perform("guest.migrate", actor=operator, target=beta, params=Move(destination.pk))
    assert operation.target == "beta from testhost to elsewhere"
    assert "reservation" not in operation.params  # the owner's quota does not change with the host
    client.force_login(operator)
    page = client.get(reverse("guests:migrate", args=[beta.pk])).content.decode()
    assert "<strong>elsewhere</strong>: can take it" in page and "<strong>testhost</strong>" not in page


def test_a_guest_moves_once_at_a_time_and_only_a_move_can_be_cancelled(pair, admin):
    _, beta, destination = pair
    with pytest.raises(ValidationError, match="beta is not moving"):
        perform("guest.migrate-cancel", actor=admin, target=beta)
    Guest.objects.filter(pk=beta.pk).update(migrating_to=destination)
    beta.refresh_from_db()
    with pytest.raises(ValidationError, match="already moving to elsewhere"):
        perform("guest.migrate", actor=admin, target=beta, params=Move(destination.pk))


def test_the_inventory_leaves_a_moving_guest_on_one_host(pair):
    alpha, _, destination = pair
    Guest.objects.filter(pk=alpha.pk).update(migrating_to=destination)
    alpha.refresh_from_db()
    apply_guests(alpha.host, [], complete=True)  # the source no longer lists it
    mark_gone(alpha)  # the watcher hears it is undefined there
    facts = hypervisor.read_guest(connection_spec(alpha.host), alpha.uuid)
    apply_guests(destination, [facts], complete=True)  # the destination lists it already
    assert list(Guest.objects.filter(uuid=alpha.uuid).values_list("host__name", "gone_at")) == [("testhost", None)]


def test_arriving_moves_the_row_with_its_history(pair, admin):
    alpha, _, destination = pair
    earlier = Guest.objects.create(host=destination, uuid=alpha.uuid, name="alpha", gone_at="2026-01-01T00:00Z")
    old = Operation.objects.create(kind="guest.start", guest=earlier, target="alpha")
    mine = Operation.objects.create(kind="guest.start", guest=alpha, target="alpha")
    Guest.objects.filter(pk=alpha.pk).update(migrating_to=destination)
    arrive(alpha, destination)
    assert list(Guest.objects.filter(uuid=alpha.uuid).values_list("pk", "host", "gone_at", "migrating_to")) == [
        (alpha.pk, destination.pk, None, None)
    ]
    assert set(alpha.operations.values_list("pk", flat=True)) == {old.pk, mine.pk}


def test_a_linked_clone_moves_only_where_its_base_is_shared(pair):
    """Copying the overlay alone would leave the copy without its base (or on a stranger's file)."""
    _, beta, destination = pair
    images = Pool.objects.get(uuid="p")
    Volume.objects.create(pool=images, name="base.qcow2", path="/images/base.qcow2", capacity=GIB)
    Volume.objects.filter(name="beta.qcow2").update(backing_path="/images/base.qcow2")
    problem = (
        "vda is a linked clone of base.qcow2, which is not on storage it shares: its copy there would lack its base"
    )
    assert refusals(beta, destination) == [problem]
    Pool.objects.filter(uuid__in=["p", "d"]).update(storage_key="nfs:filer:/export")
    assert refusals(beta, destination) == []


def test_a_stopped_guest_needs_no_memory_or_vcpus_there(pair):
    alpha, beta, destination = pair
    destination.memory_mib, destination.cpus = 64, 1
    destination.save()
    assert "not enough memory (needs 128 MiB, 64 MiB free under ratio 1.0)" in refusals(alpha, destination)
    assert refusals(beta, destination) == []
