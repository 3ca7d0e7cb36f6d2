"""Lanes with real workers: two Celery worker processes on Redis and the test database; a host that
hangs holds one of them, in order, while another host's Operation goes by at once."""

import itertools
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import transaction

from webvirt import celery_app
from webvirt.core.actions import perform
from webvirt.core.models import Operation
from webvirt.hosts.models import Host

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_workers(start_app, settings):
    """Two single-task workers on a queue of this test's own, which this process sends to too."""
    name = f"lanes-{uuid.uuid4().hex[:8]}"
    env = {
        **start_app.environment(),
        "CELERY_QUEUE": name,
        "WEBVIRT_CONNECT_TIMEOUT": "5",
        "WEBVIRT_RETRY_DELAYS": "1,1,1",
    }
    celery = Path(sys.executable).parent / "celery"
    for number in (1, 2):
        command = [celery, "-A", "webvirt", "worker", "--pool", "solo", "--without-gossip", "--without-mingle"]
        start_app.processes.start(f"worker{number}", [*command, "-n", f"w{number}@%h"], env)
    settings.CELERY_TASK_DEFAULT_QUEUE = celery_app.conf.task_default_queue = name
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_default_queue = "webvirt"


def resync(host, admin):
    with transaction.atomic():  # sent to the workers when this commits, as a page's request would
        return perform("host.resync", actor=admin, target=host)


def wait_finished(operations, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(Operation.objects.filter(pk__in=[operation.pk for operation in operations]).order_by("id"))
        if all(row.finished_at for row in rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"not finished after {timeout} s: {[(row.pk, row.status) for row in rows]}")


def test_a_host_that_hangs_does_not_delay_another_hosts_operations(two_workers, make_test_host, admin, silent_server):
    quick = make_test_host("quick")
    hung = Host(name="hung", transport="tcp", hostname="127.0.0.1", port=silent_server, username="u")
    hung.set_secrets({"password": "pw"})
    hung.save()
    wait_finished([resync(quick, admin), resync(quick, admin)], timeout=60)  # both workers are up

    stuck = [resync(hung, admin) for _ in range(3)]
    time.sleep(0.5)  # the hung host's lane has a worker now
    asked = time.monotonic()
    (passing,) = wait_finished([resync(quick, admin)], timeout=30)
    waited = time.monotonic() - asked
    assert passing.status == "succeeded"
    assert waited < 2.5, f"the quick host's resync waited {waited:.1f} s behind the hung host"
    assert Operation.objects.filter(pk__in=[op.pk for op in stuck], finished_at=None).exists()  # still going

    rows = wait_finished(stuck, timeout=90)
    assert [row.status for row in rows] == ["failed"] * 3
    assert all("did not answer" in row.message or "Cannot reach" in row.message for row in rows), rows
    for before, after in itertools.pairwise(rows):  # one at a time, in the order asked
        assert after.started_at >= before.finished_at
