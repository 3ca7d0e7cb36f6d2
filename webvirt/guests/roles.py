"""Roles on a guest and the guest actions they allow, registered with the policy (core/policy.py).

A user's role on a guest comes from owning it, or from grants to the user or to a team they are
in; each role includes the ones before it, and each guest action names the least role it needs.
"""

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt.core import policy

ROLES = ("viewer", "console", "operator", "editor", "owner")
RANK = {role: rank for rank, role in enumerate(ROLES)}
ROLE_LABELS = {
    "viewer": gettext_lazy("viewer"),
    "console": gettext_lazy("console"),
    "operator": gettext_lazy("operator"),
    "editor": gettext_lazy("editor"),
    "owner": gettext_lazy("owner"),
}

GUEST_ACTIONS = {
    "view": "viewer",
    "console": "console",
    "console_takeover": "operator",  # force another person's serial session off (consoles/serial_sessions.py)
    "start": "operator",
    "shutdown": "operator",
    "destroy": "operator",
    "reboot": "operator",
    "reset": "operator",
    "suspend": "operator",
    "resume": "operator",
    "migrate": "operator",  # and both hosts open to them (guests/migration.py)
    "configure": "editor",
    "snapshot": "editor",
    "clone": "owner",
    "share": "owner",
    "delete": "owner",
    "renew": "owner",  # a guest's lease (webvirt/lifecycle)
}


def roles_at_least(role):
    return ROLES[RANK[role] :]


def guest_role(user, guest):
    """The user's highest role on `guest`, or None; remembered on the guest for the request."""
    from .models import Grant

    cache = guest.__dict__.setdefault("_roles", {})
    if user.pk not in cache:
        if guest.owner_id == user.pk:
            cache[user.pk] = "owner"
        else:
            roles = (
                Grant.objects.filter(guest=guest)
                .filter(Q(user=user) | Q(team__members=user))
                .values_list("role", flat=True)
            )
            cache[user.pk] = max(roles, key=RANK.get, default=None)
    return cache[user.pk]


def role_rule(least):
    """The policy rule of a guest action that needs at least the role `least` on the guest."""

    def allows(user, guest):
        role = guest_role(user, guest) if guest is not None else None
        return role is not None and RANK[role] >= RANK[least]

    def restrict(queryset, user):
        roles = roles_at_least(least)
        return queryset.filter(
            Q(owner=user)
            | Q(grants__user=user, grants__role__in=roles)
            | Q(grants__team__members=user, grants__role__in=roles)
        ).distinct()

    def refusal(guest):
        if guest is None:
            return _("This needs the %(role)s role on the guest.") % {"role": ROLE_LABELS[least]}
        return _("This needs the %(role)s role on %(guest)s.") % {"role": ROLE_LABELS[least], "guest": guest}

    return policy.Rule(allows=allows, restrict=restrict, refusal=refusal)


def register():
    for action, least in GUEST_ACTIONS.items():
        policy.register(action, role_rule(least))
