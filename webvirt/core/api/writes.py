"""Small pieces API writes share."""

from django.shortcuts import get_object_or_404
from rest_framework import serializers

ID = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


def object_named_in_body(request, field, queryset):
    """The object whose id the body gives in `field`, among `queryset` (else a 404 or a 400)."""
    try:
        pk = ID.run_validation(request.data.get(field))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({field: exc.detail}) from None
    return get_object_or_404(queryset, pk=pk)


class ActionSerializer(serializers.Serializer):
    """{"action": ...}, one of the names an endpoint lists."""

    action = serializers.CharField()

    def __init__(self, *args, names, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"] = serializers.ChoiceField(choices=list(names))


def action_schema(schema_name, names):
    """The request body {"action": one of `names`}, for the schema."""
    return type(schema_name, (serializers.Serializer,), {"action": serializers.ChoiceField(choices=list(names))})
