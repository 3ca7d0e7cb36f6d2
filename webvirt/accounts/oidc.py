"""Single sign-on with OpenID Connect, through Authlib's Django client (docs/identity.md).

The provider proves who the user is and which groups they are in; webvirt keeps no password for
them. The first sign-in creates the account (named after the provider's user name claim) and keeps
the provider's issuer and `sub`: later sign-ins find the account by those, so a user renamed at the
provider keeps their account and cannot take over another one. Every sign-in then mirrors teams,
admin flag and email through `identity.mirror()`. An account that already signs in here some other
way is never taken over, and a disabled account stays out.
The provider does the second factor: webvirt's own two-factor step is for passwords only.
Every refusal ends on the sign-in page with a plain sentence, and is audited.
"""

import functools
import logging
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from joserfc.errors import JoseError

from webvirt.core import audit

from . import identity, two_factor
from .models import Profile

log = logging.getLogger(__name__)

DIRECTORY = Profile.Directory.OIDC
NEXT = "oidc_next"  # session key: where to go once signed in
BACKEND = "webvirt.accounts.backends.LocalPasswordBackend"  # keeps the session; refuses it once disabled


class Refused(Exception):
    """A sign-in that ends on the login page; the message is for the user, `reason` for the audit."""

    def __init__(self, message, reason, username=""):
        super().__init__(message)
        self.reason = reason
        self.username = username


@dataclass(frozen=True)
class Identity:
    username: str
    email: str
    teams: tuple
    admin: bool
    subject: str = ""  # the provider's `sub`: who this is, for life


def enabled():
    return bool(settings.WEBVIRT_OIDC_ISSUER)


def provider_name():
    return settings.WEBVIRT_OIDC_NAME


@functools.cache
def _client(issuer, client_id, client_secret, scopes):
    """One client per configuration; it reads the provider's discovery document once, on first use."""
    return OAuth().register(
        "webvirt",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": scopes, "code_challenge_method": "S256", "default_timeout": 10},
    )


def client():
    s = settings
    return _client(s.WEBVIRT_OIDC_ISSUER, s.WEBVIRT_OIDC_CLIENT_ID, s.WEBVIRT_OIDC_CLIENT_SECRET, s.WEBVIRT_OIDC_SCOPES)


def identity_from(claims):
    """What webvirt takes from the provider's claims: user name, email, teams and admin flag.

    Teams come from the teams claim (a list, or one string); with a team prefix set, only values
    with that prefix count, the prefix left out. The admin group is matched on the whole value."""
    username = claims.get(settings.WEBVIRT_OIDC_USERNAME_CLAIM)
    if not isinstance(username, str) or not username.strip():
        message = _("%(provider)s did not say your user name, so webvirt cannot sign you in. Ask an admin.")
        raise Refused(message % {"provider": provider_name()}, "no user name claim")
    try:
        UnicodeUsernameValidator()(username)
        if len(username) > 150:
            raise ValidationError("too long")
    except ValidationError:
        message = _("Your user name at %(provider)s (%(username)s) cannot be a webvirt user name. Ask an admin.")
        message %= {"provider": provider_name(), "username": username}
        raise Refused(message, "bad user name", username) from None
    values = claims.get(settings.WEBVIRT_OIDC_TEAMS_CLAIM) or []
    values = [values] if isinstance(values, str) else [value for value in values if isinstance(value, str)]
    prefix = settings.WEBVIRT_OIDC_TEAM_PREFIX
    teams = tuple(value[len(prefix) :] for value in values if value.startswith(prefix) and value[len(prefix) :].strip())
    admin_group = settings.WEBVIRT_OIDC_ADMIN_GROUP
    email = claims.get("email")
    subject = claims.get("sub")
    return Identity(
        username=username,
        email=email if isinstance(email, str) else "",
        teams=teams,
        admin=bool(admin_group) and admin_group in values,
        subject=subject if isinstance(subject, str) else "",
    )


def subject_of(person):
    """Profile.directory_subject for this provider user: the issuer and the provider's `sub`."""
    return f"{settings.WEBVIRT_OIDC_ISSUER} {person.subject}"


def account_for(person):
    """The webvirt account of this provider user: found by issuer and `sub`, made on first sign-in."""
    if not person.subject:  # the ID token's `sub` is required: Authlib checks it is there
        raise Refused(_("%(provider)s sent no ID token. Ask an admin.") % {"provider": provider_name()}, "no sub")
    subject = subject_of(person)
    user = get_user_model().objects.filter(profile__directory_subject=subject).first()
    if user is None:
        user = _account_named(person, subject)
    if not user.is_active:
        message = _("Your webvirt account %(username)s is disabled. Ask an admin to enable it.")
        raise Refused(message % {"username": user.get_username()}, "account disabled", user.get_username())
    return user


