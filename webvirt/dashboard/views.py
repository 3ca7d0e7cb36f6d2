"""The home page: the fleet at a glance, for what the user may see.

Every part is one aggregate or one bounded query, whatever the number of guests, so the page stays
fast at thousands of guests (bench/inventory.py prints dashboard_p50_ms)."""

from datetime import timedelta

from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone

from webvirt.accounts.quotas import usage_rows
from webvirt.core import policy
from webvirt.core.models import Operation
from webvirt.core.selectors import visible_operations
from webvirt.guests.models import Guest
from webvirt.hosts.capacity import shares_by_host
from webvirt.hosts.models import Host
from webvirt.metrics.models import GuestSample
from webvirt.metrics.tiers import SAMPLE_SECONDS

TOP = 5
FAILURES = 5
FRESH = timedelta(seconds=3 * SAMPLE_SECONDS)  # samples older than this say nothing about now


def _hosts(user):
    """Hosts with reachability and what their running guests are given, in two queries."""
    if not policy.can(user, "host.view"):
        return []
    hosts = list(Host.objects.restrict(user).order_by("name"))
    shares = shares_by_host(hosts)
    rows = []
    for host in hosts:
        vcpus, memory, guests = shares[host.pk]
        rows.append({"host": host, "vcpus": vcpus, "memory_mib": memory, "guests": guests})
    return rows


def _top_consumers(guests):
    """The busiest guests by CPU over the last few rounds of samples (one query on the time index)."""
    since = timezone.now() - FRESH
    samples = (
        GuestSample.objects.filter(resolution=SAMPLE_SECONDS, time__gte=since, guest__in=guests)
        .exclude(cpu_percent=None)
        .select_related("guest")
        .order_by("-cpu_percent", "-time")[: TOP * 4]
    )
    busiest = {}
    for sample in samples:
        busiest.setdefault(sample.guest_id, sample)  # a guest once, at its busiest
    return list(busiest.values())[:TOP]


def dashboard(request):
    guests = Guest.objects.restrict(request.user, "view").present()
    by_state = dict(guests.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    context = {
        "hosts": _hosts(request.user),
        "states": [(value, label, by_state[value]) for value, label in Guest.State.choices if by_state.get(value)],
        "guest_total": sum(by_state.values()),
        "failures": visible_operations(request.user).filter(status=Operation.Status.FAILED)[:FAILURES],
        "top": _top_consumers(guests),
        "usage": usage_rows(request.user),
    }
    template = "dashboard/_dashboard.html" if request.htmx else "dashboard/dashboard.html"
    return render(request, template, context)
