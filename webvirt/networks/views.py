from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webvirt.core import flash
from webvirt.core.actions import perform
from webvirt.core.definitions import definition_page
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.hosts.models import Host

from .actions import NETWORK_ACTIONS
from .forms import NetworkForm
from .models import Network


def _host(request, host_id):
    return get_for_user_or_404(
        Host.objects.all(), request.user, host_id, view_action="host.view", action="network.manage"
    )


def network_list(request, host_id):
    host = _host(request, host_id)
    form = NetworkForm(request.POST or None, host=host)
    if request.method == "POST" and form.is_valid():
        operation = perform("network.create", actor=request.user, target=host, params=form.params())
        flash.queued(request, operation)
        return redirect("networks:list", host_id=host.pk)
    context = {
        "host": host,
        "networks": host.networks.prefetch_related("teams"),
        "form": form,
        "operations": host.operations.filter(kind__startswith="network.").select_related("actor")[:10],
    }
    return render(request, "networks/network_list.html", context, status=400 if form.errors else 200)


def network_detail(request, host_id, network_id):
    network = get_object_or_404(Network, pk=network_id, host=_host(request, host_id))
    return render(request, "networks/network_detail.html", {"network": network, "host": network.host})


def network_xml(request, host_id, network_id):
    network = get_object_or_404(Network, pk=network_id, host=_host(request, host_id))
    return definition_page(request, kind="network", target=network, back=network.get_absolute_url())


@require_POST
def network_action(request, host_id, network_id, action):
    network = get_object_or_404(Network, pk=network_id, host=_host(request, host_id))
    if action not in NETWORK_ACTIONS:
        messages.error(request, _("Unknown network action %(action)r.") % {"action": action})
    else:
        operation = perform(f"network.{action}", actor=request.user, target=network)
        flash.queued(request, operation)
    return redirect("networks:list", host_id=network.host_id)
