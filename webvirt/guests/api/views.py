import django_filters
from django.contrib.auth import get_user_model

from webvirt.core import policy
from webvirt.core.api.base import ReadOnlyViewSet
from webvirt.hosts.models import Host

from ..models import Flavor, Guest
from .serializers import FlavorSerializer, GuestDetailSerializer, GuestSerializer


def _hosts_of_visible_guests(request):
    visible = Guest.objects.restrict(request.user, "view") if request else Guest.objects.none()
    return Host.objects.filter(pk__in=visible.values("host_id"))


class GuestFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100, label="Name contains")
    host = django_filters.ModelChoiceFilter(queryset=_hosts_of_visible_guests)
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all(), to_field_name="username")
    state = django_filters.ChoiceFilter(choices=Guest.State.choices)
    gone = django_filters.BooleanFilter(method="_include_gone", label="Include guests gone from their host")

    class Meta:
        model = Guest
        fields = ["q", "host", "owner", "state", "gone"]

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("gone"):
            queryset = queryset.present()
        return super().filter_queryset(queryset)

    def _include_gone(self, queryset, name, value):
        return queryset  # applied in filter_queryset, which also covers the parameter left out


class GuestViewSet(ReadOnlyViewSet):
    """Guests you may see: filter, sort (`ordering`), page (`limit`, `offset`)."""

    queryset = Guest.objects.none()  # the model, for the schema; get_queryset() decides

    filterset_class = GuestFilter
    ordering_fields = ["name", "host__name", "state", "vcpus", "memory_mib", "first_seen_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        guests = Guest.objects.restrict(self.request.user, "view").select_related("host", "owner")
        if self.action == "retrieve":
            guests = guests.prefetch_related("disks", "nics", "snapshots")
        return guests

    def get_serializer_class(self):
        return GuestDetailSerializer if self.action == "retrieve" else GuestSerializer


class FlavorViewSet(ReadOnlyViewSet):
    queryset = Flavor.objects.none()  # the model, for the schema; get_queryset() decides
    serializer_class = FlavorSerializer
    ordering = ["vcpus", "memory_mib", "name"]
    ordering_fields = ["name", "vcpus", "memory_mib", "disk_gib"]

    def get_queryset(self):
        return policy.published_to(Flavor.objects.all(), self.request.user)
