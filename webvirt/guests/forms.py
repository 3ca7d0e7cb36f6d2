"""Forms of the guest list and the guest page (access, deletion); change and create forms live apart."""

from django import forms
from django.contrib.auth import get_user_model

from webvirt.accounts.models import Team
from webvirt.core.forms import FilterForm, ModelIdsField

from .models import Grant, Guest

SORTS = {"name": "name", "host": "host__name", "state": "state", "vcpus": "vcpus", "memory": "memory_mib"}


class GuestFilterForm(FilterForm):
    q = forms.CharField(required=False, max_length=100, label="Search")
    host = forms.ModelChoiceField(None, required=False)
    state = forms.ChoiceField(choices=[("", "Any state"), *Guest.State.choices], required=False)
    gone = forms.BooleanField(required=False, label="Include gone")
    sort = forms.ChoiceField(
        choices=[(f"{order}{key}", key) for key in SORTS for order in ("", "-")], required=False, label="Sort"
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
        raise forms.ValidationError(f"There is no active user named {username}.")
    return user


class GrantForm(forms.Form):
    username = forms.CharField(required=False, max_length=150, label="User")
    team = forms.ModelChoiceField(Team.objects.all(), required=False, empty_label="— or a team —")
    role = forms.ChoiceField(choices=Grant.ROLES, initial="viewer")

    def clean(self):
        data = super().clean()
        username, team = data.get("username", ""), data.get("team")
        if bool(username) == bool(team) and not self.errors:
            raise forms.ValidationError("Name a user or choose a team.")
        if username:
            data["user"] = active_user(username)
        return data


class RevokeForm(forms.Form):
    """The Revoke button of one grant row sends that grant's id as `remove`."""

    GONE = "That grant does not exist any more; it may have been revoked already."
    remove = forms.ModelChoiceField(None, error_messages={"required": GONE, "invalid_choice": GONE})

    def __init__(self, *args, guest, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["remove"].queryset = guest.grants.select_related("user", "team")


class TransferForm(forms.Form):
    new_owner = forms.CharField(max_length=150, label="Give to user")

    def clean_new_owner(self):
        return active_user(self.cleaned_data["new_owner"])


class DeleteForm(forms.Form):
    confirm_name = forms.CharField(max_length=255, required=False)
    remove_volumes = forms.BooleanField(required=False)

    def __init__(self, *args, guest, **kwargs):
        super().__init__(*args, **kwargs)
        self.guest = guest

    def clean_confirm_name(self):
        if self.cleaned_data["confirm_name"] != self.guest.name:
            raise forms.ValidationError("Type the guest's name exactly to confirm deletion.")
        return self.cleaned_data["confirm_name"]


class BulkForm(forms.Form):
    """An action on the guests ticked on the list: each one is still checked by the policy."""

    VERBS = {"start": "start", "shutdown": "shut down", "destroy": "force off", "delete": "delete"}

    guests = ModelIdsField(
        None,
        error_messages={
            "required": "Select at least one guest.",
            "invalid_choice": "A selected guest is gone, or not one you may see: reload the list.",
            "invalid_pk_value": "Select guests from the list.",
        },
    )
    action = forms.ChoiceField(choices=list(VERBS.items()))
    remove_volumes = forms.BooleanField(required=False, label="Also delete their disks and cloud-init seeds")
    confirmed = forms.BooleanField(required=False)

    def __init__(self, *args, guests, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guests"].queryset = guests
