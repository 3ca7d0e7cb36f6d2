"""Exemptions from a team's power schedule, on the test driver: the schedule leaves an exempt guest
alone and says why, acts on it again once the exemption is lifted; who may exempt (those who may
start the guest, where the team allows it; admins always), the refusals, the guest's Lease tab, the
admins' team page, and the same through the API."""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.accounts.models import Team
from webvirt.core.actions import perform
from webvirt.core.models import AuditEvent, Operation
from webvirt.guests.models import Grant, Guest
from webvirt.lifecycle.actions import Exemption, PowerPlan, TeamScheduleRef
from webvirt.lifecycle.models import PowerSchedule, ScheduleExemption

UTC = datetime.UTC
TUESDAY_1800_UTC = datetime.datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


def nightly(**overrides):
    values = {"days": (0, 1, 2, 3, 4), "start_at": None, "stop_at": datetime.time(18), "time_zone": "UTC"}
    return PowerPlan(**values | overrides)


@pytest.fixture
def team_guests(make_test_host, admin):
    """Team "night" stops its guests at 18:00 UTC: alpha is shared with the team, gamma is owned by
    its member sam; both run."""
    test_host = make_test_host(guests=({"name": "alpha"}, {"name": "gamma"}))
    sam = UserFactory(username="sam")
    team = Team.objects.create(name="night")
    team.members.add(sam)
    alpha, gamma = test_host.guests.get(name="alpha"), test_host.guests.get(name="gamma")
    Grant.objects.create(guest=alpha, team=team, role="operator")
    Guest.objects.filter(pk=gamma.pk).update(owner=sam)
    perform("team.power-schedule", actor=admin, target=team, params=nightly())
    return team, sam, alpha, Guest.objects.get(pk=gamma.pk)


def test_an_exempt_guest_is_left_alone_and_followed_again_once_lifted(run, team_guests):
    team, sam, alpha, gamma = team_guests
    assert {guest.state for guest in (alpha, gamma)} == {"running"}
    exemption = perform(
        "guest.schedule-exempt", actor=sam, target=gamma, params=Exemption(team=team.pk, reason="  soak test  ")
    )
    assert (exemption.reason, exemption.set_by, exemption.schedule.team) == ("soak test", sam, team)
    assert run(TUESDAY_1800_UTC) == ["Shutting down alpha.", "gamma is exempt: soak test"]
    assert list(Operation.objects.filter(kind="guest.stop").values_list("guest__name", flat=True)) == ["alpha"]
    assert Guest.objects.get(pk=gamma.pk).state == "running"
    assert PowerSchedule.objects.get(team=team).last_note == "Shutting down alpha. gamma is exempt: soak test"
    audit = AuditEvent.objects.get(action="guest.schedule-exempt")
    assert (audit.actor, audit.target, audit.details["team"]) == (sam, "gamma on testhost", team.pk)

    perform("guest.schedule-follow", actor=sam, target=gamma, params=TeamScheduleRef(team=team.pk))
    assert not ScheduleExemption.objects.exists()
    assert run(TUESDAY_1800_UTC + datetime.timedelta(days=1)) == ["alpha is already off.", "Shutting down gamma."]
    assert AuditEvent.objects.filter(action="guest.schedule-follow", actor=sam).count() == 1


def test_an_exemption_with_a_last_day_lapses_after_it(run, team_guests, admin):
    """Its last day counts in the schedule's time zone: 18:00 UTC on Wednesday 2 December is
    already Thursday in Shanghai, so an exemption until Wednesday has lapsed there (in UTC it
    would still hold)."""
    team, _, _, gamma = team_guests
    shanghai = nightly(stop_at=datetime.time(2), time_zone="Asia/Shanghai")
    perform("team.power-schedule", actor=admin, target=team, params=shanghai)
    wednesday = datetime.date(2026, 12, 2)
    ScheduleExemption.objects.create(schedule=team.power_schedules.get(), guest=gamma, reason="demo", until=wednesday)
    assert run(TUESDAY_1800_UTC) == ["Shutting down alpha.", "gamma is exempt: demo"]  # 02:00 Wednesday there
    assert run(TUESDAY_1800_UTC + datetime.timedelta(days=1)) == ["alpha is already off.", "Shutting down gamma."]
    assert not ScheduleExemption.objects.exists()
    lifted = AuditEvent.objects.get(action="guest.schedule-follow")
    assert (lifted.actor, lifted.actor_name, lifted.target) == (None, "", "gamma on testhost")


