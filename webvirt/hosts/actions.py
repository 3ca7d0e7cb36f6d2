"""Host actions (see core/actions.py): add or change a host, remove it from webvirt, refresh it,
put it in maintenance and take it out."""

from dataclasses import dataclass, fields

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt import hypervisor
from webvirt.accounts.actions import publication
from webvirt.core import events, policy
from webvirt.core.actions import Action, NoParams, declare, perform
from webvirt.hypervisor import HypervisorError

from .connections import connection_spec
from .models import SECRET_FIELDS, Host
from .sync import sync_host


@dataclass(frozen=True)
class HostSettings:
    """How to reach a host; secrets left empty keep the ones the host already has."""

    name: str
    transport: str
    hostname: str = ""
    port: int | None = None
    username: str = ""
    test_path: str = ""
    ssh_known_hosts: str = ""
    ssh_verify_host_key: bool = True
    tls_ca_cert: str = ""
    tls_client_cert: str = ""
    vnc_listen: str = "127.0.0.1"
    console_address: str = ""
    worker_queue: str = ""
    enabled: bool = True
    cpu_allocation_ratio: float = 4.0
    memory_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    lease_default_days: int | None = None
    lease_max_days: int | None = None
    lease_expiry: str = "keep"
    password: str = ""
    ssh_private_key: str = ""
    tls_client_key: str = ""


def _name_free(actor, host, params):
    if Host.objects.filter(name=params.name).exclude(pk=host.pk if host else None).exists():
        raise ValidationError(_("There is already a host named %(name)s.") % {"name": params.name})


def _save_host(actor, host, params):
    """Add (no target) or change a host, then queue a refresh of its inventory."""
    host = host or Host()
    secrets = host.get_secrets() if host.credentials else {}
    for field in fields(params):
        if field.name not in SECRET_FIELDS:
            setattr(host, field.name, getattr(params, field.name))
    host.set_secrets({name: getattr(params, name) or secrets.get(name, "") for name in SECRET_FIELDS})
    if host.pk:  # workers connect afresh with the new settings
        hypervisor.forget_connection(connection_spec(Host.objects.get(pk=host.pk)))
    host.save()
    perform("host.resync", actor=actor, target=host)
    return host


def _delete_host(actor, host, params):
    """Webvirt forgets the host; its guests keep running, their rows go, their Operations stay."""
    host.delete()


@dataclass(frozen=True)
class Maintenance:
    reason: str = ""  # shown on the host's page and to whoever finds it closed to new guests


def _not_in_maintenance(actor, host, params):
    if host.in_maintenance:
        raise ValidationError(_("%(host)s is already in maintenance.") % {"host": host.name})


def _in_maintenance(actor, host, params):
    if not host.in_maintenance:
        raise ValidationError(_("%(host)s is not in maintenance.") % {"host": host.name})


def _enter_maintenance(actor, host, params):
    """From now on no new guest is placed here; guests on it keep running."""
    return _set_maintenance(host, timezone.now(), params.reason)


def _leave_maintenance(actor, host, params):
    return _set_maintenance(host, None, "")


def _set_maintenance(host, since, reason):
    host.maintenance_since, host.maintenance_reason = since, reason
    host.save(update_fields=["maintenance_since", "maintenance_reason"])
    # Host lists and the sidebar tree show it too, not only the host's own page.
    events.publish("host.changed", groups=[events.host_group(host.pk), events.HOST_LISTS], host_id=host.pk)
    return host


def _resync(operation, params):
    if operation.host is None:
        raise HypervisorError(_("The host was removed before the refresh ran."))
    return sync_host(operation.host)


def _open_hosts(user):
    return policy.published_to(Host.objects.filter(enabled=True), user)


def _may_create_guests_on(user, host):
    hosts = _open_hosts(user)
    return hosts.filter(pk=host.pk).exists() if host is not None else hosts.exists()


# Creating guests is for admins, and for users on the enabled hosts admins opened to them.
policy.register(
    "guest.create",
    policy.Rule(
        allows=_may_create_guests_on,
        restrict=lambda hosts, user: policy.published_to(hosts.filter(enabled=True), user),
        refusal=lambda host: _("No host is open to you for new guests yet; an admin can open one."),
    ),
)
HOST_SAVE = declare(
    Action(
        "host.save",
        gettext_lazy("Save host"),
        "host.manage",
        params=HostSettings,
        check=_name_free,
        apply=_save_host,
        describe=lambda host, params: params.name,
    )
)
HOST_DELETE = declare(
    Action("host.delete", gettext_lazy("Remove host"), "host.manage", params=NoParams, apply=_delete_host)
)
HOST_RESYNC = declare(
    Action("host.resync", gettext_lazy("Refresh inventory"), "host.manage", params=NoParams, run=_resync, timeout=600)
)
HOST_MAINTENANCE_ENTER = declare(
    Action(
        "host.maintenance-enter",
        gettext_lazy("Enter maintenance"),
        "host.manage",
        params=Maintenance,
        check=_not_in_maintenance,
        apply=_enter_maintenance,
    )
)
HOST_MAINTENANCE_LEAVE = declare(
    Action(
        "host.maintenance-leave",
        gettext_lazy("Leave maintenance"),
        "host.manage",
        params=NoParams,
        check=_in_maintenance,
        apply=_leave_maintenance,
    )
)
HOST_PUBLISH = publication("host", "host.manage")
