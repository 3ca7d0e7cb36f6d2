"""Leases on the test driver: terms from a host or a team, the lease a new guest gets, renewal and
its refusals, and beat's round at a clock of the test's choosing: warn (in the app and by mail),
shut down at the end, delete after the grace period where the terms say so, never twice."""

import datetime
import socket

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.conftest import UserFactory
from tests.guests.test_create import form_data
from webvirt.accounts.models import Team
from webvirt.core.actions import perform
from webvirt.core.lanes import run
from webvirt.core.models import AuditEvent, Operation
from webvirt.guests import leases
from webvirt.guests.models import Grant, Guest
from webvirt.lifecycle import tasks
from webvirt.lifecycle.actions import LeaseStep, Renewal

DAY = datetime.timedelta(days=1)


@pytest.fixture
def enforce(django_capture_on_commit_callbacks):
    """A round of beat's at `now`, its Operations run here as a worker would run them."""

    def enforce(now):
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.enforce(now)

    return enforce


@pytest.fixture
def owner(db):
    return UserFactory(username="olga", email="olga@example.com")


@pytest.fixture
def guest(test_host, owner):
    guest = test_host.guests.get(name="alpha")  # running on the test driver
    guest.owner = owner
    guest.save()
    return guest


def terms(holder, default=None, longest=None, expiry="keep"):
    holder.lease_default_days, holder.lease_max_days, holder.lease_expiry = default, longest, expiry
    holder.save()


def test_the_hosts_terms_apply_else_the_strictest_team_of_the_owner(test_host, owner):
    assert leases.terms_for(test_host, owner) is None
    loose, strict = Team.objects.create(name="loose"), Team.objects.create(name="strict")
    for team in (loose, strict):
        team.members.add(owner)
    terms(loose, 30, 90)
    terms(strict, 7, 14, "delete")
    found = leases.terms_for(test_host, owner)
    assert (found.default_days, found.max_days, found.expiry, found.source) == (7, 14, "delete", "team strict")
    terms(test_host, 3, 5)
    assert leases.terms_for(test_host, owner).source == "host testhost"


def test_a_new_guest_gets_the_default_lease_and_may_not_ask_past_the_longest(
    client, storage_host, django_capture_on_commit_callbacks
):
    user = UserFactory(username="nina")
    storage_host.public = True
    storage_host.save()
    pool = storage_host.pools.get()
    for published in (pool, *pool.volumes.all()):
        published.public = True
        published.save()
    terms(storage_host, 7, 30)
    client.force_login(user)
    url = f"{reverse('guests:create')}?host={storage_host.pk}"
    page = client.get(url).content.decode()
    assert "Under the terms of host store: 7 days if left empty, at most 30." in page
    response = client.post(url, form_data(storage_host, lease_days="31", start=None))
    assert response.status_code == 400
    assert "A lease may last at most 30 days under the terms of host store." in response.content.decode()
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, form_data(storage_host, start=None))
    operation = Operation.objects.get(kind="guest.create")
    assert operation.status == "succeeded", operation.message
    guest = Guest.objects.get(name="web1")
    assert before + 7 * DAY <= guest.expires_at <= timezone.now() + 7 * DAY


def test_the_owner_renews_up_to_the_longest_lease_and_nobody_else_may(guest, owner, admin):
    terms(guest.host, 7, 14)
    perform("guest.renew", actor=owner, target=guest, params=Renewal(days=14))
    assert abs(guest.expires_at - (timezone.now() + 14 * DAY)) < datetime.timedelta(minutes=1)
    with pytest.raises(ValidationError, match="at most 14 days"):
        perform("guest.renew", actor=owner, target=guest, params=Renewal(days=15))
    with pytest.raises(ValidationError, match="need a lease of at most 14 days"):
        perform("guest.renew", actor=owner, target=guest, params=Renewal(days=None))
    with pytest.raises(ValidationError, match="at least one day"):
        perform("guest.renew", actor=owner, target=guest, params=Renewal(days=0))
    editor = UserFactory(username="ed")
    Grant.objects.create(guest=guest, user=editor, role="editor")
    with pytest.raises(PermissionDenied, match="owner role"):
        perform("guest.renew", actor=editor, target=guest, params=Renewal(days=3))
    perform("guest.renew", actor=admin, target=guest, params=Renewal(days=365))  # admins may go past it
    assert guest.expires_at > timezone.now() + 300 * DAY
    assert AuditEvent.objects.filter(action="guest.renew").count() == 2


