"""Power schedules on the test driver: local times in the schedule's time zone on its days, once
per minute however many beats, team schedules over the team's guests, skips with their reasons,
and the refusals of the forms and actions."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt.accounts.models import Team
from webvirt.core.actions import perform
from webvirt.core.models import AuditEvent, Operation
from webvirt.guests.models import Grant, Guest
from webvirt.lifecycle.actions import PowerPlan
from webvirt.lifecycle.models import PowerSchedule

UTC = datetime.UTC
# Tuesday 2026-12-01, 00:30 UTC is 08:30 in Shanghai (UTC+8, no daylight saving).
TUESDAY_0830_SHANGHAI = datetime.datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
WORKDAYS = (0, 1, 2, 3, 4)


@pytest.fixture
def owner(db):
    return UserFactory(username="sam")


@pytest.fixture
def stopped(test_host, owner):
    guest = test_host.guests.get(name="beta")  # shut off on the test driver
    guest.owner = owner
    guest.save()
    return guest


def plan(start="08:30", stop="18:00", zone="Asia/Shanghai", days=WORKDAYS):
    to_time = lambda text: datetime.time.fromisoformat(text) if text else None  # noqa: E731
    return PowerPlan(days=days, start_at=to_time(start), stop_at=to_time(stop), time_zone=zone)


def test_a_guest_starts_at_its_local_time_on_its_days_once(run, stopped, owner):
    perform("guest.power-schedule", actor=owner, target=stopped, params=plan())
    assert run(TUESDAY_0830_SHANGHAI - datetime.timedelta(minutes=1)) == []
    assert run(TUESDAY_0830_SHANGHAI + datetime.timedelta(days=4)) == []  # Saturday: not one of its days
    assert run(TUESDAY_0830_SHANGHAI) == ["Starting beta."]
    assert run(TUESDAY_0830_SHANGHAI.replace(second=40)) == []  # a second beat in the same minute
    operation = Operation.objects.get(kind="guest.start")
    assert operation.status == "succeeded" and operation.actor == owner, operation.message
    assert Guest.objects.get(pk=stopped.pk).state == "running"
    stop = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
    assert run(stop) == ["Shutting down beta."]
    assert PowerSchedule.objects.get().last_note == "Shutting down beta."


def test_a_step_that_cannot_be_done_is_skipped_with_its_reason(run, stopped, owner):
    perform("guest.power-schedule", actor=owner, target=stopped, params=plan())
    host = stopped.host
    host.maintenance_since = timezone.now()
    host.save()
    assert run(TUESDAY_0830_SHANGHAI) == ["Skipped: beta: its host is in maintenance."]
    skipped = AuditEvent.objects.get(outcome="skipped")
    assert skipped.action == "guest.start" and skipped.details["reason"] == "beta: its host is in maintenance."
    host.maintenance_since = None
    host.save()
    ended = timezone.now() - datetime.timedelta(days=1)
    Guest.objects.filter(pk=stopped.pk).update(expires_at=ended)  # its lease has ended
    notes = run(TUESDAY_0830_SHANGHAI + datetime.timedelta(days=1))
    assert notes == ["Skipped: beta: The lease of beta has ended: renew it on its Lease tab to start it again."]
    Grant.objects.all().delete()
    Guest.objects.filter(pk=stopped.pk).update(expires_at=None, owner=None)  # who set it lost the guest
    notes = run(TUESDAY_0830_SHANGHAI + datetime.timedelta(days=2))
    assert notes == ["Skipped: beta: This needs the operator role on beta."]
    assert not Operation.objects.filter(kind="guest.start").exists()


def test_a_team_schedule_acts_on_its_members_and_shared_guests(run, test_host, owner, admin):
    team = Team.objects.create(name="night")
    team.members.add(owner)
    alpha, beta = test_host.guests.get(name="alpha"), test_host.guests.get(name="beta")
    Guest.objects.filter(pk=beta.pk).update(owner=owner)
    Grant.objects.create(guest=alpha, team=team, role="operator")
    perform("team.power-schedule", actor=admin, target=team, params=plan(start=None, stop="18:00"))
    notes = run(datetime.datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert notes == ["Shutting down alpha.", "beta is already off."]
    operation = Operation.objects.get(kind="guest.stop")
    assert operation.actor is None and operation.status == "succeeded", operation.message  # the system, set by admins


def test_schedules_refuse_bad_plans_and_people_without_the_role(stopped, owner, client):
    for bad, says in (
        (plan(days=()), "at least one day"),
        (plan(start=None, stop=None), "Give a time"),
        (plan(start="08:00", stop="08:00"), "different times"),
        (plan(zone="Mars/Olympus"), "not a time zone name"),
    ):
        with pytest.raises(ValidationError, match=says):
            perform("guest.power-schedule", actor=owner, target=stopped, params=bad)
    viewer = UserFactory(username="vic")
    Grant.objects.create(guest=stopped, user=viewer, role="viewer")
    with pytest.raises(PermissionDenied):
        perform("guest.power-schedule", actor=viewer, target=stopped, params=plan())
    with pytest.raises(PermissionDenied):
        perform("team.power-schedule", actor=owner, target=Team.objects.create(name="t"), params=plan())
    client.force_login(owner)
    url = reverse("lifecycle:guest-schedule", args=[stopped.pk])
    page = client.post(url, {"days": ["1"], "start_at": "25:00", "time_zone": "UTC"}, follow=True).content.decode()
    assert "Enter a valid time" in page
    page = client.post(url, {"days": ["1"], "time_zone": "Nowhere/Land"}, follow=True).content.decode()
    assert "Nowhere/Land is not a time zone name" in page
    page = client.post(
        url, {"days": ["1", "3"], "start_at": "07:15", "time_zone": "Europe/Berlin", "enabled": "on"}, follow=True
    )
    page = page.content.decode()
    assert "Saved the power schedule." in page and "started at 07:15" in page and "Europe/Berlin" in page
    client.force_login(viewer)
    assert client.post(url, {"days": ["1"], "start_at": "07:00", "time_zone": "UTC"}).status_code == 403
    tab = client.get(f"{stopped.get_absolute_url()}?tab=lease").content.decode()
    assert "started at 07:15" in tab and "power-schedule-form" not in tab


def test_admins_set_a_team_schedule_on_its_page(admin_client, client, owner):
    team = Team.objects.create(name="devs")
    url = reverse("lifecycle:team-schedule", args=[team.pk])
    page = admin_client.post(
        url, {"days": ["0", "4"], "stop_at": "19:30", "time_zone": "UTC", "enabled": "on"}, follow=True
    )
    assert "Saved the power schedule." in page.content.decode()
    schedule = PowerSchedule.objects.get(team=team)
    assert (schedule.days, schedule.stop_at, schedule.start_at) == ([0, 4], datetime.time(19, 30), None)
    client.force_login(owner)
    assert client.get(url).status_code == 403
