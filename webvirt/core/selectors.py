"""Reads that pages and the API share."""

from django.db.models import Q

from . import policy
from .models import AuditEvent, Operation


def visible_operations(user):
    """Admins see all; others see their own and the history of guests they may see."""
    operations = Operation.objects.select_related("actor", "host", "guest")
    if policy.can(user, "operation.view_all"):
        return operations
    guests = Operation._meta.get_field("guest").related_model.objects  # the guests app's, through the relation
    return operations.filter(Q(actor=user) | Q(guest__in=guests.restrict(user, "view").values("pk")))


def visible_audit_events(user):
    """Admins browse everyone's events; others see their own, and refused sign-ins to their account."""
    events = AuditEvent.objects.select_related("actor")
    if policy.can(user, "audit.view_all"):
        return events
    sign_ins_to_them = Q(actor__isnull=True, action="login", target=user.get_username())
    return events.filter(Q(actor=user) | sign_ins_to_them)
