from dataclasses import asdict

from django.db import transaction

from .models import Network


@transaction.atomic
def apply_networks(host, networks):
    """Networks as the host reports them; ones it no longer has are removed."""
    Network.objects.filter(host=host).exclude(uuid__in=[facts.uuid for facts in networks]).delete()
    for facts in networks:
        values = asdict(facts)
        Network.objects.update_or_create(host=host, uuid=values.pop("uuid"), defaults=values)