def test_the_renewal_form_refuses_bad_input_on_the_page(client, guest, owner):
    terms(guest.host, 7, 14)
    client.force_login(owner)
    url = reverse("lifecycle:renew", args=[guest.pk])
    for bad, says in (("99", "less than or equal to 14"), ("x", "Enter a whole number"), ("", "required")):
        page = client.post(url, {"days": bad}, follow=True).content.decode()
        assert says in page, bad
    page = client.post(url, {"days": "10"}, follow=True).content.decode()
    assert "The lease of alpha now ends on" in page
    guest.refresh_from_db()
    assert guest.expires_at > timezone.now() + 9 * DAY


def test_a_round_warns_then_shuts_down_then_keeps_a_guest_whose_terms_say_keep(guest, owner, settings, enforce):
    settings.EMAIL_HOST = "mail.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # Django's own outbox
    terms(guest.host, 7, 14, "keep")
    now = timezone.now()
    Guest.objects.filter(pk=guest.pk).update(expires_at=now + 2 * DAY)
    assert enforce(now - 3 * DAY) == {"warned": [], "ended": [], "deleted": []}  # not yet within 3 days
    assert enforce(now) == {"warned": [guest.pk], "ended": [], "deleted": []}
    assert enforce(now) == {"warned": [], "ended": [], "deleted": []}  # told once
    (message,) = mail.outbox
    assert message.to == ["olga@example.com"] and "alpha" in message.subject
    assert f"/guests/{guest.pk}/?tab=lease" in message.body
    assert AuditEvent.objects.get(action="guest.lease-warn").actor_name == ""  # the system
    assert enforce(now + 2 * DAY + DAY)["ended"] == [guest.pk]
    guest.refresh_from_db()
    operation = Operation.objects.get(kind="guest.lease-end")
    assert operation.status == "succeeded" and operation.actor is None, operation.message
    assert "Its lease ended on" in operation.message
    assert guest.state == "shutoff" and guest.lease_ended_at is not None
    assert enforce(now + 30 * DAY) == {"warned": [], "ended": [], "deleted": []}  # kept, shut down
    assert not guest.is_gone


def test_a_guest_whose_terms_say_delete_goes_after_the_grace_period(guest, owner, settings, enforce):
    settings.WEBVIRT_LEASE_GRACE_DAYS = 7
    terms(guest.host, 7, 14, "delete")
    now = timezone.now()
    Guest.objects.filter(pk=guest.pk).update(expires_at=now - DAY)
    enforce(now)
    assert enforce(now + 5 * DAY)["deleted"] == []  # 6 days after the end: within the grace period
    assert enforce(now + 6 * DAY + datetime.timedelta(minutes=1))["deleted"] == [guest.pk]
    guest.refresh_from_db()
    operation = Operation.objects.get(kind="guest.lease-delete")
    assert operation.status == "succeeded", operation.message
    assert guest.is_gone and "the grace period passed" in operation.message


def test_a_guest_whose_lease_ended_starts_only_once_renewed(guest, owner):
    Guest.objects.filter(pk=guest.pk).update(expires_at=timezone.now() - DAY, state="shutoff")
    guest.refresh_from_db()
    with pytest.raises(ValidationError, match="renew it on its Lease tab"):
        perform("guest.start", actor=owner, target=guest)
    perform("guest.renew", actor=owner, target=guest, params=Renewal(days=3))
    assert perform("guest.start", actor=owner, target=guest).kind == "guest.start"


def test_a_lease_renewed_before_its_end_step_runs_is_left_alone(guest, owner):
    now = timezone.now()
    Guest.objects.filter(pk=guest.pk).update(expires_at=now - DAY)
    guest.refresh_from_db()
    step = LeaseStep(ends=guest.expires_at.isoformat())
    operation = perform("guest.lease-end", actor=None, system=True, target=guest, params=step)  # not yet run
    Guest.objects.filter(pk=guest.pk).update(expires_at=now + DAY)
    run(operation)
    operation.refresh_from_db()
    assert operation.message == "Not done: the lease was renewed meanwhile."
    assert Guest.objects.get(pk=guest.pk).state == "running"


