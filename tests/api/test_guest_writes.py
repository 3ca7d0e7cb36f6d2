"""Writing through the API: the pages' forms validate, the same service acts, slow actions answer
202 with their Operation; every refusal in the one error shape. On the test driver, tasks eager."""

import pytest
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.accounts.models import Quota
from webvirt.core.models import AuditEvent, Operation
from webvirt.guests.models import Grant, Guest


@pytest.fixture
def self_service(storage_host):
    """A user to whom the storage host, its pool, ISO and network are open, with room for one guest."""
    user = UserFactory(username="sam")
    pool = storage_host.pools.get()
    for obj in (storage_host, pool, pool.volumes.get(), storage_host.networks.get()):
        obj.public = True
        obj.save()
    Quota.objects.create(user=user, max_guests=1, max_vcpus=2, max_memory_mib=512, max_disk_gib=10)
    return user


def new_guest(host, **changes):
    pool = host.pools.get()
    data = {
        "host": host.pk,
        "name": "api1",
        "vcpus": 1,
        "memory_mib": 128,
        "disk_gib": 2,
        "pool": pool.pk,
        "source": "iso",
        "iso": pool.volumes.get().pk,
        "network": host.networks.get().pk,
        "firmware": "bios",
        "start": True,
    }
    return data | changes


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Send a request and run the Operations it queues (Celery eager), then re-read the Operation."""

    def run(send, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            response = send(*args, format="json", **kwargs)
        return response

    return run


def test_a_guest_is_created_started_changed_shared_and_deleted(api, make_token, self_service, storage_host, run):
    _, key = make_token(self_service)
    client = api(key)
    response = run(client.post, reverse("api:guest-list"), new_guest(storage_host))
    assert response.status_code == 202, response.json()
    operation = Operation.objects.get(pk=response.json()["id"])
    assert response["Location"].endswith(reverse("api:operation-detail", args=[operation.pk]))
    assert operation.status == "succeeded", operation.message
    guest = Guest.objects.get(name="api1")
    assert guest.owner == self_service and guest.state == "running"
    assert client.get(response["Location"]).json()["status"] == "succeeded"

    url = reverse("api:guest-power", args=[guest.pk])
    assert run(client.post, url, {"action": "destroy"}).status_code == 202
    guest.refresh_from_db()
    assert guest.state == "shutoff"
    resized = run(client.post, reverse("api:guest-change-settings", args=[guest.pk]), {"name": "api1", "boot": "hd"})
    assert resized.status_code == 202 and Operation.objects.get(pk=resized.json()["id"]).status == "succeeded"

    friend = UserFactory(username="fran")
    granted = client.post(
        reverse("api:guest-grants", args=[guest.pk]), {"username": "fran", "role": "viewer"}, format="json"
    )
    assert granted.status_code == 201 and granted.json()["role"] == "viewer"
    assert [g["user"] for g in client.get(reverse("api:guest-grants", args=[guest.pk])).json()] == ["fran"]
    revoke = reverse("api:guest-revoke", args=[guest.pk, Grant.objects.get(user=friend).pk])
    assert client.delete(revoke).status_code == 204 and not Grant.objects.exists()

    deleted = run(client.delete, reverse("api:guest-detail", args=[guest.pk]) + "?remove_volumes=true")
    assert deleted.status_code == 202 and Operation.objects.get(pk=deleted.json()["id"]).status == "succeeded"
    guest.refresh_from_db()
    assert guest.is_gone
    assert AuditEvent.objects.filter(action="guest.delete", via="api", token__startswith="t0").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"vcpus": 0}, "vcpus", "greater than or equal to 1"),
        ({"pool": 999999}, "pool", "Select a valid choice"),
        ({"name": "bad name!"}, "name", "letters, digits"),
        ({"source": "iso", "iso": None}, "iso", "Choose the ISO image"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, make_token, self_service, storage_host, changes, field, message):
    _, key = make_token(self_service)
    response = api(key).post(reverse("api:guest-list"), new_guest(storage_host, **changes), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and message in " ".join(body["fields"][field])
    assert not Operation.objects.exists()


def test_over_quota_is_refused_with_its_own_code(api, make_token, self_service, storage_host):
    _, key = make_token(self_service)
    response = api(key).post(reverse("api:guest-list"), new_guest(storage_host, vcpus=3), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "quota_exceeded" and "vCPUs: limit 2" in response.json()["message"]


def test_hosts_not_open_to_the_user_are_not_found(api, make_token, storage_host):
    user = UserFactory(username="closed")
    _, key = make_token(user)
    response = api(key).post(reverse("api:guest-list"), new_guest(storage_host), format="json")
    assert response.status_code == 404
    bad = api(key).post(reverse("api:guest-list"), new_guest(storage_host) | {"host": "x"}, format="json")
    assert bad.status_code == 400 and "host" in bad.json()["fields"]


def test_roles_decide_what_a_token_may_do(api, make_token, test_host, run):
    guest = Guest.objects.get(host=test_host, name="beta")
    viewer, operator, outsider = (UserFactory(username=name) for name in ("vic", "otto", "olaf"))
    Grant.objects.create(guest=guest, user=viewer, role="viewer")
    Grant.objects.create(guest=guest, user=operator, role="operator")
    power = reverse("api:guest-power", args=[guest.pk])
    answers = {}
    for user in (viewer, operator, outsider):
        _, key = make_token(user)
        answers[user.username] = run(api(key).post, power, {"action": "start"}).status_code
    assert answers == {"vic": 403, "otto": 202, "olaf": 404}
    _, key = make_token(operator)
    body = api(key).post(
        reverse("api:guest-change-resize", args=[guest.pk]), {"vcpus": 2, "memory_mib": 256}, format="json"
    )
    assert body.status_code == 403 and body.json() == {
        "code": "permission_denied",
        "message": "This needs the editor role on beta.",
        "fields": {},
    }
    assert api(key).post(power, {"action": "explode"}, format="json").json()["fields"]["action"]


def test_a_read_only_token_cannot_act(api, make_token, test_host):
    guest = Guest.objects.get(host=test_host, name="beta")
    owner = UserFactory(username="owen")
    guest.owner = owner
    guest.save()
    _, key = make_token(owner, scope="read")
    response = api(key).post(reverse("api:guest-power", args=[guest.pk]), {"action": "start"}, format="json")
    assert response.status_code == 403 and response.json()["message"] == "This token is read-only."
    assert not Operation.objects.exists()
