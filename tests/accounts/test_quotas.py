"""Quotas: refusals name the limit, the usage and the request; queued work counts; parallel
requests can never go over (the quota row is locked while a request checks and queues)."""

import threading

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.accounts import quotas
from webvirt.accounts.models import Quota
from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.guests.actions import Copy, NewDisk, NewGuest, NewOwner, Size
from webvirt.guests.models import Guest


@pytest.fixture
def self_service(storage_host):
    """A user who may create guests on the storage host, with room for 2 guests / 2 vCPUs / 256 MiB / 10 GiB."""
    user = UserFactory(username="dev")
    for obj in (
        storage_host,
        storage_host.pools.get(),
        storage_host.pools.get().volumes.get(),
        storage_host.networks.get(),
    ):
        obj.public = True
        obj.save()
    Quota.objects.create(user=user, max_guests=2, max_vcpus=2, max_memory_mib=256, max_disk_gib=10)
    return user


def params(storage_host, name="g", vcpus=1, memory_mib=128, disk_gib=2):
    pool = storage_host.pools.get()
    return NewGuest(
        name=name,
        vcpus=vcpus,
        memory_mib=memory_mib,
        disk_bytes=disk_gib * 2**30,
        pool_uuid=pool.uuid,
        source="iso",
        iso_path=pool.volumes.get().path,
        start=False,
    )


def test_over_quota_is_refused_with_limit_usage_and_request(client, self_service, storage_host):
    client.force_login(self_service)
    pool = storage_host.pools.get()
    data = {"name": "big", "vcpus": 3, "memory_mib": 128, "disk_gib": 1, "pool": pool.pk, "source": "iso"}
    data |= {"iso": pool.volumes.get().pk, "firmware": "bios"}
    response = client.post(f"{reverse('guests:create')}?host={storage_host.pk}", data)
    assert response.status_code == 400
    message = " ".join(response.context["form"].non_field_errors())
    assert "Over dev's quota" in message and "vCPUs: limit 2, in use 0 (counting queued work), requested 3" in message
    assert not Operation.objects.exists()


def test_queued_work_counts(self_service, storage_host):
    perform("guest.create", actor=self_service, target=storage_host, params=params(storage_host, "one"))
    perform("guest.create", actor=self_service, target=storage_host, params=params(storage_host, "two", memory_mib=64))
    assert quotas.usage(self_service) == {"guests": 2, "vcpus": 2, "memory_mib": 192, "disk_gib": 4}
    with pytest.raises(quotas.QuotaExceeded, match="guests: limit 2, in use 2"):
        perform("guest.create", actor=self_service, target=storage_host, params=params(storage_host, "three"))


def owned_guest(host, owner, name, **sizes):
    return Guest.objects.create(host=host, uuid=f"uuid-{name}", name=name, owner=owner, **sizes)


def test_owned_guests_count_and_admins_are_not_limited(self_service, storage_host, admin):
    owned_guest(storage_host, self_service, "a", vcpus=1, memory_mib=64)
    owned_guest(storage_host, self_service, "b", vcpus=1, memory_mib=64)
    assert quotas.usage(self_service) == {"guests": 2, "vcpus": 2, "memory_mib": 128, "disk_gib": 0}
    operation = perform(
        "guest.create", actor=admin, target=storage_host, params=params(storage_host, "admins", vcpus=99)
    )
    assert Operation.objects.get(kind="guest.create") == operation  # 99 vCPUs, far over the default quota of 8
    assert (operation.status, operation.params["vcpus"], operation.params["owner_id"]) == ("queued", 99, admin.pk)


def test_resize_disk_clone_and_transfer_are_checked(self_service, storage_host, admin):
    guest = owned_guest(storage_host, self_service, "beta", vcpus=1, memory_mib=128)
    with pytest.raises(quotas.QuotaExceeded, match=r"vCPUs: limit 2, in use 1 .* requested 2"):
        perform("guest.resize", actor=admin, target=guest, params=Size(vcpus=3, memory_mib=128))
    with pytest.raises(quotas.QuotaExceeded, match="GiB of disk: limit 10"):
        params = NewDisk(pool_uuid="x", volume_name="d", capacity=11 * 2**30, format="qcow2")
        perform("guest.disk-add", actor=admin, target=guest, params=params)
    owned_guest(storage_host, self_service, "alpha", vcpus=1, memory_mib=64)
    with pytest.raises(quotas.QuotaExceeded, match="guests: limit 2, in use 2"):
        perform("guest.clone", actor=self_service, target=guest, params=Copy(name="c", mode="linked"))
    newcomer = UserFactory(username="newcomer")
    Quota.objects.create(user=newcomer, max_guests=0, max_vcpus=0, max_memory_mib=0, max_disk_gib=0)
    with pytest.raises(quotas.QuotaExceeded, match="Over newcomer's quota"):
        perform("guest.transfer", actor=admin, target=guest, params=NewOwner(newcomer))
    guest.refresh_from_db()
    assert guest.owner == self_service


def run_in_parallel(function, count):
    """Call `function(i)` from `count` threads at once, each with its own database connection."""
    barrier, outcomes = threading.Barrier(count), []

    def worker(index):
        barrier.wait()
        try:
            function(index)
            outcomes.append("accepted")
        except quotas.QuotaExceeded as exc:
            outcomes.append(exc.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def queued_only():
    """Tasks are queued to a throwaway queue and not run: the reservations alone must hold."""
    from celery import current_app

    default_queue = current_app.conf.task_default_queue
    current_app.conf.task_always_eager = False
    current_app.conf.task_default_queue = "quota-race-test"
    yield
    current_app.conf.task_default_queue = default_queue
    redis.Redis.from_url(settings.REDIS_URL).delete("quota-race-test")


def test_parallel_creates_never_exceed_the_quota(transactional_db, queued_only, storage_host):
    user = UserFactory(username="racer")
    Quota.objects.create(user=user, max_guests=5, max_vcpus=100, max_memory_mib=100000, max_disk_gib=1000)
    storage_host.public = True
    storage_host.save()
    outcomes = run_in_parallel(
        lambda i: perform("guest.create", actor=user, target=storage_host, params=params(storage_host, f"r{i}")), 20
    )
    assert outcomes.count("accepted") == 5
    assert all("guests: limit 5, in use 5" in outcome for outcome in outcomes if outcome != "accepted")
    assert Operation.objects.filter(kind="guest.create").count() == 5


def test_parallel_resizes_never_exceed_the_quota(transactional_db, queued_only, storage_host):
    user = UserFactory(username="resizer")
    Quota.objects.create(user=user, max_guests=100, max_vcpus=25, max_memory_mib=25 * 128 + 5 * 64, max_disk_gib=1000)
    guests = [
        Guest.objects.create(host=storage_host, uuid=f"u{i}", name=f"g{i}", owner=user, vcpus=1, memory_mib=128)
        for i in range(20)
    ]
    # 20 vCPUs in use, room for 5 more; each request adds a vCPU and 64 MiB (room for 5 too).
    outcomes = run_in_parallel(
        lambda i: perform("guest.resize", actor=user, target=guests[i], params=Size(vcpus=2, memory_mib=192)),
        20,
    )
    assert outcomes.count("accepted") == 5, outcomes
    assert quotas.usage(user)["vcpus"] == 25
