import django_filters
from rest_framework import serializers

from ..models import AuditEvent, Operation
from ..selectors import visible_audit_events, visible_operations
from .base import ReadOnlyViewSet


class OperationSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:operation-detail")
    label = serializers.CharField(read_only=True)
    actor = serializers.CharField(source="actor.username", default=None, read_only=True, allow_null=True)
    is_finished = serializers.BooleanField(read_only=True)

    class Meta:
        model = Operation
        fields = [
            "id",
            "url",
            "kind",
            "label",
            "status",
            "is_finished",
            "actor",
            "host",
            "guest",
            "target",
            "message",
            "detail",
            "progress",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class OperationFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter(max_length=64)
    status = django_filters.ChoiceFilter(choices=Operation.Status.choices)

    class Meta:
        model = Operation
        fields = ["kind", "status"]


class OperationViewSet(ReadOnlyViewSet):
    """Slow actions: follow one until `is_finished`; `message` holds the outcome or the error in
    plain words, `detail` the host's own error text behind them (empty when there is none)."""

    queryset = Operation.objects.none()  # the model, for the schema; get_queryset() decides

    serializer_class = OperationSerializer
    filterset_class = OperationFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return visible_operations(self.request.user)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor_name", "action", "target", "outcome", "ip", "via", "token", "details"]
        read_only_fields = fields


class AuditFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_name", lookup_expr="icontains", max_length=150)
    action = django_filters.CharFilter(lookup_expr="startswith", max_length=64)
    target = django_filters.CharFilter(lookup_expr="icontains", max_length=255)
    outcome = django_filters.CharFilter(max_length=16)

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "target", "outcome"]


class AuditEventViewSet(ReadOnlyViewSet):
    queryset = AuditEvent.objects.none()  # the model, for the schema; get_queryset() decides
    serializer_class = AuditEventSerializer
    filterset_class = AuditFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return visible_audit_events(self.request.user)
