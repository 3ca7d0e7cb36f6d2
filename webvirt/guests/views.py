from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webvirt.core import policy
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.hosts.models import Host
from webvirt.hypervisor import POWER_ACTIONS

from . import services
from .change_forms import CHANGE_FORMS
from .models import Guest

SORTS = {"name": "name", "host": "host__name", "state": "state", "vcpus": "vcpus", "memory": "memory_mib"}


def _guest(request, pk, action=None):
    return get_for_user_or_404(
        Guest.objects.select_related("host"), request.user, pk, view_action="view", action=action
    )


def guest_list(request):
    """Server-side search, filters, sort and pages; reads only the inventory rows."""
    guests = Guest.objects.restrict(request.user, "view").select_related("host")
    query = request.GET.get("q", "").strip()
    host_id = request.GET.get("host", "")
    state = request.GET.get("state", "")
    show_gone = request.GET.get("gone") == "1"
    sort = request.GET.get("sort", "name")
    if not show_gone:
        guests = guests.present()
    if query:
        guests = guests.filter(name__icontains=query)
    if host_id.isdigit():
        guests = guests.filter(host_id=int(host_id))
    if state in Guest.State.values:
        guests = guests.filter(state=state)
    column = SORTS.get(sort.removeprefix("-"), "name")
    order = f"-{column}" if sort.startswith("-") else column
    page = Paginator(guests.order_by(order, "name", "id"), settings.WEBVIRT_GUESTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "guests": page.object_list,
        "hosts": Host.objects.restrict(request.user).only("id", "name"),
        "states": Guest.State.choices,
        "q": query,
        "host_id": host_id,
        "state": state,
        "sort": sort,
        "show_gone": show_gone,
    }
    template = "guests/_guest_table.html" if request.htmx else "guests/guest_list.html"
    return render(request, template, context)


def guest_detail(request, pk):
    guest = _guest(request, pk)
    context = {
        "guest": guest,
        "disks": guest.disks.all(),
        "nics": guest.nics.all(),
        "snapshots": guest.snapshots.all(),
        "operations": guest.operations.select_related("actor")[:20],
    }
    if request.htmx and request.GET.get("part") == "live":
        return render(request, "guests/_guest_live.html", context)
    if not guest.is_gone:
        initial = {
            "settings": {
                "name": guest.name,
                "description": guest.description,
                "autostart": guest.autostart,
                "boot": guest.boot_order,
            },
            "resize": {"vcpus": guest.vcpus, "memory_mib": guest.memory_mib},
        }
        forms = {what: factory(guest=guest, initial=initial.get(what)) for what, factory in CHANGE_FORMS.items()}
        context["change_forms"] = {
            what: form
            for what, form in forms.items()
            if policy.can(request.user, services.CHANGE_ACTIONS[form.kind], guest)
        }
    return render(request, "guests/guest_detail.html", context)


@require_POST
def guest_change(request, pk, what):
    """Validate one of the change forms and queue its Operation; errors come back as messages."""
    factory = CHANGE_FORMS.get(what)
    if factory is None:
        raise Http404("No such change.")
    guest = _guest(request, pk)
    form = factory(request.POST, guest=guest)
    policy.require(request.user, services.CHANGE_ACTIONS[form.kind], guest)
    if form.is_valid():
        try:
            operation = services.guest_change(guest=guest, actor=request.user, kind=form.kind, params=form.params())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.info(request, f"{operation.label} {guest.name}: queued.")
    else:
        problems = [" ".join(errors) for errors in form.errors.values()]
        messages.error(request, f"{guest.name}: {' '.join(problems)}")
    return redirect(f"{guest.get_absolute_url()}#{what}")


@require_POST
def guest_power(request, pk, action):
    guest = _guest(request, pk, action if action in POWER_ACTIONS else None)
    try:
        operation = services.guest_power(guest=guest, action=action, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.info(request, f"{operation.label} {guest.name}: queued.")
    return redirect(guest)


def guest_delete(request, pk):
    guest = _guest(request, pk, "delete")
    if request.method == "POST":
        if request.POST.get("confirm_name") != guest.name:
            messages.error(request, "Type the guest's name exactly to confirm deletion.")
            return render(request, "guests/guest_confirm_delete.html", {"guest": guest, "disks": guest.disks.all()})
        try:
            services.guest_delete(
                guest=guest, actor=request.user, remove_volumes=request.POST.get("remove_volumes") == "1"
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.info(request, f"Deleting {guest.name}.")
        return redirect(guest)
    return render(request, "guests/guest_confirm_delete.html", {"guest": guest, "disks": guest.disks.all()})
