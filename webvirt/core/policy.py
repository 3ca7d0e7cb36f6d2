"""Who may do what: the one place every view, form, task and consumer asks.

Today only staff may act and everyone else sees nothing; the permissions issue adds per-guest
grants by role. Each guest action names the least role that allows it, so that table, not the
call sites, is what changes.
"""

ROLES = ("viewer", "console", "operator", "editor", "owner")

GUEST_ACTIONS = {
    "view": "viewer",
    "console": "console",
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
    "delete": "owner",
}
HOST_ACTIONS = {"host.view", "host.manage", "storage.manage", "network.manage", "guest.create", "flavor.manage"}
ACTIONS = set(GUEST_ACTIONS) | HOST_ACTIONS | {"operation.view_all"}


def can(user, action, obj=None):
    """True when `user` may perform `action` (on `obj`, where the action concerns one)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}: add it to webvirt.core.policy.")
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_staff)


def restrict(queryset, user, action):
    """Narrow `queryset` to the objects `user` may perform `action` on."""
    return queryset if can(user, action) else queryset.none()


def require(user, action, obj=None):
    """Raise PermissionDenied (a 403) unless `user` may perform `action`."""
    from django.core.exceptions import PermissionDenied

    if not can(user, action, obj):
        raise PermissionDenied(f"You may not {action} this.")