def test_exempting_is_refused_with_reasons(team_guests, admin):
    team, sam, alpha, gamma = team_guests
    other = Team.objects.create(name="day")
    perform("team.power-schedule", actor=admin, target=other, params=nightly())
    for params, says in (
        (Exemption(team=team.pk, reason="   "), "Say why the team's power schedule should leave gamma alone."),
        (Exemption(team=team.pk, reason="x" * 201), "at most 200 characters"),
        (Exemption(team=other.pk, reason="x"), "No team's power schedule with that id acts on gamma."),
        (Exemption(team=999999, reason="x"), "No team's power schedule with that id acts on gamma."),
        (Exemption(team=team.pk, reason="x", until=datetime.date(2020, 1, 1)), "cannot be in the past"),
    ):
        with pytest.raises(ValidationError, match=re.escape(says)):
            perform("guest.schedule-exempt", actor=sam, target=gamma, params=params)
    with pytest.raises(ValidationError, match=re.escape("gamma is not exempt from that team's power schedule.")):
        perform("guest.schedule-follow", actor=sam, target=gamma, params=TeamScheduleRef(team=team.pk))

    viewer = UserFactory(username="vic")  # may see gamma, not start it
    Grant.objects.create(guest=gamma, user=viewer, role="viewer")
    with pytest.raises(PermissionDenied):
        perform("guest.schedule-exempt", actor=viewer, target=gamma, params=Exemption(team=team.pk, reason="x"))

    # The team allows no exemptions: its members are refused, admins may still make one.
    perform("team.power-schedule", actor=admin, target=team, params=nightly(exemptions_allowed=False))
    with pytest.raises(ValidationError, match="The power schedule of team night allows no exemptions"):
        perform("guest.schedule-exempt", actor=sam, target=gamma, params=Exemption(team=team.pk, reason="demo"))
    perform("guest.schedule-exempt", actor=admin, target=gamma, params=Exemption(team=team.pk, reason="demo"))
    assert ScheduleExemption.objects.get().set_by == admin

    gone = Guest.objects.get(pk=alpha.pk)
    Guest.objects.filter(pk=alpha.pk).update(gone_at=datetime.datetime(2026, 1, 1, tzinfo=UTC))
    gone.refresh_from_db()
    with pytest.raises(ValidationError, match=re.escape("alpha no longer exists.")):
        perform("guest.schedule-exempt", actor=admin, target=gone, params=Exemption(team=team.pk, reason="x"))
    assert ScheduleExemption.objects.count() == 1  # nothing half-made by the refusals


