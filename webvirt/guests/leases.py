"""Guest leases: how long a guest may live. Admins set terms on a host or a team (accounts'
LeaseTerms); a new guest gets the default; its owner may renew up to the longest lease. What
happens once a lease ends is webvirt.lifecycle's work."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from webvirt.hosts.models import Host

from .models import Guest


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


def own_terms(holder):
    """A host's or a team's own terms, or None."""
    kind = _("host %(name)s") if isinstance(holder, Host) else _("team %(name)s")
    return _terms(holder, kind % {"name": holder.name})


def governing_team(owner):
    """The team whose terms apply to `owner`'s guests on hosts without terms: of their teams with
    terms, the one with the shortest longest lease (the strictest); None if none has terms."""
    teams = owner.teams.exclude(lease_default_days=None, lease_max_days=None)
    return min(teams, key=lambda team: (team.lease_max_days is None, team.lease_max_days or 0, team.pk), default=None)


def terms_for(host, owner):
    """The terms for a guest of `owner` on `host`: the host's where it sets any, else those of the
    owner's team with the shortest longest lease; None when no lease applies."""
    terms = own_terms(host)
    if terms or owner is None:
        return terms
    team = governing_team(owner)
    return own_terms(team) if team else None


def governed_guests(holder):
    """The guests (not gone) whose lease terms are `holder`'s now: every guest of a host with
    terms; a team's members' guests on hosts without terms, where the team governs the member."""
    guests = Guest.objects.present().select_related("host", "owner")
    if isinstance(holder, Host):
        return guests.filter(host=holder) if own_terms(holder) else guests.none()
    owners = [member.pk for member in holder.members.all() if governing_team(member) == holder]
    return guests.filter(owner__in=owners, host__lease_default_days=None, host__lease_max_days=None)


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
