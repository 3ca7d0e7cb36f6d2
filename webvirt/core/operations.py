"""Operations: record a slow action, enqueue it on commit, run it in a worker, record the outcome.

Slow actions of the catalogue (core/actions.py) register their runner per kind. A runner receives
the Operation, does the work through webvirt.hypervisor and returns a short message for the user.
Every change of an Operation (queued, started, progress, finished) is published as an event.
Workers run them in their host's lane, in order (core/lanes.py). Typed hypervisor errors decide
what happens on failure: HostUnreachable is retried with backoff, any other HypervisorError fails
the Operation with its text.
"""

import datetime
import logging

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import audit, events
from .kinds import register_label
from .models import Operation

log = logging.getLogger(__name__)

_HANDLERS = {}
_CLEANUPS = {}
_TIMEOUTS = {}
_BESIDE = set()
DEFAULT_TIMEOUT_S = 3600


def register(kind, label, function, *, cleanup=None, timeout=None, beside=False):
    """Run `function(operation) -> message` for Operations of `kind`; `cleanup(operation)` runs once
    it is finished, whatever the outcome (e.g. removing an uploaded file kept for retries).
    `beside`: long work on one guest, run beside its host's other Operations (core/lanes.py)."""
    _HANDLERS[kind] = function
    if beside:
        _BESIDE.add(kind)
    register_label(kind, label)
    if cleanup:
        _CLEANUPS[kind] = cleanup
    if timeout:
        _TIMEOUTS[kind] = timeout


def handler(kind, label, *, cleanup=None):
    """Decorator form of register()."""

    def decorate(function):
        register(kind, label, function, cleanup=cleanup)
        return function

    return decorate


def enqueue(*, kind, actor, target, host=None, guest=None, params=None, parent=None):
    """Create the Operation row, and have a worker run it once the transaction commits; a step of
    a `parent` is left to the parent's worker instead, which runs its steps in turn (run_step)."""
    if kind not in _HANDLERS:
        raise ValueError(f"No handler for operation kind {kind!r}.")
    operation = Operation.objects.create(
        kind=kind,
        actor=actor,
        host=host,
        guest=guest,
        target=target[:255],
        params=params or {},
        parent=parent,
        language=translation.get_language() or "",
    )
    audit.record(actor, kind, operation.target, outcome="requested", operation=operation.pk)
    _publish(operation, "operation.queued")
    if parent is None:
        transaction.on_commit(lambda: _send_to_workers(operation))
    return operation


def run_step(operation):
    """Run a parent's step here and now, as a worker would run it (retries included); returns it
    finished. One worker runs the steps in turn, so a parent never waits on a worker it holds."""
    from .lanes import run_here

    return run_here(operation)


def runs_beside(kind):
    return kind in _BESIDE


def beside_kinds():
    return sorted(_BESIDE)


def timeout_of(kind):
    return _TIMEOUTS.get(kind, DEFAULT_TIMEOUT_S)


def _publish(operation, event):
    groups = [events.OPERATIONS, events.user_group(operation.actor_id) if operation.actor_id else None]
    if operation.host_id:
        groups.append(events.host_group(operation.host_id))
    if operation.guest_id:
        groups.append(events.guest_group(operation.guest_id))
    events.publish(
        event,
        groups=groups,
        operation_id=operation.pk,
        kind=operation.kind,
        label=str(operation.label),
        target=operation.target,
        status=operation.status,
        progress=operation.progress,
        host_id=operation.host_id,
        guest_id=operation.guest_id,
    )


def _send_to_workers(operation):
    """Send its lane; if the broker cannot take it, the Operation fails saying so (never a 500)."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    from .lanes import dispatch, lane_of

    try:
        dispatch(lane_of(operation))
    except (OperationalError, RedisError) as exc:
        log.error("operation %s could not be queued: %s", operation.pk, exc)
        finish(
            operation,
            status=Operation.Status.FAILED,
            message=_("The task queue (Redis) did not answer, so this never started. Try again shortly."),
        )


def start(operation_id):
    """Mark the operation running; returns None when it no longer needs running."""
    with transaction.atomic():
        operation = (
            Operation.objects.select_for_update().filter(pk=operation_id).exclude(status__in=Operation.FINISHED).first()
        )
        if operation is None:
            return None
        operation.status = Operation.Status.RUNNING
        operation.attempts += 1
        operation.started_at = operation.started_at or timezone.now()
        operation.not_before = None
        operation.save(update_fields=["status", "attempts", "started_at", "not_before"])
        _publish(operation, "operation.started")
    return Operation.objects.select_related("host", "guest", "guest__host", "actor").get(pk=operation_id)


def execute(operation):
    return _HANDLERS[operation.kind](operation)


def finish(operation, *, status, message, detail=""):
    message = str(message)  # a translated (lazy) message is written in the worker's language
    operation.status = status
    operation.message = message
    operation.detail = detail
    operation.finished_at = timezone.now()
    if status == Operation.Status.SUCCEEDED and operation.progress is not None:
        operation.progress = 100
    operation.save(update_fields=["status", "message", "detail", "finished_at", "progress"])
    if operation.kind in _CLEANUPS:
        _CLEANUPS[operation.kind](operation)
    said = f" (libvirt said: {detail})" if detail else ""
    log.info("operation %s %s %s: %s%s", operation.pk, operation.kind, status, message, said)
    _publish(operation, "operation.finished")
    audit.record(
        operation.actor,
        operation.kind,
        operation.target,
        outcome=status,
        operation=operation.pk,
        message=message,
        **({"detail": detail} if detail else {}),
    )


def report_progress(operation, fraction):
    """Record how far a copy has got; called from the handler's progress callbacks."""
    percent = max(0, min(100, int(fraction * 100)))
    if percent != operation.progress:
        operation.progress = percent
        Operation.objects.filter(pk=operation.pk).update(progress=percent)
        _publish(operation, "operation.progress")


def retry_later(operation, message, delay_s):
    """Queue it again, to be tried after `delay_s`; its lane waits for it meanwhile."""
    operation.status = Operation.Status.QUEUED
    operation.message = str(message)
    operation.not_before = timezone.now() + datetime.timedelta(seconds=delay_s)
    operation.save(update_fields=["status", "message", "not_before"])
    _publish(operation, "operation.progress")


def note(operation, message):
    """Record progress text on an operation that is still going (e.g. a retry)."""
    operation.message = str(message)
    operation.save(update_fields=["message"])
    _publish(operation, "operation.progress")
