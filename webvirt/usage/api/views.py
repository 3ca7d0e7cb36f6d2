from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from webvirt.core.api.base import ApiView

from ..report import MEASURES
from ..views import read_report

PARAMETERS = [
    OpenApiParameter("start", str, description="The first month, YYYY-MM (UTC); the current one by default."),
    OpenApiParameter("end", str, description="The last month, YYYY-MM, at most 12 months on; `start` by default."),
    OpenApiParameter("by", str, enum=["day", "month"], default="day", description="One row per day or per month."),
    OpenApiParameter("user", int, description="One user's usage (yours, unless you are an admin)."),
    OpenApiParameter(
        "team",
        int,
        description="One team's usage (a team of yours, unless you are an admin). Without user or team: "
        "yours and your teams', or for admins every user's (and guests without an owner) and every team's.",
    ),
]


class UsageRowSerializer(serializers.Serializer):
    period = serializers.DateField(help_text="The day, or the month's first day, in UTC.")
    kind = serializers.ChoiceField(choices=["user", "team"])
    id = serializers.IntegerField(allow_null=True, help_text="The user's or team's id; null: guests without an owner.")
    name = serializers.CharField()
    vcpu_hours = serializers.FloatField(help_text="vCPUs times hours in a running, paused or suspended state.")
    memory_gib_hours = serializers.FloatField(help_text="Memory (GiB) times hours in those states.")
    disk_gib_days = serializers.FloatField(help_text="Disk capacity (GiB) times days, in any state.")
    guests = serializers.IntegerField(help_text="Distinct guests that existed during the period.")


class UsageSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="The last month's first day.")
    by = serializers.ChoiceField(choices=["day", "month"])
    rows = UsageRowSerializer(many=True)


class UsageView(ApiView):
    """vCPU-hours, memory GiB-hours, disk GiB-days and guests per user and team, per day or month:
    the numbers of the usage page and its CSV. Asking for someone else's usage is a 403."""

    @extend_schema(parameters=PARAMETERS, responses={200: UsageSerializer}, operation_id="usage")
    def get(self, request):
        form, rows = read_report(request.query_params, request.user)
        if rows is None:
            raise serializers.ValidationError(form.errors)
        data = form.cleaned_data
        rows = [
            {
                "period": row["period"],
                "kind": row["subject"].kind,
                "id": row["subject"].pk,
                "name": row["subject"].name,
                **{measure: row[measure] for measure in MEASURES},
            }
            for row in rows
        ]
        report = {"start": data["start"], "end": data["end"], "by": data["by"], "rows": rows}
        return Response(UsageSerializer(report).data)
