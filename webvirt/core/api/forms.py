"""API writes validate with the same Django forms as the pages, so both refuse the same input with
the same words; the form's typed parameters then go to the one service, `perform()`.

`request_schema()` describes a form's fields for the OpenAPI schema (fields a form adds for one
target, like a guest's disks, are declared by the view)."""

from decimal import Decimal

from django import forms
from rest_framework import serializers
from rest_framework.response import Response

from .views import OperationSerializer


def params_from(form):
    """The form's typed parameters, or a 400 that names each field's problem."""
    if not form.is_valid():
        raise serializers.ValidationError(form_errors(form))
    return form.params()


def form_errors(form):
    """A form's errors as the API names them."""
    return {("non_field_errors" if key == "__all__" else key): value for key, value in form.errors.items()}


def accepted(operation, request):
    """202: the work is queued; follow the Operation at `url` (or through events)."""
    body = OperationSerializer(operation, context={"request": request}).data
    return Response(body, status=202, headers={"Location": body["url"]})


_FIELDS = {
    forms.BooleanField: lambda field: serializers.BooleanField(required=False),
    forms.IntegerField: lambda field: serializers.IntegerField(
        required=field.required, min_value=field.min_value, max_value=field.max_value
    ),
    forms.FloatField: lambda field: serializers.FloatField(
        required=field.required, min_value=field.min_value, max_value=field.max_value
    ),
    forms.DecimalField: lambda field: serializers.DecimalField(
        required=field.required,
        max_digits=field.max_digits,
        decimal_places=field.decimal_places,
        min_value=None if field.min_value is None else Decimal(str(field.min_value)),
    ),
    forms.DateTimeField: lambda field: serializers.DateTimeField(required=field.required),
    forms.FileField: lambda field: serializers.FileField(required=field.required),
    forms.ModelMultipleChoiceField: lambda field: serializers.ListField(
        child=serializers.IntegerField(), required=field.required
    ),
    forms.ModelChoiceField: lambda field: (
        serializers.CharField(required=field.required)
        if field.to_field_name
        else serializers.IntegerField(required=field.required, allow_null=not field.required)
    ),
    forms.ChoiceField: lambda field: (
        serializers.ChoiceField(choices=field.choices, required=field.required)
        if field.choices
        else serializers.CharField(required=field.required)
    ),
    forms.CharField: lambda field: serializers.CharField(
        required=field.required, allow_blank=not field.required, max_length=field.max_length
    ),
}


def _serializer_field(field):
    for kind in type(field).__mro__:
        if kind in _FIELDS:
            made = _FIELDS[kind](field)
            made.help_text = str(field.help_text or field.label or "") or None
            return made
    return serializers.CharField(required=field.required)


def request_schema(form_class, schema_name, /, **extra):
    """A serializer class describing `form_class`'s fields (and `extra` ones) in the schema."""
    form_class = getattr(form_class, "func", form_class)  # a functools.partial of a form class
    fields = {key: _serializer_field(field) for key, field in form_class.base_fields.items()}
    return type(schema_name, (serializers.Serializer,), {**fields, **extra})
