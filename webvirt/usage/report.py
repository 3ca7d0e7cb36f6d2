"""Usage figures from the guests' history (guests/history.py), per user and team, per UTC day or month.

What counts, for each stretch of a guest's history that overlaps a day:
- vCPU-hours and memory GiB-hours while the guest holds them: in the states that count against
  a host's capacity (`Guest.ACTIVE_STATES`: running, paused, shutting down, suspended by power
  management); a shut off, crashed or unknown guest holds none;
- disk GiB-days whatever its state, as long as the guest exists (not gone);
- the guest itself in the day's guest count: distinct guests that existed at some time that day.

Each figure goes to the guest's owner at the time (a guest handed over mid-day counts for both
owners, each for their part of the day, and in both guest counts), and to every team the owner
is a member of now (team membership keeps no history). A team's guest count is of distinct
guests, so a guest handed between two members counts once. A month is the sum of its days, its
guest count the distinct guests of its days. Sums are kept in exact integer units (vCPU-seconds,
MiB-seconds, byte-seconds) and converted once, so days add up to their month exactly.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from webvirt.guests.models import Guest, GuestPeriod

DAY = dt.timedelta(days=1)
GIB = 2**30
MIB_PER_GIB = 1024
MEASURES = ("vcpu_hours", "memory_gib_hours", "disk_gib_days", "guests")
DIGITS = 3  # figures are rounded once, here, so the page, the CSV and the API show the same numbers


@dataclass(frozen=True)
class Span:
    """A stretch of one guest's history: `end` None while it lasts."""

    guest_id: int
    owner_id: int | None
    active: bool
    vcpus: int
    memory_mib: int
    disk_bytes: int
    start: dt.datetime
    end: dt.datetime | None


@dataclass
class Tally:
    vcpu_seconds: int = 0
    mib_seconds: int = 0
    byte_seconds: int = 0
    guests: set = field(default_factory=set)

    def add(self, other):
        self.vcpu_seconds += other.vcpu_seconds
        self.mib_seconds += other.mib_seconds
        self.byte_seconds += other.byte_seconds
        self.guests |= other.guests

    def figures(self):
        return {
            "vcpu_hours": round(self.vcpu_seconds / 3600, DIGITS),
            "memory_gib_hours": round(self.mib_seconds / MIB_PER_GIB / 3600, DIGITS),
            "disk_gib_days": round(self.byte_seconds / GIB / 86400, DIGITS),
            "guests": len(self.guests),
        }


def _midnight(moment):
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def integrate(spans, start, end):
    """{(day, owner_id): Tally} over [start, end), both UTC midnights; spans still open end at `end`."""
    tallies = defaultdict(Tally)
    for span in spans:
        since, until = max(span.start, start), min(span.end or end, end)
        day = _midnight(since)
        while day < until:
            seconds = int((min(until, day + DAY) - max(since, day)).total_seconds())
            tally = tallies[(day.date(), span.owner_id)]
            tally.guests.add(span.guest_id)
            tally.byte_seconds += span.disk_bytes * seconds
            if span.active:
                tally.vcpu_seconds += span.vcpus * seconds
                tally.mib_seconds += span.memory_mib * seconds
            day += DAY
    return tallies


def month_of(day):
    return day.replace(day=1)


def periods(start, end, by):
    """Each day (or month) of [start, end) as the date it begins."""
    found, day = [], start.date()
    while day < end.date():
        key = month_of(day) if by == "month" else day
        if not found or found[-1] != key:
            found.append(key)
        day += dt.timedelta(days=1)
    return found


def spans_between(start, end, *, now=None):
    """The history overlapping [start, end), cut at `now` (the future has no usage yet)."""
    end = min(end, now or timezone.now())
    rows = GuestPeriod.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start), started_at__lt=end)
    fields = ("guest_id", "owner_id", "state", "vcpus", "memory_mib", "disk_bytes", "started_at", "ended_at")
    return end, [
        Span(guest, owner, state in Guest.ACTIVE_STATES, vcpus, memory, disk, since, until)
        for guest, owner, state, vcpus, memory, disk, since, until in rows.values_list(*fields)
    ]


@dataclass(frozen=True)
class Subject:
    kind: str  # "user" or "team"
    pk: int | None  # None: guests without an owner
    name: str

    @property
    def label(self):
        return self.name or gettext("(no owner)")


def report(*, start, end, by, users, teams, everyone=False, now=None):
    """Rows (period, subject, figures) for these users and teams (querysets), each over every period
    up to today.

    With `everyone`, users who owned a guest in the range are added, and guests without an owner
    as a subject of their own, so that an admin's report adds up to all the guests."""
    now = now or timezone.now()
    cut, spans = spans_between(start, end, now=now)
    tallies = integrate(spans, start, cut) if cut > start else {}
    by_owner = defaultdict(lambda: defaultdict(Tally))  # owner -> period -> tally
    for (day, owner_id), tally in tallies.items():
        by_owner[owner_id][month_of(day) if by == "month" else day].add(tally)
    users = list(users)
    if everyone:
        owners = {span.owner_id for span in spans} - {user.pk for user in users} - {None}
        users += list(get_user_model().objects.filter(pk__in=owners))
        users.sort(key=lambda user: user.get_username())
    subjects = [Subject("user", user.pk, user.get_username()) for user in users]
    if everyone and None in by_owner:
        subjects.append(Subject("user", None, ""))
    members = defaultdict(set)
    teams = list(teams.prefetch_related("members"))
    for team in teams:
        members[team.pk] = {member.pk for member in team.members.all()}
        subjects.append(Subject("team", team.pk, team.name))
    rows, shown = [], periods(start, min(end, _midnight(now) + DAY), by)  # no rows for days to come
    for subject in subjects:
        owners = [subject.pk] if subject.kind == "user" else members[subject.pk]
        for period in shown:
            total = Tally()
            for owner in owners:
                total.add(by_owner.get(owner, {}).get(period, Tally()))
            rows.append({"period": period, "subject": subject, **total.figures()})
    return rows
