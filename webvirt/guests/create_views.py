"""New guests and the flavors offered for them."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webvirt.accounts.quotas import usage_rows
from webvirt.core import flash, policy
from webvirt.core.actions import perform
from webvirt.hosts.capacity import host_capacity
from webvirt.hosts.models import Host

from .actions import FlavorRef
from .create_forms import ANY_HOST, AnyHostGuestForm, FlavorForm, GuestCreateForm, HostChoiceForm
from .models import Flavor
from .placement import room


def guest_create(request):
    """Any host (the scheduler chooses; the default with several hosts) or one host chosen by the
    user, then fill in the guest from what those hosts have."""
    policy.require(request.user, "guest.create")
    hosts = Host.objects.restrict(request.user, "guest.create").filter(reachable=True, maintenance_since__isnull=True)
    if request.GET.get("host") == "":  # the list of hosts to choose from, with their facts
        choice = HostChoiceForm(None, hosts=hosts)
    elif "host" in request.GET:
        choice = HostChoiceForm(request.GET, hosts=hosts)
    else:  # with a single host there is nothing to choose; with more the scheduler chooses
        default = {1: hosts[0].pk}.get(len(hosts), ANY_HOST) if hosts else None
        choice = HostChoiceForm({"host": default} if default else None, hosts=hosts)
    if not choice.is_valid():
        status = 400 if choice.errors else 200
        return render(request, "guests/guest_create_host.html", {"hosts": hosts, "form": choice}, status=status)
    host = choice.cleaned_data["host"]
    if host == ANY_HOST:
        form = AnyHostGuestForm(request.POST or None, user=request.user)
    else:
        form = GuestCreateForm(request.POST or None, host=host, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            operation = perform("guest.create", actor=request.user, target=form.host, params=form.params())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            words = {"name": form.cleaned_data["name"], "host": form.host.name}
            flash.queued(request, operation, _("%(name)s on %(host)s") % words)
            return redirect("core:operation", pk=operation.pk)
    left = {"rooms": room(hosts, user=request.user)} if host == ANY_HOST else {"capacity": host_capacity(host)}
    return render(
        request,
        "guests/guest_create.html",
        {
            "form": form,
            "host": None if host == ANY_HOST else host,
            "hosts": hosts,
            **left,  # what is left, beside the form
            "usage": usage_rows(request.user),
        },
        status=400 if form.errors else 200,
    )


def flavor_list(request):
    policy.require(request.user, "flavor.manage")
    form = FlavorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            flavor = perform("flavor.add", actor=request.user, params=form.params())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Added flavor %(name)s.") % {"name": flavor.name})
            return redirect("guests:flavors")
    return render(
        request, "guests/flavor_list.html", {"flavors": Flavor.objects.prefetch_related("teams"), "form": form}
    )


@require_POST
def flavor_delete(request, pk):
    policy.require(request.user, "flavor.manage")
    flavor = get_object_or_404(Flavor, pk=pk)
    perform("flavor.remove", actor=request.user, params=FlavorRef(flavor))
    messages.success(request, _("Removed flavor %(name)s.") % {"name": flavor.name})
    return redirect("guests:flavors")
