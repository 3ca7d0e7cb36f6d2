"""Roll-ups and pruning: each tier's points are the means of the finer tier's points in their
period, written once the period is over; points older than their tier keeps are deleted.

Both are idempotent (a roll-up skips periods already written, and the unique constraint refuses
a point twice), so a repeated or overlapping run does no harm. Grouping is done here rather than
in SQL, the same on SQLite and PostgreSQL; a minute's work is a few thousand rows per tier.
"""

from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from statistics import fmean

from django.db.models import Max, Min

from .models import GuestSample, HostSample
from .tiers import TIERS

MODELS = (GuestSample, HostSample)


def period_start(time, seconds):
    return datetime.fromtimestamp(int(time.timestamp()) // seconds * seconds, UTC)


def _mean(values):
    known = [value for value in values if value is not None]
    return fmean(known) if known else None


def roll_up(model, source, target, now):
    """Write `target` points for the periods that ended (with `source`'s last point in) before
    `now` and are not written yet; returns how many."""
    last = model.objects.filter(resolution=target.seconds).aggregate(Max("time"))["time__max"]
    if last is not None:
        start = last + target.step
    else:
        first = model.objects.filter(resolution=source.seconds).aggregate(Min("time"))["time__min"]
        if first is None:
            return 0
        start = period_start(first, target.seconds)
    end = period_start(now - source.step, target.seconds)  # a period is over once its last point is in
    if end <= start:
        return 0
    rows = (
        model.objects.filter(resolution=source.seconds, time__gte=start, time__lt=end)
        .order_by()
        .values_list(model.OWNER, "time", *model.MEASURES)
    )
    periods = defaultdict(list)
    for owner, time, *measures in rows.iterator(chunk_size=5000):
        periods[owner, period_start(time, target.seconds)].append(measures)
    points = [
        model(
            **{model.OWNER: owner},
            resolution=target.seconds,
            time=time,
            **{name: _mean(column) for name, column in zip(model.MEASURES, zip(*measures, strict=True), strict=True)},
        )
        for (owner, time), measures in periods.items()
    ]
    model.objects.bulk_create(points, batch_size=1000, ignore_conflicts=True)
    return len(points)


def prune(model, now):
    """Delete the points each tier no longer keeps; returns how many."""
    return sum(model.objects.filter(resolution=tier.seconds, time__lt=now - tier.keep).delete()[0] for tier in TIERS)


def roll_up_and_prune(now):
    """Every tier from the finer one, then pruning (after, so nothing is deleted before it is rolled up)."""
    written = deleted = 0
    for model in MODELS:
        for source, target in pairwise(TIERS):
            written += roll_up(model, source, target, now)
        deleted += prune(model, now)
    return written, deleted
