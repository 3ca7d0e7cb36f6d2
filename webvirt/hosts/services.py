"""Writes to hosts: each checks the policy and enqueues what needs libvirt as an Operation."""

from django.db import transaction

from webvirt import hypervisor
from webvirt.core import audit, operations, policy


def host_resync(*, host, actor):
    policy.require(actor, "host.manage", host)
    return operations.enqueue(kind="host.resync", actor=actor, host=host, target=host.name)


@transaction.atomic
def host_save(*, form, actor):
    """Save a validated HostForm and refresh the host's inventory."""
    policy.require(actor, "host.manage", form.instance)
    host = form.save()
    audit.record(actor, "host.save", host.name, uri=host.uri, changed=sorted(form.changed_data))
    hypervisor.forget_connection(host.connection_spec())
    host_resync(host=host, actor=actor)
    return host


@transaction.atomic
def host_delete(*, host, actor):
    """Remove the host from webvirt (its guests keep running; their rows go, their operations stay)."""
    policy.require(actor, "host.manage", host)
    audit.record(actor, "host.delete", host.name, uri=host.uri)
    host.delete()
