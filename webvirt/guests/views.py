from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webvirt.accounts.models import Team
from webvirt.core import policy
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.hosts.models import Host
from webvirt.hypervisor import POWER_ACTIONS

from . import services
from .change_forms import CHANGE_FORMS
from .models import Grant, Guest

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
    if policy.can(request.user, "share", guest):
        context["grants"] = guest.grants.select_related("user", "team")
        context["grant_form"] = GrantForm()
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
        forms = {
            what: factory(guest=guest, user=request.user, initial=initial.get(what))
            for what, factory in CHANGE_FORMS.items()
        }
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
    form = factory(request.POST, guest=guest, user=request.user)
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


class GrantForm(forms.Form):
    username = forms.CharField(required=False, label="User")
    team = forms.ModelChoiceField(Team.objects.all(), required=False, empty_label="— or a team —")
    role = forms.ChoiceField(choices=Grant.ROLES, initial="viewer")

    def clean(self):
        data = super().clean()
        username, team = (data.get("username") or "").strip(), data.get("team")
        if bool(username) == bool(team):
            raise forms.ValidationError("Name a user or choose a team.")
        if username:
            data["user"] = get_user_model().objects.filter(username=username, is_active=True).first()
            if data["user"] is None:
                raise forms.ValidationError(f"There is no active user {username!r}.")
        return data


@require_POST
def guest_access(request, pk):
    """Share the guest (owners and admins), revoke a grant, or give the guest to someone else."""
    guest = _guest(request, pk, "share")
    try:
        if "remove" in request.POST:
            grant = guest.grants.filter(pk=request.POST["remove"]).first()
            if grant:
                services.grant_remove(grant=grant, actor=request.user)
                messages.info(request, f"Revoked {grant.role} for {grant.grantee}.")
        elif "new_owner" in request.POST:
            new_owner = (
                get_user_model().objects.filter(username=request.POST["new_owner"].strip(), is_active=True).first()
            )
            if new_owner is None:
                raise ValidationError("There is no such active user.")
            services.guest_transfer(guest=guest, actor=request.user, new_owner=new_owner)
            messages.info(request, f"{guest.name} now belongs to {new_owner.get_username()}.")
        else:
            form = GrantForm(request.POST)
            if not form.is_valid():
                raise ValidationError(" ".join(" ".join(errors) for errors in form.errors.values()))
            data = form.cleaned_data
            grant = services.grant_add(
                guest=guest, actor=request.user, role=data["role"], user=data.get("user"), team=data.get("team")
            )
            messages.info(request, f"{grant.grantee} is now {grant.role} of {guest.name}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(f"{guest.get_absolute_url()}#access")
