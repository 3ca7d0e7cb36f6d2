"""A growing delay per account name, whatever address the guesses come from.

django-axes locks a name out per address; guessing one account from many addresses would never
meet that limit. Here, after WEBVIRT_LOGIN_FREE_FAILURES failures in a row, each further attempt
on that name must wait twice as long as the one before (2 s, 4 s, 8 s ...), never more than
WEBVIRT_LOGIN_MAX_DELAY seconds: a guesser is slowed to a crawl, but the account's owner is
never locked out for good. A success, or a day without failures, starts the count again.
"""

import math
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from .models import LoginThrottle

FORGET_AFTER = timedelta(days=1)


def _key(username):
    return username.casefold()[:150]


def delay_after(failures):
    """Seconds the next attempt waits after `failures` failures in a row."""
    extra = failures - settings.WEBVIRT_LOGIN_FREE_FAILURES
    if extra < 0:
        return 0
    return min(2 ** (extra + 1), settings.WEBVIRT_LOGIN_MAX_DELAY)


def refusal(wait):
    """What an attempt that must still wait `wait` seconds is told."""
    return ngettext(
        "Too many failed sign-ins for this account. Try again in %(wait)s second.",
        "Too many failed sign-ins for this account. Try again in %(wait)s seconds.",
        wait,
    ) % {"wait": wait}


@transaction.atomic
def claim(username):
    """0 when an attempt on `username` may go ahead now, else the seconds left to wait.

    An attempt that goes ahead pushes the next one back as if it will fail, so parallel
    guesses cannot all slip through the same gap; a success clears it again."""
    now = timezone.now()
    row = LoginThrottle.objects.select_for_update().filter(username=_key(username)).first()
    if row is None:
        return 0
    if row.last_failure_at < now - FORGET_AFTER:
        row.delete()
        return 0
    if now < row.next_attempt_at:
        return math.ceil((row.next_attempt_at - now).total_seconds())
    row.next_attempt_at = now + timedelta(seconds=delay_after(row.failures + 1))
    row.save(update_fields=["next_attempt_at"])
    return 0


@transaction.atomic
def record_failure(username):
    now = timezone.now()
    row, _ = LoginThrottle.objects.select_for_update().get_or_create(
        username=_key(username), defaults={"last_failure_at": now, "next_attempt_at": now}
    )
    row.failures += 1
    row.last_failure_at = now
    row.next_attempt_at = now + timedelta(seconds=delay_after(row.failures))
    row.save()


def forget(username):
    LoginThrottle.objects.filter(username=_key(username)).delete()
