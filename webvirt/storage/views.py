"""Admin pages for pools and volumes. They read the inventory; every change is an Operation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webvirt.core import flash
from webvirt.core.actions import perform
from webvirt.core.definitions import definition_page
from webvirt.core.forms import form_problems
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.core.streaming import file_response
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hypervisor import HypervisorError
from webvirt.hypervisor.storage import download_volume

from . import actions, sharing, uploads
from .forms import CloneForm, PoolForm, ResizeForm, UploadForm, VolumeForm
from .models import Pool, Volume


def _host(request, host_id):
    return get_for_user_or_404(
        Host.objects.all(), request.user, host_id, view_action="host.view", action="storage.manage"
    )


def _pool(request, host_id, pool_id):
    return get_object_or_404(Pool.objects.select_related("host"), pk=pool_id, host=_host(request, host_id))


def _volume(request, host_id, pool_id, volume_id):
    return get_object_or_404(
        Volume.objects.select_related("pool__host"), pk=volume_id, pool=_pool(request, host_id, pool_id)
    )


def volume_download(request, host_id, pool_id, volume_id):
    """A volume's file as it is on the host (admins), streamed through libvirt: never staged."""
    volume = _volume(request, host_id, pool_id, volume_id)
    try:
        chunks = download_volume(connection_spec(volume.pool.host), volume.pool.uuid, volume.name)
    except HypervisorError as exc:
        messages.error(request, str(exc))
        return redirect(volume.pool.get_absolute_url())
    return file_response(chunks, volume.name)


def _queued(request, operation):
    flash.queued(request, operation)


def pool_list(request, host_id):
    host = _host(request, host_id)
    form = PoolForm(request.POST or None, host=host)
    if request.method == "POST" and form.is_valid():
        _queued(request, perform("pool.create", actor=request.user, target=host, params=form.params()))
        return redirect("storage:pools", host_id=host.pk)
    context = {
        "host": host,
        "pools": host.pools.prefetch_related("teams"),
        "form": form,
        "operations": host.operations.filter(kind__startswith="pool.").select_related("actor")[:10],
    }
    return render(request, "storage/pool_list.html", context)


@require_POST
def pool_action(request, host_id, pool_id, action):
    pool = _pool(request, host_id, pool_id)
    if action not in actions.POOL_ACTIONS:
        messages.error(request, _("Unknown pool action %(action)r.") % {"action": action})
        return redirect("storage:pools", host_id=pool.host_id)
    try:
        _queued(request, perform(f"pool.{action}", actor=request.user, target=pool))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if action == "find-shared":  # its outcome shows on the pool's page
        return redirect(pool)
    return redirect("storage:pools", host_id=pool.host_id)


def pool_xml(request, host_id, pool_id):
    pool = _pool(request, host_id, pool_id)
    return definition_page(request, kind="pool", target=pool, back=pool.get_absolute_url())


def pool_detail(request, host_id, pool_id):
    pool = _pool(request, host_id, pool_id)
    forms = {
        "volume_form": VolumeForm(pool=pool, prefix="new"),
        "upload_form": UploadForm(pool=pool, prefix="upload"),
    }
    if request.method == "POST" and "new-name" in request.POST:
        forms["volume_form"] = form = VolumeForm(request.POST, pool=pool, prefix="new")
        if form.is_valid():
            try:
                operation = perform("volume.create", actor=request.user, target=pool, params=form.params())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                _queued(request, operation)
                return redirect(pool)
    elif request.method == "POST":  # the upload form, with or without its file
        forms["upload_form"] = form = UploadForm(request.POST, request.FILES, pool=pool, prefix="upload")
        if form.is_valid():
            staged = uploads.stage(form.cleaned_data["file"])
            try:
                operation = perform("volume.upload", actor=request.user, target=pool, params=form.params(staged))
            except ValidationError as exc:
                staged.unlink(missing_ok=True)  # refused: nothing is left behind
                form.add_error(None, exc)
            else:
                _queued(request, operation)
                return redirect(pool)
    context = {
        "pool": pool,
        "host": pool.host,
        "volumes": pool.volumes.prefetch_related("teams"),
        "shared_with": list(sharing.shared_with(pool)),
        "may_probe": sharing.may_probe(pool),
        "operations": pool.host.operations.filter(kind__startswith="volume.", params__target__pool_uuid=pool.uuid)[:15],
        **forms,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "storage/pool_detail.html", context, status=status)


@require_POST
def volume_action(request, host_id, pool_id, volume_id, action):
    volume = _volume(request, host_id, pool_id, volume_id)
    try:
        operation = _queue_volume_action(request, volume, action)
    except ValidationError as exc:
        text = " ".join(exc.messages)
        if not text.startswith(volume.name):
            text = _("%(volume)s: %(problem)s") % {"volume": volume.name, "problem": text}
        messages.error(request, text)
    else:
        _queued(request, operation)
    return redirect(volume.pool)


def _queue_volume_action(request, volume, action):
    """The queued Operation; bad input and refusals raise ValidationError."""
    if action == "delete":
        return perform("volume.delete", actor=request.user, target=volume)
    form_class = {"resize": ResizeForm, "clone": CloneForm}.get(action)
    if form_class is None:
        raise ValidationError(_("Unknown volume action %(action)r.") % {"action": action})
    form = form_class(request.POST, volume=volume)
    if not form.is_valid():
        raise ValidationError(form_problems(form))
    return perform(f"volume.{action}", actor=request.user, target=volume, params=form.params())
