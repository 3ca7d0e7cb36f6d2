"""Where a password is checked: webvirt's database (local accounts) or an LDAP directory.

Both sit behind the same login form, so the per-account delay, django-axes and two-factor sign-in
apply to either. A directory user never signs in with a local password (one an admin set by
mistake, say), and WEBVIRT_LOCAL_PASSWORDS = "admins" keeps local passwords to admins only.
"""

import ldap
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.dispatch import receiver
from django.utils.translation import gettext as _
from django_auth_ldap import backend as auth_ldap

from .identity import mirror
from .models import Profile

# The directory could not be asked at all: the login page says so instead of "wrong password".
UNREACHABLE = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR)


def directory_of(user):
    """ "" for a local account, else Profile.Directory's name of where the user signs in."""
    return Profile.objects.filter(user=user).values_list("directory", flat=True).first() or ""


ADMINS_ONLY = "admins only"


def no_local_password(user):
    """Why no local password may sign `user` in: their Profile.Directory, ADMINS_ONLY (when
    WEBVIRT_LOCAL_PASSWORDS = "admins" and they are no admin), or "" when one may."""
    directory = directory_of(user)
    if directory:
        return Profile.Directory(directory)
    if settings.WEBVIRT_LOCAL_PASSWORDS == "admins" and not (user.is_staff or user.is_superuser):
        return ADMINS_ONLY
    return ""


def password_managed_elsewhere(user):
    """Why `user` has no local password to change (a sentence for the page), or "" when they do."""
    why = no_local_password(user)
    if why == ADMINS_ONLY:
        return _("Passwords of accounts kept in webvirt are managed by its admins: ask one of them.")
    if why:
        return _("Your password is managed by your organisation's directory (%(directory)s): change it there.") % {
            "directory": why.label
        }
    return ""


class LocalPasswordBackend(ModelBackend):
    """Django's password check, for the accounts whose local password may sign in."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or password_managed_elsewhere(user):
            return None
        return user


class LDAPBackend(auth_ldap.LDAPBackend):
    """django-auth-ldap, then identity.mirror(): the user's groups become their teams, and
    membership of WEBVIRT_LDAP_ADMIN_GROUP makes them an admin, at every sign-in."""

    def get_or_build_user(self, username, ldap_user):
        user, built = super().get_or_build_user(username, ldap_user)
        if not built and not user.is_active:
            raise ldap_user.AuthenticationFailed("the webvirt account is disabled")
        if not built and directory_of(user) != Profile.Directory.LDAP:
            # A local (or single sign-on) account of the same name keeps its own way in.
            raise ldap_user.AuthenticationFailed("a webvirt account of that name is not an LDAP account")
        return user, built

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            return None
        try:
            group_dns = {dn.lower() for dn in user.ldap_user.group_dns}
            group_names = user.ldap_user.group_names
        except ldap.LDAPError as exc:
            _note_unreachable(type(self), exception=exc, request=request)
            return None
        prefix = settings.WEBVIRT_LDAP_TEAM_PREFIX
        teams = [name.removeprefix(prefix) for name in group_names if name.startswith(prefix)]
        admin = settings.WEBVIRT_LDAP_ADMIN_GROUP.lower() in group_dns
        email = (user.ldap_user.attrs.get("mail") or [""])[0]
        mirror(user, directory=Profile.Directory.LDAP, teams=teams, admin=admin, email=email)
        return user

    def get_user(self, user_id):
        """A session of a user disabled since sign-in ends, as with local accounts."""
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None


@receiver(auth_ldap.ldap_error)
def _note_unreachable(sender, exception, request=None, **kwargs):
    """Marks the request whose sign-in found the directory down, for the login form's message."""
    if request is not None and isinstance(exception, UNREACHABLE):
        request.directory_unreachable = True
