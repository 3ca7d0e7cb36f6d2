"""Who may do what: the one place every view, form, API call, task and consumer asks.

Admins (staff) may do everything. Admin-only actions are declared here; every other action is a
rule an app registers in its ready() (guests: one per guest action, by role; hosts: creating
guests on what admins opened to the user; accounts: your own account), so core knows no app.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ADMIN_ACTIONS = {
    "host.view",
    "host.manage",
    "storage.manage",
    "network.manage",
    "flavor.manage",
    "user.manage",
    "operation.view_all",
    "audit.view_all",
    "xml.edit",
    "lease.enforce",  # lease steps are webvirt's own (system); admins may take them by hand
}
# Why an admin-only action is refused, where "only admins" alone would not say enough.
ADMIN_REFUSALS = {
    "xml.edit": _("Only admins may read or edit libvirt XML: a definition can reach any file or device on its host."),
}


@dataclass(frozen=True)
class Rule:
    allows: Callable  # allows(user, obj) -> bool, for an active user who is not an admin
    restrict: Callable | None = None  # restrict(queryset, user) -> the objects it allows
    refusal: Callable | None = None  # refusal(obj) -> why not, in words for the person refused


_RULES = {}


def register(action, rule):
    if action in ADMIN_ACTIONS or action in _RULES:
        raise ValueError(f"The policy already has a rule for {action!r}.")
    _RULES[action] = rule


def actions():
    return ADMIN_ACTIONS | set(_RULES)


def _known(action):
    if action not in ADMIN_ACTIONS and action not in _RULES:
        raise ValueError(f"Unknown action {action!r}: declare it in webvirt.core.policy or register a rule.")


def _active(user):
    return user is not None and user.is_authenticated and user.is_active


def published_to(queryset, user):
    """What admins opened to `user` (Publishable rows): to everyone, to one of their teams, or to them."""
    if user.is_staff:
        return queryset
    return queryset.filter(Q(public=True) | Q(teams__members=user) | Q(users=user)).distinct()


def can(user, action, obj=None):
    """True when `user` may perform `action` (on `obj`, where the action concerns one)."""
    _known(action)
    if not _active(user):
        return False
    if user.is_staff:
        return True
    rule = _RULES.get(action)
    return rule is not None and rule.allows(user, obj)


def restrict(queryset, user, action):
    """Narrow `queryset` to the objects `user` may perform `action` on."""
    _known(action)
    if not _active(user):
        return queryset.none()
    if user.is_staff:
        return queryset
    rule = _RULES.get(action)
    if rule is None or rule.restrict is None:
        return queryset.none()
    return rule.restrict(queryset, user)


def require(user, action, obj=None):
    """Raise PermissionDenied (a 403 page that shows its reason) unless `user` may perform `action`."""
    if not can(user, action, obj):
        raise PermissionDenied(refusal(action, obj))


def refusal(action, obj=None):
    """Why `action` is refused, in words for the person refused."""
    rule = _RULES.get(action)
    if rule is not None and rule.refusal is not None:
        return rule.refusal(obj)
    return str(ADMIN_REFUSALS.get(action, _("Only admins may do this.")))
