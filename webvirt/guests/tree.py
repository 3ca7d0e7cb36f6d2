"""The sidebar tree every page carries: hosts, then their guests, pools and networks.

Loaded after the page (and again on live events), so no page pays for it; one query for hosts
with their counts and one for the guests the user may see, whatever their number."""

from django.db.models import Count, Q
from django.shortcuts import render

from webvirt.core import policy
from webvirt.hosts.models import Host

from .models import Guest

GUESTS_PER_HOST = 50  # beyond this a host's branch links to its filtered list


def tree(request):
    user = request.user
    guests = (
        Guest.objects.restrict(user, "view")
        .present()
        .order_by("host__name", "name")
        .values_list("pk", "name", "state", "host_id", "host__name")
    )
    branches = {}
    states = dict(Guest.State.choices)  # the words of the reader's language, on hover
    for pk, name, state, host_id, host_name in guests:
        branch = branches.setdefault(host_id, {"name": host_name, "guests": [], "count": 0})
        branch["count"] += 1
        if len(branch["guests"]) < GUESTS_PER_HOST:
            branch["guests"].append({"pk": pk, "name": name, "state": state, "state_label": states.get(state, state)})
    hosts = []
    if policy.can(user, "host.view"):
        present = Q(pools__gone_at__isnull=True)
        listed = Host.objects.restrict(user).order_by("name")
        listed = listed.annotate(
            pool_count=Count("pools", filter=present, distinct=True),
            network_count=Count("networks", filter=Q(networks__gone_at__isnull=True), distinct=True),
        )
        for host in listed:
            hosts.append({"host": host, **branches.pop(host.pk, {"guests": [], "count": 0})})
    # Guests on hosts the user may not see (shared with them) are grouped by the host's name only.
    others = [branch for _, branch in sorted(branches.items(), key=lambda item: item[1]["name"])]
    context = {
        "hosts": hosts,
        "others": others,
        "per_host": GUESTS_PER_HOST,
        "may_storage": policy.can(user, "storage.manage"),
        "may_networks": policy.can(user, "network.manage"),
    }
    return render(request, "guests/_tree.html", context)
