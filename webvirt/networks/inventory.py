from dataclasses import asdict

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from webvirt.core import events
from webvirt.hosts.connections import connection_spec
from webvirt.hypervisor.networks import list_networks

from .models import Network


@transaction.atomic
def apply_networks(host, networks):
    """Networks as the host reports them. One it no longer lists is marked gone, not deleted, so
    who it was published to is kept if it comes back with the same UUID."""
    listed = [facts.uuid for facts in networks]
    vanished = Network.objects.filter(host=host).present().exclude(uuid__in=listed)
    changed = bool(vanished.update(gone_at=timezone.now(), active=False, leases=[]))
    existing = {network.uuid: network for network in Network.objects.filter(host=host, uuid__in=listed)}
    for facts in networks:
        values = asdict(facts) | {"gone_at": None}
        network = existing.get(values.pop("uuid"))
        if network is None or any(getattr(network, key) != value for key, value in values.items()):
            Network.objects.update_or_create(host=host, uuid=facts.uuid, defaults=values)
            changed = True
    Network.objects.filter(host=host, uuid__in=listed).update(synced_at=timezone.now())
    if changed:  # the host's network pages re-read what they show
        _changed(host)


def _changed(host):
    events.publish("inventory.changed", groups=[events.host_group(host.pk)], host_id=host.pk, what="networks")


def forget_network(host, uuid):
    """Remove a network's row: for networks removed through webvirt."""
    Network.objects.filter(host=host, uuid=uuid).delete()
    _changed(host)


def refresh_networks(host):
    """Re-read the host's virtual networks (after an action on one)."""
    apply_networks(host, list_networks(connection_spec(host)))


def apply_listing(host, networks):
    apply_networks(host, networks)
    return ngettext("%(count)d network", "%(count)d networks", len(networks)) % {"count": len(networks)}
