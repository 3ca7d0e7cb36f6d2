"""The guest page's Backups tab, the restore page, downloads, the list of all your backups and
the admins' choice of backup pools. Reads rows; writes go through perform()."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webvirt.core import flash, policy
from webvirt.core.actions import perform
from webvirt.core.forms import form_problems
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.core.streaming import file_response
from webvirt.guests.models import Guest
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hypervisor import HypervisorError
from webvirt.hypervisor.storage import download_volume

from .actions import BackupRequest, running_backup
from .forms import BackupPoolForm, RestoreForm, ScheduleForm
from .models import Backup, BackupPool

TAB = "?tab=backups"


def tab_context(request, guest):
    """What the Backups tab shows: the guest's backups, its schedule and the forms to change it."""
    schedule = getattr(guest, "backup_schedule", None)
    initial = (
        {
            "enabled": schedule.enabled,
            "frequency": schedule.frequency,
            "weekday": schedule.weekday,
            "at": schedule.at,
            "keep_last": schedule.keep_last,
            "keep_daily": schedule.keep_daily,
            "keep_weekly": schedule.keep_weekly,
        }
        if schedule
        else None
    )
    return {
        "backups": guest.backups.all(),
        "running_backup": running_backup(guest),
        "schedule": schedule,
        "schedule_form": ScheduleForm(initial=initial, auto_id="id_schedule_%s"),
        "backup_pool": BackupPool.objects.select_related("pool").filter(host=guest.host).first(),
        "can_manage_backups": policy.can(request.user, "backup.manage", Backup(guest=guest, host=guest.host)),
    }


def _guest(request, pk):
    return get_for_user_or_404(
        Guest.objects.select_related("host"), request.user, pk, view_action="view", action="backup"
    )


def _backup(request, pk, action="backup.manage"):
    return get_for_user_or_404(
        Backup.objects.select_related("host", "guest"), request.user, pk, view_action="backup.view", action=action
    )


def _perform(request, name, target, params=None):
    try:
        operation = perform(name, actor=request.user, target=target, params=params)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return None
    flash.queued(request, operation)
    return operation


@require_POST
def backup_now(request, pk):
    guest = _guest(request, pk)
    _perform(request, "guest.backup", guest, BackupRequest())
    return redirect(guest.get_absolute_url() + TAB)


@require_POST
def backup_cancel(request, pk):
    guest = _guest(request, pk)
    try:
        perform("guest.backup-cancel", actor=request.user, target=guest)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(guest.get_absolute_url() + TAB)


@require_POST
def schedule_set(request, pk):
    guest = _guest(request, pk)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            perform("backup-schedule.set", actor=request.user, target=guest, params=form.params())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, form_problems(form))
    return redirect(guest.get_absolute_url() + TAB)


def restore(request, pk):
    """Restore to a new guest (name, pool) or over the existing one (shut off); GET shows the choice."""
    backup = _backup(request, pk)
    form = RestoreForm(request.POST or None, backup=backup, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            operation = perform("backup.restore", actor=request.user, target=backup, params=form.params())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            flash.queued(request, operation)
            return redirect(backup.get_absolute_url())
    return render(request, "backups/restore.html", {"backup": backup, "form": form}, status=400 if form.errors else 200)


@require_POST
def delete(request, pk):
    backup = _backup(request, pk)
    _perform(request, "backup.delete", backup)
    return redirect(backup.get_absolute_url())


def disk_download(backup, target):
    """One disk of a backup as its qcow2 file, streamed from its host through libvirt (never staged).
    An unknown disk is a 404; a volume the host no longer has raises HypervisorError."""
    entry = next((entry for entry in backup.volumes if entry["target"] == target), None)
    if entry is None or backup.status != Backup.Status.SUCCEEDED:
        raise Http404(_("This backup has no disk %(target)s.") % {"target": target})
    chunks = download_volume(connection_spec(backup.host), backup.pool_uuid, entry["name"])
    return file_response(chunks, f"{backup.guest_name}-{backup.pk}-{target}.qcow2")


def download(request, pk, target):
    backup = _backup(request, pk)
    try:
        return disk_download(backup, target)
    except HypervisorError as exc:
        messages.error(request, str(exc))
        return redirect(backup.get_absolute_url())


def backup_list(request):
    """Every backup you may see, those of deleted guests included."""
    backups = Backup.objects.restrict(request.user, "backup.view").select_related("host", "guest")
    return render(request, "backups/backup_list.html", {"backups": backups[:200]})


def backup_pools(request):
    """Admins choose each host's backup pool."""
    policy.require(request.user, "storage.manage")
    choices = {choice.host_id: choice.pool_id for choice in BackupPool.objects.all()}
    rows = [
        (host, BackupPoolForm(host=host, initial={"pool": choices.get(host.pk)}, auto_id=f"id_{host.pk}_%s"))
        for host in Host.objects.order_by("name")
    ]
    return render(request, "backups/backup_pools.html", {"rows": rows})


@require_POST
def backup_pool_set(request, host_id):
    policy.require(request.user, "storage.manage")
    host = get_object_or_404(Host, pk=host_id)
    form = BackupPoolForm(request.POST, host=host)
    if form.is_valid():
        pool = perform("backup-pool.set", actor=request.user, target=host, params=form.params())
        words = {"host": host.name, "pool": pool.pool.name if pool else ""}
        text = _("Backups of %(host)s now go to %(pool)s.") if pool else _("%(host)s has no backup pool now.")
        messages.success(request, text % words)
    else:
        messages.error(request, form_problems(form))
    return redirect("backups:pools")
