from django.urls import reverse

from webvirt.core.models import Operation


def test_operations_page_lists_and_filters(admin_client, admin, test_host):
    Operation.objects.create(kind="guest.start", actor=admin, host=test_host, target="alpha on testhost")
    Operation.objects.create(
        kind="guest.reboot", actor=admin, host=test_host, target="beta on testhost", status="failed", message="nope"
    )
    page = admin_client.get(reverse("core:operations")).content.decode()
    assert "alpha on testhost" in page and "beta on testhost" in page and "Reboot" in page
    page = admin_client.get(reverse("core:operations"), {"status": "failed"}).content.decode()
    assert "beta on testhost" in page and "alpha on testhost" not in page


def test_users_see_only_their_own_operations(outsider_client, outsider, admin, test_host):
    Operation.objects.create(kind="guest.start", actor=admin, host=test_host, target="admins-op")
    Operation.objects.create(kind="guest.start", actor=outsider, host=test_host, target="own-op")
    page = outsider_client.get(reverse("core:operations")).content.decode()
    assert "own-op" in page and "admins-op" not in page


def test_users_see_the_history_of_guests_they_may_see(client, admin, test_host):
    from tests.conftest import UserFactory
    from webvirt.guests.models import Grant, Guest

    viewer = UserFactory(username="watcher")
    guest = Guest.objects.get(name="beta")
    Grant.objects.create(guest=guest, user=viewer, role="viewer")
    operation = Operation.objects.create(kind="guest.start", actor=admin, guest=guest, host=test_host, target="beta-op")
    Operation.objects.create(kind="guest.start", actor=admin, host=test_host, target="hidden-op")
    client.force_login(viewer)
    page = client.get(reverse("core:operations")).content.decode()
    assert "beta-op" in page and "hidden-op" not in page
    assert client.get(reverse("core:operation", args=[operation.pk])).status_code == 200
