import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from webvirt.hypervisor import HostUnreachable, HypervisorError

from . import operations
from .models import Operation

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (2, 5, 15)


@shared_task(bind=True, acks_late=True, max_retries=len(RETRY_DELAYS_S))
def run_operation(self, operation_id):
    """Run one Operation. Safe to deliver twice: finished operations are skipped, handlers converge.
    Its messages are written in the language of whoever asked for it."""
    operation = operations.start(operation_id)
    if operation is None:
        return
    with translation.override(operation.language or settings.LANGUAGE_CODE):
        _run(self, operation)


def _run(self, operation):
    try:
        message = operations.execute(operation)
    except HostUnreachable as exc:
        if self.request.retries < self.max_retries:
            delay = RETRY_DELAYS_S[self.request.retries]
            operations.note(operation, _("%(error)s Retrying in %(delay)s s.") % {"error": exc, "delay": delay})
            raise self.retry(countdown=delay) from None
        operations.finish(operation, status=Operation.Status.FAILED, message=str(exc), detail=exc.detail)
    except HypervisorError as exc:
        operations.finish(operation, status=Operation.Status.FAILED, message=str(exc), detail=exc.detail)
    except SoftTimeLimitExceeded:
        message = _("It took longer than it may; it was stopped. Check the target's state before trying again.")
        operations.finish(operation, status=Operation.Status.FAILED, message=message)
    except Exception:
        log.exception("operation %s (%s) crashed", operation.pk, operation.kind)
        operations.finish(
            operation, status=Operation.Status.FAILED, message=_("Internal error; the details are in the worker log.")
        )
    else:
        operations.finish(operation, status=Operation.Status.SUCCEEDED, message=message or _("Done."))
