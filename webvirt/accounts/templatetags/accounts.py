from django import template
from django.contrib.auth import get_user_model

from webvirt.accounts.models import PUBLISHABLE, Team
from webvirt.core import policy

register = template.Library()


@register.simple_tag
def may_publish(user, kind):
    """Whether `user` may open objects of `kind` (host, pool, volume, network, flavor) to others."""
    return policy.can(user, PUBLISHABLE[kind][1])


@register.simple_tag
def all_teams():
    return Team.objects.all()


@register.simple_tag
def active_users():
    """Who an admin may open something to, one by one (disabled accounts could not use it)."""
    return get_user_model().objects.filter(is_active=True).order_by("username")
