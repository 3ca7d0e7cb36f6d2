"""Who may do what: the one place every view, form, task and consumer asks.

Admins (staff) may do everything. Everyone else acts on guests through roles: the guest's owner,
and grants to the user or to a team they belong to, each role including the ones before it. Each
guest action names the least role that allows it. Host-level work is for admins, except creating
guests on what admins have published to the user.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q

ROLES = ("viewer", "console", "operator", "editor", "owner")
RANK = {role: rank for rank, role in enumerate(ROLES)}

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
    "configure": "editor",
    "snapshot": "editor",
    "clone": "owner",
    "share": "owner",
    "delete": "owner",
}
ADMIN_ACTIONS = {
    "host.view",
    "host.manage",
    "storage.manage",
    "network.manage",
    "flavor.manage",
    "user.manage",
    "operation.view_all",
    "audit.view_all",
}
SELF_SERVICE_ACTIONS = {"guest.create"}
# On a user account: the user themself, or an admin (SSH keys, API tokens).
ACCOUNT_ACTIONS = {"account.edit"}
ACTIONS = set(GUEST_ACTIONS) | ADMIN_ACTIONS | SELF_SERVICE_ACTIONS | ACCOUNT_ACTIONS


def roles_at_least(role):
    return ROLES[RANK[role] :]


def guest_role(user, guest):
    """The user's highest role on `guest`, or None; remembered on the guest for the request."""
    cache = guest.__dict__.setdefault("_roles", {})
    if user.pk not in cache:
        if guest.owner_id == user.pk:
            cache[user.pk] = "owner"
        else:
            from webvirt.guests.models import Grant

            roles = (
                Grant.objects.filter(guest=guest)
                .filter(Q(user=user) | Q(team__members=user))
                .values_list("role", flat=True)
            )
            cache[user.pk] = max(roles, key=RANK.get, default=None)
    return cache[user.pk]


def _active(user):
    return user is not None and user.is_authenticated and user.is_active


def published_to(queryset, user):
    """What admins opened to `user`: to everyone, or to one of their teams."""
    if user.is_staff:
        return queryset
    return queryset.filter(Q(public=True) | Q(teams__members=user)).distinct()


def can(user, action, obj=None):
    """True when `user` may perform `action` (on `obj`, where the action concerns one)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}: add it to webvirt.core.policy.")
    if not _active(user):
        return False
    if user.is_staff:
        return True
    if action in GUEST_ACTIONS:
        role = guest_role(user, obj) if obj is not None else None
        return role is not None and RANK[role] >= RANK[GUEST_ACTIONS[action]]
    if action in ACCOUNT_ACTIONS:
        return obj is not None and obj.pk == user.pk
    if action == "guest.create":
        from webvirt.hosts.models import Host

        hosts = published_to(Host.objects.filter(enabled=True), user)
        return hosts.filter(pk=obj.pk).exists() if obj is not None else hosts.exists()
    return False


def restrict(queryset, user, action):
    """Narrow `queryset` to the objects `user` may perform `action` on."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}: add it to webvirt.core.policy.")
    if not _active(user):
        return queryset.none()
    if user.is_staff:
        return queryset
    if action in GUEST_ACTIONS:
        roles = roles_at_least(GUEST_ACTIONS[action])
        return queryset.filter(
            Q(owner=user)
            | Q(grants__user=user, grants__role__in=roles)
            | Q(grants__team__members=user, grants__role__in=roles)
        ).distinct()
    if action == "guest.create":
        return published_to(queryset.filter(enabled=True), user)
    return queryset.none()


def require(user, action, obj=None):
    """Raise PermissionDenied (a 403 page that shows its reason) unless `user` may perform `action`."""
    if not can(user, action, obj):
        raise PermissionDenied(refusal(action, obj))


def refusal(action, obj=None):
    """Why `action` is refused, in words for the person refused."""
    if action in GUEST_ACTIONS:
        return f"This needs the {GUEST_ACTIONS[action]} role on {obj or 'the guest'}."
    if action == "guest.create":
        return "No host is open to you for new guests yet; an admin can open one."
    return "Only admins may do this."
