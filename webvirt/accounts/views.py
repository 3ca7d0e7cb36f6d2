"""Accounts: your own keys, password and usage; admins' users, teams, quotas and publications."""

from django.apps import apps
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token

from webvirt.core import actions as core_actions
from webvirt.core import policy
from webvirt.core.forms import form_problems

from . import actions as account_actions
from . import backends, oidc, ownership, quotas, two_factor
from .forms import (
    ApiTokenForm,
    NewUserForm,
    PublishForm,
    QuotaForm,
    SSHKeyForm,
    TeamForm,
    ThrottledLoginForm,
    TwoFactorCodeForm,
    UserDeletionForm,
)
from .models import PUBLISHABLE, ApiToken, Profile, Quota, Team


class SignInView(auth_views.LoginView):
    """The local sign-in form (throttled), and a button for single sign-on when it is configured."""

    redirect_authenticated_user = True
    authentication_form = ThrottledLoginForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, sso_name=oidc.provider_name() if oidc.enabled() else "")


def _perform(request, form, name, *, target=None, success=""):
    """Perform the action a valid form describes; a refusal becomes the form's error. True if done."""
    try:
        result = core_actions.perform(name, actor=request.user, target=target, params=form.params())
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
    if success:
        messages.success(request, success)
    return result


def account(request):
    """Your usage, SSH keys and API tokens; a new token's key is shown on this page once."""
    key_form = SSHKeyForm(request.POST if "public_key" in request.POST else None)
    token_form = ApiTokenForm(request.POST if "token-name" in request.POST else None, prefix="token")
    if key_form.is_bound and key_form.is_valid():
        name = key_form.cleaned_data["name"]
        if _perform(
            request, key_form, "sshkey.add", target=request.user, success=_("Added key %(name)s.") % {"name": name}
        ):
            return redirect("accounts:account")
    if token_form.is_bound and token_form.is_valid():
        created = _perform(request, token_form, "token.create", target=request.user)
        if created:
            # Shown on the next page only, then gone from the session: a reload cannot make another.
            request.session["new_token_key"] = created[1]
            return redirect("accounts:account")
    context = {
        "form": key_form,
        "token_form": token_form,
        "new_key": request.session.pop("new_token_key", None),
        "keys": request.user.ssh_keys.all(),
        "api_tokens": request.user.api_tokens.all(),
        "usage": quotas.usage_rows(request.user),
        "two_factor_on": two_factor.has_device(request.user),
        "password_elsewhere": backends.password_managed_elsewhere(request.user),
        "chosen_language": Profile.objects.filter(user=request.user).values_list("language", flat=True).first() or "",
    }
    failed = (key_form.is_bound and key_form.errors) or token_form.errors
    return render(request, "accounts/account.html", context, status=400 if failed else 200)


def password_change(request):
    """Django's page for changing your password, or, for accounts whose password lives elsewhere
    (a directory, or admins under WEBVIRT_LOCAL_PASSWORDS = "admins"), a word on where it does."""
    elsewhere = backends.password_managed_elsewhere(request.user)
    if elsewhere:
        status = 403 if request.method == "POST" else 200
        return render(request, "accounts/password_change.html", {"elsewhere": elsewhere}, status=status)
    return _PASSWORD_CHANGE(request)


_PASSWORD_CHANGE = auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change.html", success_url=reverse_lazy("accounts:account")
)


@require_POST
def token_revoke(request, pk):
    """Your own token, or (admins) anyone's; then back to where it was listed."""
    visible = ApiToken.objects.all() if policy.can(request.user, "user.manage") else request.user.api_tokens.all()
    token = get_object_or_404(visible.select_related("user"), pk=pk)
    params = account_actions.TokenRef(token)
    core_actions.perform("token.revoke", actor=request.user, target=token.user, params=params)
    messages.success(request, _("Revoked the token %(name)s; it no longer works.") % {"name": token.name})
    if token.user != request.user:
        return redirect("accounts:user", pk=token.user_id)
    return redirect("accounts:account")


@require_POST
def ssh_key_delete(request, pk):
    key = get_object_or_404(request.user.ssh_keys, pk=pk)
    params = account_actions.KeyRef(key)
    core_actions.perform("sshkey.remove", actor=request.user, target=request.user, params=params)
    messages.success(request, _("Removed key %(name)s.") % {"name": key.name})
    return redirect("accounts:account")


