from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from . import lanes, policy
from .forms import AuditFilterForm, OperationFilterForm
from .models import Operation
from .selectors import visible_audit_events, visible_operations


def operation_list(request):
    operations = visible_operations(request.user)
    form = OperationFilterForm(request.GET)
    filters = form.filters()
    if "status" in filters:
        operations = operations.filter(status=filters["status"])
    page = Paginator(operations, 50).get_page(filters.get("page"))
    template = "core/_operation_rows.html" if request.htmx else "core/operation_list.html"
    context = {
        "form": form,
        "page": page,
        "operations": page.object_list,
        "status": filters.get("status", ""),
        "statuses": Operation.Status,
    }
    return render(request, template, context)


def operation_detail(request, pk):
    """One operation, refreshed while it runs; links to what it made once it has."""
    operation = get_object_or_404(visible_operations(request.user), pk=pk)
    template = "core/_operation_detail.html" if request.htmx else "core/operation_detail.html"
    context = {
        "operation": operation,
        "steps": visible_operations(request.user).filter(parent=operation).order_by("id"),
        "ahead": lanes.ahead_of(operation),
        "ahead_on_guest": lanes.lane_of(operation).startswith("guest-"),
        "perms_host_view": policy.can(request.user, "host.view"),
    }
    return render(request, template, context)


TASK_PANE_SIZE = 8


def task_pane(request):
    """Your own recent operations, running ones first: the pane every page carries (base.html)."""
    mine = Operation.objects.filter(actor=request.user)
    unfinished = list(mine.exclude(status__in=Operation.FINISHED)[:TASK_PANE_SIZE])
    recent = list(mine.filter(status__in=Operation.FINISHED)[: TASK_PANE_SIZE - len(unfinished)])
    context = {
        "operations": unfinished + recent,
        "running": sum(op.status == Operation.Status.RUNNING for op in unfinished),
        "queued": sum(op.status == Operation.Status.QUEUED for op in unfinished),
        "failed": sum(op.status == Operation.Status.FAILED for op in recent),
    }
    return render(request, "core/_task_pane.html", context)


def audit_log(request):
    """Admins browse everyone's events; others see their own, and refused sign-ins to their account."""
    events = visible_audit_events(request.user)
    form = AuditFilterForm(request.GET)
    filters = form.filters()
    if "actor" in filters:
        events = events.filter(actor_name__icontains=filters["actor"])
    if "action" in filters:
        events = events.filter(action__startswith=filters["action"])
    if "target" in filters:
        events = events.filter(target__icontains=filters["target"])
    if "outcome" in filters:
        events = events.filter(outcome=filters["outcome"])
    page = Paginator(events, 50).get_page(filters.get("page"))
    context = {"form": form, "page": page, "events": page.object_list, "filters": filters}
    return render(request, "core/audit_log.html", context)
