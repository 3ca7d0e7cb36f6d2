"""Accounts' actions: users, quotas, teams, publication, SSH keys and API tokens (all quick)."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from webvirt.core import events, policy
from webvirt.core.actions import Action, declare, perform
from webvirt.core.middleware import supported_language
from webvirt.core.models import Operation

from . import ownership, quotas, sessions, throttle, tokens, two_factor
from .models import PUBLISHABLE, ApiToken, Profile, Quota, SSHKey, Team


def access_changed(user_ids):
    """Open consoles of these users ask the policy again (leaving a team, losing an account...)."""
    for user_id in set(user_ids):
        events.publish("access.changed", groups=[events.user_group(user_id)], user_id=user_id)


# Users (admins).


@dataclass(frozen=True)
class NewUser:
    username: str
    password: str
    email: str = ""
    is_staff: bool = False


def _create_user(actor, target, params):
    return get_user_model().objects.create_user(
        params.username, email=params.email, password=params.password, is_staff=params.is_staff
    )


def _not_yourself(actor, user, params):
    if user == actor:
        raise ValidationError(_("Use another admin account to change your own."))


def _set_active(active):
    def apply(actor, user, params):
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            _sign_out_everywhere(actor, user)
        return user

    return apply


def _sign_out_everywhere(actor, user):
    """Revoke every API token (each audited by name: enabling the account again does not bring
    them back), end the web sessions, and close open consoles."""
    for token in list(user.api_tokens.all()):
        perform(TOKEN_REVOKE.name, actor=actor, target=user, params=TokenRef(token))
    sessions.end_sessions(user)
    access_changed([user.pk])


# Deleting users and teams (admins): what they own changes hands first; the audit keeps names.


@dataclass(frozen=True)
class UserDeletion:
    new_owner: object = None  # a user, who takes over the deleted user's guests


def _may_delete_user(actor, user, params):
    name = user.get_username()
    if user == actor:
        raise ValidationError(_("Use another admin account to delete your own."))
    if user.is_staff and user.is_active and not _other_active_admins(user).exists():
        raise ValidationError(_("%(name)s is the last active admin.") % {"name": name})
    owned = ownership.counts(user)
    new_owner = params.new_owner
    if owned and new_owner is None:
        words = {"name": name, "what": _counted(owned)}
        raise ValidationError({"new_owner": _("%(name)s owns %(what)s: choose who takes them over.") % words})
    if new_owner is not None and new_owner == user:
        raise ValidationError({"new_owner": _("Choose another user than the one deleted to take over.")})
    if new_owner is not None and not new_owner.is_active:
        words = {"new": new_owner.get_username()}
        raise ValidationError({"new_owner": _("%(new)s is disabled: choose an active user to take over.") % words})
    problems = ownership.busy(user) + _queued_work(user)
    if problems:
        raise ValidationError(" ".join(problems))
    if owned:
        quotas.check_takeover(user, new_owner)


def _other_active_admins(user):
    return get_user_model().objects.filter(is_staff=True, is_active=True).exclude(pk=user.pk)


def _counted(owned):
    return ", ".join(f"{number} {kind.noun}" for kind, number in owned)


def _queued_work(user):
    """Work queued for the user's quota (a new guest being made) would land on a deleted owner."""
    pending = Operation.objects.filter(
        status__in=[Operation.Status.QUEUED, Operation.Status.RUNNING], params__owner_id=user.pk
    )
    return [
        _("%(label)s %(target)s is still %(status)s for %(name)s; wait until it ends.")
        % {"label": op.label, "target": op.target, "status": op.status, "name": user.get_username()}
        for op in pending
    ]


def user_deletion_summary(user):
    """What deleting `user` does, in counts, for the confirm page and the API."""
    return {
        "owned": {kind.name: number for kind, number in ownership.counts(user)},
        "api_tokens": user.api_tokens.count(),
        "ssh_keys": user.ssh_keys.count(),
        "teams": user.teams.count(),
        "two_factor": two_factor.has_device(user),
    }


def _delete_user(actor, user, params):
    if params.new_owner is not None:
        ownership.transfer(actor, user, params.new_owner)
    _sign_out_everywhere(actor, user)
    throttle.forget(user.get_username())
    # Cascades: quota, profile, SSH keys, two-factor devices, grants to the user, memberships,
    # publications to the user. The audit log and operations keep the name (actor_name, target).
    name = user.get_username()
    user.delete()
    return name


def _describe_user_deletion(user, params):
    """The audit's target: who, and who took over (the log is not translated)."""
    if params.new_owner is None:
        return user.get_username()
    return f"{user.get_username()} (guests to {params.new_owner.get_username()})"


def team_deletion_summary(team):
    """What deleting `team` removes, in counts (teams own nothing: grants and publications go)."""
    publications = sum(
        apps.get_model(model).objects.filter(teams=team).count() for model, _permission in PUBLISHABLE.values()
    )
    return {"members": team.members.count(), "grants": team.grants.count(), "publications": publications}