def _safe_next(request, default):
    back = request.POST.get("next") or request.GET.get("next") or ""
    ours = back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return back if ours else default


def two_factor_page(request):
    """Enrol (a new key, confirmed with a code from the app, then recovery codes shown once) or
    turn two-factor sign-in off with a current code. The only page a user WEBVIRT_REQUIRE_2FA
    holds back may open."""
    user = request.user
    form = TwoFactorCodeForm(request.POST or None)
    enrolled = two_factor.has_device(user)
    if not enrolled:
        key = request.session.setdefault("two_factor_key", two_factor.new_secret())
        if form.is_valid():
            if two_factor.matches_new_key(key, form.cleaned_data["code"]):
                codes = two_factor.new_recovery_codes()
                params = account_actions.NewTwoFactor(totp_secret=key, recovery_secrets=tuple(codes))
                device = core_actions.perform("two_factor.enable", actor=user, target=user, params=params)
                otp_login(request, device)
                del request.session["two_factor_key"]
                request.session["two_factor_codes"] = codes
                messages.success(request, _("Two-factor sign-in is on."))
                return redirect("accounts:two-factor")
            form.add_error("code", "That code does not match: check the app's clock and try the current code.")
    elif form.is_valid():
        if match_token(user, form.cleaned_data["code"].strip()) is None:
            form.add_error("code", "That code is not right (or was already used).")
        else:
            core_actions.perform("two_factor.disable", actor=user, target=user)
            messages.success(request, _("Two-factor sign-in is off: your password alone signs you in."))
            return redirect("accounts:account")
    context = {
        "form": form,
        "enrolled": enrolled,
        "required": two_factor.required_for(user),
        "recovery_codes": request.session.pop("two_factor_codes", None),
    }
    if not enrolled:
        context["secret"] = two_factor.secret_base32(key)
        context["uri"] = two_factor.provisioning_uri(user, key)
    return render(request, "accounts/two_factor.html", context, status=400 if form.errors else 200)


def two_factor_verify(request):
    """The second step of signing in, for accounts with two-factor sign-in on."""
    if request.user.is_verified() or not two_factor.has_device(request.user):
        return redirect(_safe_next(request, reverse("home")))
    form = TwoFactorCodeForm(request.POST or None)
    if form.is_valid():
        device, problem = two_factor.check_code(request.user, form.cleaned_data["code"])
        if device:
            otp_login(request, device)
            return redirect(_safe_next(request, reverse("home")))
        form.add_error("code", problem)
    context = {"form": form, "next": _safe_next(request, "")}
    return render(request, "accounts/two_factor_verify.html", context, status=400 if form.errors else 200)


def user_list(request):
    policy.require(request.user, "user.manage")
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = _perform(
            request, form, "user.create", success=_("Created %(name)s.") % {"name": form.cleaned_data["username"]}
        )
        if user:
            return redirect("accounts:user", pk=user.pk)
    users = get_user_model().objects.order_by("username")
    rows = [(user, quotas.usage_rows(user)) for user in users]
    return render(request, "accounts/user_list.html", {"rows": rows, "form": form})


def user_detail(request, pk):
    policy.require(request.user, "user.manage")
    user = get_object_or_404(get_user_model(), pk=pk)
    form = QuotaForm(request.POST or None, instance=Quota.for_user(user))
    if request.method == "POST" and form.is_valid():
        success = _("Saved the quota of %(name)s.") % {"name": user.get_username()}
        if _perform(request, form, "quota.change", target=user, success=success):
            return redirect("accounts:user", pk=user.pk)
    context = {
        "account": user,
        "form": form,
        "usage": quotas.usage_rows(user),
        "teams": user.teams.all(),
        "api_tokens": user.api_tokens.all(),
        "two_factor_on": two_factor.has_device(user),
        "password_here": not backends.no_local_password(user),
    }
    return render(request, "accounts/user_detail.html", context)


USER_ACTIONS = {
    "disable": "user.disable",
    "enable": "user.enable",
    "reset-password": "user.reset_password",
    "reset-two-factor": "two_factor.reset",
}


