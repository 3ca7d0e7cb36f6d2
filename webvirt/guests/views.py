from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy
from django.views.decorators.http import require_POST

from webvirt.core import flash, policy
from webvirt.core.actions import get as action
from webvirt.core.actions import perform
from webvirt.core.definitions import definition_page
from webvirt.core.forms import form_problems
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.hosts.models import Host
from webvirt.storage.models import Volume

from . import actions, roles
from .change_forms import CHANGE_FORMS, MigrateForm
from .forms import BulkForm, DeleteForm, GrantForm, GuestFilterForm, RevokeForm, TransferForm
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


# The guest page's tabs: (label, the action needed to see it beyond "view", if any).
TABS = {
    "summary": (gettext_lazy("Summary"), None),
    "console": (gettext_lazy("Console"), None),
    "hardware": (gettext_lazy("Hardware"), None),
    "snapshots": (gettext_lazy("Snapshots"), "snapshot"),
    "access": (gettext_lazy("Access"), "share"),
    "operations": (gettext_lazy("Operations"), None),
}
# The change forms each tab shows; a change returns to the tab of its form.
TAB_FORMS = {
    "summary": ("settings", "clone", "fs_freeze", "fs_thaw"),
    "hardware": (
        "resize",
        "disk_add",
        "disk_attach",
        "disk_grow",
        "disk_detach",
        "media",
        "nic_add",
        "nic_change",
        "nic_remove",
    ),
    "snapshots": ("snapshot_create", "snapshot_delete"),
}
FORM_TABS = {what: tab for tab, names in TAB_FORMS.items() for what in names}
# Tabs of the apps above guests (backups): key -> (context(request, guest), template).
_APP_TABS = {}


def register_tab(key, label, permission, context, *, after, template=None):
    """Add a tab, after the tab `after`, for an app guests may not import: `context(request, guest) -> dict`."""
    tabs = list(TABS.items())
    at = [name for name, _ in tabs].index(after) + 1
    TABS.clear()
    TABS.update([*tabs[:at], (key, (label, permission)), *tabs[at:]])
    _APP_TABS[key] = (context, template or f"{key}/_tab_{key}.html")


def tab_url(guest, tab):
    """The guest page opened on `tab`."""
    return guest.get_absolute_url() if tab == "summary" else f"{guest.get_absolute_url()}?tab={tab}"


def _tabs(user, guest):
    """The tabs this user sees on this guest: Snapshots and Access only with their role, never when gone."""
    return {
        key: {"label": label, "url": tab_url(guest, key)}
        for key, (label, permission) in TABS.items()
        if permission is None or (not guest.is_gone and policy.can(user, permission, guest))
    }


def _change_forms(request, guest, names):
    """The change forms `names` the user may use, bound to nothing, with ids of their own (id_media_iso...)."""
    initial = {
        "settings": {
            "name": guest.name,
            "description": guest.description,
            "autostart": guest.autostart,
            "boot": guest.boot_order,
        },
        "resize": {"vcpus": guest.vcpus, "memory_mib": guest.memory_mib},
    }
    if "media" in names:
        initial["media"] = {"iso": _inserted_iso(guest)}
    forms = {}
    for what in names:
        form = CHANGE_FORMS[what](guest=guest, user=request.user, initial=initial.get(what), auto_id=f"id_{what}_%s")
        if policy.can(request.user, action(form.kind).permission, guest):
            forms[what] = form
    return forms


def _tab_context(request, guest, tab):
    """What one tab shows, and nothing more: the page loads only the tab it opens."""
    context = {}
    if tab in ("summary", "hardware"):
        context["nics"] = guest.nics.all()
    if tab == "hardware":
        context["disks"] = guest.disks.all()
    if tab == "snapshots":
        context["snapshots"] = guest.snapshots.all()
    if tab == "access":
        context["grants"] = guest.grants.select_related("user", "team", "granted_by")
        context["grant_form"] = GrantForm()
    if tab == "operations":
        context["operations"] = guest.operations.select_related("actor")[:20]
    if not guest.is_gone and tab in TAB_FORMS:
        context["forms"] = _change_forms(request, guest, TAB_FORMS[tab])
    if tab in _APP_TABS:
        context |= _APP_TABS[tab][0](request, guest)
    return context