def _account_named(person, subject):
    """First sign-in of this provider user: a new account, or one made before webvirt kept `sub`
    (it takes this `sub`); never an account that signs in another way or as another provider user."""
    user = get_user_model().objects.filter(username__iexact=person.username).first()
    if user is None:
        try:
            with transaction.atomic():
                user = get_user_model()(username=person.username, email=person.email)
                user.set_unusable_password()
                user.save()
                defaults = {"directory": DIRECTORY, "directory_subject": subject}
                Profile.objects.update_or_create(user=user, defaults=defaults)
                audit.record(user, "user.create", person.username, directory=DIRECTORY)
        except IntegrityError:  # made meanwhile, by the same person signing in from another tab
            return account_for(person)
        return user
    profile = Profile.for_user(user)
    if profile.directory != DIRECTORY or profile.directory_subject:
        message = _(
            "An account named %(username)s already signs in here another way, so %(provider)s cannot sign in"
            " as it. Ask an admin."
        )
        name = user.get_username()
        raise Refused(message % {"username": name, "provider": provider_name()}, "name taken", name)
    profile.directory_subject = subject
    profile.save(update_fields=["directory_subject"])
    return user


def _claims(request):
    """The signed-in user's claims: the verified ID token's, with the userinfo endpoint's added."""
    name = provider_name()
    try:
        token = client().authorize_access_token(request)
        claims = dict(token.get("userinfo") or {})
        if not claims:
            raise Refused(_("%(provider)s sent no ID token. Ask an admin.") % {"provider": name}, "no ID token")
        if client().load_server_metadata().get("userinfo_endpoint"):
            more = client().userinfo(token=token)
            if more.get("sub") == claims.get("sub"):
                claims.update(more)
        return claims
    except MismatchingStateError:
        message = _("That sign-in was not started in this browser, or took too long. Please try again.")
        raise Refused(message, "bad state") from None
    except OAuthError as exc:
        if exc.error == "access_denied":
            message = _("%(provider)s did not let you sign in to webvirt.") % {"provider": name}
        else:
            message = _("%(provider)s refused the sign-in (%(error)s).") % {"provider": name, "error": exc.error}
        raise Refused(message, f"provider said {exc.error}") from exc
    except (AuthlibBaseError, JoseError) as exc:
        log.warning("OpenID Connect: could not verify the provider's answer: %s", exc)
        message = _("webvirt could not verify what %(provider)s sent.") % {"provider": name}
        raise Refused(message, "not verified") from exc
    except requests.RequestException as exc:
        log.warning("OpenID Connect: provider unreachable: %s", exc)
        raise Refused(_("%(provider)s cannot be reached right now.") % {"provider": name}, "unreachable") from exc


def _refuse(request, refused):
    audit.record(None, "login", refused.username, outcome="failed", reason=refused.reason, directory=DIRECTORY)
    messages.error(request, str(refused))
    return redirect("login")


def _safe_next(request, target):
    ours = target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if ours else reverse(settings.LOGIN_REDIRECT_URL)


@login_not_required
def start(request):
    """Off to the provider; it comes back to `callback` with a code."""
    if not enabled():
        raise Http404(_("Single sign-on is not configured."))
    request.session[NEXT] = _safe_next(request, request.GET.get("next", ""))
    callback_url = request.build_absolute_uri(reverse("accounts:oidc-callback"))
    try:
        return client().authorize_redirect(request, callback_url)
    except (AuthlibBaseError, requests.RequestException, RuntimeError, ValueError) as exc:
        # RuntimeError: Authlib's word for a discovery document without an authorization endpoint.
        log.warning("OpenID Connect: could not start a sign-in: %s", exc)
        message = _("%(provider)s cannot be reached right now.") % {"provider": provider_name()}
        return _refuse(request, Refused(message, "unreachable"))


@login_not_required
def callback(request):
    """The provider's answer: verify it, find or make the account, mirror the directory, sign in."""
    if not enabled():
        raise Http404(_("Single sign-on is not configured."))
    try:
        person = identity_from(_claims(request))
        user = account_for(person)
    except Refused as refused:
        return _refuse(request, refused)
    identity.mirror(user, directory=DIRECTORY, teams=person.teams, admin=person.admin, email=person.email)
    target = request.session.pop(NEXT, "")
    login(request, user, backend=BACKEND)
    request.session[two_factor.PROVIDER_CHECKED] = True
    return redirect(_safe_next(request, target))