@require_POST
def user_action(request, pk, action):
    """Disable or enable an account, or give it a new random password (shown once)."""
    policy.require(request.user, "user.manage")
    user = get_object_or_404(get_user_model(), pk=pk)
    if action not in USER_ACTIONS:
        raise Http404(_("No such action on users."))
    try:
        result = core_actions.perform(USER_ACTIONS[action], actor=request.user, target=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:user", pk=user.pk)
    name = user.get_username()
    if action == "reset-password":
        messages.warning(
            request, _("New password for %(name)s: %(password)s (shown only now).") % {"name": name, "password": result}
        )
    elif action == "reset-two-factor":
        messages.success(request, _("%(name)s signs in with a password alone until they enrol again.") % {"name": name})
    elif user.is_active:
        messages.success(request, _("%(name)s is enabled.") % {"name": name})
    else:
        messages.success(request, _("%(name)s is disabled.") % {"name": name})
    return redirect("accounts:user", pk=user.pk)


def user_delete(request, pk):
    """Confirm page: what deleting the account does (counts), and who takes over its guests."""
    policy.require(request.user, "user.manage")
    user = get_object_or_404(get_user_model(), pk=pk)
    form = UserDeletionForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        name = user.get_username()
        if _perform(request, form, "user.delete", target=user, success=_("Deleted %(name)s.") % {"name": name}):
            return redirect("accounts:users")
    context = {
        "account": user,
        "form": form,
        "summary": account_actions.user_deletion_summary(user),
        "owned": [(kind.noun, number) for kind, number in ownership.counts(user)],
    }
    return render(request, "accounts/user_delete.html", context, status=400 if form.errors else 200)


def team_delete(request, pk):
    """Confirm page: the team's memberships, grants and publications go with it."""
    policy.require(request.user, "user.manage")
    team = get_object_or_404(Team, pk=pk)
    if request.method == "POST":
        name = team.name
        core_actions.perform("team.delete", actor=request.user, target=team)
        messages.success(request, _("Deleted team %(name)s.") % {"name": name})
        return redirect("accounts:teams")
    context = {"team": team, "summary": account_actions.team_deletion_summary(team)}
    return render(request, "accounts/team_delete.html", context)


def team_list(request, pk=None):
    policy.require(request.user, "user.manage")
    team = get_object_or_404(Team, pk=pk) if pk else None
    form = TeamForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        success = _("Saved team %(name)s.") % {"name": form.cleaned_data["name"]}
        if _perform(request, form, "team.save", target=team, success=success):
            return redirect("accounts:teams")
    return render(request, "accounts/team_list.html", {"teams": Team.objects.all(), "form": form, "team": team})


def _page_of(kind, obj):
    """Where a published object is listed, for when the form names no page to return to."""
    if kind == "flavor":
        return reverse("guests:flavors")
    return (obj.pool if kind == "volume" else obj).get_absolute_url()


@require_POST
def publish(request, kind, pk):
    """Open a host, pool, volume, network or flavor to everyone or to teams, for self-service."""
    if kind not in PUBLISHABLE:
        raise Http404(_("Nothing of that kind can be published."))
    model, _permission = PUBLISHABLE[kind]
    obj = get_object_or_404(apps.get_model(model), pk=pk)
    policy.require(request.user, _permission, obj)
    form = PublishForm(request.POST)
    if form.is_valid() and _perform(request, form, f"{kind}.publish", target=obj):
        names = [team.name for team in form.cleaned_data["teams"]]
        names += [each.get_username() for each in form.cleaned_data["users"]]
        audience = _("everyone") if obj.public else ", ".join(names) or _("admins only")
        words = {"kind": kind.capitalize(), "obj": obj, "audience": audience}
        messages.success(request, _("%(kind)s %(obj)s is open to %(audience)s.") % words)
    else:
        words = {"kind": kind.capitalize(), "obj": obj, "problems": form_problems(form)}
        messages.error(request, _("%(kind)s %(obj)s is unchanged: %(problems)s") % words)
    back = form.cleaned_data.get("next", "")
    ours = back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return HttpResponseRedirect(back if ours else _page_of(kind, obj))
