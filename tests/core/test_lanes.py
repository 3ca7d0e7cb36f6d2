"""Lanes: one host's Operations run one at a time in the order asked, under a lease in Redis; a
lane whose worker died is sent again and its Operation failed with the reason; retries wait in line.
Workers here are this process (the real-worker tests are in tests/integration/test_lanes.py)."""

import time

import pytest
from django.utils import timezone

from webvirt.core import lanes, leases, operations
from webvirt.core.models import Operation
from webvirt.core.tasks import wake_lanes
from webvirt.hosts.models import Host
from webvirt.hypervisor import HostUnreachable

RAN = []


def _note_the_order(operation):
    RAN.append(operation.pk)
    return "ran"


def _unreachable_twice(operation):
    RAN.append(operation.pk)
    if operation.attempts <= 2:
        raise HostUnreachable("The host did not answer.")
    return "answered"


operations.register("test.lane", "Lane", _note_the_order)
operations.register("test.flaky", "Flaky", _unreachable_twice)


@pytest.fixture(autouse=True)
def _fresh():
    RAN.clear()


@pytest.fixture
def hosts(db):
    return [Host.objects.create(name=name, transport="test") for name in ("a", "b")]


def queue(host, kind="test.lane", status=Operation.Status.QUEUED):
    """An Operation row as enqueue() writes it, without sending it to any worker."""
    return Operation.objects.create(kind=kind, host=host, target=host.name if host else "x", status=status)


def test_a_hosts_operations_run_one_at_a_time_in_the_order_asked(hosts):
    first, second, third = (queue(hosts[0]) for _ in range(3))
    other = queue(hosts[1])
    lanes.run_next(f"host-{hosts[0].pk}")  # eager: each turn sends the lane again, which runs the next
    assert [first.pk, second.pk, third.pk] == RAN
    assert set(Operation.objects.filter(host=hosts[0]).values_list("status", flat=True)) == {"succeeded"}
    assert Operation.objects.get(pk=other.pk).status == "queued"  # another lane, not this one's business


def test_a_lane_held_by_another_worker_is_left_to_it(hosts):
    operation = queue(hosts[0])
    lane = f"host-{hosts[0].pk}"
    assert leases.acquire(f"lane:{lane}", "another-worker", 30)
    lanes.run_next(lane)
    assert RAN == [] and Operation.objects.get(pk=operation.pk).status == "queued"
    leases.release(f"lane:{lane}", "another-worker")
    lanes.run_next(lane)
    assert [operation.pk] == RAN


def test_an_operation_left_running_by_a_dead_worker_fails_with_the_reason_and_the_lane_goes_on(hosts):
    abandoned = queue(hosts[0], status=Operation.Status.RUNNING)
    behind = queue(hosts[0])
    assert wake_lanes.apply().successful()  # beat finds the lane unheld and sends it
    abandoned.refresh_from_db()
    assert abandoned.status == "failed" and abandoned.finished_at
    assert "stopped before it finished" in abandoned.message and "not run again" in abandoned.message
    assert [behind.pk] == RAN  # never run a second time; the next one ran


def test_wake_leaves_lanes_that_a_worker_holds_or_that_are_on_their_way(hosts):
    held, sent = queue(hosts[0]), queue(hosts[1])
    loose = queue(None)
    assert leases.acquire(f"lane:host-{hosts[0].pk}", "busy-worker", 30)
    assert leases.acquire(f"sent:host-{hosts[1].pk}", "sent", 30)
    assert lanes.wake_idle() == 1
    assert [loose.pk] == RAN
    assert set(Operation.objects.filter(pk__in=[held.pk, sent.pk]).values_list("status", flat=True)) == {"queued"}


def test_beat_wakes_lanes_once_per_period_however_many_beats_send_it(hosts):
    queue(hosts[0])
    wake_lanes.apply()
    assert len(RAN) == 1
    queue(hosts[0])
    wake_lanes.apply()  # a second beat, within the period: nothing
    assert len(RAN) == 1


