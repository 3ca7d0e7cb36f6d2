"""The usage page (a chart and a table) and its CSV: the same filters, rows and numbers as the API."""

import calendar
import csv

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from webvirt.accounts.models import Team
from webvirt.core import policy

from .forms import UsageForm
from .report import MEASURES, report

CHART_SUBJECTS = 8  # more lines than this would be unreadable: the table has them all


def read_report(data, actor):
    """(form, rows): rows None when the filters are bad; PermissionDenied when they ask for someone else's."""
    form = UsageForm(data, actor=actor)
    if not form.is_valid():
        if form.forbidden:
            raise PermissionDenied(policy.refusal("usage.view"))
        return form, None
    return form, report(**form.query())


def subject_label(subject):
    if subject.kind == "team":
        return _("team %(name)s") % {"name": subject.name}
    return subject.label


def _chart(rows, by):
    """Columns as uPlot draws them: each period's start (Unix seconds), then per subject its figures."""
    periods = sorted({row["period"] for row in rows})
    subjects = {}
    for row in rows:
        figures = subjects.setdefault(row["subject"], {measure: [] for measure in MEASURES})
        for measure in MEASURES:
            figures[measure].append(row[measure])
    shown = list(subjects.items())[:CHART_SUBJECTS]
    return {
        "by": by,
        "time": [calendar.timegm(period.timetuple()) for period in periods],
        "subjects": [{"label": subject_label(subject), **figures} for subject, figures in shown],
    }


def _choices(user):
    """Whom the filters offer: whoever's usage the user may see."""
    return {
        "user_choices": policy.restrict(get_user_model().objects.order_by("username"), user, "usage.view"),
        "team_choices": policy.restrict(Team.objects.all(), user, "usage.view"),
    }


@require_GET
def usage(request):
    form, rows = read_report(request.GET, request.user)
    if rows is None:
        return render(request, "usage/usage.html", {"form": form, **_choices(request.user)}, status=400)
    for row in rows:
        row["label"] = subject_label(row["subject"])
    context = {
        "form": form,
        "rows": rows,
        "by": form.cleaned_data["by"],
        "chart": _chart(rows, form.cleaned_data["by"]),
        "chart_cut": len({row["subject"] for row in rows}) > CHART_SUBJECTS,
        "query": request.GET.urlencode(),
        **_choices(request.user),
    }
    return render(request, "usage/usage.html", context)


CSV_HEADER = ("period", "kind", "id", "name", *MEASURES)


def _text(value):
    """A name a spreadsheet would run as a formula gets a leading apostrophe (user and team names may
    start with + - @ or =); numbers are left as they are, so the CSV's match the API's."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_cells(row):
    """One CSV line: the same keys and numbers as the API's rows."""
    subject = row["subject"]
    cells = [row["period"].isoformat(), subject.kind, subject.pk or "", _text(subject.name)]
    return cells + [row[measure] for measure in MEASURES]


@require_GET
def export_csv(request):
    form, rows = read_report(request.GET, request.user)
    if rows is None:
        problems = " ".join(error for errors in form.errors.values() for error in errors)
        return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
    data = form.cleaned_data
    name = f"usage-{data['start']:%Y-%m}-{data['end']:%Y-%m}-by-{data['by']}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_cells(row) for row in rows)
    return response
