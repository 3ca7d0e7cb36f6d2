"""A lease on the real libvirtd with a real Celery worker: beat's rounds, at clocks the test picks,
shut the running tiny guest down when its lease ends, refuse to start it, and delete it with its
volume after the grace period; a renewal in between stops the deletion."""

import datetime
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt.celery import app as celery_app
from webvirt.core.actions import perform
from webvirt.core.models import AuditEvent, Operation
from webvirt.guests.models import Guest
from webvirt.lifecycle import tasks
from webvirt.lifecycle.actions import Renewal

from .conftest import domain_state, virsh

pytestmark = [pytest.mark.e2e, pytest.mark.libvirtd]
DAY = datetime.timedelta(days=1)


@pytest.fixture
def worker(start_app, settings):
    """A real worker on a queue of this test's own, which this process sends to too."""
    name = f"leases-{uuid.uuid4().hex[:8]}"
    command = [Path(sys.executable).parent / "celery", "-A", "webvirt", "worker", "--pool", "solo"]
    command += ["--without-gossip", "--without-mingle"]
    # SeaBIOS ignores the power button: the lease end forces the tiny guest off after 2 s.
    env = {**start_app.environment(), "CELERY_QUEUE": name, "WEBVIRT_SHUTDOWN_TIMEOUT": "2"}
    start_app.processes.start("worker", command, env)
    settings.CELERY_TASK_DEFAULT_QUEUE = celery_app.conf.task_default_queue = name
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_default_queue = "webvirt"


def finished(kind, guest, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation = Operation.objects.filter(kind=kind, guest_id=guest.pk).first()
        if operation and operation.finished_at:
            return operation
        time.sleep(0.3)
    raise AssertionError(f"{kind} did not finish: {operation}")


def test_a_lease_ends_shuts_the_guest_down_and_deletes_it_after_the_grace_period(worker, running_guest):
    guest, host = running_guest, running_guest.host
    owner = UserFactory(username="lena")
    Guest.objects.filter(pk=guest.pk).update(owner=owner)
    host.lease_default_days, host.lease_max_days, host.lease_expiry = 7, 14, "delete"
    host.save()
    disk = Path(guest.disks.get(device="disk").source)
    ends = timezone.now() - datetime.timedelta(minutes=1)
    Guest.objects.filter(pk=guest.pk).update(expires_at=ends)
    guest.refresh_from_db()

    assert tasks.enforce(timezone.now())["ended"] == [guest.pk]
    operation = finished("guest.lease-end", guest)
    assert operation.status == "succeeded", operation.message
    assert "Its lease ended on" in operation.message
    assert domain_state(guest.name) == "shut off"
    guest.refresh_from_db()
    assert guest.state == "shutoff" and guest.lease_ended_at
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="renew it"):
        perform("guest.start", actor=owner, target=guest)

    # Six days on: still within the grace period. A renewal then stops the deletion for good.
    assert tasks.enforce(ends + 6 * DAY)["deleted"] == []
    perform("guest.renew", actor=owner, target=guest, params=Renewal(days=14))
    guest.refresh_from_db()
    assert guest.lease_ended_at is None
    assert tasks.enforce(ends + 7 * DAY + datetime.timedelta(minutes=1)) == {"warned": [], "ended": [], "deleted": []}
    # Had it not been renewed (the end and its shutdown as before), the same round deletes it.
    Guest.objects.filter(pk=guest.pk).update(expires_at=ends, lease_ended_at=timezone.now())
    assert tasks.enforce(ends + 7 * DAY + datetime.timedelta(minutes=1))["deleted"] == [guest.pk]
    operation = finished("guest.lease-delete", guest)
    assert operation.status == "succeeded", operation.message
    assert virsh("dominfo", guest.name, check=False).returncode != 0 and not disk.exists()
    assert AuditEvent.objects.filter(action="guest.lease-delete", actor=None, outcome="succeeded").exists()


def test_a_power_schedule_starts_and_stops_the_tiny_guest(worker, tiny_guest):
    """At its local start time it starts the guest; at its stop time it shuts it down, forced off
    after the worker's 2 s as SeaBIOS ignores the power button (the Operation says so)."""
    from webvirt.lifecycle import schedules
    from webvirt.lifecycle.actions import PowerPlan

    owner = UserFactory(username="pat")
    Guest.objects.filter(pk=tiny_guest.pk).update(owner=owner)
    tiny_guest.refresh_from_db()
    params = PowerPlan(
        days=(1,), start_at=datetime.time(8, 30), stop_at=datetime.time(18, 0), time_zone="America/New_York"
    )
    perform("guest.power-schedule", actor=owner, target=tiny_guest, params=params)
    tuesday = datetime.datetime(2026, 12, 1, 13, 30, tzinfo=datetime.UTC)  # 08:30 in New York (UTC-5)
    assert schedules.run(tuesday) == [f"Starting {tiny_guest.name}."]
    operation = finished("guest.start", tiny_guest)
    assert operation.status == "succeeded" and operation.actor == owner, operation.message
    assert domain_state(tiny_guest.name) == "running"
    tiny_guest.refresh_from_db()
    assert schedules.run(tuesday.replace(hour=23, minute=0)) == [f"Shutting down {tiny_guest.name}."]
    operation = finished("guest.stop", tiny_guest)
    assert operation.status == "succeeded", operation.message
    assert operation.message.startswith("It did not shut down in time: Forced off."), operation.message
    assert domain_state(tiny_guest.name) == "shut off"
