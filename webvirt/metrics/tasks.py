import logging

from celery import shared_task
from django.utils import timezone

from webvirt.core import leases
from webvirt.hosts.models import Host
from webvirt.hypervisor import HypervisorError

from . import rollup, sampling
from .tiers import SAMPLE_SECONDS

ROLL_UP_SECONDS = 60

log = logging.getLogger(__name__)


@shared_task
def sample_all_hosts():
    """Beat's round: one task per enabled host that answered last time, so hosts are read in
    parallel; a task not started within a period is dropped (the next round supersedes it). Once per
    period however many beats send it."""
    if not leases.once_per_period("sample-all-hosts", SAMPLE_SECONDS):
        return
    hosts = Host.objects.filter(enabled=True, reachable=True).values_list("pk", flat=True)
    for host_id in hosts:
        sample_host.apply_async((host_id,), expires=SAMPLE_SECONDS)


@shared_task
def sample_host(host_id):
    host = Host.objects.filter(pk=host_id, enabled=True).first()
    if host is None:
        return
    try:
        sampling.sample_host(host)
    except HypervisorError as exc:  # a lost sample is not worth a retry: the next round comes soon
        log.warning("sampling host %s failed: %s", host.name, exc)


@shared_task
def roll_up_and_prune():
    if not leases.once_per_period("roll-up-metrics", ROLL_UP_SECONDS):
        return
    written, deleted = rollup.roll_up_and_prune(timezone.now())
    log.info("metrics: %d points rolled up, %d pruned", written, deleted)
