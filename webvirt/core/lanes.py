"""Lanes: the Operations of one host run one at a time, in the order they were asked for.

Each host is a lane (Operations without a host are each a lane of their own). A worker runs a
lane's oldest unfinished Operation only while it holds the lane's lease in Redis, then asks for
the lane's next one. A host that hangs therefore holds one worker at most, however many of its
Operations wait, and every other host's work goes on beside it; any worker takes any lane, so
adding hosts needs no restart. A host may name a worker queue (`Host.worker_queue`): its lanes
then go to `<default queue>.<name>`, for workers started near those hosts.

A worker that dies stops renewing its lease; within its time to live `wake_idle` (beat, every few
seconds) sends the lane again, and the Operation it was running is failed with that reason, never
run twice: it may have been half done, and only a person can tell whether to try again.
"""

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
    return f"host-{operation.host_id}" if operation.host_id else f"operation-{operation.pk}"


def waiting(lane):
    """The lane's Operations not finished, oldest first (steps run inside their parent's turn)."""
    kind, _, ident = lane.partition("-")
    unfinished = Operation.objects.filter(parent=None).exclude(status__in=Operation.FINISHED)
    if kind == "host":
        return unfinished.filter(host_id=int(ident)).order_by("id")
    return unfinished.filter(pk=int(ident), host=None)


def ahead_of(operation):
    """How many Operations of its lane run before it (0 once it is running or finished)."""
    if operation.parent_id or operation.status != Operation.Status.QUEUED:
        return 0
    return waiting(lane_of(operation)).filter(pk__lt=operation.pk).count()


def queue_for(host):
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    group = getattr(host, "worker_queue", "") if host else ""
    return f"{default}.{group}" if group else default


def dispatch(lane, *, countdown=None):
    """Have a worker run the lane's next Operation, unless a task for the lane is already on its way.
    Raises kombu's OperationalError when the broker cannot take it."""
    operation = waiting(lane).select_related("host").first()
    if operation is None:
        return
    if not leases.acquire(f"sent:{lane}", "sent", SENT_TTL_S):
        return  # that task runs the oldest Operation, then sends the lane again
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


def run_next(lane):
    """A worker's turn on a lane: run its oldest Operation if no other worker holds the lane."""
    leases.release(f"sent:{lane}", "sent")  # this task has arrived; the next dispatch may send again
    retry_in = None
    holder = f"{lane}@{socket.gethostname()}:{os.getpid()}"  # for people (and tests) reading Redis
    with leases.held(f"lane:{lane}", ttl_s=LEASE_TTL_S, label=holder) as mine:
        if not mine:
            return  # its holder sends the lane again when done
        operation = waiting(lane).first()
        if operation is None:
            return
        if operation.not_before and operation.not_before > timezone.now():
            retry_in = (operation.not_before - timezone.now()).total_seconds()
        elif operation.status == Operation.Status.RUNNING:
            _fail_abandoned(operation)  # running, yet nobody held its lane: its worker died
        else:
            retry_in = run(operation)
    dispatch(lane, countdown=retry_in)


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
    rows = Operation.objects.filter(parent=None).exclude(status__in=Operation.FINISHED).values_list("pk", "host_id")
    lanes = sorted({f"host-{host_id}" if host_id else f"operation-{pk}" for pk, host_id in rows})
    names = [f"lane:{lane}" for lane in lanes] + [f"sent:{lane}" for lane in lanes]
    taken = leases.holders(names)
    idle = [lane for lane in lanes if taken[f"lane:{lane}"] is None and taken[f"sent:{lane}"] is None]
    for lane in idle:
        dispatch(lane)
    return len(idle)
