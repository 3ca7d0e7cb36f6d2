from django import forms

from .tiers import RANGE_LABELS


class RangeForm(forms.Form):
    """The `range` of a series request: 1h (the default), 1d, 1w or 30d."""

    range = forms.ChoiceField(choices=list(RANGE_LABELS.items()), required=False)

    def range_name(self):
        return self.cleaned_data["range"] or "1h"
