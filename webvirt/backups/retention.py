"""Which backups a schedule keeps: a pure function of their times, tested with fixed timestamps.

Kept: the `last` newest; the newest of each of the `daily` most recent days that have a backup;
the newest of each of the `weekly` most recent ISO weeks that have one. Counting days and weeks
that have backups (rather than calendar days back from today) means a guest whose backups stopped
keeps its last ones instead of losing them all as the calendar moves on."""

from datetime import UTC


def keep(times, *, last, daily, weekly):
    """The indices into `times` (aware datetimes, any order) of the backups to keep."""
    newest_first = sorted(range(len(times)), key=lambda index: times[index], reverse=True)
    kept = set(newest_first[:last])
    for period, count in ((_day, daily), (_week, weekly)):
        seen = []
        for index in newest_first:
            key = period(times[index])
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.append(key)
            kept.add(index)
    return kept


def _day(moment):
    return moment.astimezone(UTC).date()


def _week(moment):
    return moment.astimezone(UTC).isocalendar()[:2]
