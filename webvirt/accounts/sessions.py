"""Ending a user's web sessions (when their account is disabled or deleted).

Sessions live in the database (Django's default engine) keyed by a random id, not by user, so the
live ones are read and those of the user removed: a disabled account enabled again must sign in
anew, rather than find its old sessions alive. An admin action, rare enough for a scan."""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone


def end_sessions(user):
    """Remove every live session signed in as `user`; returns how many."""
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)
