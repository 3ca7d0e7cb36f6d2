"""Guest leases: how long a guest may live. Admins set terms on a host or a team (accounts'
LeaseTerms); a new guest gets the default; its owner may renew up to the longest lease. What
happens once a lease ends is webvirt.lifecycle's work."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Terms:
    default_days: int | None
    max_days: int | None
    expiry: str  # LeaseTerms.AtExpiry: keep or delete
    source: str  # whose terms, for people: "host h1", "team devs"


def _terms(holder, source):
    if holder.lease_default_days is None and holder.lease_max_days is None:
        return None
    return Terms(holder.lease_default_days, holder.lease_max_days, holder.lease_expiry, source)


def terms_for(host, owner):
    """The terms for a guest of `owner` on `host`: the host's where it sets any, else those of the
    owner's team with the shortest longest lease; None when no lease applies."""
    terms = _terms(host, _("host %(name)s") % {"name": host.name})
    if terms or owner is None:
        return terms
    teams = owner.teams.exclude(lease_default_days=None, lease_max_days=None)
    team = min(teams, key=lambda team: (team.lease_max_days is None, team.lease_max_days or 0, team.pk), default=None)
    return _terms(team, _("team %(name)s") % {"name": team.name}) if team else None


def days_for_new_guest(terms, asked):
    """The lease a new guest gets (days, or None for none): what was asked, else the default."""
    if asked is not None:
        return asked
    return (terms.default_days or terms.max_days) if terms else None


def check_days(terms, days, *, staff):
    """Refuse a lease of `days` (None: no end) under `terms`; admins may go past the longest."""
    if days is not None and days < 1:
        raise ValidationError(_("A lease lasts at least one day."))
    if terms is None or terms.max_days is None or staff:
        return
    if days is None:
        raise ValidationError(
            _("Guests under the terms of %(source)s need a lease of at most %(max)s days.")
            % {"source": terms.source, "max": terms.max_days}
        )
    if days > terms.max_days:
        raise ValidationError(
            _("A lease may last at most %(max)s days under the terms of %(source)s.")
            % {"max": terms.max_days, "source": terms.source}
        )


def ends(days, now=None):
    return None if days is None else (now or timezone.now()) + datetime.timedelta(days=days)