def test_the_lease_tab_shows_team_schedules_and_exempts_on_the_page(client, team_guests):
    team, sam, alpha, gamma = team_guests
    client.force_login(sam)
    tab = client.get(f"{alpha.get_absolute_url()}?tab=lease").content.decode()  # shared with the team, not sam's
    assert "Team night, on Monday, Tuesday, Wednesday, Thursday, Friday (UTC time):" in tab
    assert "shut down at 18:00" in tab and "Exempt this guest" in tab

    url = reverse("lifecycle:guest-exemption", args=[gamma.pk])
    page = client.post(url, {"team": team.pk, "reason": ""}, follow=True).content.decode()
    assert "Say why the team&#x27;s schedule should leave it alone." in page and not ScheduleExemption.objects.exists()
    page = client.post(url, {"team": "abc", "reason": "x"}, follow=True).content.decode()
    assert "Enter a whole number." in page and not ScheduleExemption.objects.exists()
    page = client.post(url, {"team": team.pk, "reason": "x", "until": "2020-01-01"}, follow=True).content.decode()
    assert "The last day of an exemption cannot be in the past." in page and not ScheduleExemption.objects.exists()
    page = client.post(url, {"team": team.pk, "reason": "x", "until": "Friday"}, follow=True).content.decode()
    assert "Enter a valid date." in page and not ScheduleExemption.objects.exists()
    form = {"team": team.pk, "reason": "demo on Friday", "until": "2099-12-31"}
    page = client.post(url, form, follow=True).content.decode()
    assert "The power schedule of team night leaves gamma alone now." in page
    assert "Exempt: it leaves this guest alone. Reason: “demo on Friday” (sam," in page
    assert "It acts on it again after 2099-12-31." in page
    assert "Follow the team's schedule again" in page

    page = client.post(url, {"team": "", "follow": "1"}, follow=True).content.decode()
    assert "Say which team&#x27;s power schedule it should follow again." in page
    page = client.post(url, {"team": team.pk, "follow": "1"}, follow=True).content.decode()
    assert "gamma follows the team&#x27;s power schedule again." in page and not ScheduleExemption.objects.exists()

    viewer = UserFactory(username="vic")
    Grant.objects.create(guest=gamma, user=viewer, role="viewer")
    client.force_login(viewer)
    assert client.post(url, {"team": team.pk, "reason": "mine"}).status_code == 403
    tab = client.get(f"{gamma.get_absolute_url()}?tab=lease").content.decode()
    assert "Team night, on" in tab and "Exempt this guest" not in tab
    client.force_login(UserFactory(username="nobody"))
    assert client.post(url, {"team": team.pk, "reason": "mine"}).status_code == 404
    assert not ScheduleExemption.objects.exists()


def test_admins_see_and_lift_exemptions_on_the_team_page(admin_client, team_guests):
    team, sam, alpha, gamma = team_guests
    perform("guest.schedule-exempt", actor=sam, target=gamma, params=Exemption(team=team.pk, reason="soak test"))
    listing = admin_client.get(reverse("lifecycle:team-schedules")).content.decode()
    assert "1 guest exempt" in listing
    url = reverse("lifecycle:team-schedule", args=[team.pk])
    page = admin_client.get(url).content.decode()
    assert "Guests exempt from it" in page and "soak test" in page and "Lift the exemption of gamma" in page
    assert re.search(r"name=\"exemptions_allowed\"[^>]* checked", page)

    client = Client()
    client.force_login(sam)
    assert client.post(url, {"lift": gamma.pk}).status_code == 403
    assert admin_client.post(url, {"lift": alpha.pk}).status_code == 404  # not exempt from it
    page = admin_client.post(url, {"lift": gamma.pk}, follow=True).content.decode()
    assert "gamma follows the team&#x27;s power schedule again." in page and "None: it acts on every guest" in page

    # Unticked, the team's members may no longer exempt their guests; the tab says so.
    form = {"days": ["0"], "stop_at": "18:00", "time_zone": "UTC", "enabled": "on"}
    admin_client.post(url, form)
    assert PowerSchedule.objects.get(team=team).exemptions_allowed is False
    tab = client.get(f"{gamma.get_absolute_url()}?tab=lease").content.decode()
    assert "This team's schedule allows no exemptions; an administrator can make one." in tab
    assert "Exempt this guest" not in tab