def _delete_team(actor, team, params):
    """Its members lose what it gave them: open consoles ask the policy again."""
    members = list(team.members.values_list("pk", flat=True))
    team.delete()
    access_changed(members)


def _may_reset_password(actor, user, params):
    """Only a password that signs the user in here is worth resetting."""
    from . import backends  # backends -> identity -> actions

    _not_yourself(actor, user, params)
    why = backends.no_local_password(user)
    words = {"name": user.get_username()}
    if why == backends.ADMINS_ONLY:
        message = _("Only admins sign in here with a webvirt password, so %(name)s has none to reset.")
        raise ValidationError(message % words)
    if why:
        message = _("%(name)s signs in through %(directory)s: their password is changed there, not in webvirt.")
        raise ValidationError(message % {**words, "directory": why.label})


def _reset_password(actor, user, params):
    """Returns the new random password, to be shown once."""
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save(update_fields=["password"])
    return password


@dataclass(frozen=True)
class QuotaLimits:
    guests: int
    vcpus: int
    memory_mib: int
    disk_gib: int


def _set_quota(actor, user, params):
    quota = Quota.for_user(user)
    for name in Quota.LIMITS:
        setattr(quota, f"max_{name}", getattr(params, name))
    quota.save()
    return quota


# Teams (admins).


@dataclass(frozen=True)
class TeamParams:
    name: str
    members: tuple = ()  # users
    lease_default_days: int | None = None
    lease_max_days: int | None = None
    lease_expiry: str = "keep"


def _save_team(actor, team, params):
    """Create (no target) or change a team; members who left may lose console access."""
    team = team or Team()
    before = set(team.members.values_list("pk", flat=True)) if team.pk else set()
    team.name = params.name
    team.lease_default_days, team.lease_max_days = params.lease_default_days, params.lease_max_days
    team.lease_expiry = params.lease_expiry
    team.save()
    team.members.set(params.members)
    access_changed(before - {member.pk for member in params.members})
    return team


def _unique_team_name(actor, team, params):
    if Team.objects.filter(name=params.name).exclude(pk=team.pk if team else None).exists():
        raise ValidationError(_("There is already a team named %(name)s.") % {"name": params.name})


# Publication: what admins open to everyone, to teams or to single users for self-service.


@dataclass(frozen=True)
class Publication:
    public: bool
    teams: tuple = ()  # teams
    users: tuple = ()  # users


def _publish(actor, obj, params):
    obj.public = params.public
    obj.save(update_fields=["public"])
    obj.teams.set(params.teams)
    obj.users.set(params.users)
    return obj


PUBLISH_LABELS = {
    "host": _("Publish host"),
    "pool": _("Publish pool"),
    "volume": _("Publish volume"),
    "network": _("Publish network"),
    "flavor": _("Publish flavor"),
}


def publication(kind, permission):
    """The publish action of one kind of object, declared by the app that owns the kind."""
    return declare(Action(f"{kind}.publish", PUBLISH_LABELS[kind], permission, params=Publication, apply=_publish))


# Your own SSH keys and API tokens (or, for admins, anyone's tokens).


@dataclass(frozen=True)
class NewSSHKey:
    name: str
    public_key: str
    fingerprint: str


def _new_key_only(actor, user, params):
    if user.ssh_keys.filter(fingerprint=params.fingerprint).exists():
        raise ValidationError(_("You have already added this key."))


def _add_ssh_key(actor, user, params):
    return SSHKey.objects.create(
        user=user, name=params.name, public_key=params.public_key, fingerprint=params.fingerprint
    )


@dataclass(frozen=True)
class KeyRef:
    key: SSHKey


def _remove_ssh_key(actor, user, params):
    if params.key.user_id != user.pk:
        raise ValidationError(_("That key is not this account's."))
    params.key.delete()


@dataclass(frozen=True)
class NewToken:
    name: str
    scope: str = ApiToken.Scope.READ
    expires_at: datetime | None = None


@dataclass(frozen=True)
class TokenRef:
    token: ApiToken


def _create_token(actor, user, params):
    """Returns (token row, the whole key): the key is shown once and never stored."""
    return tokens.issue(user=user, name=params.name, scope=params.scope, expires_at=params.expires_at)


def _revoke_token(actor, user, params):
    if params.token.user_id != user.pk:
        raise ValidationError(_("That token is not this account's."))
    params.token.delete()


