import logging

from celery import shared_task
from django.conf import settings

from webvirt.core import leases
from webvirt.hypervisor import HypervisorError

from .models import Host
from .sync import sync_host

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def resync_all_hosts():
    """Beat's safety net: refresh every enabled host, one task each so hosts run in parallel; once
    per period however many beats send it."""
    if not leases.once_per_period(
        "resync-all-hosts", float(settings.CELERY_BEAT_SCHEDULE["resync-all-hosts"]["schedule"])
    ):
        return
    for host_id in Host.objects.filter(enabled=True).values_list("pk", flat=True):
        resync_host.delay(host_id)


@shared_task(acks_late=True)
def resync_host(host_id):
    host = Host.objects.filter(pk=host_id, enabled=True).first()
    if host is None:
        return
    try:
        sync_host(host)
    except HypervisorError as exc:  # recorded on the host; the next beat tries again
        log.warning("resync of host %s failed: %s", host.name, exc.full_text)
