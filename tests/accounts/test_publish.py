"""Publishing: admins open hosts, pools, volumes, networks and flavors; the form returns only to our pages."""

import pytest
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.accounts.models import PUBLISHABLE, Team
from webvirt.core import policy
from webvirt.guests.models import Flavor


@pytest.fixture
def objects(storage_host, pool):
    flavor = Flavor.objects.create(name="small", vcpus=1, memory_mib=256, disk_gib=1)
    return {
        "host": (storage_host, storage_host.get_absolute_url()),
        "pool": (pool, pool.get_absolute_url()),
        "volume": (pool.volumes.get(), pool.get_absolute_url()),
        "network": (storage_host.networks.get(), storage_host.networks.get().get_absolute_url()),
        "flavor": (flavor, reverse("guests:flavors")),
    }


def test_every_kind_is_guarded_by_an_action_the_policy_knows():
    assert set(PUBLISHABLE) == {"host", "pool", "volume", "network", "flavor"}
    assert all(action in policy.ADMIN_ACTIONS for _, action in PUBLISHABLE.values())


@pytest.mark.parametrize("kind", sorted(PUBLISHABLE))
def test_admins_publish_and_come_back_to_a_page_of_ours(admin_client, objects, kind):
    obj, page = objects[kind]
    team = Team.objects.create(name="devs")
    url = reverse("accounts:publish", args=[kind, obj.pk])
    response = admin_client.post(url, {"teams": [team.pk], "next": "/guests/?q=a"})
    assert response.url == "/guests/?q=a"
    obj.refresh_from_db()
    assert list(obj.teams.all()) == [team] and not obj.public
    for elsewhere in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "abc"):
        assert admin_client.post(url, {"public": "on", "next": elsewhere}).url == page


@pytest.mark.parametrize("kind", sorted(PUBLISHABLE))
def test_users_may_not_publish(client, objects, kind):
    obj, _ = objects[kind]
    client.force_login(UserFactory(username="dev"))
    response = client.post(reverse("accounts:publish", args=[kind, obj.pk]), {"public": "on"})
    assert response.status_code == 403 and "Only admins may do this." in response.content.decode()
    obj.refresh_from_db()
    assert not obj.public


def test_an_unknown_kind_or_bad_teams_change_nothing(admin_client, storage_host):
    assert admin_client.post(reverse("accounts:publish", args=["guest", storage_host.pk])).status_code == 404
    url = reverse("accounts:publish", args=["host", storage_host.pk])
    response = admin_client.post(url, {"public": "on", "teams": ["99999999999999999999"]}, follow=True)
    assert "is unchanged" in response.content.decode()
    storage_host.refresh_from_db()
    assert not storage_host.public
