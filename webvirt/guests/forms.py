"""Forms of the guest list and the guest page (access, deletion); change and create forms live apart."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webvirt.accounts.models import Team
from webvirt.core.forms import FilterForm, ModelIdsField

from .models import Grant, Guest

SORTS = {"name": "name", "host": "host__name", "state": "state", "vcpus": "vcpus", "memory": "memory_mib"}


class GuestFilterForm(FilterForm):
    q = forms.CharField(required=False, max_length=100, label=gettext_lazy("Search"))
    host = forms.ModelChoiceField(None, required=False, label=gettext_lazy("Host"))
    state = forms.ChoiceField(
        choices=[("", gettext_lazy("Any state")), *Guest.State.choices], required=False, label=gettext_lazy("State")
    )
    gone = forms.BooleanField(required=False, label=gettext_lazy("Include gone"))
    sort = forms.ChoiceField(
        choices=[(f"{order}{key}", key) for key in SORTS for order in ("", "-")],
        required=False,
        label=gettext_lazy("Sort"),
    )

    def __init__(self, *args, hosts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = hosts

    def ordering(self):
        sort = self.filters().get("sort", "name")
        column = SORTS[sort.removeprefix("-")]
        return f"-{column}" if sort.startswith("-") else column


def active_user(username):
    """The active account named `username`, or a ValidationError saying there is none."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise forms.ValidationError(_("There is no active user named %(name)s.") % {"name": username})
    return user


class GrantForm(forms.Form):
    username = forms.CharField(required=False, max_length=150, label=gettext_lazy("User"))
    team = forms.ModelChoiceField(
        Team.objects.all(), required=False, empty_label=gettext_lazy("— or a team —"), label=gettext_lazy("Team")
    )
    role = forms.ChoiceField(choices=Grant.ROLES, initial="viewer", label=gettext_lazy("Role"))

    def clean(self):
        data = super().clean()
        username, team = data.get("username", ""), data.get("team")
        if bool(username) == bool(team) and not self.errors:
            raise forms.ValidationError(_("Name a user or choose a team."))
        if username:
            data["user"] = active_user(username)
        return data


class RevokeForm(forms.Form):
    """The Revoke button of one grant row sends that grant's id as `remove`."""

    GONE = gettext_lazy("That grant does not exist any more; it may have been revoked already.")
    remove = forms.ModelChoiceField(None, error_messages={"required": GONE, "invalid_choice": GONE})

    def __init__(self, *args, guest, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["remove"].queryset = guest.grants.select_related("user", "team")


class TransferForm(forms.Form):
    new_owner = forms.CharField(max_length=150, label=gettext_lazy("Give to user"))

    def clean_new_owner(self):
        return active_user(self.cleaned_data["new_owner"])


class DeleteForm(forms.Form):
    confirm_name = forms.CharField(max_length=255, required=False, label=gettext_lazy("Confirm name"))
    remove_volumes = forms.BooleanField(required=False, label=gettext_lazy("Remove volumes"))

    def __init__(self, *args, guest, **kwargs):
        super().__init__(*args, **kwargs)
        self.guest = guest

    def clean_confirm_name(self):
        if self.cleaned_data["confirm_name"] != self.guest.name:
            raise forms.ValidationError(_("Type the guest's name exactly to confirm deletion."))
        return self.cleaned_data["confirm_name"]


class BulkForm(forms.Form):
    """An action on the guests ticked on the list: each one is still checked by the policy."""

    ACTIONS = {
        "start": gettext_lazy("start"),
        "shutdown": gettext_lazy("shut down"),
        "destroy": gettext_lazy("force off"),
        "delete": gettext_lazy("delete"),
    }

    guests = ModelIdsField(
        None,
        label=gettext_lazy("Guests"),
        error_messages={
            "required": gettext_lazy("Select at least one guest."),
            "invalid_choice": gettext_lazy("A selected guest is gone, or not one you may see: reload the list."),
            "invalid_pk_value": gettext_lazy("Select guests from the list."),
        },
    )
    action = forms.ChoiceField(choices=list(ACTIONS.items()), label=gettext_lazy("Action"))
    remove_volumes = forms.BooleanField(
        required=False, label=gettext_lazy("Also delete their disks and cloud-init seeds")
    )
    confirmed = forms.BooleanField(required=False, label=gettext_lazy("Confirmed"))

    def __init__(self, *args, guests, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guests"].queryset = guests
