from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from webvirt.core import policy
from webvirt.core.actions import get as action
from webvirt.core.actions import perform
from webvirt.core.definitions import definition_page
from webvirt.core.forms import form_problems
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.hosts.models import Host
from webvirt.storage.models import Volume

from . import actions
from .change_forms import CHANGE_FORMS
from .forms import DeleteForm, GrantForm, GuestFilterForm, RevokeForm, TransferForm
from .models import Guest
from .snapshots import revert_preview


def _guest(request, pk, action=None):
    return get_for_user_or_404(
        Guest.objects.select_related("host"), request.user, pk, view_action="view", action=action
    )


def guest_list(request):
    """Server-side search, filters, sort and pages; reads only the inventory rows."""
    guests = Guest.objects.restrict(request.user, "view").select_related("host")
    if policy.can(request.user, "host.view"):
        hosts = Host.objects.all()
    else:
        hosts = Host.objects.filter(pk__in=guests.values("host_id"))
    form = GuestFilterForm(request.GET, hosts=hosts.only("id", "name"))
    filters = form.filters()
    if not filters.get("gone"):
        guests = guests.present()
    if "q" in filters:
        guests = guests.filter(name__icontains=filters["q"])
    if "host" in filters:
        guests = guests.filter(host=filters["host"])
    if "state" in filters:
        guests = guests.filter(state=filters["state"])
    page = Paginator(guests.order_by(form.ordering(), "name", "id"), settings.WEBVIRT_GUESTS_PER_PAGE).get_page(
        filters.get("page")
    )
    context = {
        "form": form,
        "page": page,
        "guests": page.object_list,
        "hosts": form.fields["host"].queryset,
        "states": Guest.State.choices,
        "q": filters.get("q", ""),
        "host_id": str(filters["host"].pk) if "host" in filters else "",
        "state": filters.get("state", ""),
        "sort": filters.get("sort", "name"),
        "show_gone": filters.get("gone", False),
    }
    template = "guests/_guest_table.html" if request.htmx else "guests/guest_list.html"
    return render(request, template, context)


def _inserted_iso(guest):
    """The volume in the guest's CD-ROM drive, if any (the media form starts from it)."""
    paths = guest.disks.filter(device="cdrom").exclude(source="").values_list("source", flat=True)
    return Volume.objects.filter(pool__host=guest.host, path__in=list(paths)).values_list("pk", flat=True).first()


def guest_detail(request, pk):
    guest = _guest(request, pk)
    context = {
        "guest": guest,
        "disks": guest.disks.all(),
        "nics": guest.nics.all(),
        "snapshots": guest.snapshots.all(),
        "operations": guest.operations.select_related("actor")[:20],
    }
    if policy.can(request.user, "share", guest) and not guest.is_gone:
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
            "media": {"iso": _inserted_iso(guest)},
        }
        # Ids of their own per form (id_media_iso...), so each label points at its field.
        forms = {
            what: factory(guest=guest, user=request.user, initial=initial.get(what), auto_id=f"id_{what}_%s")
            for what, factory in CHANGE_FORMS.items()
        }
        context["change_forms"] = {
            what: form for what, form in forms.items() if policy.can(request.user, action(form.kind).permission, guest)
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
    policy.require(request.user, action(form.kind).permission, guest)
    if form.is_valid():
        try:
            operation = perform(form.kind, actor=request.user, target=guest, params=form.params())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.info(request, f"{operation.label} {guest.name}: queued.")
    else:
        messages.error(request, f"{guest.name}: {form_problems(form)}")
    return redirect(f"{guest.get_absolute_url()}#{what}")


def snapshot_revert(request, pk, snapshot_id):
    """GET says what reverting will change (disks detached or back, size, state); POST queues it."""
    guest = _guest(request, pk, "snapshot")
    if guest.is_gone:
        raise Http404("The guest no longer exists, and nor do its snapshots.")
    snapshot = get_object_or_404(guest.snapshots, pk=snapshot_id)
    if request.method == "POST":
        try:
            params = actions.SnapshotRef(name=snapshot.name)
            operation = perform("guest.snapshot-revert", actor=request.user, target=guest, params=params)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.info(request, f"{operation.label} {snapshot.name}: queued.")
        return redirect(f"{guest.get_absolute_url()}#snapshots")
    context = {"guest": guest, "snapshot": snapshot, "preview": revert_preview(guest, snapshot)}
    return render(request, "guests/snapshot_revert.html", context)


def guest_xml(request, pk):
    guest = _guest(request, pk)
    return definition_page(request, kind="guest", target=guest, back=guest.get_absolute_url())


@require_POST
def guest_power(request, pk, action):
    if action not in actions.POWER:
        guest = _guest(request, pk)
        messages.error(request, f"Unknown power action {action!r}.")
        return redirect(guest)
    guest = _guest(request, pk, action)
    try:
        operation = perform(f"guest.{action}", actor=request.user, target=guest)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.info(request, f"{operation.label} {guest.name}: queued.")
    return redirect(guest)


def guest_delete(request, pk):
    guest = _guest(request, pk, "delete")
    form = DeleteForm(request.POST or None, guest=guest)
    if request.method == "POST" and form.is_valid():
        try:
            params = actions.Deletion(remove_volumes=form.cleaned_data["remove_volumes"])
            perform("guest.delete", actor=request.user, target=guest, params=params)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.info(request, f"Deleting {guest.name}.")
        return redirect(guest)
    context = {"guest": guest, "disks": guest.disks.all(), "form": form}
    return render(request, "guests/guest_confirm_delete.html", context, status=400 if form.errors else 200)


@require_POST
def guest_access(request, pk):
    """Share the guest (owners and admins), revoke a grant, or give the guest to someone else."""
    guest = _guest(request, pk, "share")
    try:
        if "remove" in request.POST:
            form = RevokeForm(request.POST, guest=guest)
            if not form.is_valid():
                raise ValidationError(form_problems(form))
            grant = form.cleaned_data["remove"]
            perform("grant.remove", actor=request.user, target=guest, params=actions.GrantRef(grant))
            messages.info(request, f"Revoked {grant.role} for {grant.grantee}.")
        elif "new_owner" in request.POST:
            form = TransferForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form_problems(form))
            new_owner = form.cleaned_data["new_owner"]
            perform("guest.transfer", actor=request.user, target=guest, params=actions.NewOwner(new_owner))
            messages.info(request, f"{guest.name} now belongs to {new_owner.get_username()}.")
        else:
            form = GrantForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form_problems(form))
            data = form.cleaned_data
            params = actions.NewGrant(role=data["role"], user=data.get("user"), team=data.get("team"))
            grant = perform("grant.add", actor=request.user, target=guest, params=params)
            messages.info(request, f"{grant.grantee} is now {grant.role} of {guest.name}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(f"{guest.get_absolute_url()}#access")
