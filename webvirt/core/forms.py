from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .audit import OUTCOMES as OUTCOME_LABELS
from .converters import is_database_id
from .models import Operation


def form_problems(form):
    """A form's errors as one line of sentences, for a message after a redirect. The form is not
    shown again, so Django's bare "This field is required." is said with the field's label."""
    sentences = []
    for name, errors in form.errors.as_data().items():
        field = form.fields.get(name)
        label = (field.label or name.replace("_", " ").capitalize()) if field is not None else ""
        for error in errors:
            text = " ".join(error.messages)
            bare = text == str(forms.Field.default_error_messages["required"])
            sentences.append(_("%(label)s: %(error)s") % {"label": label, "error": text} if label and bare else text)
    return " ".join(sentences)


# Whole sentences per noun, so that each language can say them its own way.
NAME_TAKEN = {
    "pool": gettext_lazy("%(host)s already has a pool named %(name)s."),
    "network": gettext_lazy("%(host)s already has a network named %(name)s."),
    "": gettext_lazy("%(host)s already has something named %(name)s."),
}


class NewOnHostForm(forms.Form):
    """A form for something new on one host (a pool, a network) whose name must be free there
    (rows of ones gone from the host do not count: their names are free)."""

    host_relation = ""  # the host's related manager, e.g. "pools"
    noun = ""  # a key of NAME_TAKEN

    def __init__(self, *args, host, **kwargs):
        super().__init__(*args, **kwargs)
        self.host = host

    def clean_name(self):
        name = self.cleaned_data["name"]
        if getattr(self.host, self.host_relation).present().filter(name=name).exists():
            taken = NAME_TAKEN.get(self.noun, NAME_TAKEN[""])
            raise forms.ValidationError(taken % {"host": self.host.name, "name": name})
        return name


class ModelIdsField(forms.ModelMultipleChoiceField):
    """A multiple choice of rows that refuses impossible ids before querying: Django guards
    `pk=` against integers of 2**63 and more, but not `pk__in`, which SQLite then cannot bind."""

    def clean(self, value):
        for pk in value or ():
            if not is_database_id(pk):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super().clean(value)


class FilterForm(forms.Form):
    """The query string of a list page. A value that does not fit is left out and the page says
    so (see _filter_errors.html); the other filters still apply."""

    page = forms.IntegerField(min_value=1, required=False)

    def filters(self):
        """The valid values, blanks left out."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


class OperationFilterForm(FilterForm):
    status = forms.ChoiceField(choices=[("", gettext_lazy("Any status")), *Operation.Status.choices], required=False)


class AuditFilterForm(FilterForm):
    OUTCOMES = tuple(OUTCOME_LABELS)

    actor = forms.CharField(required=False, max_length=150, label=gettext_lazy("Who"))
    action = forms.CharField(required=False, max_length=64, label=gettext_lazy("Action"))
    target = forms.CharField(required=False, max_length=255, label=gettext_lazy("Target"))
    outcome = forms.ChoiceField(
        choices=[("", gettext_lazy("Any outcome"))] + [(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        required=False,
        label=gettext_lazy("Outcome"),
    )