def test_a_retry_waits_its_turn_and_the_operations_behind_it_wait_for_it(hosts, settings):
    settings.WEBVIRT_RETRY_DELAYS = (0.2, 0.2)
    flaky = queue(hosts[0], kind="test.flaky")
    behind = queue(hosts[0])
    started = time.monotonic()
    lanes.run_next(f"host-{hosts[0].pk}")
    assert [flaky.pk, flaky.pk, flaky.pk, behind.pk] == RAN
    assert time.monotonic() - started >= 0.4
    flaky.refresh_from_db()
    assert (flaky.status, flaky.attempts, flaky.message, flaky.not_before) == ("succeeded", 3, "answered", None)


def test_a_retry_not_yet_due_holds_the_lane(hosts):
    waiting = queue(hosts[0])
    Operation.objects.filter(pk=waiting.pk).update(not_before=timezone.now() + timezone.timedelta(seconds=60))
    behind = queue(hosts[0])
    from webvirt import celery_app

    celery_app.conf.task_always_eager = False  # the lane would be sent with a countdown: leave it queued
    try:
        lanes.run_next(f"host-{hosts[0].pk}")
    finally:
        celery_app.conf.task_always_eager = True
    assert RAN == []
    assert Operation.objects.get(pk=behind.pk).status == "queued"


def test_a_host_may_send_its_lanes_to_a_queue_of_its_own(hosts, settings):
    settings.CELERY_TASK_DEFAULT_QUEUE = "webvirt"
    hosts[0].worker_queue = "dc2"
    assert lanes.queue_for(hosts[0]) == "webvirt.dc2"
    assert lanes.queue_for(hosts[1]) == lanes.queue_for(None) == "webvirt"


@pytest.mark.parametrize("name", ["DC2", "-dc", "dc 2", "dc.2", "x" * 33])
def test_a_worker_queue_name_is_refused_unless_plain(admin_client, name):
    from django.urls import reverse

    response = admin_client.post(
        reverse("hosts:add"), {"name": "h", "transport": "test", "worker_queue": name, "vnc_listen": "127.0.0.1"}
    )
    assert response.status_code == 200
    assert not Host.objects.exists()
    assert "worker_queue" in response.context["form"].errors


def test_once_per_period():
    assert leases.once_per_period("test-period", 0.3)
    assert not leases.once_per_period("test-period", 0.3)
    time.sleep(0.3)
    assert leases.once_per_period("test-period", 0.3)


def test_a_lease_is_renewed_while_held_and_released_after():
    with leases.held("test-held", ttl_s=0.3, label="me") as mine:
        assert mine
        time.sleep(0.5)  # longer than its time to live: the renewer kept it
        assert leases.holders(["test-held"])["test-held"].startswith("me:")
        with leases.held("test-held", ttl_s=0.3) as theirs:
            assert not theirs
    assert leases.holders(["test-held"])["test-held"] is None


def test_two_beats_within_a_period_resync_and_sample_each_host_once(test_host):
    from webvirt.hosts.tasks import resync_all_hosts
    from webvirt.metrics.models import HostSample
    from webvirt.metrics.tasks import sample_all_hosts

    Host.objects.filter(pk=test_host.pk).update(last_seen_at=None)
    resync_all_hosts.apply()
    seen = Host.objects.get(pk=test_host.pk).last_seen_at
    assert seen is not None
    Host.objects.filter(pk=test_host.pk).update(last_seen_at=None)
    resync_all_hosts.apply()  # the other beat
    assert Host.objects.get(pk=test_host.pk).last_seen_at is None
    sample_all_hosts.apply()
    sample_all_hosts.apply()
    assert HostSample.objects.filter(host=test_host).count() == 1


def test_the_operation_page_says_how_many_wait_ahead_on_the_host(hosts, admin_client):
    from django.urls import reverse

    first, second, third = (queue(hosts[0]) for _ in range(3))
    page = admin_client.get(reverse("core:operation", args=[third.pk])).content.decode()
    assert "Waiting for 2 earlier operations on this host" in page
    page = admin_client.get(reverse("core:operation", args=[second.pk])).content.decode()
    assert "Waiting for 1 earlier operation on this host" in page
    assert "Waiting for" not in admin_client.get(reverse("core:operation", args=[first.pk])).content.decode()