def guest_detail(request, pk):
    """The guest page, one tab at a time (?tab=hardware); ?part=live is its live fragment."""
    guest = _guest(request, pk)
    tab = request.GET.get("tab") or "summary"
    if tab not in TABS:
        raise Http404(_("No such tab."))
    tabs = _tabs(request.user, guest)
    if tab not in tabs:
        if guest.is_gone:
            raise Http404(_("This guest no longer exists."))
        policy.require(request.user, TABS[tab][1], guest)
    template = _APP_TABS[tab][1] if tab in _APP_TABS else f"guests/_tab_{tab}.html"
    context = {"guest": guest, "tab": tab, "tabs": tabs, "tab_template": template}
    context |= _tab_context(request, guest, tab)
    if request.htmx and request.GET.get("part") == "live":
        return render(request, "guests/_guest_live.html", context)
    return render(request, "guests/guest_detail.html", context)


@require_POST
def guest_change(request, pk, what):
    """Validate one of the change forms and queue its Operation; errors come back as messages."""
    factory = CHANGE_FORMS.get(what)
    if factory is None:
        raise Http404(_("No such change."))
    guest = _guest(request, pk)
    form = factory(request.POST, guest=guest, user=request.user)
    policy.require(request.user, action(form.kind).permission, guest)
    if form.is_valid():
        try:
            operation = perform(form.kind, actor=request.user, target=guest, params=form.params())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            flash.queued(request, operation, guest.name)
    else:
        messages.error(request, f"{guest.name}: {form_problems(form)}")
    return redirect(tab_url(guest, FORM_TABS.get(what, "hardware")))


def guest_migrate(request, pk):
    """Where the guest may go and why other hosts cannot take it; POST queues the move."""
    guest = _guest(request, pk, "migrate")
    if guest.is_gone:
        raise Http404(_("The guest no longer exists."))
    form = MigrateForm(request.POST or None, guest=guest, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            operation = perform("guest.migrate", actor=request.user, target=guest, params=form.params())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            flash.queued(request, operation, guest.name)
            return redirect(guest)
    hosts, proposal = form.offer()
    context = {"guest": guest, "form": form, "hosts": hosts, "proposal": proposal}
    return render(request, "guests/guest_migrate.html", context)


@require_POST
def migration_cancel(request, pk):
    guest = _guest(request, pk, "migrate")
    try:
        operation = perform("guest.migrate-cancel", actor=request.user, target=guest)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.info(
            request,
            _("Cancelling the move of %(name)s: it stays on %(host)s.") % {"name": guest.name, "host": guest.host.name},
        )
        flash.queued(request, operation, guest.name)
    return redirect(guest)


def snapshot_revert(request, pk, snapshot_id):
    """GET says what reverting will change (disks detached or back, size, state); POST queues it."""
    guest = _guest(request, pk, "snapshot")
    if guest.is_gone:
        raise Http404(_("The guest no longer exists, and nor do its snapshots."))
    snapshot = get_object_or_404(guest.snapshots, pk=snapshot_id)
    if request.method == "POST":
        try:
            params = actions.SnapshotRef(name=snapshot.name)
            operation = perform("guest.snapshot-revert", actor=request.user, target=guest, params=params)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            flash.queued(request, operation, snapshot.name)
        return redirect(tab_url(guest, "snapshots"))
    context = {"guest": guest, "snapshot": snapshot, "preview": revert_preview(guest, snapshot)}
    return render(request, "guests/snapshot_revert.html", context)


def guest_xml(request, pk):
    guest = _guest(request, pk)
    return definition_page(request, kind="guest", target=guest, back=guest.get_absolute_url())


@require_POST
def guest_power(request, pk, action):
    if action not in actions.POWER:
        guest = _guest(request, pk)
        messages.error(request, _("Unknown power action %(action)s.") % {"action": repr(action)})
        return redirect(guest)
    guest = _guest(request, pk, action)
    try:
        operation = perform(f"guest.{action}", actor=request.user, target=guest)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        flash.queued(request, operation, guest.name)
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
            messages.info(request, _("Deleting %(name)s.") % {"name": guest.name})
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
            messages.info(
                request,
                _("Revoked %(role)s for %(grantee)s.") % {"role": grant.get_role_display(), "grantee": grant.grantee},
            )
        elif "new_owner" in request.POST:
            form = TransferForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form_problems(form))
            new_owner = form.cleaned_data["new_owner"]
            perform("guest.transfer", actor=request.user, target=guest, params=actions.NewOwner(new_owner))
            messages.info(
                request,
                _("%(name)s now belongs to %(user)s.") % {"name": guest.name, "user": new_owner.get_username()},
            )
        else:
            form = GrantForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form_problems(form))
            data = form.cleaned_data
            params = actions.NewGrant(role=data["role"], user=data.get("user"), team=data.get("team"))
            grant = perform("grant.add", actor=request.user, target=guest, params=params)
            words = {"grantee": grant.grantee, "role": grant.get_role_display(), "name": guest.name}
            messages.info(request, _("%(grantee)s is now %(role)s of %(name)s.") % words)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(tab_url(guest, "access"))


