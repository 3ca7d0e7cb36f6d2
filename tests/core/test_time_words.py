from datetime import UTC, datetime, timedelta

from django.utils import timezone

from webvirt.core.templatetags.webvirt import ago, duration, when


def test_ago_counts_seconds_while_recent_and_keeps_the_exact_time():
    now = timezone.now()
    assert ">1 second ago</time>" in ago(now - timedelta(seconds=1))
    assert ">45 seconds ago</time>" in ago(now - timedelta(seconds=45))
    assert ">5 minutes ago</time>" in ago(now - timedelta(minutes=5))
    assert ">3 hours ago</time>" in ago(now - timedelta(hours=3))
    assert ">4 days ago</time>" in ago(now - timedelta(days=4))
    assert f'datetime="{now.isoformat()}"' in ago(now)
    assert ago(None) == "never"


def test_a_time_ahead_of_our_clock_is_given_exactly():
    ahead = timezone.now() + timedelta(minutes=3)
    assert "ago" not in ago(ahead) and when(ahead) in ago(ahead)


def test_when_takes_epoch_seconds_and_duration_reads_as_words():
    assert when(86400) == when(datetime(1970, 1, 2, tzinfo=UTC)) == "1970-01-02 00:00:00 UTC"
    assert when(None) == "—"
    assert duration(timedelta(minutes=15)) == "15 minutes"
    assert duration(timedelta(hours=1)) == "1 hour"
    assert duration(timedelta(seconds=90)) == "90 seconds"
