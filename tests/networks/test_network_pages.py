"""Virtual networks: inventory, the form's refusals, and Operations on the test driver."""

import pytest
from django.urls import reverse

from webvirt.core.models import Operation


def test_sync_reads_networks(storage_host):
    network = storage_host.networks.get()
    assert (network.name, network.mode, network.active, network.ipv4_cidr) == ("lan", "nat", True, "10.9.0.1/24")
    assert (network.dhcp_start, network.dhcp_end, network.bridge) == ("10.9.0.10", "10.9.0.99", "virbr5")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "lan", "mode": "nat", "ipv4_cidr": "10.10.0.1/24"}, "name", "already has a network named lan"),
        ({"name": "n1", "mode": "nat", "ipv4_cidr": "10.10.0.1"}, "ipv4_cidr", "prefix from /8 to /30"),
        ({"name": "n1", "mode": "nat", "ipv4_cidr": "not-an-ip/24"}, "ipv4_cidr", "with a prefix"),
        ({"name": "n1", "mode": "nat", "ipv4_cidr": "10.9.0.254/16"}, "ipv4_cidr", "overlaps network lan"),
        ({"name": "n1", "mode": "nat", "ipv4_cidr": "10.10.0.0/24"}, "ipv4_cidr", "host address inside"),
        (
            {
                "name": "n1",
                "mode": "nat",
                "ipv4_cidr": "10.10.0.1/24",
                "dhcp_start": "10.11.0.2",
                "dhcp_end": "10.10.0.9",
            },
            "dhcp_start",
            "upwards inside 10.10.0.0/24",
        ),
        (
            {
                "name": "n1",
                "mode": "nat",
                "ipv4_cidr": "10.10.0.5/24",
                "dhcp_start": "10.10.0.2",
                "dhcp_end": "10.10.0.9",
            },
            "dhcp_start",
            "must not include the host's own address",
        ),
        (
            {"name": "n1", "mode": "nat", "ipv4_cidr": "10.10.0.1/24", "dhcp_start": "10.10.0.2"},
            "dhcp_end",
            "both ends",
        ),
        ({"name": "n1", "mode": "bridge", "bridge": "br0; rm -rf /"}, "bridge", "Name the host bridge"),
        ({"name": "n 1", "mode": "isolated", "ipv4_cidr": "10.10.0.1/24"}, "name", "no spaces"),
    ],
)
def test_bad_networks_are_refused_with_a_reason(admin_client, storage_host, data, field, message):
    response = admin_client.post(reverse("networks:list", args=[storage_host.pk]), data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Operation.objects.exists()


def test_network_create_and_actions(admin_client, storage_host, django_capture_on_commit_callbacks):
    url = reverse("networks:list", args=[storage_host.pk])
    data = {"name": "lab", "mode": "isolated", "ipv4_cidr": "10.77.0.1/24", "dhcp_start": "10.77.0.10"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data | {"dhcp_end": "10.77.0.50", "autostart": "on"})
    assert response.status_code == 302
    assert Operation.objects.get(kind="network.create").status == "succeeded"
    network = storage_host.networks.get(name="lab")
    assert (network.mode, network.active, network.autostart, network.ipv4_cidr) == (
        "isolated",
        True,
        True,
        "10.77.0.1/24",
    )
    for action, expected in (("stop", False), ("start", True)):
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("networks:action", args=[storage_host.pk, network.pk, action]))
        network.refresh_from_db()
        assert network.active is expected
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("networks:action", args=[storage_host.pk, network.pk, "delete"]))
    assert not storage_host.networks.filter(name="lab").exists()
    assert "Remove network" in admin_client.get(url).content.decode()


def test_outsiders_see_no_networks(outsider_client, storage_host):
    network = storage_host.networks.get()
    assert outsider_client.get(reverse("networks:list", args=[storage_host.pk])).status_code == 404
    assert outsider_client.get(network.get_absolute_url()).status_code == 404
    url = reverse("networks:action", args=[storage_host.pk, network.pk, "stop"])
    assert outsider_client.post(url).status_code == 404
