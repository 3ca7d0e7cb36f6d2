"""How long samples are kept, at which resolution, and which one each graph range reads.

Each range reads one tier whose points fit a graph's width (360 to 1,008 points), and each tier
is kept exactly as long as the range that reads it: 2,808 rows per guest in all. Each tier is
rolled up from the one before, so each resolution divides the next.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Tier:
    seconds: int  # the resolution: one point per guest (or host) per this many seconds
    keep: timedelta

    @property
    def step(self):
        return timedelta(seconds=self.seconds)


SAMPLE_SECONDS = 10
TIERS = (
    Tier(SAMPLE_SECONDS, timedelta(hours=1)),  # 360 points: the 1 h graph
    Tier(120, timedelta(days=1)),  # 720 points: 1 day
    Tier(600, timedelta(days=7)),  # 1,008 points: 1 week
    Tier(3600, timedelta(days=30)),  # 720 points: 30 days
)
RANGES = {"1h": TIERS[0], "1d": TIERS[1], "1w": TIERS[2], "30d": TIERS[3]}
RANGE_LABELS = {"1h": _("1 hour"), "1d": _("1 day"), "1w": _("1 week"), "30d": _("30 days")}
