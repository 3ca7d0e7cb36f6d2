from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webvirt.core import audit
from webvirt.core.forms import ModelIdsField

from . import actions, throttle
from .models import ApiToken, Quota, SSHKey, Team
from .validators import parse_ssh_public_key


class SSHKeyForm(forms.ModelForm):
    class Meta:
        model = SSHKey
        fields = ["name", "public_key"]
        labels = {"name": _("Name"), "public_key": _("Public key")}
        widgets = {"public_key": forms.Textarea(attrs={"rows": 3})}

    def clean_public_key(self):
        text, self.fingerprint = parse_ssh_public_key(self.cleaned_data["public_key"])
        return text

    def params(self):
        data = self.cleaned_data
        return actions.NewSSHKey(name=data["name"], public_key=data["public_key"], fingerprint=self.fingerprint)


class NewUserForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ["username", "email", "is_staff"]
        labels = {"is_staff": _("Admin")}
        help_texts = {"is_staff": _("Admins manage hosts, storage, networks, users and every guest.")}

    def params(self):
        data = self.cleaned_data
        return actions.NewUser(
            username=data["username"], password=data["password1"], email=data["email"], is_staff=data["is_staff"]
        )


class QuotaForm(forms.ModelForm):
    class Meta:
        model = Quota
        fields = ["max_guests", "max_vcpus", "max_memory_mib", "max_disk_gib"]
        labels = {"max_guests": _("Max guests")}

    def params(self):
        return actions.QuotaLimits(**{name: self.cleaned_data[f"max_{name}"] for name in Quota.LIMITS})


class UserDeletionForm(forms.Form):
    """Who takes over what the deleted user owns (any other active user; needed when they own guests)."""

    new_owner = forms.ModelChoiceField(
        get_user_model().objects.none(),
        required=False,
        label=_("New owner of their guests"),
        help_text=_("Any other active user; their quota must hold the guests (admins have no quota)."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["new_owner"]
        field.queryset = get_user_model().objects.exclude(pk=user.pk)  # the action says why a disabled one won't do
        active = field.queryset.filter(is_active=True).order_by("username")
        field.widget.choices = [("", "---------"), *((each.pk, each.get_username()) for each in active)]

    def params(self):
        return actions.UserDeletion(new_owner=self.cleaned_data["new_owner"])


LEASE_FIELDS = ("lease_default_days", "lease_max_days", "lease_expiry")


def setup_lease_fields(form):
    """Lease terms on a host's or a team's form: optional (left out, they stay as they are)."""
    form.fields["lease_expiry"].required = False
    form.fields["lease_default_days"].widget.attrs["min"] = form.fields["lease_max_days"].widget.attrs["min"] = 1


def clean_lease_fields(form, data):
    for name in LEASE_FIELDS:  # left out (older API clients): kept as they are; sent empty: none
        if name not in form.data and form.add_prefix(name) not in form.data:
            data[name] = getattr(form.instance, name)
    if not data.get("lease_expiry"):
        data["lease_expiry"] = form.instance.lease_expiry
    default, longest = data.get("lease_default_days"), data.get("lease_max_days")
    for name in ("lease_default_days", "lease_max_days"):
        if data.get(name) == 0:
            form.add_error(name, gettext("A lease lasts at least one day; leave it empty for none."))
    if default and longest and default > longest:
        form.add_error("lease_default_days", gettext("The default lease cannot be longer than the longest."))
    return data


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "members", *LEASE_FIELDS]
        labels = {"name": _("Name"), "members": _("Members")}
        field_classes = {"members": ModelIdsField}
        widgets = {"members": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        setup_lease_fields(self)

    def clean(self):
        return clean_lease_fields(self, super().clean())

    def params(self):
        data = self.cleaned_data
        return actions.TeamParams(
            name=data["name"], members=tuple(data["members"]), **{name: data[name] for name in LEASE_FIELDS}
        )


class PublishForm(forms.Form):
    """Open something to everyone, to chosen teams or to chosen users (hosts, pools, volumes,
    networks, flavors)."""

    public = forms.BooleanField(required=False, label=_("Open to everyone"))
    teams = ModelIdsField(Team.objects.all(), required=False, widget=forms.CheckboxSelectMultiple, label=_("Teams"))
    users = ModelIdsField(
        get_user_model().objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Users"),
        help_text=_("User ids; only active accounts."),
    )
    next = forms.CharField(required=False, max_length=2000)

    def params(self):
        data = self.cleaned_data
        return actions.Publication(public=data["public"], teams=tuple(data["teams"]), users=tuple(data["users"]))


class ThrottledLoginForm(AuthenticationForm):
    """Django's login form behind the per-account delay of accounts/throttle.py: while an account
    name must wait, no password is checked for it at all."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if not username:
            return super().clean()
        wait = throttle.claim(username)
        if wait:
            audit.record(None, "login", username, outcome="failed", reason="throttled", wait_s=wait)
            raise forms.ValidationError(throttle.refusal(wait), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure(username)
            if getattr(self.request, "directory_unreachable", False):  # set by accounts/backends.py
                raise forms.ValidationError(
                    gettext("The sign-in directory (LDAP) cannot be reached just now. Try again in a few minutes."),
                    code="directory_unreachable",
                ) from None
            raise
        throttle.forget(username)
        return cleaned


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=64, label=_("Name"), help_text=_("What it is for, e.g. “CI pipeline”."))
    scope = forms.ChoiceField(label=_("Scope"), choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    expires_at = forms.DateTimeField(
        required=False,
        label=_("Expires"),
        help_text=_("Optional; e.g. 2027-06-30 12:00 (UTC). Leave empty for a token that does not expire."),
    )

    def params(self):
        data = self.cleaned_data
        return actions.NewToken(name=data["name"], scope=data["scope"], expires_at=data["expires_at"])


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        label=_("Code"),
        help_text=_("The 6 digits your authenticator app shows now, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )
