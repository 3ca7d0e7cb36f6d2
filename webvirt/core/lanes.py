"""Lanes: the Operations of one host run one at a time, in the order they were asked for.

Each host is a lane (Operations without a host are each a lane of their own). A worker runs a
lane's oldest unfinished Operation only while it holds the lane's lease in Redis, then asks for
the lane's next one. A host that hangs therefore holds one worker at most, however many of its
Operations wait, and every other host's work goes on beside it; any worker takes any lane, so
adding hosts needs no restart. A host may name a worker queue (`Host.worker_queue`): its lanes
then go to `<default queue>.<name>`, for workers started near those hosts.

Long work on one guest (a backup, a restore: hours for a big disk) is declared to run *beside*
its host's lane, in a lane of its guest, so the host's other guests are not kept waiting. It
stays in order with that guest's own Operations: neither lane starts an Operation of a guest
while an earlier one of the same guest waits or runs in the other lane.

A worker that dies stops renewing its lease; within its time to live `wake_idle` (beat, every few
seconds) sends the lane again, and the Operation it was running is failed with that reason, never
run twice: it may have been half done, and only a person can tell whether to try again.
"""

import datetime
import logging
import os
import socket
import time

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from webvirt.hypervisor import HostUnreachable, HypervisorError

from . import leases, operations
from .models import Operation

log = logging.getLogger(__name__)

LEASE_TTL_S = 30  # a dead worker's lane is free again within this
SENT_TTL_S = 60  # a lane task sent but never started (its worker died first) is sent again after this


def lane_of(operation):
    return _lane(operation.pk, operation.host_id, operation.guest_id, operation.kind)


def _lane(pk, host_id, guest_id, kind):
    if guest_id and operations.runs_beside(kind):
        return f"guest-{guest_id}"
    return f"host-{host_id}" if host_id else f"operation-{pk}"


def _unfinished():
    return Operation.objects.filter(parent=None).exclude(status__in=Operation.FINISHED)


def waiting(lane):
    """The lane's Operations not finished, oldest first (steps run inside their parent's turn)."""
    kind, _, ident = lane.partition("-")
    beside = operations.beside_kinds()
    if kind == "host":
        return _unfinished().filter(host_id=int(ident)).exclude(kind__in=beside, guest__isnull=False).order_by("id")
    if kind == "guest":
        return _unfinished().filter(guest_id=int(ident), kind__in=beside).order_by("id")
    return _unfinished().filter(pk=int(ident)).order_by("id")


def _earlier_elsewhere(operation):
    """The unfinished Operations of the same guest, asked for earlier, in the guest's other lane."""
    if not operation.guest_id:
        return Operation.objects.none()
    earlier = _unfinished().filter(guest_id=operation.guest_id, pk__lt=operation.pk)
    beside = operations.beside_kinds()
    if operations.runs_beside(operation.kind):
        return earlier.exclude(kind__in=beside)
    return earlier.filter(kind__in=beside)


def next_in(lane):
    """The Operation the lane runs next, or None when it has none or each waits on its guest's
    other lane. A running one comes first: nobody holding its lane means its worker died."""
    for operation in waiting(lane).select_related("host")[:100]:
        if operation.status == Operation.Status.RUNNING or not _earlier_elsewhere(operation).exists():
            return operation
    return None


def ahead_of(operation):
    """How many Operations run before it (0 once it is running or finished): the earlier ones of
    its lane, and those of its guest's other lane."""
    if operation.parent_id or operation.status != Operation.Status.QUEUED:
        return 0
    earlier = waiting(lane_of(operation)).filter(pk__lt=operation.pk).count()
    return earlier + _earlier_elsewhere(operation).count()


STALL_S = 120  # a runnable Operation waiting this long on an idle lane: no worker serves its queue


def stalled_since(host):
    """When the host's oldest runnable Operation was asked for, if it has waited STALL_S with no
    worker on the host's lane (no worker listens to its queue, or none runs at all); else None."""
    now = timezone.now()
    lane = f"host-{host.pk}"
    since = now - datetime.timedelta(seconds=STALL_S)
    oldest = waiting(lane).filter(status=Operation.Status.QUEUED, created_at__lt=since).exclude(not_before__gt=now)
    oldest = oldest.first()
    if oldest is None or leases.holders([f"lane:{lane}"])[f"lane:{lane}"] is not None:
        return None
    return oldest.created_at


def queue_for(host):
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    group = getattr(host, "worker_queue", "") if host else ""
    return f"{default}.{group}" if group else default


def dispatch(lane, *, countdown=None):
    """Have a worker run the lane's next Operation, unless a task for the lane is already on its way.
    Returns whether it sent one. Raises kombu's OperationalError when the broker cannot take it."""
    operation = next_in(lane)
    if operation is None:
        return False  # nothing to run; a lane waiting on its guest's other lane is sent when that one moves on
    if not leases.acquire(f"sent:{lane}", "sent", SENT_TTL_S):
        return False  # that task runs the oldest Operation, then sends the lane again
    from .tasks import run_lane

    timeout = operations.timeout_of(operation.kind)
    options = {"queue": queue_for(operation.host), "soft_time_limit": timeout, "time_limit": timeout + 60}
    if countdown:
        options["countdown"] = countdown
        if run_lane.app.conf.task_always_eager:  # tasks run in the caller (tests): wait as a worker would
            time.sleep(countdown)
    try:
        run_lane.apply_async((lane,), **options)
    except Exception:
        leases.release(f"sent:{lane}", "sent")
        raise
    return True


def run_next(lane):
    """A worker's turn on a lane: run its oldest Operation if no other worker holds the lane."""
    leases.release(f"sent:{lane}", "sent")  # this task has arrived; the next dispatch may send again
    retry_in = None
    holder = f"{lane}@{socket.gethostname()}:{os.getpid()}"  # for people (and tests) reading Redis
    with leases.held(f"lane:{lane}", ttl_s=LEASE_TTL_S, label=holder) as mine:
        if not mine:
            return  # its holder sends the lane again when done
        operation = next_in(lane)
        if operation is None:
            return
        if operation.not_before and operation.not_before > timezone.now():
            retry_in = (operation.not_before - timezone.now()).total_seconds()
        elif operation.status == Operation.Status.RUNNING:
            _fail_abandoned(operation)  # running, yet nobody held its lane: its worker died
        else:
            retry_in = run(operation)
    dispatch(lane, countdown=retry_in)
    if retry_in is None:
        for other in _other_lanes(operation):
            dispatch(other)  # its guest's Operations that waited on this one


def _other_lanes(operation):
    if not operation.guest_id:
        return []
    if operations.runs_beside(operation.kind):
        return [f"host-{operation.host_id}"] if operation.host_id else []
    return [f"guest-{operation.guest_id}"]


def run(operation):
    """Run one Operation here; returns the seconds after which to try it again (an unreachable host),
    or None once it is finished."""
    operation = operations.start(operation.pk)
    if operation is None:
        return None
    with translation.override(operation.language or settings.LANGUAGE_CODE):
        return _attempt(operation)


def _attempt(operation):
    from celery.exceptions import SoftTimeLimitExceeded

    failed = Operation.Status.FAILED
    try:
        message = operations.execute(operation)
    except HostUnreachable as exc:
        delays = settings.WEBVIRT_RETRY_DELAYS
        if operation.attempts <= len(delays):
            delay = delays[operation.attempts - 1]
            operations.retry_later(
                operation, _("%(error)s Retrying in %(delay)s s.") % {"error": exc, "delay": delay}, delay
            )
            return delay
        operations.finish(operation, status=failed, message=str(exc), detail=exc.detail)
    except HypervisorError as exc:
        operations.finish(operation, status=failed, message=str(exc), detail=exc.detail)
    except SoftTimeLimitExceeded:
        message = _("It took longer than it may; it was stopped. Check the target's state before trying again.")
        operations.finish(operation, status=failed, message=message)
    except Exception:
        log.exception("operation %s (%s) crashed", operation.pk, operation.kind)
        operations.finish(operation, status=failed, message=_("Internal error; the details are in the worker log."))
    else:
        operations.finish(operation, status=Operation.Status.SUCCEEDED, message=message or _("Done."))
    return None


def run_here(operation):
    """Run a step in its parent's worker, retries included (the parent holds the lane meanwhile)."""
    while (delay := run(operation)) is not None:
        time.sleep(delay)
    operation.refresh_from_db()
    return operation


def _fail_abandoned(operation):
    with translation.override(operation.language or settings.LANGUAGE_CODE):
        message = _(
            "The worker running this stopped before it finished, so it was not run again: it may be half done. "
            "Check the target's state before trying again."
        )
        log.warning("operation %s (%s) was abandoned by its worker", operation.pk, operation.kind)
        operations.finish(operation, status=Operation.Status.FAILED, message=message)


def wake_idle():
    """Send every lane that has Operations waiting but no worker on it and no task on its way:
    the lanes of workers that died, and of tasks the broker lost. Returns how many were sent."""
    rows = _unfinished().values_list("pk", "host_id", "guest_id", "kind")
    lanes = sorted({_lane(*row) for row in rows})
    names = [f"lane:{lane}" for lane in lanes] + [f"sent:{lane}" for lane in lanes]
    taken = leases.holders(names)
    idle = [lane for lane in lanes if taken[f"lane:{lane}"] is None and taken[f"sent:{lane}"] is None]
    return sum(dispatch(lane) for lane in idle)
