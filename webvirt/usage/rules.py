"""Whose usage one may read (registered with core/policy.py): one's own and one's teams'; admins everyone's."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from webvirt.accounts.models import Team
from webvirt.core import policy


def _allows(user, subject):
    if isinstance(subject, Team):
        return subject.members.filter(pk=user.pk).exists()
    return subject is not None and subject.pk == user.pk


def _restrict(queryset, user):
    if queryset.model is Team:
        return queryset.filter(members=user)
    if queryset.model is get_user_model():
        return queryset.filter(pk=user.pk)
    return queryset.none()


def _refusal(subject):
    return _("You may see only your own usage and that of your teams.")


def register():
    policy.register("usage.view", policy.Rule(allows=_allows, restrict=_restrict, refusal=_refusal))
