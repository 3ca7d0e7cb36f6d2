"""Guessing one account from many addresses: a growing delay per account name, never a lock for
good, and every refused sign-in in the audit log."""

from datetime import timedelta

from django.urls import reverse

from tests.conftest import PASSWORD, UserFactory
from webvirt.accounts import throttle
from webvirt.accounts.models import LoginThrottle
from webvirt.core.models import AuditEvent


def sign_in(client, password, address, username="frank"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def let_time_pass(seconds):
    """Move the throttle's clock: its rows are what it reads the time of the last failure from."""
    delta = timedelta(seconds=seconds)
    for row in LoginThrottle.objects.all():
        row.last_failure_at -= delta
        row.next_attempt_at -= delta
        row.save()


def test_guesses_from_many_addresses_meet_a_growing_delay(client, db):
    UserFactory(username="frank")
    for n in range(5):
        assert sign_in(client, "guess", f"10.0.0.{n}").status_code == 200  # wrong: the form again
    # Even the right password waits now: no password is checked for this name until then.
    page = sign_in(client, PASSWORD, "10.0.1.1").content.decode()
    assert "Too many failed sign-ins for this account. Try again in 2 seconds." in page
    let_time_pass(2)
    assert sign_in(client, "guess", "10.0.0.9").status_code == 200  # the sixth failure
    assert "Try again in 4 seconds" in sign_in(client, PASSWORD, "10.0.1.2").content.decode()
    let_time_pass(4)
    response = sign_in(client, PASSWORD, "10.0.1.3")
    assert response.status_code == 302 and response.url == reverse("home")
    assert not LoginThrottle.objects.exists()  # a success starts the count again


def test_the_delay_doubles_up_to_a_ceiling_and_is_forgotten_after_a_day(db, settings):
    settings.WEBVIRT_LOGIN_MAX_DELAY = 900
    assert [throttle.delay_after(n) for n in range(4, 10)] == [0, 2, 4, 8, 16, 32]
    assert throttle.delay_after(1000) == 900
    for _ in range(40):
        throttle.record_failure("Grace")
    assert 0 < throttle.claim("grace") <= 900  # the owner waits at most the ceiling: never locked for good
    let_time_pass(24 * 3600 + 1)
    assert throttle.claim("GRACE") == 0


def test_parallel_guesses_cannot_share_one_gap(db):
    for _ in range(5):
        throttle.record_failure("heidi")
    let_time_pass(2)
    assert throttle.claim("heidi") == 0  # this attempt goes ahead ...
    assert throttle.claim("heidi") == 4  # ... and the next waits as if it failed


def test_refused_sign_ins_are_audited_and_shown_to_the_account(client, db):
    frank = UserFactory(username="frank")
    for n in range(6):
        sign_in(client, "guess", f"10.0.0.{n}")
    events = AuditEvent.objects.filter(action="login", target="frank").order_by("id")
    reasons = [event.details["reason"] for event in events]
    assert reasons == ["wrong user name or password"] * 5 + ["throttled"]
    assert events.last().ip == "10.0.0.5" and all(e.outcome == "failed" for e in events)
    sign_in(client, "guess", "10.0.0.1", username="nobody")
    client.force_login(frank)
    page = client.get(reverse("core:audit")).content.decode()
    # The six refused sign-ins to frank's account and his own (forced) login; not the one to "nobody".
    assert page.count('data-action="login"') == 7 and "nobody" not in page
