from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from webvirt.core.api.base import ApiView
from webvirt.core.shortcuts import get_for_user_or_404
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host

from ..forms import RangeForm
from ..models import GuestSample, HostSample
from ..series import guest_series, host_series
from ..tiers import RANGE_LABELS

RANGE = OpenApiParameter(
    "range",
    str,
    enum=list(RANGE_LABELS),
    default="1h",
    description="How far back: 1h (10 s points), 1d (2 min), 1w (10 min) or 30d (1 h).",
)
UNITS = {
    "cpu_percent": "percent (all its CPUs together: 100 is all busy)",
    "memory_mib": "MiB",
    "memory_total_mib": "MiB",
    "memory_used_mib": "MiB",
    "memory_rss_mib": "MiB",
    "disk_read_bps": "bytes per second",
    "disk_write_bps": "bytes per second",
    "disk_read_iops": "requests per second",
    "disk_write_iops": "requests per second",
    "net_rx_bps": "bytes per second",
    "net_tx_bps": "bytes per second",
}


def _series_serializer(name, measures):
    fields = {
        measure: serializers.ListField(child=serializers.FloatField(allow_null=True), help_text=UNITS[measure])
        for measure in measures
    }
    values = type(f"{name}Values", (serializers.Serializer,), fields)
    return type(
        name,
        (serializers.Serializer,),
        {
            "range": serializers.ChoiceField(choices=list(RANGE_LABELS)),
            "resolution": serializers.IntegerField(help_text="Seconds per point of this range's tier."),
            "sample_interval": serializers.IntegerField(help_text="Seconds between samples."),
            "start": serializers.IntegerField(help_text="The range's start, in Unix seconds."),
            "end": serializers.IntegerField(help_text="Now, in Unix seconds."),
            "time": serializers.ListField(
                child=serializers.IntegerField(), help_text="Each point's time (Unix seconds), oldest first."
            ),
            "series": values(help_text="Per measure, one value per time; null where the host did not report it."),
        },
    )


GuestSeriesSerializer = _series_serializer("GuestSeries", GuestSample.MEASURES)
HostSeriesSerializer = _series_serializer("HostSeries", HostSample.MEASURES)


def _range(request):
    form = RangeForm(request.query_params)
    if not form.is_valid():
        raise serializers.ValidationError(form.errors)
    return form.range_name()


class GuestMetricsView(ApiView):
    """A guest's CPU, memory, disk and network use over a range, for whoever may see the guest."""

    @extend_schema(parameters=[RANGE], responses={200: GuestSeriesSerializer}, operation_id="guests_metrics")
    def get(self, request, pk):
        guest = get_for_user_or_404(Guest.objects.all(), request.user, pk, view_action="view")
        return Response(guest_series(guest, _range(request)))


class HostMetricsView(ApiView):
    """A host's CPU and memory use over a range (admins)."""

    @extend_schema(parameters=[RANGE], responses={200: HostSeriesSerializer}, operation_id="hosts_metrics")
    def get(self, request, pk):
        host = get_for_user_or_404(Host.objects.all(), request.user, pk, view_action="host.view")
        return Response(host_series(host, _range(request)))
