"""Usage figures for the known history of conftest.py, against values worked out by hand."""

import datetime as dt

from django.contrib.auth import get_user_model

from webvirt.accounts.models import Team
from webvirt.guests.models import GuestPeriod
from webvirt.usage.report import Span, integrate, report

from .conftest import GIB, at

MARCH, APRIL, MAY = (dt.datetime(2026, month, 1, tzinfo=dt.UTC) for month in (3, 4, 5))
USERS = get_user_model().objects


def _figures(rows):
    """{(period, kind, name): (vCPU-h, memory GiB-h, disk GiB-days, guests)}, leaving out empty rows."""
    return {
        (row["period"], row["subject"].kind, row["subject"].name): (
            row["vcpu_hours"],
            row["memory_gib_hours"],
            row["disk_gib_days"],
            row["guests"],
        )
        for row in rows
        if any(row[m] for m in ("vcpu_hours", "memory_gib_hours", "disk_gib_days", "guests"))
    }


def test_the_example_of_the_issue_running_half_a_day():
    """2 vCPUs and 4 GiB running 06:00-18:00, shut off the rest of the day, a 20 GiB disk."""
    day = at(31, 0)
    spans = [
        Span(1, 7, False, 2, 4096, 20 * GIB, day, at(31, 6)),
        Span(1, 7, True, 2, 4096, 20 * GIB, at(31, 6), at(31, 18)),
        Span(1, 7, False, 2, 4096, 20 * GIB, at(31, 18), at(1, 0)),
    ]
    tally = integrate(spans, day, at(1, 0))[(day.date(), 7)]
    assert tally.figures() == {"vcpu_hours": 24, "memory_gib_hours": 48, "disk_gib_days": 20, "guests": 1}


def test_per_day_for_users_and_teams(history):
    """Cut at 2026-04-02 00:00 ('now'): A's open period ends there."""
    rows = report(
        start=MARCH,
        end=MAY,
        by="day",
        users=USERS.filter(username__in=["alice", "bob", "carol"]).order_by("username"),
        teams=Team.objects.all(),
        now=at(2, 0),
    )
    march_31, april_1 = dt.date(2026, 3, 31), dt.date(2026, 4, 1)
    assert _figures(rows) == {
        # alice: A ran 12 h + 2 h (2 vCPUs, 4 GiB), its 20 GiB all day; B ran 12 h (1 vCPU, 2 GiB)
        # and its 10 GiB counted half a day.
        (march_31, "user", "alice"): (28 + 12, 56 + 24, 20 + 5, 2),
        # bob: B from 12:00 until it went at 18:00.
        (march_31, "user", "bob"): (6, 12, 2.5, 1),
        # ops: both, B counted once.
        (march_31, "team", "ops"): (46, 92, 27.5, 2),
        # A ran 00:00-02:00; still there all day.
        (april_1, "user", "alice"): (4, 8, 20, 1),
        (april_1, "team", "ops"): (4, 8, 20, 1),
        # C paused 6 h (counts as running), crashed 6 h (counts nothing), no disk.
        (april_1, "user", "carol"): (6, 6, 0, 1),
        (april_1, "team", "lab"): (6, 6, 0, 1),
    }
    # Every day of March and up to 'now' in April, for every subject, zeros included; no day to come.
    assert len(rows) == (31 + 2) * 5


def test_months_sum_their_days(history):
    rows = report(start=MARCH, end=MAY, by="month", users=USERS.filter(username="alice"), teams=Team.objects.none())
    march, april = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    # Today is long past April: A's open period counts its disk every day of April (30 days).
    assert _figures(rows) == {
        (march, "user", "alice"): (40, 80, 25, 2),
        (april, "user", "alice"): (4, 8, 20 * 30, 1),
    }


def test_everyone_adds_owners_and_guests_without_one(history):
    GuestPeriod.objects.filter(owner__username="carol").update(owner=None)
    rows = report(start=at(1, 0), end=at(2, 0), by="day", users=USERS.none(), teams=Team.objects.none(), everyone=True)
    assert [(row["subject"].name, row["vcpu_hours"]) for row in rows] == [("alice", 4), ("", 6)]