def _list_url(request):
    """Back to the list as it was (filters, sort, page), or to the plain list."""
    back = request.POST.get("next", "")
    if back.startswith("/guests/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return reverse("guests:list")


@require_POST
def guest_bulk(request):
    """Start, shut down, force off or delete the selected guests: one perform per guest, each
    checked by the policy on its own; deleting first shows the names and asks again."""
    visible = Guest.objects.restrict(request.user, "view").present().select_related("host")
    form = BulkForm(request.POST, guests=visible)
    if not form.is_valid():
        messages.error(request, form_problems(form))
        return redirect(_list_url(request))
    data = form.cleaned_data
    action, guests = data["action"], sorted(data["guests"], key=lambda guest: (guest.name, guest.pk))
    if action == "delete" and not data["confirmed"]:
        context = {"guests": guests, "next": _list_url(request), "remove_volumes": data["remove_volumes"]}
        return render(request, "guests/guest_bulk_delete.html", context)
    params = actions.Deletion(remove_volumes=data["remove_volumes"]) if action == "delete" else None
    queued, refused = [], []
    for guest in guests:
        if not policy.can(request.user, action, guest):
            role = roles.ROLE_LABELS[roles.GUEST_ACTIONS[action]]
            refused.append(_("%(name)s (you need the %(role)s role)") % {"name": guest.name, "role": role})
            continue
        try:
            perform(f"guest.{action}", actor=request.user, target=guest, params=params)
        except ValidationError as exc:
            refused.append(f"{guest.name} ({' '.join(exc.messages)})")
        else:
            queued.append(guest)
    done = BULK_QUEUED[action] % {"n": len(queued)} if queued else ""
    if refused:
        words = {"n": len(refused), "guests": ", ".join(refused)}
        if done:
            text = _("%(queued)s; %(refused)s") % {
                "queued": done,
                "refused": ngettext("refused for %(n)s: %(guests)s", "refused for %(n)s: %(guests)s", len(refused))
                % words,
            }
        else:
            text = ngettext("Refused for %(n)s: %(guests)s", "Refused for %(n)s: %(guests)s", len(refused)) % words
    else:
        text = done
    (messages.info if not refused else messages.warning if queued else messages.error)(request, text)
    return redirect(_list_url(request))


BULK_QUEUED = {
    "start": ngettext_lazy("Queued start for %(n)s guest", "Queued start for %(n)s guests", "n"),
    "shutdown": ngettext_lazy("Queued shut down for %(n)s guest", "Queued shut down for %(n)s guests", "n"),
    "destroy": ngettext_lazy("Queued force off for %(n)s guest", "Queued force off for %(n)s guests", "n"),
    "delete": ngettext_lazy("Queued delete for %(n)s guest", "Queued delete for %(n)s guests", "n"),
}
