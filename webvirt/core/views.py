from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from . import policy
from .models import Operation


def visible_operations(user):
    operations = Operation.objects.select_related("actor", "host", "guest")
    return operations if policy.can(user, "operation.view_all") else operations.filter(actor=user)


def operation_list(request):
    operations = visible_operations(request.user)
    status = request.GET.get("status", "")
    if status in Operation.Status.values:
        operations = operations.filter(status=status)
    page = Paginator(operations, 50).get_page(request.GET.get("page"))
    template = "core/_operation_rows.html" if request.htmx else "core/operation_list.html"
    return render(
        request,
        template,
        {"page": page, "operations": page.object_list, "status": status, "statuses": Operation.Status},
    )


def operation_detail(request, pk):
    """One operation, refreshed while it runs; links to what it made once it has."""
    operation = get_object_or_404(visible_operations(request.user), pk=pk)
    template = "core/_operation_detail.html" if request.htmx else "core/operation_detail.html"
    return render(request, template, {"operation": operation})
