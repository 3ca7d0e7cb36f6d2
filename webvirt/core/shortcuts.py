from django.shortcuts import get_object_or_404

from . import policy


def get_for_user_or_404(queryset, user, pk, *, view_action, action=None):
    """Objects the user may not see are a 404; seen but not allowed `action` is a 403."""
    obj = get_object_or_404(queryset.restrict(user, view_action), pk=pk)
    if action:
        policy.require(user, action, obj)
    return obj
