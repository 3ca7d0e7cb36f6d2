"""Series for graphs, read from the samples: columns (time, then one list per measure), as uPlot
draws them. A range reads its tier; the finer tiers fill in the recent points it has not rolled
up yet, so every range ends at the last sample and moves with each round."""

from django.utils import timezone

from .models import GuestSample, HostSample
from .tiers import RANGES, SAMPLE_SECONDS, TIERS


def _series(samples, measures, range_name, now):
    tier = RANGES[range_name]
    since = now - tier.keep
    rows = []
    for finer in reversed(TIERS[: TIERS.index(tier) + 1]):  # this range's tier, then each finer one
        added = list(
            samples.filter(resolution=finer.seconds, time__gte=since).order_by("time").values_list("time", *measures)
        )
        if added:
            rows += added
            since = added[-1][0] + finer.step  # the end of what its last point stands for
    columns = list(zip(*rows, strict=True)) or [(), *([()] * len(measures))]
    return {
        "range": range_name,
        "resolution": tier.seconds,
        "sample_interval": SAMPLE_SECONDS,
        "start": int((now - tier.keep).timestamp()),
        "end": int(now.timestamp()),
        "time": [int(time.timestamp()) for time in columns[0]],
        "series": {name: list(values) for name, values in zip(measures, columns[1:], strict=True)},
    }


def guest_series(guest, range_name, now=None):
    samples = GuestSample.objects.filter(guest=guest)
    return _series(samples, GuestSample.MEASURES, range_name, now or timezone.now())


def host_series(host, range_name, now=None):
    samples = HostSample.objects.filter(host=host)
    return _series(samples, HostSample.MEASURES, range_name, now or timezone.now())