def test_the_owner_sees_a_banner_and_the_lease_tab_and_admins_the_weeks_list(client, admin_client, guest, owner):
    terms(guest.host, 7, 14)
    Guest.objects.filter(pk=guest.pk).update(expires_at=timezone.now() + DAY)
    client.force_login(owner)
    page = client.get(reverse("guests:list")).content.decode()
    assert "The lease of one of your guests ends soon or has ended" in page and "?tab=lease" in page
    pane = client.get(reverse("core:task-pane")).content.decode()
    assert "lease-banner" in pane
    tab = client.get(f"{guest.get_absolute_url()}?tab=lease").content.decode()
    assert "Its lease ends on" in tab and 'id="renew-form"' in tab and 'max="14"' in tab
    viewer = UserFactory(username="vic")
    Grant.objects.create(guest=guest, user=viewer, role="viewer")
    client.force_login(viewer)
    tab = client.get(f"{guest.get_absolute_url()}?tab=lease").content.decode()
    assert "Its lease ends on" in tab and "renew-form" not in tab
    assert "lease-banner" not in client.get(reverse("guests:list")).content.decode()  # not their guest
    assert client.post(reverse("lifecycle:renew", args=[guest.pk]), {"days": "3"}).status_code == 403
    listing = admin_client.get(reverse("lifecycle:leases")).content.decode()
    assert f'data-guest="{guest.pk}"' in listing
    outsider = UserFactory(username="out")
    client.force_login(outsider)
    assert f'data-guest="{guest.pk}"' not in client.get(reverse("lifecycle:leases")).content.decode()


def test_the_api_shows_and_renews_a_lease_and_refuses_as_the_page_does(api, make_token, guest, owner):
    terms(guest.host, 7, 14, "delete")
    url = f"/api/v1/guests/{guest.pk}/lease/"
    _, key = make_token(owner)
    client = api(key)
    assert client.get(url).json() == {"expires_at": None, "ended": False, "deleted_at": None, "max_days": 14}
    response = client.post(url, {"days": 15}, format="json")
    assert response.status_code == 400 and "14" in response.json()["fields"]["days"][0], response.json()
    assert client.post(url, {"days": "x"}, format="json").status_code == 400
    body = client.post(url, {"days": 10}, format="json").json()
    guest.refresh_from_db()
    assert body["expires_at"] and body["max_days"] == 14 and body["deleted_at"]
    assert client.get(f"/api/v1/guests/{guest.pk}/").json()["expires_at"] == body["expires_at"]
    viewer = UserFactory(username="vic")
    Grant.objects.create(guest=guest, user=viewer, role="viewer")
    assert api(make_token(viewer)[1]).get(url).status_code == 200
    assert api(make_token(viewer)[1]).post(url, {"days": 3}, format="json").status_code == 403
    outsider = UserFactory(username="out")
    assert api(make_token(outsider)[1]).get(url).status_code == 404


def test_the_warning_goes_out_through_a_real_mail_server(guest, owner, settings, enforce):
    """Django's SMTP backend to an SMTP server (aiosmtpd) started here, as a deployment would send."""
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
            self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks its own by connecting to it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.WEBVIRT_BASE_URL = "https://webvirt.example.com"
        Guest.objects.filter(pk=guest.pk).update(expires_at=timezone.now() + DAY)
        assert enforce(timezone.now())["warned"] == [guest.pk]
    finally:
        server.stop()
    ((recipients, message),) = inbox.messages
    assert recipients == ["olga@example.com"] and "Subject: The lease of alpha ends on" in message
    assert f"https://webvirt.example.com/guests/{guest.pk}/?tab=lease" in message


def test_a_mail_server_that_is_down_holds_up_neither_the_warning_nor_the_round(guest, owner, settings, enforce):
    """The mail is a task of its own after the round: the warning stands in the app, and the round
    goes on to the other guests."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    Guest.objects.filter(pk=guest.pk).update(expires_at=timezone.now() + DAY)
    assert enforce(timezone.now())["warned"] == [guest.pk]
    guest.refresh_from_db()
    assert guest.lease_warned_at is not None
    assert AuditEvent.objects.filter(action="guest.lease-warn", outcome="ok").count() == 1
