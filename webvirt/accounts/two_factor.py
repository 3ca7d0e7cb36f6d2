"""Two-factor sign-in: a TOTP app's code (or a single-use recovery code) after the password.

django-otp keeps the devices and marks a session verified (`user.is_verified()`); this module
decides who must give a code or enrol first, and checks codes behind the per-account delay of
accounts/throttle.py, so a guessed code costs what a guessed password does.
"""

import secrets
from base64 import b32encode
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp import devices_for_user, match_token
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from webvirt.core import audit

from . import throttle

RECOVERY_CODES = 10
ISSUER = "webvirt"
ASKED = "two_factor_asked"  # session key: this sign-in had a device, so it owes a code
# Session key: signed in through single sign-on (accounts/oidc.py), whose provider asks its own
# second factor; webvirt's codes and WEBVIRT_REQUIRE_2FA are for password sign-ins.
PROVIDER_CHECKED = "two_factor_by_provider"


def has_device(user):
    return any(True for _ in devices_for_user(user, confirmed=True))


def required_for(user):
    """Whether WEBVIRT_REQUIRE_2FA makes this user enrol before using the site."""
    rule = settings.WEBVIRT_REQUIRE_2FA
    return rule == "everyone" or (rule == "admins" and (user.is_staff or user.is_superuser))


def new_secret():
    """A 160-bit TOTP key as hex, the form TOTPDevice stores."""
    return secrets.token_hex(20)


def secret_base32(key_hex):
    """The key as authenticator apps take it when typed in (RFC 4648 base32, no padding)."""
    return b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")


def provisioning_uri(user, key_hex):
    label = quote(f"{ISSUER}:{user.get_username()}")
    return f"otpauth://totp/{label}?secret={secret_base32(key_hex)}&issuer={ISSUER}&algorithm=SHA1&digits=6&period=30"


def matches_new_key(key_hex, code):
    """A code from the app being enrolled: this 30-second step or either neighbour (clock drift)."""
    code = code.strip()
    key = bytes.fromhex(key_hex)
    return any(code == f"{totp(key, drift=drift):06d}" for drift in (-1, 0, 1))


def new_recovery_codes():
    return [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]


def check_code(user, code):
    """The device a sign-in code matches (a recovery code is used up), else None with an error text.

    Behind the account's sign-in delay; every refusal is audited as a refused sign-in."""
    username = user.get_username()
    wait = throttle.claim(username)
    if wait:
        audit.record(None, "login", username, outcome="failed", reason="throttled", wait_s=wait)
        return None, throttle.refusal(wait)
    device = match_token(user, code.strip().replace(" ", ""))
    if device is None:
        throttle.record_failure(username)
        audit.record(None, "login", username, outcome="failed", reason="wrong two-factor code")
        return None, _("That code is not right (or was already used). Try the current one from your app.")
    throttle.forget(username)
    return device, ""


def enable(user, key_hex, codes):
    """Replace the user's devices with a confirmed TOTP key and fresh recovery codes."""
    remove_all(user)
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", key=key_hex, confirmed=True)
    recovery = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    for code in codes:
        recovery.token_set.create(token=code)
    return device


def remove_all(user):
    for device in devices_for_user(user, confirmed=None):
        device.delete()


@receiver(user_logged_in)
def _owe_a_code(sender, request, user, **kwargs):
    """Decided once at the password step, so that pages of accounts without a device cost no query."""
    if request is not None and has_device(user):
        request.session[ASKED] = True


class TwoFactorMiddleware:
    """A password alone opens only the code page (or, when WEBVIRT_REQUIRE_2FA asks it, the
    enrolment page): every other page, and the API through the session, waits for the code.
    API tokens do not pass here as a signed-in user; they are a factor of their own."""

    OPEN = ("/logout/", "/static/", "/jsi18n/")  # /jsi18n/: the scripts' words, on the code page too

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not user.is_authenticated or user.is_verified() or request.path_info.startswith(self.OPEN):
            return self.get_response(request)
        if request.session.get(PROVIDER_CHECKED):
            return self.get_response(request)
        if request.session.get(ASKED) and has_device(user):
            target = reverse("accounts:two-factor-verify")
        elif required_for(user) and not has_device(user):
            target = reverse("accounts:two-factor")
        else:
            return self.get_response(request)
        if request.path_info == target:
            return self.get_response(request)
        # Scripts and page fragments are refused, not redirected: a fragment swapped for the whole
        # code page would load the same fragments again, without end.
        if request.path_info.startswith("/api/") or request.headers.get("HX-Request"):
            return JsonResponse({"detail": _("Two-factor sign-in is not complete for this session.")}, status=403)
        return redirect(f"{target}?next={quote(request.get_full_path())}")