# Your own account (SSH keys, API tokens): yourself, or an admin.
policy.register("account.edit", policy.Rule(allows=lambda user, account: account is not None and account.pk == user.pk))
USER_CREATE = declare(Action("user.create", _("Create user"), "user.manage", params=NewUser, apply=_create_user))
USER_DISABLE = declare(
    Action("user.disable", _("Disable user"), "user.manage", check=_not_yourself, apply=_set_active(False))
)
USER_ENABLE = declare(
    Action("user.enable", _("Enable user"), "user.manage", check=_not_yourself, apply=_set_active(True))
)
USER_DELETE = declare(
    Action(
        "user.delete",
        _("Delete user"),
        "user.manage",
        params=UserDeletion,
        check=_may_delete_user,
        apply=_delete_user,
        describe=_describe_user_deletion,
    )
)
USER_RESET_PASSWORD = declare(
    Action("user.reset_password", _("Reset password"), "user.manage", check=_may_reset_password, apply=_reset_password)
)
QUOTA_CHANGE = declare(Action("quota.change", _("Change quota"), "user.manage", params=QuotaLimits, apply=_set_quota))
TEAM_SAVE = declare(
    Action("team.save", _("Save team"), "user.manage", params=TeamParams, check=_unique_team_name, apply=_save_team)
)
TEAM_DELETE = declare(Action("team.delete", _("Delete team"), "user.manage", apply=_delete_team))
SSHKEY_ADD = declare(
    Action("sshkey.add", _("Add SSH key"), "account.edit", params=NewSSHKey, check=_new_key_only, apply=_add_ssh_key)
)
SSHKEY_REMOVE = declare(
    Action("sshkey.remove", _("Remove SSH key"), "account.edit", params=KeyRef, apply=_remove_ssh_key)
)
TOKEN_CREATE = declare(
    Action("token.create", _("Create API token"), "account.edit", params=NewToken, apply=_create_token)
)
TOKEN_REVOKE = declare(
    Action(
        "token.revoke",
        _("Revoke API token"),
        "account.edit",
        params=TokenRef,
        apply=_revoke_token,
        describe=lambda user, params: f"{params.token} of {user.get_username()}",
    )
)


# Two-factor sign-in (accounts/two_factor.py): your own, or an admin's reset of anyone's.


@dataclass(frozen=True)
class NewTwoFactor:
    # Named "secret" so the audit log leaves them out (core/actions.py SECRET_WORDS).
    totp_secret: str  # hex key, confirmed with a code from the app before this runs
    recovery_secrets: tuple


def _enable_two_factor(actor, user, params):
    return two_factor.enable(user, params.totp_secret, params.recovery_secrets)


def _remove_two_factor(actor, user, params):
    two_factor.remove_all(user)


def _has_two_factor(actor, user, params):
    if not two_factor.has_device(user):
        raise ValidationError(_("This account has no two-factor sign-in."))


TWO_FACTOR_ENABLE = declare(
    Action(
        "two_factor.enable",
        _("Turn on two-factor sign-in"),
        "account.edit",
        params=NewTwoFactor,
        apply=_enable_two_factor,
    )
)
TWO_FACTOR_DISABLE = declare(
    Action(
        "two_factor.disable",
        _("Turn off two-factor sign-in"),
        "account.edit",
        check=_has_two_factor,
        apply=_remove_two_factor,
    )
)
TWO_FACTOR_RESET = declare(
    Action(
        "two_factor.reset",
        _("Remove two-factor devices"),
        "user.manage",
        check=_has_two_factor,
        apply=_remove_two_factor,
    )
)


# Sign-in through a directory (OpenID Connect or LDAP): the directory is the source of truth for a
# directory user's teams and admin flag, mirrored at each sign-in (accounts/identity.py).


@dataclass(frozen=True)
class DirectoryFacts:
    directory: str  # Profile.Directory: "oidc" or "ldap"
    teams: tuple = ()  # team names; teams missing here are created
    admin: bool = False
    email: str = ""


def _apply_directory(actor, user, params):
    profile = Profile.for_user(user)
    if profile.directory != params.directory:
        profile.directory = params.directory
        profile.save(update_fields=["directory"])
    changed = []
    if user.is_staff != params.admin:
        user.is_staff = params.admin
        changed.append("is_staff")
    if params.email and user.email != params.email:
        user.email = params.email
        changed.append("email")
    if changed:
        user.save(update_fields=changed)
    wanted = {Team.objects.get_or_create(name=name[:64])[0] for name in params.teams if name.strip()}
    current = set(user.teams.all())
    if wanted != current:
        user.teams.set(wanted)
        access_changed([user.pk])
    return user


USER_DIRECTORY_SYNC = declare(
    Action(
        "user.directory_sync",
        _("Update account from directory"),
        "account.edit",
        params=DirectoryFacts,
        apply=_apply_directory,
    )
)


# Your language (accounts/language.py): empty follows the browser.


@dataclass(frozen=True)
class LanguageChoice:
    language: str = ""


def _supported_language(actor, user, params):
    if params.language and not supported_language(params.language):
        raise ValidationError(_("webvirt does not speak %(language)s.") % {"language": params.language})


def _set_language(actor, user, params):
    profile = Profile.for_user(user)
    profile.language = params.language
    profile.save(update_fields=["language"])


ACCOUNT_LANGUAGE = declare(
    Action(
        "account.language",
        _("Choose language"),
        "account.edit",
        params=LanguageChoice,
        check=_supported_language,
        apply=_set_language,
    )
)