def test_the_task_pane_counts_running_and_queued_apart(hosts, admin, admin_client):
    from django.urls import reverse

    for status in ("running", "queued", "queued"):
        Operation.objects.create(kind="test.lane", host=hosts[0], target="a", status=status, actor=admin)
    pane = admin_client.get(reverse("core:task-pane")).content.decode()
    assert "1 running, 2 queued" in pane


operations.register("test.long", "Long", _note_the_order, beside=True)


@pytest.fixture
def guests(hosts, admin):
    from webvirt.guests.models import Guest

    return [
        Guest.objects.create(host=hosts[0], uuid=f"u-{name}", name=name, owner=admin, vcpus=1, memory_mib=64)
        for name in ("x", "y")
    ]


def on_guest(guest, kind="test.lane"):
    return Operation.objects.create(kind=kind, host=guest.host, guest=guest, target=guest.name)


def test_long_work_on_a_guest_does_not_hold_its_hosts_other_guests(guests):
    backup = on_guest(guests[0], "test.long")
    assert lanes.lane_of(backup) == f"guest-{guests[0].pk}"
    assert leases.acquire(f"lane:guest-{guests[0].pk}", "another-worker", 30)  # the backup runs elsewhere
    Operation.objects.filter(pk=backup.pk).update(status="running")
    start_other = on_guest(guests[1])
    lanes.run_next(f"host-{guests[0].host_id}")
    assert [start_other.pk] == RAN  # with one lane per host it would wait hours for the backup


def test_a_guests_action_asked_after_its_long_work_waits_for_it(guests):
    backup = on_guest(guests[0], "test.long")
    assert leases.acquire(f"lane:guest-{guests[0].pk}", "another-worker", 30)
    delete = on_guest(guests[0])
    other = on_guest(guests[1])
    host_lane = f"host-{guests[0].host_id}"
    lanes.run_next(host_lane)
    assert [other.pk] == RAN  # the other guest goes by; this guest's action waits for its backup
    assert lanes.ahead_of(Operation.objects.get(pk=delete.pk)) == 1
    leases.release(f"lane:guest-{guests[0].pk}", "another-worker")
    lanes.run_next(f"guest-{guests[0].pk}")  # the backup runs, then sends the host lane, which runs the rest
    assert [other.pk, backup.pk, delete.pk] == RAN


def test_long_work_asked_after_a_guests_action_waits_for_it(guests):
    host_lane = f"host-{guests[0].host_id}"
    shutdown = on_guest(guests[0])
    assert leases.acquire(f"lane:{host_lane}", "another-worker", 30)
    backup = on_guest(guests[0], "test.long")
    lanes.run_next(f"guest-{guests[0].pk}")
    assert RAN == [] and lanes.ahead_of(Operation.objects.get(pk=backup.pk)) == 1
    leases.release(f"lane:{host_lane}", "another-worker")
    lanes.run_next(host_lane)
    assert [shutdown.pk, backup.pk] == RAN


def test_the_operation_page_says_when_long_work_waits_on_its_guest(guests, admin_client):
    from django.urls import reverse

    on_guest(guests[0])
    backup = on_guest(guests[0], "test.long")
    page = admin_client.get(reverse("core:operation", args=[backup.pk])).content.decode()
    assert "Waiting for 1 earlier operation on this guest" in page


def test_the_host_page_warns_staff_when_no_worker_takes_the_hosts_operations(hosts, admin_client, client, admin):
    import datetime

    from django.urls import reverse

    Host.objects.filter(pk=hosts[0].pk).update(worker_queue="dc2")
    fresh = queue(hosts[0])
    page = admin_client.get(reverse("hosts:detail", args=[hosts[0].pk])).content.decode()
    assert "no worker has taken them" not in page  # asked for a moment ago: a worker may be on its way
    Operation.objects.filter(pk=fresh.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=5))
    page = admin_client.get(reverse("hosts:detail", args=[hosts[0].pk])).content.decode()
    assert "no worker has taken them" in page and "celery worker -Q webvirt.dc2" in page
    assert leases.acquire(f"lane:host-{hosts[0].pk}", "a-worker", 30)  # a worker is on it: busy, not stalled
    page = admin_client.get(reverse("hosts:detail", args=[hosts[0].pk])).content.decode()
    assert "no worker has taken them" not in page