def test_the_api_reads_and_writes_schedules_and_exemptions(api, make_token, team_guests):
    team, sam, _, gamma = team_guests
    owner = api(make_token(sam)[1])
    url = reverse("api:guest-power-schedule", args=[gamma.pk])
    body = owner.get(url).json()
    assert body["schedule"] is None
    [night] = body["team_schedules"]
    assert (night["team"], night["team_name"], night["stop_at"], night["exemption"]) == (
        team.pk,
        "night",
        "18:00",
        None,
    )

    response = owner.put(
        url, {"days": [1, 3], "start_at": "07:15", "stop_at": None, "time_zone": "Asia/Shanghai"}, format="json"
    )
    assert response.status_code == 200, response.json()
    own = response.json()["schedule"]
    assert (own["days"], own["start_at"], own["time_zone"], own["enabled"]) == ([1, 3], "07:15", "Asia/Shanghai", True)
    for bad, field in (
        ({"days": [], "start_at": "07:00", "time_zone": "UTC"}, "days"),
        ({"days": [1], "start_at": "7 am", "time_zone": "UTC"}, "start_at"),
        ({"days": [1], "start_at": "07:00", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"days": [9], "start_at": "07:00", "time_zone": "UTC"}, "days"),
    ):
        response = owner.put(url, bad)
        assert response.status_code == 400 and field in response.json()["fields"], (bad, response.json())
    response = owner.put(url, {"days": [1], "time_zone": "UTC"})  # a whole-form refusal: the API's message
    assert response.status_code == 400 and response.json()["message"] == "Give a time to start, to shut down, or both."
    assert PowerSchedule.objects.get(guest=gamma).start_at == datetime.time(7, 15)  # unchanged by the refusals

    exemptions = reverse("api:guest-schedule-exemptions", args=[gamma.pk])
    response = owner.post(exemptions, {"team": team.pk, "reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = owner.post(exemptions, {"team": 999999, "reason": "x"}, format="json")
    assert response.status_code == 400 and "No team's power schedule with that id acts on gamma." in str(
        response.json()
    )
    response = owner.post(exemptions, {"team": team.pk, "reason": "soak test", "until": "2099-12-31"}, format="json")
    assert response.status_code == 201, response.json()
    assert {key: response.json()[key] for key in ("guest", "team", "reason", "until", "set_by")} == {
        "guest": gamma.pk,
        "team": team.pk,
        "reason": "soak test",
        "until": "2099-12-31",
        "set_by": "sam",
    }
    assert owner.get(url).json()["team_schedules"][0]["exemption"]["reason"] == "soak test"

    viewer = UserFactory(username="vic")
    Grant.objects.create(guest=gamma, user=viewer, role="viewer")
    as_viewer = api(make_token(viewer)[1])
    assert as_viewer.get(url).status_code == 200
    assert as_viewer.put(url, {"days": [1], "start_at": "07:00", "time_zone": "UTC"}, format="json").status_code == 403
    assert as_viewer.post(exemptions, {"team": team.pk, "reason": "x"}, format="json").status_code == 403
    lift = reverse("api:guest-schedule-exemption", args=[gamma.pk, team.pk])
    assert as_viewer.delete(lift).status_code == 403
    stranger = api(make_token(UserFactory(username="nobody"))[1])
    assert stranger.get(url).status_code == 404 and stranger.delete(lift).status_code == 404
    assert api().get(url).status_code in (401, 403)

    assert owner.delete(lift).status_code == 204
    response = owner.delete(lift)
    assert response.status_code == 400 and "gamma is not exempt" in str(response.json())
    assert owner.delete(url).status_code == 204 and not PowerSchedule.objects.filter(guest=gamma).exists()


def test_the_api_gives_admins_the_team_schedule(api, make_token, admin, team_guests):
    team, sam, _, gamma = team_guests
    perform("guest.schedule-exempt", actor=sam, target=gamma, params=Exemption(team=team.pk, reason="soak test"))
    as_admin = api(make_token(admin)[1])
    url = reverse("api:team-power-schedule", args=[team.pk])
    body = as_admin.get(url).json()
    assert (body["stop_at"], body["exemptions_allowed"]) == ("18:00", True)
    assert [(each["guest_name"], each["reason"]) for each in body["exemptions"]] == [("gamma", "soak test")]
    response = as_admin.put(
        url, {"days": [5], "start_at": "09:00", "time_zone": "UTC", "exemptions_allowed": False}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["days"], response.json()["exemptions_allowed"]) == ([5], False)
    assert as_admin.put(url, {"days": [5], "time_zone": "UTC"}, format="json").status_code == 400
    assert api(make_token(sam)[1]).get(url).status_code == 403
    assert (
        api(make_token(sam)[1])
        .put(url, {"days": [5], "start_at": "09:00", "time_zone": "UTC"}, format="json")
        .status_code
        == 403
    )
    assert as_admin.get(reverse("api:team-power-schedule", args=[999999])).status_code == 404
    assert as_admin.delete(url).status_code == 204
    assert as_admin.get(url).status_code == 404 and not ScheduleExemption.objects.exists()  # they went with it
