"""Retention and schedules as pure functions of fixed timestamps."""

import datetime

import pytest

from webvirt.backups.models import BackupSchedule
from webvirt.backups.retention import keep
from webvirt.backups.tasks import is_due, last_slot

UTC = datetime.UTC


def at(day, hour=3):
    return datetime.datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def test_keep_last_only():
    times = [at(1), at(2), at(3), at(4)]
    assert keep(times, last=2, daily=0, weekly=0) == {2, 3}


def test_one_a_day_keeps_the_newest_of_each_recent_day():
    # Two backups a day on the 20th to the 23rd: the later one of each of the 3 newest days.
    times = [at(day, hour) for day in (20, 21, 22, 23) for hour in (1, 13)]
    kept = keep(times, last=0, daily=3, weekly=0)
    assert sorted(times[index] for index in kept) == [at(21, 13), at(22, 13), at(23, 13)]


def test_one_a_week_keeps_the_newest_of_each_iso_week():
    # 2026-11-02 is a Monday; daily backups over three weeks and a day.
    times = [at(day) for day in range(2, 25)]
    kept = keep(times, last=1, daily=0, weekly=3)
    # the newest (24th, week 48), then the newest of weeks 47 (Sunday 22nd) and 46 (Sunday 15th)
    assert sorted(times[index] for index in kept) == [at(15), at(22), at(24)]


def test_rules_add_up_and_input_order_does_not_matter():
    times = [at(day) for day in (24, 3, 10, 17, 23, 22)]
    kept = {times[index] for index in keep(times, last=1, daily=2, weekly=3)}
    # last: the 24th; daily: the 24th and 23rd; weekly: the 24th (week 48), 22nd (47), 10th (46)
    assert kept == {at(24), at(23), at(22), at(10)}


def test_nothing_kept_when_every_count_is_zero_and_nothing_to_keep_from_nothing():
    assert keep([at(1)], last=0, daily=0, weekly=0) == set()
    assert keep([], last=3, daily=3, weekly=3) == set()


CREATED = at(1, 0)


def schedule(frequency="daily", weekday=0, hour=2, minute=30, created=CREATED, last_run=None):
    return BackupSchedule(
        frequency=frequency,
        weekday=weekday,
        at=datetime.time(hour, minute),
        created_at=created,
        last_run_at=last_run,
    )


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        (datetime.datetime(2026, 11, 10, 2, 30, tzinfo=UTC), datetime.datetime(2026, 11, 10, 2, 30, tzinfo=UTC)),
        (datetime.datetime(2026, 11, 10, 2, 29, tzinfo=UTC), datetime.datetime(2026, 11, 9, 2, 30, tzinfo=UTC)),
    ],
)
def test_the_last_daily_slot(now, slot):
    assert last_slot(schedule(), now) == slot


def test_the_last_weekly_slot_is_on_its_weekday():
    wednesday = schedule("weekly", weekday=2)
    # 2026-11-10 is a Tuesday: last Wednesday was the 4th; on the 11th after 02:30 it is that day.
    assert last_slot(wednesday, datetime.datetime(2026, 11, 10, 12, 0, tzinfo=UTC)).date() == datetime.date(2026, 11, 4)
    assert last_slot(wednesday, datetime.datetime(2026, 11, 11, 3, 0, tzinfo=UTC)).date() == datetime.date(2026, 11, 11)
    assert last_slot(wednesday, datetime.datetime(2026, 11, 11, 2, 0, tzinfo=UTC)).date() == datetime.date(2026, 11, 4)


def test_due_once_per_slot_and_never_for_a_slot_before_it_was_set():
    now = datetime.datetime(2026, 11, 10, 2, 31, tzinfo=UTC)
    assert is_due(schedule(), now)
    assert not is_due(schedule(last_run=now), now)
    assert not is_due(schedule(created=datetime.datetime(2026, 11, 10, 2, 31, tzinfo=UTC)), now)
