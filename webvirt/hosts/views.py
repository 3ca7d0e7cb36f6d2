from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webvirt.core import flash, lanes, policy
from webvirt.core.actions import perform
from webvirt.core.shortcuts import get_for_user_or_404

from .capacity import host_capacity
from .forms import EvacuateForm, HostForm, MaintenanceForm
from .models import Host


def _host(request, pk, action=None):
    return get_for_user_or_404(Host.objects.all(), request.user, pk, view_action="host.view", action=action)


def host_list(request):
    """Admins manage every host here; others see the facts of the hosts open to them for new guests."""
    if not policy.can(request.user, "host.view"):
        hosts = Host.objects.restrict(request.user, "guest.create")
        return render(request, "hosts/host_list_published.html", {"hosts": hosts})
    hosts = Host.objects.restrict(request.user).annotate(
        guest_count=Count("guests", filter=Q(guests__gone_at__isnull=True))
    )
    return render(request, "hosts/host_list.html", {"hosts": hosts})


def host_detail(request, pk):
    return _detail_page(request, _host(request, pk))


def _detail_page(request, host, maintenance_form=None, status=200):
    by_state = dict(host.guests.present().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    choices = host.guests.model.State.choices  # through the relation: hosts import no guest code
    states = [(label, by_state.get(value, 0)) for value, label in choices if by_state.get(value)]
    return render(
        request,
        "hosts/host_detail.html",
        {
            "host": host,
            "states": states,
            "guest_total": sum(by_state.values()),
            "capacity": host_capacity(host),
            "operations": host.operations.select_related("actor", "guest")[:20],
            "maintenance_form": maintenance_form or MaintenanceForm(),
            "evacuate_form": EvacuateForm(),
            "stalled_since": lanes.stalled_since(host) if request.user.is_staff else None,
            "worker_queue": lanes.queue_for(host),
        },
        status=status,
    )


def host_form(request, pk=None):
    host = _host(request, pk, "host.manage") if pk else None
    if host is None:
        policy.require(request.user, "host.manage")
    form = HostForm(request.POST or None, instance=host)
    if request.method == "POST" and form.is_valid():
        host = perform("host.save", actor=request.user, target=host, params=form.params())
        messages.success(request, _("Saved %(host)s; its inventory is being refreshed.") % {"host": host.name})
        return redirect(host)
    return render(request, "hosts/host_form.html", {"form": form, "host": host})


def host_delete(request, pk):
    host = _host(request, pk, "host.manage")
    if request.method == "POST":
        name = host.name
        perform("host.delete", actor=request.user, target=host)
        messages.success(
            request, _("Removed host %(host)s from webvirt. Its guests were not touched.") % {"host": name}
        )
        return redirect("hosts:list")
    return render(request, "hosts/host_confirm_delete.html", {"host": host})


@require_POST
def host_resync(request, pk):
    host = _host(request, pk, "host.manage")
    perform("host.resync", actor=request.user, target=host)
    messages.info(request, _("Refreshing %(host)s.") % {"host": host.name})
    return redirect(host)


@require_POST
def host_maintenance_enter(request, pk):
    """No new guest is placed on the host from now on; its guests keep running."""
    host = _host(request, pk, "host.manage")
    form = MaintenanceForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, host, maintenance_form=form, status=400)
    return _perform_and_return(request, "host.maintenance-enter", host, form.params(), _("%(host)s is in maintenance."))


@require_POST
def host_maintenance_leave(request, pk):
    host = _host(request, pk, "host.manage")
    return _perform_and_return(request, "host.maintenance-leave", host, None, _("%(host)s takes new guests again."))


@require_POST
def host_evacuate(request, pk):
    """Move the guests of a host in maintenance to the hosts the scheduler picks, one by one."""
    host = _host(request, pk, "host.manage")
    form = EvacuateForm(request.POST)
    form.is_valid()  # one optional checkbox: nothing it holds is invalid
    try:
        operation = perform("host.evacuate", actor=request.user, target=host, params=form.params())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        flash.queued(request, operation, host.name)
    return redirect(host)


def _perform_and_return(request, name, host, params, done):
    try:
        perform(name, actor=request.user, target=host, params=params)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done % {"host": host.name})
    return redirect(host)
