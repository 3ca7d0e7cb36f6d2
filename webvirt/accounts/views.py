"""Accounts: your own keys, password and usage; admins' users, teams, quotas and publications."""

import secrets

from django.apps import apps
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from webvirt.consoles.notify import recheck_user_consoles
from webvirt.core import audit, policy
from webvirt.core.forms import form_problems

from . import quotas, tokens
from .forms import ApiTokenForm, NewUserForm, PublishForm, QuotaForm, SSHKeyForm, TeamForm
from .models import PUBLISHABLE, ApiToken, Quota, Team


def _usage_rows(user):
    limits, used = Quota.for_user(user).limits(), quotas.usage(user)
    return [(quotas.LABELS[name], used[name], limits[name]) for name in Quota.LIMITS]


def account(request):
    """Your usage, SSH keys and API tokens; a new token's key is shown on this page once."""
    key_form = SSHKeyForm(request.POST if "public_key" in request.POST else None, user=request.user)
    token_form = ApiTokenForm(request.POST if "token-name" in request.POST else None, prefix="token")
    if key_form.is_bound and key_form.is_valid():
        key = key_form.save()
        audit.record(request.user, "sshkey.add", key.name, fingerprint=key.fingerprint)
        messages.success(request, f"Added key {key.name}.")
        return redirect("accounts:account")
    new_key = None
    if token_form.is_bound and token_form.is_valid():
        data = token_form.cleaned_data
        try:
            _token, new_key = tokens.create_token(
                actor=request.user,
                user=request.user,
                name=data["name"],
                scope=data["scope"],
                expires_at=data["expires_at"],
            )
        except ValidationError as exc:
            token_form.add_error(None, exc)
        else:
            token_form = ApiTokenForm(prefix="token")
    context = {
        "form": key_form,
        "token_form": token_form,
        "new_key": new_key,
        "keys": request.user.ssh_keys.all(),
        "api_tokens": request.user.api_tokens.all(),
        "usage": _usage_rows(request.user),
    }
    return render(request, "accounts/account.html", context, status=400 if token_form.errors else 200)


@require_POST
def token_revoke(request, pk):
    """Your own token, or (admins) anyone's; then back to where it was listed."""
    visible = ApiToken.objects.all() if policy.can(request.user, "user.manage") else request.user.api_tokens.all()
    token = get_object_or_404(visible.select_related("user"), pk=pk)
    tokens.revoke_token(actor=request.user, token=token)
    messages.success(request, f"Revoked the token {token.name}; it no longer works.")
    if token.user != request.user:
        return redirect("accounts:user", pk=token.user_id)
    return redirect("accounts:account")


@require_POST
def ssh_key_delete(request, pk):
    key = get_object_or_404(request.user.ssh_keys, pk=pk)
    key.delete()
    audit.record(request.user, "sshkey.remove", key.name, fingerprint=key.fingerprint)
    return redirect("accounts:account")


def user_list(request):
    policy.require(request.user, "user.manage")
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        audit.record(request.user, "user.create", user.get_username(), staff=user.is_staff)
        messages.success(request, f"Created {user.get_username()}.")
        return redirect("accounts:user", pk=user.pk)
    users = get_user_model().objects.order_by("username")
    rows = [(user, _usage_rows(user)) for user in users]
    return render(request, "accounts/user_list.html", {"rows": rows, "form": form})


def user_detail(request, pk):
    policy.require(request.user, "user.manage")
    user = get_object_or_404(get_user_model(), pk=pk)
    quota = Quota.for_user(user)
    form = QuotaForm(request.POST or None, instance=quota)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit.record(request.user, "quota.change", user.get_username(), **form.cleaned_data)
        messages.success(request, f"Saved the quota of {user.get_username()}.")
        return redirect("accounts:user", pk=user.pk)
    context = {
        "account": user,
        "form": form,
        "usage": _usage_rows(user),
        "teams": user.teams.all(),
        "api_tokens": user.api_tokens.all(),
    }
    return render(request, "accounts/user_detail.html", context)


@require_POST
def user_action(request, pk, action):
    """Disable or enable an account, or give it a new random password (shown once)."""
    policy.require(request.user, "user.manage")
    user = get_object_or_404(get_user_model(), pk=pk)
    if user == request.user:
        messages.error(request, "Use another admin account to change your own.")
    elif action in {"disable", "enable"}:
        user.is_active = action == "enable"
        user.save(update_fields=["is_active"])
        audit.record(request.user, f"user.{action}", user.get_username())
        messages.success(request, f"{user.get_username()} is {'enabled' if user.is_active else 'disabled'}.")
    elif action == "reset-password":
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.save(update_fields=["password"])
        audit.record(request.user, "user.reset_password", user.get_username())
        messages.warning(request, f"New password for {user.get_username()}: {password} (shown only now).")
    else:
        messages.error(request, f"Unknown action {action!r}.")
    return redirect("accounts:user", pk=user.pk)


def team_list(request, pk=None):
    policy.require(request.user, "user.manage")
    team = get_object_or_404(Team, pk=pk) if pk else None
    before = set(team.members.values_list("pk", flat=True)) if team else set()
    form = TeamForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        team = form.save()
        after = set(team.members.values_list("pk", flat=True))
        audit.record(request.user, "team.save", team.name, members=sorted(after))
        for user_id in before - after:  # leaving a team can take away console access
            recheck_user_consoles(user_id)
        messages.success(request, f"Saved team {team.name}.")
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
        raise Http404("Nothing of that kind can be published.")
    model, action = PUBLISHABLE[kind]
    policy.require(request.user, action)
    obj = get_object_or_404(apps.get_model(model), pk=pk)
    form = PublishForm(request.POST)
    if form.is_valid():
        obj.public = form.cleaned_data["public"]
        obj.save(update_fields=["public"])
        obj.teams.set(form.cleaned_data["teams"])
        teams = [team.name for team in form.cleaned_data["teams"]]
        audit.record(request.user, "publish", f"{kind} {obj}", public=obj.public, teams=teams)
        messages.success(
            request,
            f"{kind.capitalize()} {obj} is open to {'everyone' if obj.public else ', '.join(teams) or 'admins only'}.",
        )
    else:
        messages.error(request, f"{kind.capitalize()} {obj} is unchanged: {form_problems(form)}")
    back = form.cleaned_data.get("next", "")
    ours = back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return HttpResponseRedirect(back if ours else _page_of(kind, obj))
