"""Admin writes through the API (hosts, pools, volumes, uploads, networks, users, teams, quotas,
flavors, publication) and the console ticket endpoint: the same forms, actions and refusals as
the pages. On the test driver, tasks eager."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import HOST_WITH_STORAGE, UserFactory
from webvirt.accounts.models import Profile, Quota, Team
from webvirt.core.models import Operation
from webvirt.guests.models import Flavor, Guest
from webvirt.hosts.models import Host


@pytest.fixture
def admin_api(api, make_token, admin):
    _, key = make_token(admin)
    return api(key)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def run(send, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return send(*args, **kwargs)

    return run


def finished(response):
    assert response.status_code == 202, response.json()
    return Operation.objects.get(pk=response.json()["id"])


def test_hosts_are_added_changed_refreshed_and_removed(admin_api, run, tmp_path):
    path = tmp_path / "h.xml"
    path.write_text(HOST_WITH_STORAGE.format(capacity=2**40))
    data = {"name": "lab", "transport": "test", "test_path": str(path), "enabled": True, "vnc_listen": "127.0.0.1"}
    created = run(admin_api.post, reverse("api:host-list"), data, format="json")
    assert created.status_code == 201 and created.json()["uri"] == f"test://{path}"
    host = Host.objects.get(name="lab")
    assert Operation.objects.get(kind="host.resync", host=host).status == "succeeded"
    bad = admin_api.post(reverse("api:host-list"), data | {"name": "bad\u202ename"}, format="json")
    assert bad.status_code == 400 and "name" in bad.json()["fields"]
    assert finished(run(admin_api.post, reverse("api:host-resync", args=[host.pk]))).status == "succeeded"
    renamed = run(admin_api.put, reverse("api:host-detail", args=[host.pk]), data | {"name": "lab2"}, format="json")
    assert renamed.json()["name"] == "lab2"
    assert admin_api.delete(reverse("api:host-detail", args=[host.pk])).status_code == 204
    assert not Host.objects.exists()


def test_pools_volumes_and_uploads(admin_api, run, pool):
    created = run(
        admin_api.post,
        reverse("api:volume-list"),
        {"pool": pool.pk, "name": "d1.qcow2", "format": "qcow2", "size_gib": "1"},
        format="json",
    )
    assert finished(created).status == "succeeded"
    volume = pool.volumes.get(name="d1.qcow2")
    copied = run(admin_api.post, reverse("api:volume-clone", args=[volume.pk]), {"new_name": "d2.qcow2"}, format="json")
    assert finished(copied).status == "succeeded" and pool.volumes.filter(name="d2.qcow2").exists()
    content = b"\0" * 4096
    image = SimpleUploadedFile("disk.img", content)
    uploaded = run(
        admin_api.post,
        reverse("api:pool-upload", args=[pool.pk]),
        {"file": image, "name": "up.img"},
        format="multipart",
    )
    operation = finished(uploaded)  # queued; the test driver cannot take uploads (tests/integration/test_api.py can)
    assert (operation.kind, operation.params["name"], operation.params["size"]) == ("volume.upload", "up.img", 4096)
    stopped = run(admin_api.post, reverse("api:pool-act", args=[pool.pk]), {"action": "stop"}, format="json")
    assert finished(stopped).status == "succeeded"
    refused = admin_api.post(reverse("api:volume-resize", args=[volume.pk]), {"size_gib": "3"}, format="json")
    assert refused.status_code == 400 and refused.json()["message"] == "Pool images is inactive: start it first."
    no_file = admin_api.post(reverse("api:pool-upload", args=[pool.pk]), {"name": "x.img"}, format="multipart")
    assert no_file.status_code == 400 and no_file.json()["fields"]["file"] == ["Choose the file to upload."]


def test_networks_and_publication(admin_api, run, storage_host):
    data = {"host": storage_host.pk, "name": "lab2", "mode": "isolated", "ipv4_cidr": "10.77.0.1/24", "dhcp": False}
    assert finished(run(admin_api.post, reverse("api:network-list"), data, format="json")).status == "succeeded"
    network = storage_host.networks.get(name="lab2")
    team = Team.objects.create(name="devs")
    published = admin_api.post(
        reverse("api:network-publish", args=[network.pk]), {"public": False, "teams": [team.pk]}, format="json"
    )
    assert published.status_code == 200 and list(network.teams.all()) == [team]
    acted = run(admin_api.post, reverse("api:network-act", args=[network.pk]), {"action": "stop"}, format="json")
    assert finished(acted).status == "succeeded"
    assert (
        admin_api.post(reverse("api:network-act", args=[network.pk]), {"action": "explode"}, format="json").status_code
        == 400
    )


def test_users_teams_quotas_and_flavors(admin_api, db):
    created = admin_api.post(
        reverse("api:user-list"),
        {"username": "nina", "password1": "a-Long-new-passw0rd", "password2": "a-Long-new-passw0rd"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    nina = created.json()["id"]
    weak = admin_api.post(
        reverse("api:user-list"), {"username": "x", "password1": "123", "password2": "123"}, format="json"
    )
    assert weak.status_code == 400 and "password2" in weak.json()["fields"]
    quota = admin_api.put(
        reverse("api:user-quota", args=[nina]),
        {"max_guests": 3, "max_vcpus": 4, "max_memory_mib": 2048, "max_disk_gib": 20},
        format="json",
    )
    assert quota.json()["limits"] == {"guests": 3, "vcpus": 4, "memory_mib": 2048, "disk_gib": 20}
    assert Quota.objects.get(user_id=nina).max_vcpus == 4
    assert admin_api.post(reverse("api:user-disable", args=[nina])).json()["is_active"] is False
    assert len(admin_api.post(reverse("api:user-reset-password", args=[nina])).json()["password"]) >= 12
    team = admin_api.post(reverse("api:team-list"), {"name": "ops", "members": [nina]}, format="json")
    assert team.status_code == 201 and team.json()["members"] == ["nina"]
    flavor = admin_api.post(
        reverse("api:flavor-list"), {"name": "small", "vcpus": 1, "memory_mib": 256, "disk_gib": 2}, format="json"
    )
    assert flavor.status_code == 201
    assert admin_api.delete(reverse("api:flavor-detail", args=[flavor.json()["id"]])).status_code == 204
    assert not Flavor.objects.exists()


def test_admin_writes_are_refused_to_users(api, make_token, storage_host, pool):
    user = UserFactory(username="plain")
    _, key = make_token(user)
    client = api(key)
    storage_host.public = True
    storage_host.save()
    for method, url, data in [
        ("post", reverse("api:host-list"), {"name": "x", "transport": "local"}),
        ("post", reverse("api:host-resync", args=[storage_host.pk]), {}),
        ("post", reverse("api:user-list"), {"username": "y"}),
        ("post", reverse("api:team-list"), {"name": "z"}),
        ("post", reverse("api:flavor-list"), {"name": "f", "vcpus": 1, "memory_mib": 64, "disk_gib": 1}),
        ("post", reverse("api:host-publish", args=[storage_host.pk]), {"public": True}),
    ]:
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 403, (url, response.status_code)
    # A pool not open to the user is not there at all.
    assert client.post(reverse("api:pool-act", args=[pool.pk]), {"action": "stop"}, format="json").status_code == 404
    assert not Operation.objects.exists()


def test_console_tickets_through_the_api(api, make_token, console_guest):
    owner, outsider = UserFactory(username="cora"), UserFactory(username="otis")
    console_guest.owner = owner
    console_guest.vnc_port = 5900
    console_guest.save()
    _, key = make_token(owner)
    ticket = api(key).post(reverse("api:guest-console", args=[console_guest.pk, "vnc"])).json()
    assert ticket["url"] == f"ws://testserver/ws/console/{console_guest.pk}/"
    assert ticket["protocols"][0] == "binary" and ticket["protocols"][1].startswith("webvirt.ticket.")
    Guest.objects.filter(pk=console_guest.pk).update(state="shutoff")
    refused = api(key).post(reverse("api:guest-console", args=[console_guest.pk, "serial"]))
    assert refused.status_code == 400 and refused.json()["message"] == "The guest is not running."
    _, other = make_token(outsider)
    assert api(other).post(reverse("api:guest-console", args=[console_guest.pk, "vnc"])).status_code == 404


@pytest.mark.parametrize("kind", ["ldap", "oidc", "local, admins only"])
def test_no_password_to_reset_for_users_who_sign_in_elsewhere(admin_api, settings, kind):
    settings.WEBVIRT_LOCAL_PASSWORDS = "admins" if kind.startswith("local") else "all"
    nina = UserFactory(username="nina")
    if not kind.startswith("local"):
        Profile.objects.create(user=nina, directory=kind)
    before = nina.password
    refused = admin_api.post(reverse("api:user-reset-password", args=[nina.pk]))
    assert refused.status_code == 400, refused.json()
    expected = "Only admins sign in here" if kind.startswith("local") else "nina signs in through"
    assert refused.json()["message"].startswith(expected)
    nina.refresh_from_db()
    assert nina.password == before
